"""Who is calling, at the application layer: RFC 9421 message signatures (R7, R8).

Every request between nodes carries an HTTP message signature made with the node key
(the key of its certificate): label ``jukinet``, algorithm ``ed25519``, ``keyid`` = node
id, covering ``@method``, ``@authority``, ``@path``, ``@query`` and an RFC 9530
``Content-Digest`` (sha-256, also of an empty body), with ``created`` and ``nonce``. The
signature is kept with what it asked for (a provision's record), so the caller cannot
deny the request later; the TLS client certificate only says "some member of the
network" to this hop. The network's one signature shape is built and read by
``signature_shape.py`` (string operations, cryptography's Ed25519); the
``http_message_signatures`` library is the reference it is tested against
(``signatures_reference.py``). The policy (which keys, how fresh, no replays) is here.
"""

from __future__ import annotations

import base64
import contextlib
import heapq
import hmac
import secrets
import time
from collections.abc import Callable, Mapping

import http_sf
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from jukinet.errors import SignatureRefused
from jukinet.network.signature_shape import (
    COMPONENTS,
    LABEL,
    ShapeError,
    content_digest,
    read_signature,
    signature_base,
    signature_params,
)

__all__ = [
    "COVERED_COMPONENTS",
    "LABEL",
    "ReplayCache",
    "SignatureRefused",
    "sign_request",
    "verify_request",
]

COVERED_COMPONENTS = COMPONENTS
_MAX_NONCE = 128


def sign_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    key: Ed25519PrivateKey,
    key_id: str,
    *,
    created: float | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The headers to add to a request: Content-Digest, Signature-Input, Signature.

    ``url`` must be the absolute, already percent-encoded URL that goes on the
    wire. ``created`` (Unix time) and ``nonce`` default to now and 128 random bits.
    ``headers`` are not signed (the network's shape covers none of them).
    """
    digest = content_digest(body)
    params = signature_params(
        int(time.time() if created is None else created),
        key_id,
        secrets.token_urlsafe(16) if nonce is None else nonce,
    )
    try:
        base = signature_base(method.upper(), url, digest, params)
    except ShapeError as exc:
        raise ValueError(str(exc)) from None
    signature = base64.b64encode(key.sign(base)).decode("ascii")
    return {
        "Content-Digest": digest,
        "Signature-Input": f"{LABEL}={params}",
        "Signature": f"{LABEL}=:{signature}:",
    }


def _claimed_keyid(headers: Mapping[str, str]) -> str | None:
    """The keyid a request claims, before anything is verified: for the log only."""
    with contextlib.suppress(ShapeError):  # else read the keyid from what does parse
        return read_signature(headers).keyid
    for name, value in headers.items():
        if name.lower() != "signature-input":
            continue
        try:
            parsed = http_sf.parse(value.encode("latin-1"), tltype="dictionary")
        except (ValueError, TypeError, UnicodeEncodeError):
            return None
        if isinstance(parsed, dict):
            for member in parsed.values():
                keyid = member[1].get("keyid") if isinstance(member, tuple) else None
                if isinstance(keyid, str):
                    return keyid
    return None


def verify_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    resolve_key: Callable[[str], Ed25519PublicKey | None],
    replay: ReplayCache,
    *,
    window: float = 30.0,
    now: float | None = None,
) -> str:
    """The keyid (node id) that signed this request, or SignatureRefused with the reason.

    ``url`` is the absolute URL as the caller addressed it (scheme, the Host
    header, the raw path and query); ``resolve_key`` returns the public key of an
    active directory member and None for anyone else.
    """
    clock = time.time() if now is None else now
    names = {name.lower() for name in headers}
    if "signature" not in names or "signature-input" not in names:
        # No signature, no identity: mTLS alone only says "some member of the network".
        raise SignatureRefused("The request carries no signature.", 401, None)
    try:
        signed = read_signature(headers)
    except ShapeError as exc:
        claimed = _claimed_keyid(headers)
        raise SignatureRefused(
            f"The signature does not verify: {str(exc).rstrip('.')}.", 401, claimed
        ) from None
    claimed = signed.keyid

    def refuse(reason: str, status: int = 401) -> SignatureRefused:
        return SignatureRefused(reason, status, claimed)

    def unverified(detail: str) -> SignatureRefused:
        return refuse(f"The signature does not verify: {detail}.")

    if signed.label != LABEL:
        raise refuse(f"The signature is labelled {signed.label!r}, not {LABEL!r}.")
    if signed.keyid is None:
        raise unverified('Signature is missing a required "keyid" parameter')
    if signed.alg is not None and signed.alg != "ed25519":
        raise unverified("Unexpected algorithm specified in the signature")
    if signed.digest is None:
        raise unverified('Covered header field "content-digest" not found in the message')
    key = resolve_key(signed.keyid)
    if key is None:
        # Only members listed as active in the signed directory may call at all (R7).
        raise SignatureRefused(
            f"{signed.keyid} is not an active member of the network directory.", 403, signed.keyid
        )
    try:
        base = signature_base(method.upper(), url, signed.digest, signed.params)
    except ShapeError as exc:
        raise unverified(str(exc).rstrip(".")) from None
    try:
        if signed.signature is None:
            raise InvalidSignature
        key.verify(signed.signature, base)
    except InvalidSignature:
        raise unverified("it does not match this request under the signer's key") from None
    keyid = signed.keyid
    created = _fresh(signed.created, signed.expires, clock, window, refuse)
    nonce = signed.nonce
    if not isinstance(nonce, str) or not 0 < len(nonce) <= _MAX_NONCE:
        raise refuse("The signature has no nonce.")
    # Within the window, the same signed request sent twice is a replay (say, an
    # identity update applied again or a code pool drawn twice).
    if replay.seen(keyid, nonce, now=clock):
        raise refuse("The request was already received (replay).")
    # The signature covers the Content-Digest header; only this ties it to the body
    # actually received, so a changed body with the old signature fails.
    if not hmac.compare_digest(content_digest(body), signed.digest):
        raise refuse(
            "The body does not match its signed Content-Digest: "
            "Content-Digest does not match the message body"
        )
    replay.remember(keyid, nonce, until=created + window, now=clock)
    return keyid


def _fresh(
    created: object,
    expires: object,
    clock: float,
    window: float,
    refuse: Callable[[str], SignatureRefused],
) -> int:
    """``created``, once it is within ``window`` of ``clock`` and not past ``expires``."""
    if not isinstance(created, int):
        raise refuse("The signature has no created time.")
    # A captured request is worth little when it expires quickly; the window also
    # bounds how long nonces must be remembered.
    skew = clock - created
    if abs(skew) > window:
        side = "before" if skew > 0 else "after"
        raise refuse(
            f"The signature's created time is {abs(skew):.0f} s {side} this node's clock "
            f"(allowed: {window:.0f} s)."
        )
    if isinstance(expires, int) and expires < clock:
        raise refuse("The signature has expired.")
    return created


class ReplayCache:
    """The nonces seen per keyid, each kept until its signature would be stale anyway.

    Memory is bounded: at most ``max_entries`` nonces in all and ``max_per_peer``
    per keyid. When full, new requests are refused (503) rather than forgetting a
    nonce early, which would open a window for replays.
    """

    def __init__(self, *, max_entries: int = 500_000, max_per_peer: int = 100_000) -> None:
        self.max_entries = max_entries
        self.max_per_peer = max_per_peer
        self._nonces: dict[str, dict[str, float]] = {}
        self._expiry: list[tuple[float, str, str]] = []
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def _purge(self, now: float) -> None:
        while self._expiry and self._expiry[0][0] < now:
            _, keyid, nonce = heapq.heappop(self._expiry)
            peer = self._nonces.get(keyid)
            if peer is not None and peer.pop(nonce, None) is not None:
                self._size -= 1
                if not peer:
                    del self._nonces[keyid]

    def seen(self, keyid: str, nonce: str, *, now: float) -> bool:
        self._purge(now)
        return nonce in self._nonces.get(keyid, {})

    def remember(self, keyid: str, nonce: str, *, until: float, now: float) -> None:
        self._purge(now)
        peer = self._nonces.setdefault(keyid, {})
        if nonce in peer:
            return
        if self._size >= self.max_entries or len(peer) >= self.max_per_peer:
            if not peer:
                del self._nonces[keyid]
            raise SignatureRefused(
                "Too many signed requests within the replay window; try again shortly.",
                503,
                keyid,
            )
        peer[nonce] = until
        heapq.heappush(self._expiry, (until, keyid, nonce))
        self._size += 1
