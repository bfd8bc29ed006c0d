"""Issuing a card: its three applications, keys and certificates, as one content.

The keys are made for the card here (a real chip makes them itself); they go into
the card's content and nowhere else. Tests pass :class:`CardKeys` made once, because
RSA-2048 key generation is slow. The JPKI certificates come either from the network's
JPKI CA (:class:`JpkiCertificates`, certified at the window before the card is written)
or, for unit tests and the demo card, from a :class:`JpkiTestCA`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)

from jukinet.card import certs
from jukinet.card.apps import jpki, municipal, resident
from jukinet.card.content import CardContent
from jukinet.card.jpki_ca import JpkiTestCA, auth_subject, new_rsa_key


@dataclass(frozen=True)
class Holder:
    resident_code: str
    card_number: str
    municipality_code: str
    name: str
    valid_until: date


@dataclass(frozen=True)
class CardPins:
    jpki_auth: str
    """利用者証明用暗証番号: 4 digits."""
    jpki_sign: str | None
    """署名用パスワード: 6–16 upper-case letters and digits; None for a card without a
    signing certificate (a holder under 15, R15)."""
    resident: str
    """住基AP: 4 digits."""
    municipal: str | None
    """4 digits, or None where the municipality waived it (R16)."""


@dataclass(frozen=True)
class JpkiCertificates:
    """DER certificates the network's JPKI CA issued for the card's keys, and its own."""

    authentication: bytes
    signing: bytes | None  # None: a holder under 15 gets no signing certificate (R15)
    ca: bytes


@dataclass(frozen=True)
class Authorities:
    jpki: JpkiTestCA | JpkiCertificates
    municipality: Ed25519PrivateKey
    """The issuing municipality: certifies the card's keys (INTERNAL AUTHENTICATE), is the
    anchor of its own terminals and of unblocking JPKI PINs at its window."""
    resident_terminals: bytes
    """The network's card-terminal CA (Ed25519 public key): anchor of the 住基AP."""


@dataclass(frozen=True)
class CardKeys:
    jpki_auth: rsa.RSAPrivateKey
    jpki_sign: rsa.RSAPrivateKey
    resident: Ed25519PrivateKey
    municipal: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> CardKeys:
        return cls(
            new_rsa_key(), new_rsa_key(), Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
        )


def _pkcs8(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())


def _raw(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def issue_card(
    holder: Holder, pins: CardPins, authorities: Authorities, keys: CardKeys | None = None
) -> CardContent:
    keys = keys or CardKeys.generate()
    given = authorities.jpki
    signs = pins.jpki_sign is not None  # no signing password: no signing certificate (R15)
    if isinstance(given, JpkiTestCA):  # two test CAs, one per certificate kind
        ca = JpkiCertificates(
            given.auth.issue(keys.jpki_auth.public_key(), auth_subject(), signing=False),
            given.sign.issue(keys.jpki_sign.public_key(), holder.name, signing=True)
            if signs
            else None,
            given.auth.der,
        )
        sign_ca = given.sign.der
    else:  # the network's one JPKI CA issues both
        ca, sign_ca = given, given.ca
    if (ca.signing is not None) != signs:
        raise ValueError("a signing certificate needs a signing password, and the reverse")
    municipality_public = certs.public_bytes(authorities.municipality)
    subject = f"card {holder.card_number}"
    jpki_app = jpki.build(
        auth_cert=ca.authentication,
        auth_ca=ca.ca,
        sign_cert=ca.signing or b"",
        sign_ca=sign_ca,
        auth_key=_pkcs8(keys.jpki_auth),
        sign_key=_pkcs8(keys.jpki_sign) if signs else None,
        auth_pin=pins.jpki_auth.encode(),
        sign_pin=pins.jpki_sign.encode() if pins.jpki_sign is not None else None,
        unblock_anchor=municipality_public,
    )
    resident_app = resident.build(
        resident_code=holder.resident_code,
        card_number=holder.card_number,
        municipality_code=holder.municipality_code,
        valid_until=holder.valid_until,
        pin=pins.resident.encode(),
        card_key=_raw(keys.resident),
        card_cert=certs.issue(
            authorities.municipality,
            certs.Kind.CARD,
            resident.AID,
            subject,
            keys.resident.public_key(),
        ),
        terminal_anchor=authorities.resident_terminals,
    )
    municipal_app = municipal.build(
        card_number=holder.card_number,
        municipality_code=holder.municipality_code,
        pin=pins.municipal.encode() if pins.municipal is not None else None,
        card_key=_raw(keys.municipal),
        card_cert=certs.issue(
            authorities.municipality,
            certs.Kind.CARD,
            municipal.AID,
            subject,
            keys.municipal.public_key(),
        ),
        terminal_anchor=municipality_public,
    )
    return CardContent([jpki_app, resident_app, municipal_app])
