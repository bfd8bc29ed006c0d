"""An agency's own provision history (R14's other side; docs/network.md, "An agency's
provision history"): ``POST /provision/history`` on the node that serves it.

The agency names a window, a month (``2026-12``) or a range of days (``since`` to
``until``, both included, at most ``MAX_HISTORY_DAYS`` days), in Japan time (JST,
UTC+9: the day a compliance officer means); optionally one of its affairs; and whether
it wants the resident codes it asked with (``codes``; by default only how many
residents each provision touched). The node answers the provision rows of that agency,
and of no other, oldest first, a page of at most ``limit`` rows at a time
(``MAX_HISTORY_PAGE``), grouped into entries: one per call (a batch chunk is one), each
with when, the affair and its legal basis, the function, the items given and the
request id. ``next`` is the cursor of the following page (``None`` on the last one); a
call whose rows go on over a page boundary appears on both pages with the same
request id and time, and the SDK (``AgencyClient.history_all``) joins them.

The codes are the codes as the agency asked them, which it holds already (an affair
with a sector pseudonym never received the resident code; its history gives back
only what it sent). Nothing of the person the node holds is answered.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from jukinet.network.messages import IsoDate, Message, Request

__all__ = [
    "MAX_HISTORY_DAYS",
    "MAX_HISTORY_PAGE",
    "HistoryEntry",
    "HistoryPage",
    "HistoryRequest",
]

MAX_HISTORY_PAGE = 1000  # provision rows a page holds at most (codes included: ~40 KB)
MAX_HISTORY_DAYS = 366
_FIRST, _LAST = date(2000, 1, 1), date(2999, 12, 31)  # the network's years, with room
Cursor = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{8,15}\+00:00/[0-9]{1,18}$",
        max_length=64,
        description="The `next` of the previous page, as it came.",
    ),
]
Month = Annotated[
    str,
    Field(
        pattern=r"^2[0-9]{3}-(0[1-9]|1[0-2])$", description="A month in Japan time, e.g. 2026-12."
    ),
]


class HistoryRequest(Request):
    """A window of the calling agency's own provisions (module docstring)."""

    month: Month | None = None
    since: IsoDate | None = None
    until: IsoDate | None = None
    affair: str | None = Field(default=None, min_length=1, max_length=64)
    codes: bool = False
    limit: int = Field(default=100, ge=1, le=MAX_HISTORY_PAGE)
    after: Cursor | None = None

    @model_validator(mode="after")
    def _one_window(self) -> Self:
        days = self.since is not None or self.until is not None
        if (self.month is None) == (not days):
            raise ValueError(
                "name either a month (month, e.g. 2026-12) or a range of days (since and "
                "until, e.g. 2026-12-01 and 2026-12-31), not both and not neither"
            )
        if days:
            if self.since is None or self.until is None:
                raise ValueError("a range of days needs both since and until")
            if not (self.since >= _FIRST and self.until <= _LAST):
                raise ValueError("since and until are days of the years 2000 to 2999")
            if self.until < self.since:
                raise ValueError("until is before since")
            if self.until - self.since >= timedelta(days=MAX_HISTORY_DAYS):
                raise ValueError(
                    f"a range of days spans at most {MAX_HISTORY_DAYS} days; ask in parts"
                )
        return self


class HistoryEntry(Message):
    """One call (or batch chunk) of the agency, as its provision rows record it."""

    at: datetime
    affair: str
    basis: str
    function: Literal["lookup", "search", "verify", "batch"]
    fields: list[str]  # the items given ([] for a verify, and for a retired code)
    request_id: str
    residents: int = Field(ge=1)  # residents this entry's rows touched
    resident_codes: list[str] | None = None  # as asked; only with ``codes``


class HistoryPage(Message):
    """One page of the agency's provision history, oldest first."""

    agency: str
    since: datetime  # the window in UTC: from (included) ...
    until: datetime  # ... to (excluded)
    entries: list[HistoryEntry]
    rows: int = Field(ge=0)  # provision rows on this page
    next: Cursor | None = None
