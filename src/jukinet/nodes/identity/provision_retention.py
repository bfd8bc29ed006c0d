"""Keeping the provision log's rows (R14; MISSION.md: provision records are kept 7 years).

On PostgreSQL ``provisions`` is partitioned by month of ``at`` (migration 0007):
``make_months`` makes the partitions of this month and the next ``AHEAD`` (run when
the node opens and by ``jukinet identity partitions``, e.g. daily from a timer), so a
provision never waits on DDL; a row of a month without its partition lands in the
default partition and is moved into its month when that month's partition is made.

``prune`` removes the rows older than the retention: on PostgreSQL each month wholly
past it is dropped as a table (no row-by-row delete, no bloat), and the rows of the
month the cut-off falls in (and any in the default partition) are deleted; on SQLite
the rows are deleted. One audit entry records the cut-off and the counts.

The provision log's Merkle tree (``provision_tree``) holds hashes only, no personal
information, and is kept: checkpoints, consistency proofs and the inclusion proofs
of the rows still held stay valid. A pruned row's leaf line is gone, so the node can
no longer show it in a disclosure or publish it (docs/audit.md, "Retention").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Connection, delete, func, select

from jukinet.audit import log as audit
from jukinet.nodes.identity.store import IdentityStore
from jukinet.nodes.identity.tables import provision_persons, provision_requests, provisions

RETENTION_YEARS = 7  # MISSION.md, "Retention": provision records 7 years
AHEAD = 3  # months made ahead of the current one
DEFAULT = "provisions_default"
_MONTH = re.compile(r"^provisions_y(\d{4})m(\d{2})$")


def month_of(at: str) -> date:
    """The first day of the month of an ISO 8601 time (a provision's ``at``)."""
    return date(int(at[:4]), int(at[5:7]), 1)


def _next(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"provisions_y{month.year:04d}m{month.month:02d}"


def partitioned(conn: Connection) -> bool:
    """Whether ``provisions`` is partitioned here (PostgreSQL after migration 0007)."""
    if conn.dialect.name != "postgresql":
        return False
    kind = conn.exec_driver_sql(
        "SELECT c.relkind FROM pg_class c WHERE c.oid = to_regclass('provisions')"
    ).scalar()
    return kind == "p"


def months(conn: Connection) -> dict[date, str]:
    """The month partitions of ``provisions``, by their month."""
    names = conn.exec_driver_sql(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass('provisions')"
    ).scalars()
    found = {}
    for name in names:
        m = _MONTH.match(name)
        if m:
            found[date(int(m.group(1)), int(m.group(2)), 1)] = name
    return found


def make_months(
    conn: Connection, since: date | None = None, today: date | None = None
) -> list[str]:
    """Make the month partitions from ``since`` (or this month) to ``AHEAD`` months after
    this one, those missing; returns the names made. A month's rows already in the
    default partition are moved into it."""
    if not partitioned(conn):
        return []
    now = today or datetime.now(UTC).date()
    month = min(since or now, now).replace(day=1)
    last = now.replace(day=1)
    for _ in range(AHEAD):
        last = _next(last)
    have = months(conn)
    made = []
    while month <= last:
        if month not in have:
            _make(conn, month)
            made.append(partition_name(month))
        month = _next(month)
    return made


def _make(conn: Connection, month: date) -> None:
    name, lo, hi = partition_name(month), month.isoformat()[:7], _next(month).isoformat()[:7]
    stray = conn.exec_driver_sql(
        f"SELECT count(*) FROM {DEFAULT} WHERE at >= %(lo)s AND at < %(hi)s", {"lo": lo, "hi": hi}
    ).scalar_one()
    if not stray:
        conn.exec_driver_sql(
            f"CREATE TABLE {name} PARTITION OF provisions FOR VALUES FROM ('{lo}') TO ('{hi}')"
        )
        return
    # Rows of this month wait in the default partition: the month cannot be attached
    # over them, so they move into it first (in this transaction: none is lost).
    conn.exec_driver_sql(f"CREATE TABLE {name} (LIKE provisions INCLUDING DEFAULTS)")
    conn.exec_driver_sql(
        f"WITH moved AS (DELETE FROM {DEFAULT} WHERE at >= %(lo)s AND at < %(hi)s "
        f"RETURNING *) INSERT INTO {name} SELECT * FROM moved",
        {"lo": lo, "hi": hi},
    )
    conn.exec_driver_sql(
        f"ALTER TABLE provisions ATTACH PARTITION {name} FOR VALUES FROM ('{lo}') TO ('{hi}')"
    )


def ensure_partitions(store: IdentityStore) -> list[str]:
    """``make_months`` in a transaction of its own, audited when it made any."""
    with store.engine.connect() as conn:
        if not partitioned(conn):
            return []
        have = set(months(conn))
    now = datetime.now(UTC).date().replace(day=1)
    wanted = [now]
    for _ in range(AHEAD):
        wanted.append(_next(wanted[-1]))
    if all(m in have for m in wanted):
        return []  # the usual case: no lock taken on the provision log
    with store.transaction() as conn:
        made = make_months(conn)
        if made:
            store.audit(conn, audit.Draft("system", "provisions.partitions", "provisions",
                                          detail=f"made {', '.join(made)}"))  # fmt: skip
    return made


def cutoff_of(now: datetime, years: int = RETENTION_YEARS, days: int | None = None) -> datetime:
    """The oldest time still kept: ``years`` (or ``days``) before ``now``."""
    if days is not None:
        return now - timedelta(days=days)
    try:
        return now.replace(year=now.year - years)
    except ValueError:  # 29 February
        return now.replace(year=now.year - years, day=28)


@dataclass(frozen=True)
class Pruned:
    cutoff: str
    rows: int
    partitions: tuple[str, ...]


def prune(store: IdentityStore, cutoff: datetime, *, actor: str = "system") -> Pruned:
    """Remove every provision row older than ``cutoff`` (UTC); one audit entry."""
    cut = cutoff.astimezone(UTC).isoformat(timespec="microseconds")
    dropped: list[str] = []
    rows = 0
    with store.transaction() as conn:
        if partitioned(conn):
            for month, name in sorted(months(conn).items()):
                if _next(month).isoformat()[:7] <= cut[:7]:  # the whole month is past it
                    rows += conn.exec_driver_sql(f"SELECT count(*) FROM {name}").scalar_one()
                    conn.exec_driver_sql(f"DROP TABLE {name}")
                    dropped.append(name)
        old = provisions.c.at < cut
        rows += conn.execute(select(func.count()).select_from(provisions).where(old)).scalar_one()
        conn.execute(delete(provisions).where(old))
        conn.execute(delete(provision_persons).where(provision_persons.c.at < cut))
        # The signed requests behind them go with them (provision_requests).
        conn.execute(delete(provision_requests).where(provision_requests.c.at < cut))
        detail = f"pruned {rows} provision records older than {cut}"
        if dropped:
            detail += f"; dropped {', '.join(dropped)}"
        store.audit(conn, audit.Draft(actor, "provisions.prune", "provisions", detail=detail))
    return Pruned(cut, rows, tuple(dropped))


def declared_elsewhere(obj: object, name: str | None, type_: str, reflected: bool,
                       compare_to: object) -> bool:  # fmt: skip
    """Alembic's ``include_object``: False for what the partitioning adds on PostgreSQL
    beyond the declared tables (the month partitions and their indexes, and the leaf's
    unique constraint, which there holds ``at`` too): migration 0007 owns those."""
    table = getattr(getattr(obj, "table", None), "name", name or "")
    if type_ in ("table", "index") and (table == DEFAULT or _MONTH.match(str(table))):
        return False
    return not (type_ == "unique_constraint" and name == "uq_provisions_leaf")
