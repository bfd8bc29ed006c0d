"""The identity node's queries for provision and disclosure (R2, R6, R14, R24).

Reading the people asked for (by current or retired code, by folded name, by a
chunk of codes), writing provision rows, and reading a person's provisions. Every
function runs inside the caller's transaction (``IdentityStore.transaction``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, Row, and_, bindparam, func, insert, select, union_all, update

from jukinet.domain.identity import IdentityInfo, Sex
from jukinet.domain.provision import HeldIdentity
from jukinet.nodes.identity import provision_log
from jukinet.nodes.identity.tables import (
    identities,
    node,
    provision_persons,
    provisions,
    retired_codes,
)

__all__ = [
    "SEARCH_SCAN",
    "Provided",
    "by_codes",
    "by_name",
    "find",
    "find_asked",
    "index_persons",
    "log_calls",
    "log_provisions",
    "provisions_of",
    "resident_of",
]

SEARCH_SCAN = 1000  # rows of one folded name (and date of birth) read to rank candidates

_COLUMNS = [
    identities.c[f]
    for f in (
        "resident_code", "person_key", "name", "date_of_birth", "sex", "address", "status",
        "change_reason", "change_date", "name_folded", "address_folded",
    )
]  # fmt: skip


_SEX = {s.value: s for s in Sex}  # a dict lookup: Sex(value) costs a batch 0.3 µs a row


def _held(row: Sequence[Any]) -> HeldIdentity:
    code, key, name, born, sex, address, status, reason, changed, name_f, address_f = row[:11]
    info = IdentityInfo(code, name, born, _SEX[sex], address, reason, changed)
    return HeldIdentity(info, status, key, name_f, address_f)


# Built once: lookups and verifies run these per request (see audit.log for why).
_BY_CODE = select(*_COLUMNS).where(identities.c.resident_code == bindparam("code"))
_BY_RETIRED_CODE = (
    select(*_COLUMNS)
    .join(retired_codes, retired_codes.c.person_key == identities.c.person_key)
    .where(retired_codes.c.code == bindparam("code"))
)


def find(conn: Connection, code: str) -> HeldIdentity | None:
    """The person holding ``code`` now, or who held it before a code change (R6)."""
    found = find_asked(conn, code)
    return found[0] if found is not None else None


def find_asked(conn: Connection, code: str) -> tuple[HeldIdentity, bool] | None:
    """(the person, whether ``code`` is one a code change retired), or None (R6)."""
    row = conn.execute(_BY_CODE, {"code": code}).first()
    if row is not None:
        return _held(row), False
    row = conn.execute(_BY_RETIRED_CODE, {"code": code}).first()
    return (_held(row), True) if row else None


def by_name(conn: Connection, name_folded: str, date_of_birth: date | None) -> list[HeldIdentity]:
    """Up to ``SEARCH_SCAN`` people with this folded name (and date of birth, if given)."""
    query = select(*_COLUMNS).where(identities.c.name_folded == name_folded)
    if date_of_birth is not None:
        query = query.where(identities.c.date_of_birth == date_of_birth)
    return [_held(r) for r in conn.execute(query.limit(SEARCH_SCAN))]


def by_codes(
    conn: Connection, codes: Sequence[str]
) -> tuple[dict[str, HeldIdentity], dict[str, HeldIdentity]]:
    """The people holding ``codes`` now, and those who held them before a code change
    (R6), each by the code asked.

    One set-based read over the (sorted) codes; retired codes are rare, so they take
    a second small statement for the codes not held now.
    """
    held: dict[str, HeldIdentity] = {}
    if codes:
        query = select(*_COLUMNS).where(identities.c.resident_code.in_(codes))
        held = {r.resident_code: _held(r) for r in conn.execute(query)}
    missing = [c for c in codes if c not in held]
    if missing:
        query = (
            select(retired_codes.c.code, *_COLUMNS)
            .join(identities, identities.c.person_key == retired_codes.c.person_key)
            .where(retired_codes.c.code.in_(missing))
        )
        return held, {r[0]: _held(r[1:]) for r in conn.execute(query)}
    return held, {}


_LOG_COLUMNS = ("at", "node", "agency", "recipient", "affair", "function", "person_key",
                "resident_code", "fields", "request_id", "leaf", "basis", "commitment")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Provided:
    """The provision rows of one call (or batch chunk), before they are written.

    ``fixed`` is (node, agency, recipient, affair, function); ``persons`` is
    (person key, code as asked, fields given) per person; ``basis`` the affair's legal
    basis.
    """

    at: str
    fixed: tuple[str, str, str, str, str]
    persons: Sequence[tuple[str, str, str]]
    request_id: str
    basis: str


def log_provisions(
    conn: Connection, at: str, fixed: tuple[str, str, str, str, str],
    provided: Sequence[tuple[str, str, str]], request_id: str, basis: str, secret: bytes,
) -> None:  # fmt: skip
    """One provision row per person provided, each with its leaf in the provision log.

    ``fixed`` is (node, agency, recipient, affair, function); ``provided`` is
    (person key, code as asked, fields given) per person; ``basis`` the affair's legal
    basis; ``secret`` the node's disclosure secret (``provision_log``).
    """
    log_calls(conn, [Provided(at, fixed, provided, request_id, basis)], secret)


def log_calls(conn: Connection, calls: Sequence[Provided], secret: bytes) -> None:
    """The provision rows of several calls, in order, with their leaves: one append to the
    provision log (one read and one advance of its head) and one multi-row insert."""
    calls = [c for c in calls if c.persons]
    if not calls:
        return
    leaf_rows: list[provision_log.Row] = []
    for c in calls:
        node_id, _agency, recipient, affair, function = c.fixed
        leaf_rows.extend(
            (c.at, node_id, recipient, affair, c.basis, function, fields, c.request_id, key)
            for key, _asked, fields in c.persons
        )
    leaves = iter(provision_log.append(conn, secret, leaf_rows))
    # A batch writes one row per person; the DBAPI's executemany with plain tuples
    # skips SQLAlchemy's per-row parameter processing (a quarter of a batch's time).
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {provisions.name} ({', '.join(_LOG_COLUMNS)}) "
        f"VALUES ({', '.join([mark] * len(_LOG_COLUMNS))})"
    )
    rows: list[tuple[Any, ...]] = []
    for c in calls:
        rows.extend(
            (c.at, *c.fixed, key, asked, fields, c.request_id, leaf, c.basis, commitment)
            for (key, asked, fields), (leaf, commitment) in zip(c.persons, leaves, strict=False)
        )
    conn.exec_driver_sql(sql, rows)


PERSON_RUN = 50_000  # provision rows the person index takes in at a time (index_persons)
PERSONS_MARK = "persons_indexed_upto"  # node key: the highest provision id indexed


def persons_mark(conn: Connection) -> int:
    """The highest provision id the person index holds (``index_persons``)."""
    value = conn.execute(select(node.c.value).where(node.c.key == PERSONS_MARK)).scalar()
    return int(value) if value is not None else 0


def index_persons(conn: Connection, run: int | None = None) -> int:
    """Take the newest provision rows into the person index once there are ``run`` of
    them (``PERSON_RUN`` unless given; 0: whatever there is); returns how many were
    taken in.

    One ``INSERT … SELECT`` sorted by person: a run of many rows lands on each index
    page once, where one entry per row inserted at random rewrote about a page per row
    (the provision rows of a batch spent three quarters of their time there).
    """
    run = PERSON_RUN if run is None else run
    mark = persons_mark(conn)
    top = conn.execute(select(func.max(provisions.c.id))).scalar()
    if top is None or int(top) - mark < max(run, 1):
        return 0
    took = conn.execute(
        insert(provision_persons).from_select(
            ["person_key", "id", "at"],
            select(provisions.c.person_key, provisions.c.id, provisions.c.at)
            .where(provisions.c.id > mark, provisions.c.id <= top)
            .order_by(provisions.c.person_key, provisions.c.id),
        )
    ).rowcount
    moved = conn.execute(update(node).where(node.c.key == PERSONS_MARK).values(value=str(int(top))))
    if moved.rowcount == 0:  # a node migrated before the mark was kept
        conn.execute(insert(node).values(key=PERSONS_MARK, value=str(int(top))))
    return int(took)


def provisions_of(conn: Connection, person_key: str) -> Sequence[Row[Any]]:
    """Every provision row of the person, newest first: those the person index holds,
    and those written since its last run (a range scan). Run in a writing transaction:
    a full run waiting is taken in first (``index_persons``), so the scan stays under
    a run also on a node that only answers lookups."""
    index_persons(conn)
    indexed = (
        select(provisions)
        .join(
            provision_persons,
            and_(
                provision_persons.c.id == provisions.c.id, provision_persons.c.at == provisions.c.at
            ),
        )
        .where(provision_persons.c.person_key == person_key)
    )
    recent = select(provisions).where(
        provisions.c.id > persons_mark(conn), provisions.c.person_key == person_key
    )
    both = union_all(indexed, recent).subquery()
    return conn.execute(select(both).order_by(both.c.at.desc(), both.c.id.desc())).all()


def resident_of(conn: Connection, person_key: str) -> str | None:
    """The municipality the person is a resident of now (its identity's ``origin``), or
    None if the identity is removed (R14: whom a disclosure may be asked by)."""
    query = select(identities.c.origin).where(
        identities.c.person_key == person_key, identities.c.status == "resident"
    )
    origin = conn.execute(query).scalar()
    return str(origin) if origin is not None else None
