"""The one reader port terminals use, and its in-process implementation."""

from __future__ import annotations

from typing import Protocol

from jukinet.card.chip import Chip
from jukinet.errors import CardNotPresent


class Reader(Protocol):
    """A card reader with a card in it: PC/SC (``jukinet.card.pcsc``) or in-process."""

    def connect(self) -> bytes:
        """Power the card; returns its ATR."""
        ...

    def transmit(self, apdu: bytes) -> bytes:
        """Send one command APDU; returns the response APDU (data + SW1 SW2)."""
        ...

    def disconnect(self) -> None: ...


class InProcessReader:
    """A reader wired straight to a :class:`Chip`: the same bytes PC/SC would carry."""

    def __init__(self, chip: Chip) -> None:
        self._chip = chip
        self._connected = False

    def connect(self) -> bytes:
        self._connected = True
        return self._chip.power_on()

    def transmit(self, apdu: bytes) -> bytes:
        if not self._connected:
            raise CardNotPresent("No card is connected in the reader.")
        return self._chip.process(bytes(apdu))

    def disconnect(self) -> None:
        if self._connected:
            self._chip.power_off()
        self._connected = False
