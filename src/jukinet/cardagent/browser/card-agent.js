// The page's side of the terminal's card agent (docs/card-agent.md).
//
// An ES module, no framework, no inline script: a page loads it with
//   <script type="module" src="/static/card-agent.js"></script>
// (or imports it from its own module). The agent's address is the page's
//   <meta name="jukinet-card-agent" content="http://127.0.0.1:47315">
// or, without it, http://127.0.0.1:47315; setAgent(url) overrides both.
//
// The PIN goes from the page to the agent on 127.0.0.1 only: these functions never send
// it anywhere else, and never keep it. Requests carry no cookies (credentials: "omit").

const DEFAULT_AGENT = "http://127.0.0.1:47315";

let configured = null;

/** Use the agent at `url` (e.g. "http://127.0.0.1:47315"). */
export function setAgent(url) {
  configured = String(url).replace(/\/+$/, "");
}

function agentUrl() {
  if (configured !== null) {
    return configured;
  }
  const meta = document.querySelector('meta[name="jukinet-card-agent"]');
  return meta && meta.content ? meta.content.replace(/\/+$/, "") : DEFAULT_AGENT;
}

/** A refusal of the agent or the card: `code` (e.g. "wrong-pin", "pin-blocked",
 * "card-not-present"), `status` (HTTP, 0 when the agent is unreachable), `message` (a
 * sentence for the user) and, after a wrong PIN, `triesLeft`. */
export class CardAgentError extends Error {
  constructor(status, body) {
    super(body && body.message ? body.message : "The card agent refused the request.");
    this.name = "CardAgentError";
    this.status = status;
    this.code = body && body.error ? body.error : "card-agent-error";
    this.triesLeft = body && typeof body.tries_left === "number" ? body.tries_left : null;
  }
}

export function toBase64(bytes) {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let text = "";
  for (let i = 0; i < view.length; i += 0x8000) {
    text += String.fromCharCode.apply(null, view.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

export function fromBase64(text) {
  const raw = atob(text);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i += 1) {
    out[i] = raw.charCodeAt(i);
  }
  return out;
}

async function call(path, init) {
  let response;
  try {
    response = await fetch(agentUrl() + path, {
      ...init,
      mode: "cors",
      credentials: "omit",
      cache: "no-store",
      referrerPolicy: "no-referrer",
    });
  } catch (_unreachable) {
    throw new CardAgentError(0, {
      error: "agent-unreachable",
      message: "The card agent is not running on this terminal (jukinet card-agent).",
    });
  }
  let body;
  try {
    body = await response.json();
  } catch (_notJson) {
    body = { error: "bad-answer", message: "The card agent's answer is not readable." };
  }
  if (!response.ok) {
    throw new CardAgentError(response.status, body);
  }
  return body;
}

function postJson(path, body) {
  return call(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
}

/** The reader, the card, its application and each PIN's tries left: nothing personal. */
export function status() {
  return call("/v1/status", { method: "GET" });
}

/** The card's certificate of `kind` ("authentication" or "signing"); the signing
 * certificate names the holder, so it needs `pin`, the signing password.
 * Resolves to {kind, certificate (base64 DER), der (Uint8Array)}. */
export async function certificate(kind, pin) {
  const body =
    pin === undefined || pin === null
      ? await call("/v1/certificate?kind=" + encodeURIComponent(kind), { method: "GET" })
      : await postJson("/v1/certificate", { kind, pin });
  return { ...body, der: fromBase64(body.certificate) };
}

/** The card signs `bytes` with the key of `kind` after `pin`:
 * - "authentication": `bytes` is the site's sign-in challenge; the agent signs the
 *   sign-in message binding it to this page's origin. Send the whole answer
 *   ({origin, challenge, message, signature, certificate}) to the site.
 * - "signing": `bytes` is the document (e.g. the online move-out's canonical JSON).
 * Resolves to the agent's answer plus `signatureBytes` and `certificateBytes`. */
export async function sign(kind, pin, bytes, hash = "SHA-256") {
  const field = kind === "authentication" ? "challenge" : "data";
  const body = await postJson("/v1/sign", { kind, pin, [field]: toBase64(bytes), hash });
  return {
    ...body,
    signatureBytes: fromBase64(body.signature),
    certificateBytes: fromBase64(body.certificate),
  };
}
