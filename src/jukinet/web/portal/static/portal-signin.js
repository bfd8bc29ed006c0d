// The portal's sign-in with the card (docs/ui.md, "The resident portal"): the PIN goes
// to the terminal's card agent on 127.0.0.1 only (card-agent.js), never to the server;
// the server gets the card's signature over its challenge and this page's origin.
import { status, sign, fromBase64, setAgent, CardAgentError } from "/agent/card-agent.js";

const form = document.getElementById("portal-card-signin");
const pin = document.getElementById("pin");
const cardStatus = document.getElementById("card-status");
const error = document.getElementById("signin-error");
const says = form.dataset;
setAgent(says.agent);

function withCount(text, n) {
  return text.replace("{n}", String(n));
}

function explain(refusal) {
  if (!(refusal instanceof CardAgentError)) {
    return says.refused;
  }
  switch (refusal.code) {
    case "wrong-pin":
      return withCount(says.wrongPin, refusal.triesLeft);
    case "pin-blocked":
      return says.blocked;
    case "card-not-present":
      return says.noCard;
    case "agent-unreachable":
      return says.noAgent;
    case "no-reader":
      return says.noReader;
    default:
      return says.refused + " " + refusal.message;
  }
}

function showError(text) {
  error.textContent = text;
  error.hidden = false;
}

async function refreshStatus() {
  try {
    const now = await status();
    cardStatus.textContent = now.card.present
      ? withCount(says.ready, now.pins.authentication.tries_left)
      : says.noCard;
  } catch (refusal) {
    cardStatus.textContent = explain(refusal);
  }
}

async function post(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": says.csrf },
    body: JSON.stringify(body),
    credentials: "same-origin",
  });
  return { ok: response.ok, body: await response.json() };
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const typed = pin.value;
  pin.value = "";  // the PIN is kept nowhere, not even in the field
  error.hidden = true;
  cardStatus.textContent = says.working;
  try {
    const asked = await post("/signin/challenge", {});
    const answer = await sign("authentication", typed, fromBase64(asked.body.challenge));
    const done = await post("/signin/card", {
      origin: answer.origin,
      challenge: answer.challenge,
      signature: answer.signature,
      certificate: answer.certificate,
    });
    if (done.ok) {
      window.location.assign(done.body.next);
      return;
    }
    showError(says.refused + " " + done.body.error);
  } catch (refusal) {
    showError(explain(refusal));
  }
  await refreshStatus();
  pin.focus();
});

refreshStatus();
