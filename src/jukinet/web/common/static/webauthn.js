// The operator card in the browser (WebAuthn): registration through an administrator's
// one-time link, and the second factor at sign-in. No inline script: the options come
// from data attributes; the CSRF token goes in the X-CSRF-Token header.
"use strict";
(function () {
  function b64urlToBuf(s) {
    const pad = "=".repeat((4 - (s.length % 4)) % 4);
    const bin = atob((s + pad).replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0)).buffer;
  }
  function bufToB64url(buf) {
    let bin = "";
    new Uint8Array(buf).forEach((b) => { bin += String.fromCharCode(b); });
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function credentialJSON(cred) {
    const r = cred.response;
    const out = { id: cred.id, rawId: bufToB64url(cred.rawId), type: cred.type,
                  clientExtensionResults: cred.getClientExtensionResults(), response: {} };
    out.response.clientDataJSON = bufToB64url(r.clientDataJSON);
    if (r.attestationObject) { out.response.attestationObject = bufToB64url(r.attestationObject); }
    if (r.authenticatorData) { out.response.authenticatorData = bufToB64url(r.authenticatorData); }
    if (r.signature) { out.response.signature = bufToB64url(r.signature); }
    if (r.userHandle) { out.response.userHandle = bufToB64url(r.userHandle); }
    return out;
  }
  function descriptors(list) {
    return (list || []).map((d) => Object.assign({}, d, { id: b64urlToBuf(d.id) }));
  }
  function show(el, text) { if (text) { el.textContent = text; } el.hidden = false; el.focus(); }

  async function signIn(button) {
    const o = JSON.parse(button.dataset.options);
    o.challenge = b64urlToBuf(o.challenge);
    o.allowCredentials = descriptors(o.allowCredentials);
    const error = document.getElementById("card-error");
    try {
      const cred = await navigator.credentials.get({ publicKey: o });
      const answer = await fetch("/signin/card", { method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": button.dataset.csrf },
        body: JSON.stringify(credentialJSON(cred)) });
      const body = await answer.json();
      if (answer.ok) { window.location.assign(body.next); return; }
    } catch (e) { /* shown below */ }
    error.tabIndex = -1; show(error);
  }

  async function enrol(form) {
    const error = document.getElementById("enrol-error");
    error.tabIndex = -1;
    const token = form.dataset.token;
    const csrf = form.elements.csrf.value;
    const asked = await fetch("/enrol/" + token + "/options", { method: "POST",
      headers: { "X-CSRF-Token": csrf }, body: new FormData(form) });
    if (!asked.ok) { show(error, form.dataset.wrong); return; }
    const o = await asked.json();
    o.challenge = b64urlToBuf(o.challenge);
    o.user.id = b64urlToBuf(o.user.id);
    o.excludeCredentials = descriptors(o.excludeCredentials);
    try {
      const cred = await navigator.credentials.create({ publicKey: o });
      const done = await fetch("/enrol/" + token + "/finish", { method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify(credentialJSON(cred)) });
      const body = await done.json();
      if (done.ok) { window.location.assign(body.next); return; }
    } catch (e) { /* shown below */ }
    show(error, form.dataset.failed);
  }

  document.addEventListener("DOMContentLoaded", function () {
    const button = document.getElementById("card-signin");
    if (button) { button.addEventListener("click", () => signIn(button)); }
    const form = document.getElementById("enrol");
    if (form) { form.addEventListener("submit", (e) => { e.preventDefault(); enrol(form); }); }
    // A confirmation step's "cancel" goes back without script in the markup.
    document.querySelectorAll("[data-back]").forEach((b) =>
      b.addEventListener("click", () => window.history.back()));
  });
})();
