"""The PC/SC reader: a card in a real (or vsmartcard's virtual) reader, through pcscd.

The other implementation of :class:`jukinet.card.reader.Reader`; the bytes are the
same as the in-process reader's. pyscard's low-level ``scard`` module is used (the
PC/SC API itself), so that every PC/SC answer becomes one clear error.
"""

from __future__ import annotations

import time
from typing import Any

from smartcard import scard  # type: ignore[import-untyped]

from jukinet.errors import CardError, CardNotPresent

_NO_CARD = {
    scard.SCARD_E_NO_SMARTCARD,
    scard.SCARD_W_REMOVED_CARD,
    scard.SCARD_W_UNPOWERED_CARD,
    scard.SCARD_W_UNRESPONSIVE_CARD,
    scard.SCARD_W_RESET_CARD,
}


def _check(result: int, doing: str) -> None:
    if result == scard.SCARD_S_SUCCESS:
        return
    reason = scard.SCardGetErrorMessage(result)
    if result in _NO_CARD:
        raise CardNotPresent(f"No card in the reader ({doing}: {reason}).")
    if result in (scard.SCARD_E_NO_SERVICE, scard.SCARD_E_SERVICE_STOPPED):
        raise CardError(f"The PC/SC service (pcscd) is not running ({doing}: {reason}).")
    raise CardError(f"The card reader failed ({doing}: {reason}).")


def reader_names() -> list[str]:
    """The readers pcscd knows, in its order."""
    result, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    _check(result, "connecting to pcscd")
    try:
        result, names = scard.SCardListReaders(context, [])
        if result == scard.SCARD_E_NO_READERS_AVAILABLE:
            return []
        _check(result, "listing the readers")
        return list(names)
    finally:
        scard.SCardReleaseContext(context)


def wait_for_card(name: str, present: bool = True, timeout: float = 10.0) -> bool:
    """Wait until a card is (or, with ``present=False``, is no longer) in reader ``name``;
    ``False`` if that did not happen within ``timeout`` seconds."""
    result, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    _check(result, "connecting to pcscd")
    try:
        state = scard.SCARD_STATE_UNAWARE
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            result, states = scard.SCardGetStatusChange(
                context, max(0, int(left * 1000)), [(name, state)]
            )
            if result == scard.SCARD_E_TIMEOUT:
                return False
            _check(result, f"watching the reader {name}")
            _reader, event, _atr = states[0]
            if bool(event & scard.SCARD_STATE_PRESENT) == present and not (
                event & scard.SCARD_STATE_UNAVAILABLE
            ):
                return True
            state = event & ~scard.SCARD_STATE_CHANGED
            if left <= 0:
                return False
    finally:
        scard.SCardReleaseContext(context)


class PcscReader:
    """The reader named ``name`` (or the first whose name contains it)."""

    def __init__(self, name: str) -> None:
        self.wanted = name
        self._context: Any = None
        self._card: Any = None
        self._protocol: Any = None
        self._connected_to: str | None = None

    def _name(self) -> str:
        names = reader_names()
        for exact in names:
            if exact == self.wanted:
                return exact
        for candidate in names:
            if self.wanted in candidate:
                return str(candidate)
        known = ", ".join(names) or "none"
        raise CardNotPresent(f"There is no card reader {self.wanted!r} (readers: {known}).")

    def connect(self) -> bytes:
        name = self._name()
        result, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        _check(result, "connecting to pcscd")
        result, card, protocol = scard.SCardConnect(
            context,
            name,
            scard.SCARD_SHARE_SHARED,
            scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1,
        )
        if result != scard.SCARD_S_SUCCESS:
            scard.SCardReleaseContext(context)
            _check(result, f"connecting to the card in {name}")
        self._context, self._card, self._protocol = context, card, protocol
        self._connected_to = name
        result, _reader, _state, _protocol, atr = scard.SCardStatus(card)
        _check(result, "reading the card's ATR")
        return bytes(atr)

    def transmit(self, apdu: bytes) -> bytes:
        if self._card is None:
            raise CardNotPresent("No card is connected in the reader.")
        result, response = scard.SCardTransmit(self._card, self._protocol, list(apdu))
        if result != scard.SCARD_S_SUCCESS and not self._card_still_there():
            raise CardNotPresent("The card was removed from the reader during a command.")
        _check(result, "sending a command to the card")
        return bytes(response)

    def _card_still_there(self) -> bool:
        # A card pulled mid-command fails the transaction before pcscd's next poll of
        # the reader has noticed it: give the reader that long to say the card is gone.
        if self._connected_to is None:
            return False
        return not wait_for_card(self._connected_to, present=False, timeout=2.0)

    def disconnect(self) -> None:
        if self._card is not None:
            scard.SCardDisconnect(self._card, scard.SCARD_UNPOWER_CARD)
        if self._context is not None:
            scard.SCardReleaseContext(self._context)
        self._card = self._context = self._protocol = None
