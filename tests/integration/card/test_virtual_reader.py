"""A chip in vsmartcard's virtual reader is a card to every PC/SC client (R15, issue 9).

The chip here is a small real implementation of the ``Chip`` port that answers with
what it was sent, so that the bridge and the reader are tested on their own bytes;
the JPKI card itself is driven by OpenSC in ``test_opensc.py``.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

import pytest

from jukinet.card.chip import ATR, Chip
from jukinet.card.pcsc import PcscReader
from jukinet.errors import CardNotPresent

from .conftest import Inserted


class EchoChip:
    """Answers a command with its data reversed and 9000; counts power events."""

    def __init__(self) -> None:
        self.powered = 0
        self.resets = 0
        self.commands: list[bytes] = []

    @property
    def atr(self) -> bytes:
        return ATR

    def power_on(self) -> bytes:
        self.powered += 1
        return ATR

    def power_off(self) -> None:
        pass

    def reset(self) -> bytes:
        self.resets += 1
        return ATR

    def process(self, apdu: bytes) -> bytes:
        self.commands.append(apdu)
        if apdu[:2] == b"\x00\xff":
            raise RuntimeError("a defect of the chip")
        data = apdu[5 : 5 + apdu[4]] if len(apdu) > 5 else b""
        return data[::-1] + b"\x90\x00"


def test_opensc_sees_the_atr_and_pyscard_the_same_bytes(
    insert_card: Callable[[Chip, int], Inserted],
) -> None:
    chip = EchoChip()
    name = insert_card(chip, 0).reader
    atr = subprocess.run(
        ["opensc-tool", "--reader", "0", "--atr"], capture_output=True, text=True, timeout=30
    )
    assert atr.returncode == 0, atr.stderr
    assert atr.stdout.strip().lower() == "3b:e0:00:ff:81:31:fe:45:14"

    reader = PcscReader(name)
    assert reader.connect() == ATR
    try:
        assert reader.transmit(bytes.fromhex("00A4040C03010203")) == bytes.fromhex("0302019000")
        # A chip that fails answers 6F00; the reader and the bridge go on.
        assert reader.transmit(bytes.fromhex("00FF0000")) == bytes.fromhex("6F00")
        assert reader.transmit(bytes.fromhex("0001000001AA")) == bytes.fromhex("AA9000")
    finally:
        reader.disconnect()
    assert bytes.fromhex("00A4040C03010203") in chip.commands


def test_an_extended_apdu_crosses_the_stack_whole(
    insert_card: Callable[[Chip, int], Inserted],
) -> None:
    class Extended(EchoChip):
        def process(self, apdu: bytes) -> bytes:
            self.commands.append(apdu)
            return apdu[7:][::-1] + b"\x90\x00"

    chip = Extended()
    reader = PcscReader(insert_card(chip, 0).reader)
    reader.connect()
    data = bytes(range(256)) * 4
    command = bytes.fromhex("00DA0000") + b"\x00" + len(data).to_bytes(2, "big") + data
    try:
        assert reader.transmit(command) == data[::-1] + b"\x90\x00"
    finally:
        reader.disconnect()
    assert chip.commands[-1] == command


def test_a_pulled_card_is_one_clear_error(insert_card: Callable[[Chip, int], Inserted]) -> None:
    inserted = insert_card(EchoChip(), 1)
    reader = PcscReader(inserted.reader)
    reader.connect()
    inserted.card.stop()
    deadline = time.monotonic() + 10
    with pytest.raises(CardNotPresent, match=r"removed from the reader|No card in the reader"):
        while time.monotonic() < deadline:
            reader.transmit(bytes.fromhex("0001000001AA"))
            time.sleep(0.1)
    reader.disconnect()


def test_an_unknown_reader_is_named_in_the_error() -> None:
    with pytest.raises(CardNotPresent, match="no card reader 'Nowhere 99'"):
        PcscReader("Nowhere 99").connect()
