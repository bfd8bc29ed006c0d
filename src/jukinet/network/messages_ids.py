"""Messages of intrusion detection (R7, docs/ids.md): a node's alerts, reported to national.

A node's rules engine (``network/ids.py``) raises alerts; each node reports the new
ones to the national node (``POST /ids/alerts``), whose operators read them all
with ``jukinet ids alerts``. The reporting node is the verified caller, never a
field of the message.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, Field

from jukinet.network.messages import Message, Request

__all__ = ["AlertReport", "AlertsStored", "IdsAlert"]

_Text = Annotated[str, Field(min_length=1, max_length=200)]
_Reason = Annotated[str, Field(max_length=1000)]
# JSON has no datetime type: an ISO 8601 text with its offset (strict otherwise).
_When = Annotated[AwareDatetime, Field(strict=False)]


class IdsAlert(Request):
    """One alert: when, which rule, for which value of its key, how many, why."""

    at: _When
    rule: _Text
    key: _Text
    value: _Text
    count: float = Field(ge=0)
    reason: _Reason = ""
    source_ip: Annotated[str, Field(max_length=64)] | None = None
    blocked_until: _When | None = None


class AlertReport(Request):
    alerts: list[IdsAlert] = Field(min_length=1, max_length=200)


class AlertsStored(Message):
    stored: int
