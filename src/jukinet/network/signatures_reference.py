"""The reference for the network's signatures: the ``http_message_signatures`` library.

The node signs and verifies with the purpose-built ``signature_shape.py``; this module
does the same with the general RFC 9421 library, under the same policy, so the tests can
check the two against each other both ways (and the benchmarks can show what the
purpose-built shape saves). Not used on a request's path.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from http_message_signatures import (
    HTTPMessageSignaturesException,
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    algorithms,
)

from jukinet.errors import SignatureRefused
from jukinet.network.signatures import (
    _MAX_NONCE,
    COVERED_COMPONENTS,
    LABEL,
    ReplayCache,
    _claimed_keyid,
    _fresh,
)

__all__ = ["reference_base", "reference_sign", "reference_verify"]

_OWN_HEADERS = frozenset({"content-digest", "signature", "signature-input"})


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


def reference_sign(
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


def reference_verify(
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
    created = _fresh(
        result.parameters.get("created"), result.parameters.get("expires"), clock, window, refuse
    )
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


def reference_base(
    method: str, url: str, body: bytes, key_id: str, *, created: int, nonce: str
) -> bytes:
    """The signature base the library builds for the network's shape (for comparison)."""
    message = _Request(method.upper(), url, {})
    signer = HTTPMessageSigner(
        signature_algorithm=algorithms.ED25519, key_resolver=HTTPSignatureKeyResolver()
    )
    prepared = signer.prepare(
        message,
        key_id=key_id,
        created=datetime.fromtimestamp(created, UTC),
        nonce=nonce,
        label=LABEL,
        covered_component_ids=COVERED_COMPONENTS,
        body=body,
    )
    return bytes(prepared.signature_base)
