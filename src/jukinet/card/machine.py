"""The card's operating system: power, reset, and one answer for every byte string.

Checks run in ISO/IEC 7816-4 order: the class byte (6E00, 6881, 6882, 6884), the
instruction (6D00), the shape of the body (6700), then the command's own checks.
Nothing raises out of :meth:`CardChip.process`; an unforeseen fault answers 6F00, a
memory that cannot be written answers 6581. Only a ``BaseException`` that is not an
``Exception`` (the process being stopped: the card losing power) goes through.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from jukinet.card import auth, files, pins, signing
from jukinet.card.apdu import ApduError, Response, parse_command
from jukinet.card.chip import ATR
from jukinet.card.content import CardContent
from jukinet.card.state import Context, Handler, Session, StorageFailed, status
from jukinet.card.sw import SW

INTERINDUSTRY, PROPRIETARY = 0x00, 0x80

HANDLERS: dict[tuple[int, int], Handler] = {
    (INTERINDUSTRY, 0xA4): files.select,
    (INTERINDUSTRY, 0xB0): files.read_binary,
    (INTERINDUSTRY, 0xD6): files.update_binary,
    (INTERINDUSTRY, 0x20): pins.verify,
    (INTERINDUSTRY, 0x24): pins.change_reference_data,
    (INTERINDUSTRY, 0x2C): pins.reset_retry_counter,
    (INTERINDUSTRY, 0x84): auth.get_challenge,
    (INTERINDUSTRY, 0x82): auth.external_authenticate,
    (INTERINDUSTRY, 0x88): auth.internal_authenticate,
    (PROPRIETARY, 0x2A): signing.compute_signature,
}


def _class_refusal(cla: int) -> SW | None:
    """Why this CLA is refused, or None for the two classes the card speaks."""
    if cla in (INTERINDUSTRY, PROPRIETARY):
        return None
    if cla < 0x20:  # first interindustry values: chaining, secure messaging, channel
        if cla & 0x10:
            return SW.CHAINING_NOT_SUPPORTED
        if cla & 0x0C:
            return SW.SECURE_MESSAGING_NOT_SUPPORTED
        return SW.LOGICAL_CHANNEL_NOT_SUPPORTED
    if 0x40 <= cla < 0x80:  # further interindustry values: channels 4–19
        if cla & 0x10:
            return SW.CHAINING_NOT_SUPPORTED
        if cla & 0x20:
            return SW.SECURE_MESSAGING_NOT_SUPPORTED
        return SW.LOGICAL_CHANNEL_NOT_SUPPORTED
    return SW.CLA_NOT_SUPPORTED


def _no_write(content: CardContent) -> None:
    return None


class CardChip:
    """A :class:`~jukinet.card.chip.Chip` over a card's content.

    ``persist`` is called with the content after every change and before the answer
    (the image writes it through, :mod:`jukinet.card.image`)."""

    def __init__(
        self,
        content: CardContent,
        persist: Callable[[CardContent], None] = _no_write,
        random: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self.content = content
        self._persist = persist
        self._random = random
        self._powered = False
        self.session = Session()

    @property
    def atr(self) -> bytes:
        return ATR

    def power_on(self) -> bytes:
        self._powered = True
        self.session = Session()
        return ATR

    def power_off(self) -> None:
        self._powered = False
        self.session = Session()

    def reset(self) -> bytes:
        return self.power_on()

    def process(self, apdu: bytes) -> bytes:
        try:
            return self._answer(bytes(apdu)).encode()
        except StorageFailed:
            return status(SW.MEMORY_FAILURE).encode()
        except Exception:
            return status(SW.NO_PRECISE_DIAGNOSIS).encode()

    def _answer(self, raw: bytes) -> Response:
        if not self._powered:
            return status(SW.NO_PRECISE_DIAGNOSIS)
        if len(raw) < 4:
            return status(SW.WRONG_LENGTH)
        refusal = _class_refusal(raw[0])
        if refusal is not None:
            return status(refusal)
        handler = HANDLERS.get((raw[0], raw[1]))
        if handler is None:
            return status(SW.INS_NOT_SUPPORTED)
        try:
            cmd = parse_command(raw)
        except ApduError as exc:
            return status(exc.sw)
        context = Context(self.content, self.session, self._persist, self._random)
        return handler(context, cmd)
