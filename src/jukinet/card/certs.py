"""The compact certificates of mutual authentication (R17), and what is signed.

X.509 would not fit a short APDU with its chain; these do, and a card checks them with
one Ed25519 verification each. Integers are big-endian::

    certificate = "JC" 01 kind(1) rights(1) aid_len(1) aid subject_len(1) subject
                  public_key(32) signature(64)

``kind`` is 01 (a CA, which may certify the next certificate), 02 (a terminal) or
03 (a card); ``rights`` is a mask of READ 01, UPDATE 02, UNBLOCK 04 (0 for a card);
``aid`` names the one application the certificate is for; ``subject`` is UTF-8 (at
most 64 bytes); ``signature`` is the issuer's Ed25519 signature over every byte
before it. A chain is checked from the anchor stored on the card for the selected
application: every certificate but the last is a CA, the last is a terminal, all name
that application, and the terminal's rights are those every link grants.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from jukinet.card.content import ALL_RIGHTS

MAGIC = b"JC\x01"
KEY_BYTES = 32
SIGNATURE_BYTES = 64
MAX_CHAIN = 3
MAX_SUBJECT = 64

EXTERNAL_CONTEXT = b"jukinet-card/external-authenticate\x00"
INTERNAL_CONTEXT = b"jukinet-card/internal-authenticate\x00"


class CertificateError(ValueError):
    """A certificate or chain that is malformed or does not verify."""


class Kind(IntEnum):
    CA = 1
    TERMINAL = 2
    CARD = 3


@dataclass(frozen=True)
class Certificate:
    kind: Kind
    rights: int
    aid: bytes
    subject: str
    public_key: bytes
    signed: bytes
    """Every byte the signature covers."""
    signature: bytes

    def encode(self) -> bytes:
        return self.signed + self.signature

    def signed_by(self, issuer_public: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(issuer_public).verify(self.signature, self.signed)
        except (InvalidSignature, ValueError):
            return False
        return True


def public_bytes(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


def issue(
    issuer: Ed25519PrivateKey,
    kind: Kind,
    aid: bytes,
    subject: str,
    subject_key: Ed25519PublicKey | bytes,
    rights: int = 0,
) -> bytes:
    """A certificate for ``subject_key``, signed by ``issuer``."""
    name = subject.encode()
    key = subject_key if isinstance(subject_key, bytes) else public_bytes(subject_key)
    if len(name) > MAX_SUBJECT or len(key) != KEY_BYTES or not 0 <= rights <= ALL_RIGHTS:
        raise CertificateError("subject, key or rights out of range")
    signed = MAGIC + bytes((kind, rights, len(aid))) + aid + bytes((len(name),)) + name + key
    return signed + issuer.sign(signed)


def parse(raw: bytes) -> Certificate:
    if raw[:3] != MAGIC or len(raw) < 7:
        raise CertificateError("not a card certificate")
    try:
        kind = Kind(raw[3])
    except ValueError:
        raise CertificateError("unknown certificate kind") from None
    rights, aid_len = raw[4], raw[5]
    at = 6 + aid_len
    if len(raw) <= at:
        raise CertificateError("certificate cut short")
    aid = raw[6:at]
    name_len = raw[at]
    name = raw[at + 1 : at + 1 + name_len]
    at += 1 + name_len
    if len(raw) != at + KEY_BYTES + SIGNATURE_BYTES or rights & ~ALL_RIGHTS:
        raise CertificateError("certificate of the wrong length")
    try:
        subject = name.decode()
    except UnicodeDecodeError:
        raise CertificateError("subject is not UTF-8") from None
    key = raw[at : at + KEY_BYTES]
    return Certificate(kind, rights, aid, subject, key, raw[: at + KEY_BYTES], raw[-64:])


def verify_chain(anchor: bytes, chain: list[Certificate], aid: bytes) -> Certificate:
    """The terminal certificate at the end of ``chain``, if the chain holds from ``anchor``.

    Its ``rights`` are narrowed to those every link grants."""
    if not 1 <= len(chain) <= MAX_CHAIN:
        raise CertificateError("a chain has one to three certificates")
    issuer, rights = anchor, ALL_RIGHTS
    for depth, cert in enumerate(chain):
        last = depth == len(chain) - 1
        if cert.kind is not (Kind.TERMINAL if last else Kind.CA):
            raise CertificateError("a link of the chain has the wrong kind")
        if cert.aid != aid:
            raise CertificateError("the certificate is for another application")
        if not cert.signed_by(issuer):
            raise CertificateError("a certificate is not signed by its issuer")
        issuer, rights = cert.public_key, rights & cert.rights
    end = chain[-1]
    return Certificate(
        end.kind, rights, end.aid, end.subject, end.public_key, end.signed, end.signature
    )


def encode_external_authenticate(chain: list[bytes], signature: bytes) -> bytes:
    """The data of ``00 82 00 00``: count(1), then each certificate as len(2) cert,
    then the terminal's 64-byte signature over :func:`external_message`."""
    out = bytes((len(chain),))
    for cert in chain:
        out += len(cert).to_bytes(2, "big") + cert
    return out + signature


def parse_external_authenticate(data: bytes) -> tuple[list[Certificate], bytes]:
    if not data:
        raise CertificateError("no data")
    count, at, chain = data[0], 1, []
    for _ in range(count):
        size = int.from_bytes(data[at : at + 2], "big")
        raw = data[at + 2 : at + 2 + size]
        if len(raw) != size or size == 0:
            raise CertificateError("certificate cut short")
        chain.append(parse(raw))
        at += 2 + size
    signature = data[at:]
    if len(signature) != SIGNATURE_BYTES:
        raise CertificateError("the signature has the wrong length")
    return chain, signature


def external_message(aid: bytes, challenge: bytes) -> bytes:
    """What a terminal signs to pass EXTERNAL AUTHENTICATE: the card's challenge."""
    return EXTERNAL_CONTEXT + bytes((len(aid),)) + aid + challenge


def internal_message(aid: bytes, challenge: bytes) -> bytes:
    """What the card signs for INTERNAL AUTHENTICATE: the terminal's challenge."""
    return INTERNAL_CONTEXT + bytes((len(aid),)) + aid + challenge
