"""The card proves who the resident is: the JPKI user-authentication key signs (R14, R15).

At the window the terminal selects the JPKI application, reads the user-authentication
certificate (EF 000A, readable without a PIN), has the resident's PIN verified (EF 0018)
and the key 0017 sign the SHA-256 DigestInfo of the request. A wrong PIN stops here with
the card's own refusal (CardRefused): nothing is signed, so nothing can be sent.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from jukinet.card.apps import jpki
from jukinet.card.terminal import Terminal

__all__ = ["SHA256_DIGEST_INFO", "UserAuthentication", "digest_info", "sign_as_user"]

# DER of DigestInfo{ AlgorithmIdentifier{ id-sha256, NULL }, OCTET STRING (32) } before
# the digest (RFC 8017 §9.2, note 1): what the card's 80 2A pads and signs.
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


def digest_info(data: bytes) -> bytes:
    return SHA256_DIGEST_INFO + hashlib.sha256(data).digest()


@dataclass(frozen=True, slots=True)
class UserAuthentication:
    """What the card gave: its user-authentication certificate (DER) and the signature
    (PKCS#1 v1.5, SHA-256) over the data."""

    certificate: bytes
    signature: bytes


def sign_as_user(terminal: Terminal, pin: str, data: bytes) -> UserAuthentication:
    """The card's user-authentication signature over ``data``, after its PIN."""
    terminal.select_application(jpki.AID)
    certificate = terminal.read_file(jpki.AUTH_CERT)
    terminal.verify(jpki.AUTH_PIN, pin)
    signature = terminal.sign(jpki.AUTH_KEY, digest_info(data))
    return UserAuthentication(certificate, signature)
