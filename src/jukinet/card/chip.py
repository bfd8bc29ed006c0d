"""The chip as a reader sees it: an ATR, power and reset, and APDUs in and out."""

from __future__ import annotations

from typing import Protocol

ATR = bytes.fromhex("3BE000FF8131FE4514")
"""The answer to reset of every jukinet card: T=1, no historical bytes.

OpenSC recognises the JPKI card by selecting its application, not by the ATR; this is
the ATR of the cards OpenSC lists for its ``jpki`` driver (``card-jpki.c``)."""


class Chip(Protocol):
    """A card chip. ``process`` never raises: any bytes in, response data + SW1 SW2 out."""

    @property
    def atr(self) -> bytes: ...

    def power_on(self) -> bytes:
        """Power the chip (cold reset); returns the ATR. All security state is cleared."""
        ...

    def power_off(self) -> None: ...

    def reset(self) -> bytes:
        """Warm reset; returns the ATR. All security state is cleared."""
        ...

    def process(self, apdu: bytes) -> bytes:
        """Answer one command APDU with its response APDU (data, then SW1 SW2)."""
        ...
