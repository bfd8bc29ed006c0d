"""A verified request as it was signed, kept for non-repudiation (R2, R7, R14).

The peer check (``gate.py``) leaves one ``SignedRequest`` in the ASGI scope of every
request whose signature it verified: the method, the URL as the caller addressed it,
the Content-Digest, Signature-Input and Signature fields, the body, the signer's key id
and its public key as the directory listed it, and the SHA-256 of the TLS client
certificate the request came over. The identity nodes keep it with the provision rows
of the request (``nodes/identity/provision_requests``): the caller's signature over what
it asked, so that a provision stays attributable to the agency that asked for it, to
anyone holding its public key, without trusting the node's own word.

``reverify`` checks a kept request again, offline, with the general RFC 9421 library
(``signatures_reference``: an implementation independent of the node's own verifier),
as of the moment it was signed.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from jukinet.errors import SignatureRefused
from jukinet.network.signature_shape import ShapeError, read_signature
from jukinet.network.signatures import ReplayCache
from jukinet.network.signatures_reference import reference_verify

__all__ = ["SIGNED_KEY", "SignedRequest", "reverify"]

SIGNED_KEY = "jukinet.signed"  # where the gate leaves the SignedRequest in the ASGI scope


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """What a caller signed, as the node received and verified it."""

    keyid: str
    method: str
    url: str
    content_digest: str
    signature_input: str
    signature: str
    body: bytes
    public_key: str  # hex of the raw 32-byte Ed25519 key
    certificate: str | None  # hex SHA-256 of the TLS client certificate (DER), if TLS ran

    def headers(self) -> dict[str, str]:
        return {
            "Content-Digest": self.content_digest,
            "Signature-Input": self.signature_input,
            "Signature": self.signature,
        }


def reverify(kept: SignedRequest) -> str | None:
    """None if ``kept`` verifies under its key as of its own ``created`` time, else why not.

    Freshness and replay are the live check's concern, not the record's: the signature
    is checked at the moment it says it was made, with an empty replay cache.
    """
    try:
        created = read_signature(kept.headers()).created
    except ShapeError as exc:
        return f"the signature fields are not the network's: {exc}"
    if created is None:
        return "the signature has no created time"
    try:
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(kept.public_key))
    except ValueError:
        return "the kept public key is not an Ed25519 key"

    def resolve(keyid: str) -> Ed25519PublicKey | None:
        return key if keyid == kept.keyid else None

    try:
        signer = reference_verify(
            kept.method, kept.url, kept.headers(), kept.body, resolve, ReplayCache(),
            now=float(created),
        )  # fmt: skip
    except SignatureRefused as exc:
        return exc.reason
    return None if signer == kept.keyid else f"signed by {signer}, not {kept.keyid}"
