"""SELECT, READ BINARY and UPDATE BINARY (ISO/IEC 7816-4 §11.1–11.2).

Selection as OpenSC's ``jpki`` driver sends it: an application by AID
(``00 A4 04 0C <aid>``), then its EFs, PINs and keys by FID (``00 A4 02 0C 02 <fid>``).
Selecting inside an application keeps its security state; selecting an application
(even the same one again, which is how OpenSC logs out) or the MF drops it.
"""

from __future__ import annotations

from jukinet.card.apdu import Command, Response
from jukinet.card.content import ElementaryFile, Key, Pin
from jukinet.card.state import Context, StorageFailed, answer, status
from jukinet.card.sw import SW

MF = b"\x3f\x00"
P2_FCI, P2_FCP, P2_NONE = 0x00, 0x04, 0x0C


def _tlv(tag: int, value: bytes) -> bytes:
    return bytes((tag, len(value))) + value


def _fcp(obj: ElementaryFile | Pin | Key) -> bytes:
    size = len(obj.data) if isinstance(obj, ElementaryFile) else 0
    kind = 0x01 if isinstance(obj, ElementaryFile) else 0x11  # transparent EF / internal EF
    return _tlv(
        0x62,
        _tlv(0x80, size.to_bytes(2, "big"))
        + _tlv(0x82, bytes((kind,)))
        + _tlv(0x83, obj.fid.to_bytes(2, "big")),
    )


def select(ctx: Context, cmd: Command) -> Response:
    if cmd.p1 not in (0x00, 0x02, 0x04) or cmd.p2 not in (P2_FCI, P2_FCP, P2_NONE):
        return status(SW.WRONG_P1_P2)
    if cmd.p1 == 0x04:
        if cmd.p2 == P2_FCP or not cmd.data:
            return status(SW.WRONG_P1_P2 if cmd.data else SW.WRONG_LENGTH)
        app = ctx.content.application(cmd.data)
        if app is None:
            return status(SW.FILE_NOT_FOUND)
        fci = _tlv(0x6F, _tlv(0x84, app.aid))
        selected = answer(cmd, fci) if cmd.p2 == P2_FCI and cmd.le is not None else status(SW.OK)
        if selected.sw == SW.OK:  # a 6Cxx (Le too short) asks again: nothing is selected
            ctx.session.enter(app)
        return selected
    if cmd.p1 == 0x00 and cmd.data in (b"", MF):
        ctx.session.enter(None)
        return status(SW.OK)
    if len(cmd.data) != 2:
        return status(SW.WRONG_LENGTH)
    app, fid = ctx.session.app, int.from_bytes(cmd.data, "big")
    obj = (app.files.get(fid) or app.pins.get(fid) or app.keys.get(fid)) if app else None
    if obj is None:
        return status(SW.FILE_NOT_FOUND)
    selected = answer(cmd, _fcp(obj)) if cmd.p2 != P2_NONE and cmd.le is not None else status(SW.OK)
    if selected.sw == SW.OK:  # a 6Cxx (Le too short) asks again: nothing is selected
        ctx.session.ef = fid
    return selected


def _current_file(ctx: Context, cmd: Command) -> ElementaryFile | int:
    if cmd.p1 & 0x80:
        return SW.FUNCTION_NOT_SUPPORTED  # short EF identifiers are not offered
    current = ctx.current()
    if isinstance(current, int):
        return current
    if not isinstance(current, ElementaryFile):
        return SW.INCOMPATIBLE_FILE  # a PIN or a key: never read, never written
    return current


def read_binary(ctx: Context, cmd: Command) -> Response:
    if cmd.data or cmd.le is None:
        return status(SW.WRONG_LENGTH)
    ef = _current_file(ctx, cmd)
    if isinstance(ef, int):
        return status(ef)
    if not ctx.session.satisfies(ef.read):
        return status(SW.SECURITY_STATUS_NOT_SATISFIED)
    offset = cmd.p1p2
    if offset >= len(ef.data):
        return status(SW.WRONG_OFFSET)
    chunk = ef.data[offset : offset + cmd.le]
    return Response(chunk, SW.OK if len(chunk) == cmd.le else SW.END_OF_FILE)


def update_binary(ctx: Context, cmd: Command) -> Response:
    if not cmd.data or cmd.le is not None:
        return status(SW.WRONG_LENGTH)
    ef = _current_file(ctx, cmd)
    if isinstance(ef, int):
        return status(ef)
    if ef.update is None or not ctx.session.satisfies(ef.update):
        return status(SW.SECURITY_STATUS_NOT_SATISFIED)
    offset = cmd.p1p2
    if offset >= len(ef.data):
        return status(SW.WRONG_OFFSET)
    if offset + len(cmd.data) > len(ef.data):
        return status(SW.WRONG_LENGTH)  # an EF keeps the size it was issued with
    before = ef.data
    ef.data = before[:offset] + cmd.data + before[offset + len(cmd.data) :]
    try:
        ctx.save()
    except StorageFailed:
        ef.data = before  # not written: the file stays as the card's memory holds it
        raise
    return status(SW.OK)
