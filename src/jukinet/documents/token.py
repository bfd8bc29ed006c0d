"""The signed token of a copy: what its QR code holds, and what the signed PDF stores.

One line of ASCII, six fields joined by ``.``::

    JK1.<municipality code>.<serial>.<issued on YYYYMMDD>.<digest>.<signature>

``digest`` is ``printed_digest(copy)`` (SHA-256 of the printed items, 32 bytes) and
``signature`` the ECDSA P-256 signature (raw r‖s, 64 bytes) over everything before its
dot, both base64url without padding: about 160 characters, a version 8 QR code at level M.

It is signed with the municipality's *document* key, the one that signs the PDF, not
with its node key: a verifier then needs one certificate (printed in the PDF, published
with the document CA, revoked by one CRL) for both, and the node key stays what it is
for, the node's identity on the network (one key, one purpose).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import date

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from jukinet.domain.copies import ResidentCopy, printed_digest
from jukinet.errors import InvalidInput

__all__ = ["VERSION", "CopyToken", "make_token", "parse_token"]

VERSION = "JK1"
MAX_LENGTH = 400
_SERIAL = re.compile(r"[0-9A-Za-z-]{1,32}")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class CopyToken:
    municipality: str
    serial: str
    issued_on: date
    digest: str  # hex, as printed_digest gives it
    signature: bytes = b""

    def signed_part(self) -> str:
        digest = _b64(bytes.fromhex(self.digest))
        when = self.issued_on.strftime("%Y%m%d")
        return f"{VERSION}.{self.municipality}.{self.serial}.{when}.{digest}"

    def text(self) -> str:
        return f"{self.signed_part()}.{_b64(self.signature)}"

    def verify(self, public: ec.EllipticCurvePublicKey) -> bool:
        """Whether the signature is the holder of ``public``'s, over the other fields."""
        if len(self.signature) != 64:
            return False
        der = encode_dss_signature(
            int.from_bytes(self.signature[:32], "big"), int.from_bytes(self.signature[32:], "big")
        )
        try:
            public.verify(der, self.signed_part().encode("ascii"), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return False
        return True


def make_token(copy: ResidentCopy, key: ec.EllipticCurvePrivateKey) -> CopyToken:
    """The token of ``copy``, signed with the issuing municipality's document key."""
    if not _SERIAL.fullmatch(copy.serial):
        raise InvalidInput(f"{copy.serial!r} cannot be a copy's serial (letters, digits, -).")
    unsigned = CopyToken(copy.issuer_code, copy.serial, copy.issued_on, printed_digest(copy))
    r, s = decode_dss_signature(
        key.sign(unsigned.signed_part().encode("ascii"), ec.ECDSA(hashes.SHA256()))
    )
    return CopyToken(
        unsigned.municipality,
        unsigned.serial,
        unsigned.issued_on,
        unsigned.digest,
        r.to_bytes(32, "big") + s.to_bytes(32, "big"),
    )


def parse_token(text: str) -> CopyToken:
    """The token in ``text`` (InvalidInput, one sentence, for anything else)."""
    text = text.strip()
    bad = InvalidInput("That is not the token of a copy of the resident record.")
    if len(text) > MAX_LENGTH or not text.isascii():
        raise bad
    parts = text.split(".")
    if len(parts) != 6 or parts[0] != VERSION:
        raise bad
    _, municipality, serial, when, digest, signature = parts
    if not re.fullmatch(r"\d{6}", municipality) or not _SERIAL.fullmatch(serial):
        raise bad
    try:
        issued_on = date(int(when[:4]), int(when[4:6]), int(when[6:8]))
        digest_bytes, signature_bytes = _unb64(digest), _unb64(signature)
    except (ValueError, binascii.Error):
        raise bad from None
    if len(when) != 8 or len(digest_bytes) != 32:
        raise bad
    return CopyToken(municipality, serial, issued_on, digest_bytes.hex(), signature_bytes)
