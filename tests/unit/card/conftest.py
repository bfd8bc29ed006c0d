"""An issued card, made once per session (RSA-2048 keys are slow), copied per test."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from jukinet.card import certs
from jukinet.card.builder import Authorities, CardKeys, CardPins, Holder, issue_card
from jukinet.card.content import CardContent
from jukinet.card.jpki_ca import JpkiTestCA
from jukinet.card.machine import CardChip
from jukinet.card.reader import InProcessReader
from jukinet.card.terminal import Terminal

HOLDER = Holder(
    resident_code="12345678903",
    card_number="0000000000001234",
    municipality_code="131016",
    name="Yamada Taro",
    valid_until=date(2036, 3, 31),
)
PINS = CardPins(jpki_auth="1234", jpki_sign="SIGNPASS1", resident="5678", municipal="2468")


@dataclass(frozen=True)
class Issuers:
    """The keys behind a card: what a test needs to make terminals and check the card."""

    authorities: Authorities
    network_ca: Ed25519PrivateKey
    """Certifies terminals of the resident-register application."""
    municipality: Ed25519PrivateKey
    keys: CardKeys


@pytest.fixture(scope="session")
def issuers() -> Issuers:
    network_ca = Ed25519PrivateKey.generate()
    municipality = Ed25519PrivateKey.generate()
    authorities = Authorities(JpkiTestCA.create(), municipality, certs.public_bytes(network_ca))
    return Issuers(authorities, network_ca, municipality, CardKeys.generate())


@pytest.fixture(scope="session")
def issued(issuers: Issuers) -> CardContent:
    return issue_card(HOLDER, PINS, issuers.authorities, issuers.keys)


@pytest.fixture(scope="session")
def issued_waived(issuers: Issuers) -> CardContent:
    """A card whose municipality waived the municipal PIN."""
    pins = CardPins(PINS.jpki_auth, PINS.jpki_sign, PINS.resident, None)
    return issue_card(HOLDER, pins, issuers.authorities, issuers.keys)


@pytest.fixture
def content(issued: CardContent) -> CardContent:
    return copy.deepcopy(issued)


@pytest.fixture
def chip(content: CardContent) -> CardChip:
    chip = CardChip(content)
    chip.power_on()
    return chip


@pytest.fixture
def terminal(chip: CardChip) -> Iterator[Terminal]:
    reader = InProcessReader(chip)
    reader.connect()
    yield Terminal(reader)
    reader.disconnect()


def send(chip: CardChip, hex_apdu: str) -> str:
    """The chip's answer to a command written in hex, in upper-case hex."""
    return chip.process(bytes.fromhex(hex_apdu.replace(" ", ""))).hex().upper()


def sw(chip: CardChip, hex_apdu: str) -> str:
    """Only the status word of the answer."""
    return send(chip, hex_apdu)[-4:]
