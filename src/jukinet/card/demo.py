"""A card to try out: an issued test card image and what is needed to use it.

Beside ``FILE`` go its chip key (``FILE.key``), the JPKI test CAs' certificates
(``FILE.jpki-auth-ca.pem``, ``FILE.jpki-sign-ca.pem``, to check the card's JPKI
certificates and signatures with openssl), and ``FILE.terminals.json``: a terminal key
and certificate for the resident-register and the municipal applications, and the
municipality's public key that certifies the card, so that the applications OpenSC
does not know can be tried too (hex throughout).
"""

from __future__ import annotations

import json
import os
import secrets
import string
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from jukinet.card import certs, image
from jukinet.card.apps import municipal, resident
from jukinet.card.builder import Authorities, CardPins, Holder, issue_card
from jukinet.card.content import ALL_RIGHTS, PinFormat
from jukinet.card.jpki_ca import JpkiTestCA
from jukinet.domain.codes import generate_resident_code
from jukinet.errors import InvalidInput

DEMO_MUNICIPALITY = "131016"
"""Chiyoda, Tokyo."""
DEMO_NAME = "Demo Hanako"
VALID_YEARS = 10


@dataclass(frozen=True)
class DemoCard:
    image: Path
    files: list[Path]
    """Everything written, the image first."""
    holder: Holder
    pins: CardPins


def _random_pin() -> str:
    return f"{secrets.randbelow(10_000):04d}"


def _random_password() -> str:
    return "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(8))


def _private_hex(key: Ed25519PrivateKey) -> str:
    return key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()).hex()


def _write(path: Path, data: bytes, mode: int = 0o644) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "wb") as out:
        out.write(data)


def write_demo_card(
    path: Path, pin: str | None = None, signing_password: str | None = None
) -> DemoCard:
    """Issue a test card to a made-up resident and write it to ``path`` (and beside it).

    ``pin`` (4 digits) is the PIN of every application but JPKI signing, whose password
    is ``signing_password`` (6–16 upper-case letters and digits); random when not given.
    """
    pin = _random_pin() if pin is None else pin
    password = _random_password() if signing_password is None else signing_password
    if not PinFormat.DIGITS_4.accepts(pin.encode()):
        raise InvalidInput("A card PIN is 4 digits.")
    if not PinFormat.UPPER_ALNUM_6_16.accepts(password.encode()):
        raise InvalidInput("The signing password is 6 to 16 upper-case letters and digits.")
    siblings = [path.with_name(path.name + suffix) for suffix in _SUFFIXES]
    taken = [p for p in (path, *siblings) if p.exists()]
    if taken:
        raise InvalidInput(f"{taken[0]} already exists; a demo card is written to new files only.")
    if not path.parent.is_dir():
        raise InvalidInput(f"The folder {path.parent} does not exist.")

    jpki_ca, municipality, network = (
        JpkiTestCA.create(),
        Ed25519PrivateKey.generate(),
        Ed25519PrivateKey.generate(),
    )
    today = date.today()
    holder = Holder(
        resident_code=generate_resident_code(),
        card_number=f"{secrets.randbelow(10**16):016d}",
        municipality_code=DEMO_MUNICIPALITY,
        name=DEMO_NAME,
        valid_until=today.replace(year=today.year + VALID_YEARS, day=min(today.day, 28)),
    )
    pins = CardPins(jpki_auth=pin, jpki_sign=password, resident=pin, municipal=pin)
    content = issue_card(
        holder, pins, Authorities(jpki_ca, municipality, certs.public_bytes(network))
    )
    terminals: dict[str, object] = {
        "municipality_public_key": certs.public_bytes(municipality).hex()
    }
    for name, aid, ca in (
        ("resident", resident.AID, network),
        ("municipal", municipal.AID, municipality),
    ):
        key = Ed25519PrivateKey.generate()
        cert = certs.issue(
            ca, certs.Kind.TERMINAL, aid, f"demo {name} window", key.public_key(), ALL_RIGHTS
        )
        terminals[name] = {
            "aid": aid.hex(),
            "certificate": cert.hex(),
            "private_key": _private_hex(key),
        }

    chip_key = image.new_chip_key()
    image.write_image(path, content, chip_key)
    key_file, auth_pem, sign_pem, terminals_file = siblings
    image.write_chip_key(key_file, chip_key)
    _write(auth_pem, jpki_ca.auth.cert.public_bytes(Encoding.PEM))
    _write(sign_pem, jpki_ca.sign.cert.public_bytes(Encoding.PEM))
    _write(terminals_file, (json.dumps(terminals, indent=2) + "\n").encode(), 0o600)
    return DemoCard(path, [path, *siblings], holder, pins)


_SUFFIXES = (".key", ".jpki-auth-ca.pem", ".jpki-sign-ca.pem", ".terminals.json")
