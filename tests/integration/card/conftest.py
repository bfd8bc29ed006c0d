"""Fixtures for the card on the real PC/SC stack: pcscd with vsmartcard's virtual reader.

``scripts/daemons`` (run by ``scripts/check`` and so by ``.ci/run``) starts ``pcscd -f``.
In CI a missing pcscd is an error, never a silent skip.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from jukinet.card import certs
from jukinet.card.builder import Authorities, CardKeys, CardPins, Holder, issue_card
from jukinet.card.chip import Chip
from jukinet.card.image import new_chip_key, write_image
from jukinet.card.jpki_ca import JpkiTestCA
from jukinet.card.pcsc import reader_names, wait_for_card
from jukinet.card.vpcd import PORT, VirtualReaderCard
from jukinet.errors import CardError


@dataclass(frozen=True)
class Inserted:
    reader: str
    card: VirtualReaderCard


SOCKET = Path("/run/pcscd/pcscd.comm")
SLOT_READER = ("Virtual PCD 00 00", "Virtual PCD 00 01")


def pcscd_or_fail() -> None:
    missing = ""
    if not SOCKET.exists():
        missing = "pcscd is not running (start it with scripts/daemons)"
    elif shutil.which("opensc-tool") is None:
        missing = "OpenSC is not installed (scripts/setup installs it)"
    else:
        try:
            names = reader_names()
        except CardError as e:
            names, missing = [], str(e)
        if not missing and SLOT_READER[0] not in names:
            missing = f"pcscd has no vsmartcard reader (readers: {names})"
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(missing)
        pytest.skip(missing)


@pytest.fixture
def insert_card() -> Iterator[Callable[[Chip, int], Inserted]]:
    """``insert_card(chip, slot)`` puts ``chip`` in vpcd's reader of that slot until the
    test ends (or ``.card.stop()`` pulls it), once pcscd sees the card."""
    pcscd_or_fail()
    inserted: list[VirtualReaderCard] = []

    def insert(chip: Chip, slot: int = 0) -> Inserted:
        states: list[str] = []
        card = VirtualReaderCard(chip, port=PORT + slot, retry=0.1, on_state=states.append)
        card.start()
        inserted.append(card)
        deadline = time.monotonic() + 10
        while "inserted" not in states:
            if time.monotonic() > deadline:
                pytest.fail(f"pcscd's reader on slot {slot} never took the card: {states}")
            time.sleep(0.05)
        if not wait_for_card(SLOT_READER[slot]):
            pytest.fail(f"pcscd never saw the card in {SLOT_READER[slot]}")
        return Inserted(SLOT_READER[slot], card)

    yield insert
    for card in inserted:
        card.stop()
    for card in inserted:
        wait_for_card(SLOT_READER[card.port - PORT], present=False)


@dataclass(frozen=True)
class IssuedCard:
    image: Path
    chip_key: bytes
    pins: CardPins
    holder: Holder


@pytest.fixture(scope="session")
def card_keys() -> CardKeys:
    """The card's keys, made once: RSA-2048 generation is slow and no test depends on
    which keys they are."""
    return CardKeys.generate()


@pytest.fixture
def issued_card(tmp_path: Path, card_keys: CardKeys) -> IssuedCard:
    """A card issued to a test resident, as an image file with its chip key."""
    holder = Holder("12345678901", "C000000001", "131016", "山田 太郎", date(2031, 3, 31))
    pins = CardPins(jpki_auth="1234", jpki_sign="ABCDEF12", resident="5678", municipal="2468")
    authorities = Authorities(
        JpkiTestCA.create(),
        Ed25519PrivateKey.generate(),
        certs.public_bytes(Ed25519PrivateKey.generate()),
    )
    content = issue_card(holder, pins, authorities, card_keys)
    key = new_chip_key()
    image = tmp_path / "card.img"
    write_image(image, content, key)
    return IssuedCard(image, key, pins, holder)
