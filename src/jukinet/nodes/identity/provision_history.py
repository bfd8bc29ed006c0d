"""An agency's own provision history (R14's other side; ``network/messages_history``).

What the calling agency itself has received, from the ``provisions`` rows whose
``agency`` is its node id, and no other agency's: a body's compliance officer checks
its own use of the network against its affairs. One read by the index
``ix_provisions_agency_at`` (agency, at, id; migration 0009): the window's range of
one agency's rows in time order, a page at a time by keyset (the last row's time and
id), never an offset, so page 1,000 costs what page 1 does. On PostgreSQL the window
also prunes the month partitions (migration 0007).

Every answer is one audit entry (``provision.history``), as a disclosure is; a refusal
(an agency no recipient of the legal table, or one another node serves) is one audit
entry and one line on the security log, like a refused provision. An affair that is
not the agency's, or a cursor that is not one, is ``InvalidInput``: nothing read.

The answer gives back no item of any person: with ``codes`` only the resident codes
the agency itself asked with (the row's ``resident_code``), which it holds already.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, Literal, cast

from sqlalchemy import Connection, select, tuple_

from jukinet.audit import log as audit
from jukinet.domain import provision as policy
from jukinet.domain.legal import LegalTable
from jukinet.errors import InvalidInput, JukinetError
from jukinet.network.messages import node_id
from jukinet.network.messages_history import HistoryEntry, HistoryPage, HistoryRequest
from jukinet.nodes.identity.store import IdentityStore
from jukinet.nodes.identity.tables import provisions, security_log

__all__ = ["JST", "history", "window"]

JST = timezone(timedelta(hours=9), "JST")
OPERATION = "provision.history"

_Function = Literal["lookup", "search", "verify", "batch"]


def _utc(day: date) -> str:
    """Midnight of ``day`` in Japan, as a provision row's ``at`` is written (UTC, µs)."""
    start = datetime(day.year, day.month, day.day, tzinfo=JST).astimezone(UTC)
    return start.isoformat(timespec="microseconds")


def window(req: HistoryRequest) -> tuple[str, str]:
    """``(since, until)`` of the request in UTC, ``until`` excluded."""
    if req.month is not None:
        year, month = int(req.month[:4]), int(req.month[5:])
        first = date(year, month, 1)
        after = date(year + month // 12, month % 12 + 1, 1)
        return _utc(first), _utc(after)
    assert req.since is not None and req.until is not None  # the message checked it
    return _utc(req.since), _utc(req.until + timedelta(days=1))


def _cursor(after: str | None) -> tuple[str, int] | None:
    if after is None:
        return None
    at, _, row = after.partition("/")
    try:
        datetime.fromisoformat(at)
    except ValueError:
        raise InvalidInput(f"after: {after!r} is not the next of a history page.") from None
    return at, int(row)


def _entries(rows: list[Any], codes: bool) -> list[HistoryEntry]:
    """The rows of a page as entries: consecutive rows of one call (same request id,
    time and items given) make one."""
    groups: list[tuple[Any, list[str]]] = []
    for r in rows:
        if groups and (groups[-1][0].request_id, groups[-1][0].at, groups[-1][0].fields) == (
            r.request_id, r.at, r.fields,
        ):  # fmt: skip
            groups[-1][1].append(r.resident_code)
        else:
            groups.append((r, [r.resident_code]))
    return [
        HistoryEntry(
            at=datetime.fromisoformat(first.at),
            affair=first.affair,
            basis=first.basis or "",
            function=cast(_Function, first.function),
            fields=first.fields.split(",") if first.fields else [],
            request_id=first.request_id,
            residents=len(asked),
            resident_codes=asked if codes else None,
        )
        for first, asked in groups
    ]


def _read(conn: Connection, agency: str, since: str, until: str, req: HistoryRequest) -> list[Any]:
    query = select(
        provisions.c.id,
        provisions.c.at,
        provisions.c.affair,
        provisions.c.basis,
        provisions.c.function,
        provisions.c.fields,
        provisions.c.request_id,
        provisions.c.resident_code,
    ).where(provisions.c.agency == agency, provisions.c.at >= since, provisions.c.at < until)
    if req.affair is not None:
        query = query.where(provisions.c.affair == req.affair)
    cursor = _cursor(req.after)
    if cursor is not None:
        query = query.where(tuple_(provisions.c.at, provisions.c.id) > tuple_(*cursor))
    query = query.order_by(provisions.c.at, provisions.c.id).limit(req.limit + 1)
    return list(conn.execute(query))


def history(
    store: IdentityStore, table: LegalTable, agency: str, req: HistoryRequest
) -> HistoryPage:
    """A page of ``agency``'s own provisions at this node (module docstring)."""
    actor = node_id("agency", agency)
    try:
        recipient = table.recipient_for_agency(agency)
        policy.check_served(recipient, store.kind, store.code)
    except JukinetError as exc:
        security_log.warning(
            "refused %s to %s: %s [%s]", OPERATION, actor, exc, exc.code,
            extra={"peer": actor, "reason": exc.code},
        )  # fmt: skip
        store.refused(actor, OPERATION, req.affair or "provision history", exc)
        raise
    if req.affair is not None and recipient.affair(req.affair) is None:
        own = ", ".join(a.code for a in recipient.affairs)
        raise InvalidInput(
            f"affair: {req.affair!r} is not an affair of {recipient.name} in the legal "
            f"table (its affairs: {own})."
        )
    since, until = window(req)
    with store.transaction() as conn:
        rows = _read(conn, actor, since, until, req)
        more = len(rows) > req.limit
        rows = rows[: req.limit]
        entries = _entries(rows, req.codes)
        said = req.month or f"{req.since} to {req.until}"
        detail = (
            f"{said} (JST){f', affair {req.affair}' if req.affair else ''}: {len(rows)} "
            f"row(s) in {len(entries)} entr{'y' if len(entries) == 1 else 'ies'}"
            f"{', with the codes asked' if req.codes else ''}{', more follow' if more else ''}"
        )
        store.audit(conn, audit.Draft(actor, OPERATION, recipient.code, detail=detail))
    last = rows[-1] if more else None
    return HistoryPage(
        agency=actor,
        since=datetime.fromisoformat(since),
        until=datetime.fromisoformat(until),
        entries=entries,
        rows=len(rows),
        next=f"{last.at}/{last.id}" if last is not None else None,
    )
