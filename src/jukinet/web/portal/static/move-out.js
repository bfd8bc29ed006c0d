// The online move-out (R21; docs/ui.md, "The resident portal"): the portal writes the
// notification, the card signs it with its JPKI signing key through the terminal's card
// agent (the signing password goes to 127.0.0.1 only), the portal verifies and files it.
import { sign, fromBase64, setAgent, CardAgentError } from "/agent/card-agent.js";

const form = document.getElementById("move-out");
const password = document.getElementById("signing_password");
const error = document.getElementById("moveout-error");
const working = document.getElementById("moveout-status");
const says = form.dataset;
setAgent(says.agent);

function explain(refusal) {
  if (!(refusal instanceof CardAgentError)) {
    return says.refused;
  }
  switch (refusal.code) {
    case "wrong-pin":
      return says.wrongPin.replace("{n}", String(refusal.triesLeft));
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

async function post(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": says.csrf },
    body: JSON.stringify(body),
    credentials: "same-origin",
  });
  return { ok: response.ok, body: await response.json() };
}

function refuse(text) {
  working.textContent = "";
  error.textContent = text;
  error.hidden = false;
  error.focus();
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const typed = password.value;
  password.value = "";  // kept nowhere
  error.hidden = true;
  working.textContent = says.working;
  try {
    const made = await post("/move-out/document", {
      destination_code: form.elements.destination_code.value,
      destination: form.elements.destination.value,
      planned_on: form.elements.planned_on.value,
    });
    if (!made.ok) {
      refuse(says.refused + " " + made.body.error);
      return;
    }
    const signed = await sign("signing", typed, fromBase64(made.body.document));
    const done = await post("/move-out/signed", {
      signature: signed.signature,
      certificate: signed.certificate,
    });
    if (done.ok) {
      window.location.assign(done.body.next);
      return;
    }
    refuse(says.refused + " " + done.body.error);
  } catch (refusal) {
    refuse(explain(refusal));
  }
});
