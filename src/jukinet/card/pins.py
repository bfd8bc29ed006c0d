"""VERIFY, CHANGE REFERENCE DATA and RESET RETRY COUNTER (ISO/IEC 7816-4 §11.5).

The PIN is the current one: select its FID, then ``00 20 00 80`` (as OpenSC's
``jpki`` driver and the ``myna`` tool do; P2 80 means "the selected reference data").

A try is paid for before the PIN is compared: the decremented counter is written to
the card's memory first, so a card pulled out mid-command has still used the try
(R19). A right PIN then restores the counter and is written again.
"""

from __future__ import annotations

import hmac

from jukinet.card.apdu import Command, Response
from jukinet.card.content import UNBLOCK, Pin
from jukinet.card.state import Context, StorageFailed, status
from jukinet.card.sw import SW, tries_left

P2_CURRENT = 0x80


def _current_pin(ctx: Context, cmd: Command, p1: tuple[int, ...]) -> Pin | int:
    if cmd.p1 not in p1 or cmd.p2 != P2_CURRENT:
        return SW.WRONG_P1_P2
    if cmd.le is not None:
        return SW.WRONG_LENGTH
    current = ctx.current()
    if isinstance(current, int):
        return current
    return current if isinstance(current, Pin) else SW.INCOMPATIBLE_FILE


def verify(ctx: Context, cmd: Command) -> Response:
    pin = _current_pin(ctx, cmd, (0x00,))
    if isinstance(pin, int):
        return status(pin)
    if not cmd.data:
        # Always 63Cx, even once verified: OpenSC reads the tries left from SW2 and
        # takes any other answer for an error (card-jpki.c, SC_PIN_CMD_GET_INFO).
        return status(tries_left(pin.tries_left))
    if pin.tries_left <= 0:
        return status(SW.REFERENCE_DATA_BLOCKED)
    if not pin.format.accepts(cmd.data):
        return status(SW.WRONG_DATA)  # cannot be the PIN: no try is used
    pin.tries_left -= 1
    paid = pin.tries_left
    ctx.save()
    if not hmac.compare_digest(cmd.data, pin.value):
        ctx.session.verified.discard(pin.fid)  # a failed check undoes an earlier one
        return status(tries_left(paid))
    pin.tries_left = pin.max_tries
    try:
        ctx.save()
    except StorageFailed:
        pin.tries_left = paid  # what the card's memory holds
        raise
    ctx.session.verified.add(pin.fid)
    return status(SW.OK)


def change_reference_data(ctx: Context, cmd: Command) -> Response:
    """``00 24 01 80 <new>``: the PIN must have been verified in this session."""
    pin = _current_pin(ctx, cmd, (0x01,))
    if isinstance(pin, int):
        return status(pin)
    if not cmd.data:
        return status(SW.WRONG_LENGTH)
    if pin.tries_left <= 0:
        return status(SW.REFERENCE_DATA_BLOCKED)
    if pin.fid not in ctx.session.verified:
        return status(SW.SECURITY_STATUS_NOT_SATISFIED)
    if not pin.format.accepts(cmd.data):
        return status(SW.WRONG_DATA)
    _set(ctx, pin, cmd.data)
    return status(SW.OK)


def reset_retry_counter(ctx: Context, cmd: Command) -> Response:
    """Unblock at the window: ``00 2C 03 80`` (counter only) or ``00 2C 02 80 <new>``.

    There is no PUK: a terminal holding the UNBLOCK right must have passed EXTERNAL
    AUTHENTICATE in this application (the municipality, after checking who the holder is).
    """
    pin = _current_pin(ctx, cmd, (0x02, 0x03))
    if isinstance(pin, int):
        return status(pin)
    if bool(cmd.data) != (cmd.p1 == 0x02):
        return status(SW.WRONG_LENGTH)
    if not ctx.session.rights & UNBLOCK:
        return status(SW.SECURITY_STATUS_NOT_SATISFIED)
    if cmd.data and not pin.format.accepts(cmd.data):
        return status(SW.WRONG_DATA)
    _set(ctx, pin, cmd.data or pin.value)
    return status(SW.OK)


def _set(ctx: Context, pin: Pin, value: bytes) -> None:
    before = pin.value, pin.tries_left
    pin.value, pin.tries_left = value, pin.max_tries
    try:
        ctx.save()
    except StorageFailed:
        pin.value, pin.tries_left = before
        raise
