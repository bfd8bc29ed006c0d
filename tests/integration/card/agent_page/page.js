// A resident portal's sign-in page, as small as it gets: the site gives a challenge,
// the card signs it through the terminal's card agent, the site verifies the answer.
import { CardAgentError, fromBase64, sign, status } from "/card-agent.js";

const statusField = document.getElementById("status");
const result = document.getElementById("result");

async function refresh() {
  try {
    const now = await status();
    const auth = now.pins.authentication;
    statusField.textContent = now.card.present
      ? `${now.card.application}, ${auth.blocked ? "blocked" : auth.tries_left + " tries left"}`
      : "no card";
  } catch (error) {
    statusField.textContent = error.message;
  }
}

document.getElementById("sign-in").addEventListener("submit", async (event) => {
  event.preventDefault();
  const field = document.getElementById("pin");
  const pin = field.value;
  field.value = "";
  try {
    const given = await (await fetch("/challenge", { method: "POST" })).json();
    const answer = await sign("authentication", pin, fromBase64(given.challenge));
    const checked = await fetch("/verify", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        origin: answer.origin,
        challenge: answer.challenge,
        signature: answer.signature,
        certificate: answer.certificate,
      }),
    });
    result.textContent = (await checked.json()).message;
  } catch (error) {
    result.textContent = error instanceof CardAgentError ? error.message : String(error);
  }
  await refresh();
});

refresh();
