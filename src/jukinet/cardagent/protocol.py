"""The card agent's requests and answers (docs/card-agent.md, "Protocol").

Bodies are read by hand, not by a schema library: a validation error of such a library
repeats the value it refused, and a value here may be a PIN. Every refusal names the
field, never its value.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from jukinet.errors import CardAgentRefused

__all__ = [
    "MAX_BODY",
    "MAX_DATA",
    "Hash",
    "KeyKind",
    "SignRequest",
    "b64",
    "digest_info",
    "parse_certificate_request",
    "parse_sign_request",
]

MAX_DATA = 256 * 1024
"""Bytes of a document the card signs (a move-out notification is a few hundred)."""
MAX_BODY = 4 * MAX_DATA // 3 + 4096
"""A request body: the document in base64 and the other fields."""

_AUTH_PIN = re.compile(r"[0-9]{4}")
_SIGN_PIN = re.compile(r"[A-Z0-9]{6,16}")


class KeyKind(StrEnum):
    AUTHENTICATION = "authentication"
    """利用者証明用: signs sign-in challenges only, bound to the page's origin."""
    SIGNING = "signing"
    """署名用: signs documents (the online move-out, R21)."""


class Hash(StrEnum):
    SHA256 = "SHA-256"
    SHA384 = "SHA-384"
    SHA512 = "SHA-512"


# DER of DigestInfo{ AlgorithmIdentifier{ hash, NULL }, OCTET STRING } before the digest
# (RFC 8017 §9.2, note 1): the card pads and signs exactly the DigestInfo it is sent.
_PREFIX = {
    Hash.SHA256: bytes.fromhex("3031300d060960864801650304020105000420"),
    Hash.SHA384: bytes.fromhex("3041300d060960864801650304020205000430"),
    Hash.SHA512: bytes.fromhex("3051300d060960864801650304020305000440"),
}
_HASHLIB = {Hash.SHA256: "sha256", Hash.SHA384: "sha384", Hash.SHA512: "sha512"}


def digest_info(algorithm: Hash, data: bytes) -> bytes:
    return _PREFIX[algorithm] + hashlib.new(_HASHLIB[algorithm], data).digest()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@dataclass(frozen=True, slots=True)
class SignRequest:
    kind: KeyKind
    pin: str
    challenge: bytes | None
    """A sign-in: the site's challenge, signed inside the origin-bound message."""
    data: bytes | None
    """A document (signing key only): signed as it is."""
    hash: Hash


def _body(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise CardAgentRefused("The request body is not JSON.") from None
    if not isinstance(body, dict):
        raise CardAgentRefused("The request body is a JSON object.")
    return body


def _kind(value: object) -> KeyKind:
    try:
        return KeyKind(str(value))
    except ValueError:
        raise CardAgentRefused('"kind" is "authentication" or "signing".') from None


def check_pin(kind: KeyKind, value: object) -> str:
    """The PIN if it has the card's format (a PIN out of format would cost no try on the
    card, but is refused here with a clearer sentence)."""
    if kind is KeyKind.AUTHENTICATION:
        if not isinstance(value, str) or not _AUTH_PIN.fullmatch(value):
            raise CardAgentRefused(
                "The user-authentication PIN (利用者証明用暗証番号) is 4 digits."
            )
    elif not isinstance(value, str) or not _SIGN_PIN.fullmatch(value):
        raise CardAgentRefused(
            "The signing password (署名用パスワード) is 6 to 16 upper-case letters and digits."
        )
    return value


def _bytes(body: dict[str, Any], field: str, limit: int) -> bytes:
    value = body[field]
    if not isinstance(value, str):
        raise CardAgentRefused(f'"{field}" is base64 text.')
    if len(value) > 4 * limit // 3 + 4:
        raise CardAgentRefused(f'"{field}" is longer than the {limit} bytes the card signs.')
    try:
        decoded = base64.b64decode(value, validate=True)
    except binascii.Error:
        raise CardAgentRefused(f'"{field}" is not base64.') from None
    if not decoded:
        raise CardAgentRefused(f'"{field}" is empty.')
    return decoded


def parse_sign_request(raw: bytes) -> SignRequest:
    """``POST /v1/sign``: {kind, pin, challenge | data, hash?}."""
    body = _body(raw)
    kind = _kind(body.get("kind"))
    pin = check_pin(kind, body.get("pin"))
    try:
        algorithm = Hash(str(body.get("hash", Hash.SHA256.value)))
    except ValueError:
        raise CardAgentRefused('"hash" is "SHA-256", "SHA-384" or "SHA-512".') from None
    has_challenge, has_data = "challenge" in body, "data" in body
    if kind is KeyKind.AUTHENTICATION:
        # The user-authentication key signs sign-ins only: were it to sign any data, a
        # page could have it sign the sign-in message of another origin.
        if has_data or not has_challenge:
            raise CardAgentRefused(
                'The user-authentication key signs a sign-in "challenge" only, never "data".'
            )
        if algorithm is not Hash.SHA256:
            raise CardAgentRefused("A sign-in is signed over SHA-256.")
        challenge = _bytes(body, "challenge", 64)
        if len(challenge) < 16:
            raise CardAgentRefused('A sign-in "challenge" is 16 to 64 random bytes.')
        return SignRequest(kind, pin, challenge, None, algorithm)
    if has_challenge or not has_data:
        raise CardAgentRefused(
            'The signing key signs a document ("data"); a sign-in "challenge" is signed '
            "with the user-authentication key."
        )
    return SignRequest(kind, pin, None, _bytes(body, "data", MAX_DATA), algorithm)


def parse_certificate_request(raw: bytes) -> tuple[KeyKind, str | None]:
    """``POST /v1/certificate``: {kind, pin} (the signing certificate needs the password)."""
    body = _body(raw)
    kind = _kind(body.get("kind"))
    if kind is KeyKind.SIGNING:
        return kind, check_pin(kind, body.get("pin"))
    return kind, None  # the user-authentication certificate is read without a PIN
