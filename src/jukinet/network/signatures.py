"""Who is calling, at the application layer: RFC 9421 message signatures (R7, R8).

uvicorn checks the caller's certificate at the handshake but does not hand it to
the application, so every request between nodes also carries an HTTP message
signature made with the node key (the key of its certificate): label ``jukinet``,
algorithm ``ed25519``, ``keyid`` = node id, covering ``@method``, ``@authority``,
``@path``, ``@query`` and an RFC 9530 ``Content-Digest`` (sha-256, also of an
empty body), with ``created`` and ``nonce``. The signature base, Structured
Field parsing and digests come from the ``http_message_signatures`` library;
the policy (which keys, how fresh, no replays) is here.
"""

from __future__ import annotations

import heapq
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import http_sf
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from http_message_signatures import (
    HTTPMessageSignaturesException,
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    algorithms,
)

from jukinet.errors import SignatureRefused

__all__ = [
    "COVERED_COMPONENTS",
    "LABEL",
    "ReplayCache",
    "SignatureRefused",
    "sign_request",
    "verify_request",
]

LABEL = "jukinet"
COVERED_COMPONENTS = ("@method", "@authority", "@path", "@query", "content-digest")
_OWN_HEADERS = frozenset({"content-digest", "signature", "signature-input"})
_MAX_NONCE = 128


@dataclass
class _Request:
    """The message shape the library reads: method, absolute URL, header lines."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)


class _HeaderLines:
    """Read-only header lines for verification (keeps repeated fields apart)."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        self._headers = headers

    def items(self) -> Any:
        return self._headers.items()


@dataclass
class _Received:
    method: str
    url: str
    headers: _HeaderLines


class _OwnKey(HTTPSignatureKeyResolver):
    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key

    def resolve_private_key(self, key_id: str) -> Ed25519PrivateKey:
        return self._key


class _DirectoryKeys(HTTPSignatureKeyResolver):
    """Resolves keyids through the caller's function and remembers whether it knew them."""

    def __init__(self, resolve_key: Callable[[str], Ed25519PublicKey | None]) -> None:
        self._resolve_key = resolve_key
        self.keyid: str | None = None
        self.unknown = False

    def resolve_public_key(self, key_id: str) -> Ed25519PublicKey | None:
        self.keyid = key_id
        key = self._resolve_key(key_id)
        self.unknown = key is None
        return key


class _Verifier(HTTPMessageVerifier):
    def validate_created_and_expires(self, sig_input: Any, max_age: Any = None) -> None:
        # Freshness is checked by verify_request against its own clock and window
        # (the library's is wall-clock only and 5 s of skew), after the signature.
        return None


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
    """
    message = _Request(
        method.upper(),
        url,
        {name: value for name, value in headers.items() if name.lower() not in _OWN_HEADERS},
    )
    signer = HTTPMessageSigner(signature_algorithm=algorithms.ED25519, key_resolver=_OwnKey(key))
    signer.sign(
        message,
        key_id=key_id,
        created=datetime.fromtimestamp(time.time() if created is None else created, UTC),
        nonce=secrets.token_urlsafe(16) if nonce is None else nonce,
        label=LABEL,
        covered_component_ids=COVERED_COMPONENTS,
        body=body,
    )
    return {name: value for name, value in message.headers.items() if name.lower() in _OWN_HEADERS}


def _claimed_keyid(headers: Mapping[str, str]) -> str | None:
    """The keyid a request claims, before anything is verified: for the log only."""
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
    claimed = _claimed_keyid(headers)

    def refuse(reason: str, status: int = 401) -> SignatureRefused:
        return SignatureRefused(reason, status, claimed)

    names = {name.lower() for name in headers}
    if "signature" not in names or "signature-input" not in names:
        # No signature, no identity: mTLS alone only says "some member of the network".
        raise refuse("The request carries no signature.")
    message = _Received(method.upper(), url, _HeaderLines(headers))
    keys = _DirectoryKeys(resolve_key)
    verifier = _Verifier(signature_algorithm=algorithms.ED25519, key_resolver=keys)
    try:
        # require_components: a valid signature over fewer parts (say, only @method)
        # would let the rest of the request be changed without notice.
        results = verifier.verify(message, max_age=None, require_components=COVERED_COMPONENTS)
    except HTTPMessageSignaturesException as exc:
        if keys.unknown:
            # Only members listed as active in the signed directory may call at all (R7).
            raise SignatureRefused(
                f"{keys.keyid} is not an active member of the network directory.", 403, keys.keyid
            ) from None
        # cryptography's InvalidSignature says nothing; the library's own errors do.
        detail = str(exc) or "it does not match this request under the signer's key"
        raise refuse(f"The signature does not verify: {detail.rstrip('.')}.") from None
    result = results[0]
    keyid = str(result.parameters["keyid"])
    if result.label != LABEL:
        raise refuse(f"The signature is labelled {result.label!r}, not {LABEL!r}.")
    created = result.parameters.get("created")
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
    expires = result.parameters.get("expires")
    if isinstance(expires, int) and expires < clock:
        raise refuse("The signature has expired.")
    nonce = result.nonce
    if not isinstance(nonce, str) or not 0 < len(nonce) <= _MAX_NONCE:
        raise refuse("The signature has no nonce.")
    # Within the window, the same signed request sent twice is a replay (say, an
    # identity update applied again or a code pool drawn twice).
    if replay.seen(keyid, nonce, now=clock):
        raise refuse("The request was already received (replay).")
    try:
        # The signature covers the Content-Digest header; only this ties it to the
        # body actually received, so a changed body with the old signature fails.
        verifier.verify_body(message, results, body)
    except HTTPMessageSignaturesException as exc:
        raise refuse(f"The body does not match its signed Content-Digest: {exc}") from None
    replay.remember(keyid, nonce, until=created + window, now=clock)
    return keyid


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
