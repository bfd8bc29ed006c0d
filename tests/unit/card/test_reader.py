"""The in-process reader carries the bytes PC/SC would, and knows when no card is in."""

from __future__ import annotations

import pytest

from jukinet.card.apps import jpki
from jukinet.card.content import CardContent
from jukinet.card.machine import CardChip
from jukinet.card.reader import InProcessReader
from jukinet.errors import CardNotPresent

SELECT = bytes.fromhex("00A4040C0A") + jpki.AID


def test_the_reader_powers_the_card_and_passes_bytes_through(content: CardContent) -> None:
    chip = CardChip(content)
    reader = InProcessReader(chip)
    assert reader.connect() == bytes.fromhex("3BE000FF8131FE4514")
    assert reader.transmit(SELECT) == b"\x90\x00"
    assert reader.transmit(b"\x00") == bytes.fromhex("6700")
    assert chip.session.app is not None
    reader.disconnect()
    assert chip.session.app is None  # powered off: the state is gone


def test_without_a_card_connected_nothing_is_sent(content: CardContent) -> None:
    reader = InProcessReader(CardChip(content))
    with pytest.raises(CardNotPresent):
        reader.transmit(SELECT)
    reader.connect()
    reader.disconnect()
    with pytest.raises(CardNotPresent) as caught:
        reader.transmit(SELECT)
    assert caught.value.code == "card-not-present"
