"""ISO/IEC 7816-4 command and response APDUs (§5.1), short and extended length.

Written by hand, small and strict, because the card must answer *any* byte string: a
command either parses into one of the seven shapes (cases 1, 2S, 3S, 4S, 2E, 3E, 4E)
or fails with a typed error that names the status word the card answers.

Body of a command (after CLA INS P1 P2), with L its length and B1 its first byte:

====  =================================  ======
case  body                               rule
====  =================================  ======
1     (empty)                            L = 0
2S    Le(1)                              L = 1; Le 00 means 256
3S    Lc(1) data                         L = 1 + B1, B1 ≠ 0
4S    Lc(1) data Le(1)                   L = 2 + B1, B1 ≠ 0
2E    00 Le(2)                           L = 3, B1 = 0; Le 0000 means 65536
3E    00 Lc(2) data                      L = 3 + Lc, Lc ≠ 0
4E    00 Lc(2) data Le(2)                L = 5 + Lc, Lc ≠ 0
====  =================================  ======
"""

from __future__ import annotations

from dataclasses import dataclass

from jukinet.card.sw import SW

MAX_SHORT_LC = 255
MAX_SHORT_LE = 256
MAX_EXTENDED_LC = 65535
MAX_EXTENDED_LE = 65536


class ApduError(Exception):
    """A command the card cannot take apart; ``sw`` is the status word it answers."""

    sw: SW = SW.WRONG_LENGTH


class WrongLength(ApduError):
    """The body matches none of the cases (Lc or Le inconsistent with the length)."""

    sw = SW.WRONG_LENGTH


class InvalidClass(ApduError):
    """CLA FF is invalid (ISO/IEC 7816-3 §10.3.1: it is reserved for PPS)."""

    sw = SW.CLA_NOT_SUPPORTED


class InvalidInstruction(ApduError):
    """INS 6X and 9X are invalid (ISO/IEC 7816-3 §10.3.2: they are procedure bytes)."""

    sw = SW.INS_NOT_SUPPORTED


@dataclass(frozen=True)
class Command:
    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    le: int | None = None
    """Maximum number of response bytes expected (1–65536), or None when absent."""
    extended: bool = False

    def __post_init__(self) -> None:
        for name in ("cla", "ins", "p1", "p2"):
            if not 0 <= getattr(self, name) <= 0xFF:
                raise ValueError(f"{name} must be a byte")
        limit_lc = MAX_EXTENDED_LC if self.extended else MAX_SHORT_LC
        limit_le = MAX_EXTENDED_LE if self.extended else MAX_SHORT_LE
        if len(self.data) > limit_lc:
            raise ValueError("data too long for this length form")
        if self.le is not None and not 1 <= self.le <= limit_le:
            raise ValueError("Le out of range for this length form")

    @property
    def p1p2(self) -> int:
        return self.p1 << 8 | self.p2

    @property
    def case(self) -> str:
        number = 1 + (self.le is not None) + 2 * bool(self.data)
        return "1" if number == 1 else f"{number}{'E' if self.extended else 'S'}"

    def encode(self) -> bytes:
        out = bytes((self.cla, self.ins, self.p1, self.p2))
        if self.extended:
            if self.data:
                out += b"\x00" + len(self.data).to_bytes(2, "big") + self.data
            if self.le is not None:
                out += (b"" if self.data else b"\x00") + (self.le % 65536).to_bytes(2, "big")
            return out
        if self.data:
            out += bytes((len(self.data),)) + self.data
        if self.le is not None:
            out += bytes((self.le % 256,))
        return out


def command(
    cla: int, ins: int, p1: int, p2: int, data: bytes = b"", le: int | None = None
) -> Command:
    """A command in the shortest form that carries ``data`` and ``le``."""
    extended = len(data) > MAX_SHORT_LC or (le is not None and le > MAX_SHORT_LE)
    return Command(cla, ins, p1, p2, bytes(data), le, extended)


def parse_command(raw: bytes) -> Command:
    """Parse one command APDU; raises an :class:`ApduError` for anything malformed."""
    if len(raw) < 4:
        raise WrongLength("a command has at least four bytes")
    cla, ins, p1, p2 = raw[0], raw[1], raw[2], raw[3]
    if cla == 0xFF:
        raise InvalidClass("CLA FF")
    if ins & 0xF0 in (0x60, 0x90):
        raise InvalidInstruction(f"INS {ins:02X}")
    body = raw[4:]
    n = len(body)
    if n == 0:
        return Command(cla, ins, p1, p2)
    if n == 1:
        return Command(cla, ins, p1, p2, le=body[0] or 256)
    if body[0] != 0:
        lc = body[0]
        if n == 1 + lc:
            return Command(cla, ins, p1, p2, body[1:])
        if n == 2 + lc:
            return Command(cla, ins, p1, p2, body[1:-1], le=body[-1] or 256)
        raise WrongLength("Lc does not match the length of the command")
    if n == 3:
        return Command(
            cla, ins, p1, p2, le=int.from_bytes(body[1:3], "big") or 65536, extended=True
        )
    lc = int.from_bytes(body[1:3], "big")
    if lc == 0:
        raise WrongLength("an extended Lc of 0000 is not allowed")
    if n == 3 + lc:
        return Command(cla, ins, p1, p2, body[3:], extended=True)
    if n == 5 + lc:
        le = int.from_bytes(body[-2:], "big") or 65536
        return Command(cla, ins, p1, p2, body[3:-2], le=le, extended=True)
    raise WrongLength("extended Lc does not match the length of the command")


@dataclass(frozen=True)
class Response:
    data: bytes
    sw: int

    def encode(self) -> bytes:
        return self.data + self.sw.to_bytes(2, "big")

    @property
    def ok(self) -> bool:
        return self.sw == SW.OK


def parse_response(raw: bytes) -> Response:
    """Split a response APDU into its data and status word (a terminal's side)."""
    if len(raw) < 2:
        raise WrongLength("a response has at least the two status bytes")
    return Response(bytes(raw[:-2]), int.from_bytes(raw[-2:], "big"))
