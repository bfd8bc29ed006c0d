"""Signing in with the resident card: a challenge bound to the site's origin (R15;
docs/card-agent.md, "Signing in").

A site that signs residents in with their card gives the page a fresh random challenge
(``new_challenge``, kept in the site's own session and used for one attempt). The page
hands it to the terminal's card agent, which has the card's user-authentication key sign
not the challenge alone but the sign-in message::

    {"challenge":"<base64>","origin":"https://portal.example.jp","type":"jukinet-card-sign-in/1"}

as canonical JSON (keys sorted, no spaces, UTF-8; ``sign_in_message``), with
RSASSA-PKCS1-v1_5 over its SHA-256 — what the card's JPKI application makes over a
SHA-256 DigestInfo. The origin is the one the browser sent the agent (``Origin``), so a
page of another site that obtained this site's challenge gets a signature naming its
own origin, which this site refuses. ``type`` keeps a sign-in from ever reading as a
document the card signed.

``verify_sign_in`` checks an answer the way every node checks a card signature
(``jukinet.jpki.verify``: issued by the network's JPKI CA, not on its current CRL,
within its validity), and that it is a user-authentication certificate. The
certificate names no one: the site learns the holder from the serial through the
national node's records of which certificate was issued to whom, as a card proof of a
disclosure request does (``nodes/national/jpki_store.bound``).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from jukinet.errors import CardSignInRefused
from jukinet.jpki.ca import Kind
from jukinet.jpki.verify import Crl, Signer, check_certificate, load_certificate

__all__ = [
    "CHALLENGE_BYTES",
    "SIGN_IN_TYPE",
    "SignInAnswer",
    "new_challenge",
    "sign_in_message",
    "verify_sign_in",
]

SIGN_IN_TYPE = "jukinet-card-sign-in/1"
CHALLENGE_BYTES = 32
MIN_CHALLENGE_BYTES = 16  # a shorter challenge could be guessed ahead and signed in advance
MAX_CHALLENGE_BYTES = 64


def new_challenge() -> bytes:
    """A fresh sign-in challenge: 32 random bytes."""
    return secrets.token_bytes(CHALLENGE_BYTES)


def sign_in_message(origin: str, challenge: bytes) -> bytes:
    """The bytes the card signs to sign in to ``origin`` with ``challenge`` (module doc)."""
    body = {
        "challenge": base64.b64encode(challenge).decode("ascii"),
        "origin": origin,
        "type": SIGN_IN_TYPE,
    }
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True, slots=True)
class SignInAnswer:
    """What the card agent answered the page (``POST /v1/sign`` with a challenge), as the
    page forwards it to the site."""

    origin: str
    challenge: bytes
    signature: bytes
    certificate: bytes

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> SignInAnswer:
        """The answer from its JSON form (base64 fields), or one refusal."""
        fields = {}
        for name in ("origin", "challenge", "signature", "certificate"):
            value = data.get(name)
            if not isinstance(value, str) or not value:
                raise CardSignInRefused(
                    f"The card's sign-in answer has no {name}; sign in with the card again."
                )
            fields[name] = value
        try:
            decoded = {
                name: base64.b64decode(fields[name], validate=True)
                for name in ("challenge", "signature", "certificate")
            }
        except binascii.Error:
            raise CardSignInRefused(
                "The card's sign-in answer is not readable (its signature, certificate or "
                "challenge is not base64)."
            ) from None
        return cls(fields["origin"], **decoded)


def verify_sign_in(
    answer: SignInAnswer,
    *,
    origin: str,
    challenge: bytes,
    ca: x509.Certificate,
    crl: Crl,
    at: datetime | None = None,
) -> Signer:
    """The certificate that signed in to ``origin`` with the ``challenge`` this site gave,
    or the one refusal: another origin, another challenge (both ``CardSignInRefused``),
    a certificate the JPKI CA does not vouch for now (``CardCertificateRefused``), the
    signing certificate, or a signature over anything else (``CardSignInRefused``)."""
    if answer.origin != origin:
        raise CardSignInRefused(
            f"The card signed in to {answer.origin}, not to this site ({origin}); "
            "sign in again from this site's own page."
        )
    if not MIN_CHALLENGE_BYTES <= len(challenge) <= MAX_CHALLENGE_BYTES:
        raise CardSignInRefused(
            f"A sign-in challenge is {MIN_CHALLENGE_BYTES} to {MAX_CHALLENGE_BYTES} random "
            "bytes; this site's is not."
        )
    if not hmac.compare_digest(answer.challenge, challenge):
        raise CardSignInRefused(
            "The card signed another challenge than the one this site gave; sign in again."
        )
    signer = check_certificate(answer.certificate, ca, crl, at)
    if signer.kind is not Kind.AUTHENTICATION:
        raise CardSignInRefused(
            "Signing in takes the card's user-authentication certificate (利用者証明用); "
            "this answer is signed with the signing certificate."
        )
    public = load_certificate(answer.certificate).public_key()
    if not isinstance(public, rsa.RSAPublicKey):  # the CA issues RSA keys only
        raise CardSignInRefused("The certificate is not a JPKI certificate of a card.")
    try:
        public.verify(
            answer.signature,
            sign_in_message(origin, challenge),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except InvalidSignature:
        raise CardSignInRefused(
            "The card's signature does not match this site's sign-in (its origin and "
            "challenge); sign in again."
        ) from None
    return signer
