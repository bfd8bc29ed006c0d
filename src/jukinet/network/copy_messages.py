"""Messages of the copy verification endpoint (``POST /documents/verify`` on a
municipality node, docs/copies.md): the token read from a copy's QR code, and the
issuing municipality's answer, which names only what the token names."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from jukinet.network.messages import Message, Request

__all__ = ["TokenCheck", "TokenVerdict"]


class TokenCheck(Request):
    """The text of a copy's QR code (``JK1.…``), as scanned."""

    token: str = Field(max_length=400)


class TokenVerdict(Message):
    """Whether this municipality issued a copy with that serial, date and digest."""

    genuine: bool
    reason: str
    municipality: str
    serial: str = ""
    issued_on: date | None = None
    issued_at: str = ""  # when the copy was recorded (ISO 8601)
    wide_area: bool = False
