"""Loading identities in bulk into a prefecture or national node (docs/operations.md,
"Loading identities in bulk").

A CSV file of identity information (R1; columns in ``bulkload_rows.REQUIRED``) is
checked row by row and written in one transaction: every row or none. Each person
gets an identity row and one history row (R22) whose sender is the load
(``load:<id>``) and whose seq is the file's row number; on the national node every
code also enters the code registry (R6) as issued to its origin, unless the registry
issued it to that municipality already. One audit entry records the load and its
counts; a refused load records one refusal and changes nothing else.

On PostgreSQL the rows go in with ``COPY`` (psycopg 3's ``cursor.copy``) in the text
format, built per chunk as one string; into an empty node the secondary indexes are
dropped first and built again after the rows (``indexes="after"``), which
``bench/bulkload.py`` measures against loading with them. The primary key stays, so a
code twice in the file or already held is refused with its row number. SQLite, for
small nodes, takes the same rows by ``executemany``.
"""

from __future__ import annotations

import csv
import hashlib
import re
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Connection, Index, Table, UniqueConstraint, func, select, text
from sqlalchemy.schema import AddConstraint, DropConstraint

from jukinet.audit import log as audit
from jukinet.errors import JukinetError, LoadRefused
from jukinet.nodes.identity.applying import now
from jukinet.nodes.identity.bulkload_rows import Rows
from jukinet.nodes.identity.store import IdentityStore
from jukinet.nodes.identity.tables import identities, identity_history, retired_codes

__all__ = ["IndexMode", "Loaded", "load_csv"]

IndexMode = Literal["auto", "with", "after"]
CHUNK = 20_000  # rows per COPY (or executemany): memory flat in the file's size
_SQLITE_IN = 500  # codes per IN (...) on SQLite

_IDENTITY_COLUMNS = ("resident_code", "person_key", "name", "date_of_birth", "sex", "address",
                     "status", "change_reason", "change_date", "origin", "recorded_at",
                     "applied_at", "name_folded", "address_folded")  # fmt: skip
_HISTORY_COLUMNS = ("person_key", "resident_code", "name", "date_of_birth", "sex", "address",
                    "status", "change_reason", "change_date", "origin", "recorded_at",
                    "sender", "sender_seq", "applied_at")  # fmt: skip


@dataclass(frozen=True)
class Loaded:
    """What one load wrote."""

    rows: int
    residents: int
    removed: int
    municipalities: int
    seconds: float
    method: str  # copy | executemany
    indexes: str  # after | with
    sender: str
    sha256: str


def load_csv(
    store: IdentityStore,
    path: Path,
    *,
    operator: str,
    registry: Table | None = None,
    indexes: IndexMode = "auto",
    today: date | None = None,
) -> Loaded:
    """Load every row of ``path`` into ``store`` in one transaction, or refuse the file.

    ``registry`` is the national node's code registry (``issued_codes``), which each
    loaded code enters; None on a prefecture.
    """
    digest = _sha256(path)
    sender = f"load:{uuid.uuid4().hex[:16]}"
    try:
        with store.transaction() as conn:
            started = time.perf_counter()
            pg = conn.dialect.name == "postgresql"
            held = conn.execute(select(func.count()).select_from(identities)).scalar_one()
            mode = ("after" if held == 0 else "with") if indexes == "auto" else indexes
            at = now()
            with path.open(newline="", encoding="utf-8") as f:
                reader = csv.reader(f)
                header = next(reader, None)
                if header is None:
                    raise LoadRefused(f"{path.name} is empty: row 1 must be the header.")
                rows = Rows(header, at, today or date.today())
                if pg:
                    count = _copy(conn, rows, reader, sender, at, mode, path)
                else:
                    mode = "with"  # a small node: the indexes stay
                    count = _executemany(conn, rows, reader, sender, at)
            if count == 0:
                raise LoadRefused(f"{path.name} holds no rows after its header.")
            _check_codes(conn, sender, registry, path)
            if registry is not None:
                _register(conn, sender, registry, at)
            if pg:
                conn.exec_driver_sql("ANALYZE identities")
                conn.exec_driver_sql("ANALYZE identity_history")
            seconds = time.perf_counter() - started  # all but the commit
            loaded = Loaded(count, rows.residents, rows.removed, len(rows.origins), seconds,
                            "copy" if pg else "executemany", mode, sender, digest)  # fmt: skip
            detail = (
                f"loaded {count} identities ({rows.residents} resident, {rows.removed} removed) "
                f"of {len(rows.origins)} municipalities from {path.name} (sha256 {digest}) "
                f"as {sender}"
            )
            store.audit(conn, audit.Draft(operator, "identities.load", path.name, detail=detail))
            return loaded
    except csv.Error as exc:
        refusal = LoadRefused(f"{path.name} is not a readable CSV file: {exc}.")
        store.refused(operator, "identities.load", path.name, refusal)
        raise refusal from None
    except UnicodeDecodeError:
        refusal = LoadRefused(f"{path.name} is not UTF-8 text.")
        store.refused(operator, "identities.load", path.name, refusal)
        raise refusal from None
    except JukinetError as exc:
        if isinstance(exc, LoadRefused):
            store.refused(operator, "identities.load", path.name, exc)
        raise


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _chunks(rows: Rows, reader: Iterator[list[str]]) -> Iterator[tuple[int, list[tuple[str, ...]]]]:
    """(row number of the chunk's first row, its checked rows); row 1 is the header."""
    chunk: list[tuple[str, ...]] = []
    first = 2
    for number, row in enumerate(reader, start=2):
        chunk.append(rows.check(number, row))
        if len(chunk) >= CHUNK:
            yield first, chunk
            first, chunk = number + 1, []
    if chunk:
        yield first, chunk


# --- PostgreSQL: COPY --------------------------------------------------------


def _secondary(table: Table) -> tuple[list[Index], list[UniqueConstraint]]:
    uniques = [c for c in table.constraints if isinstance(c, UniqueConstraint)]
    return sorted(table.indexes, key=lambda i: str(i.name)), uniques


def _escape(value: str) -> str:
    """A value of COPY's text format: tabs, newlines and NULs are refused by the row
    check, so only the backslash needs escaping."""
    return value.replace("\\", "\\\\") if "\\" in value else value


_LINE = re.compile(r"line (\d+)")
_PK = f"pk_{identities.name}"


def _held_twice(conn: Connection, path: Path) -> None:
    """Refuse a code held twice (in the file, or by the node and the file) before the
    primary key is built again, naming the row that repeats it."""
    code = conn.exec_driver_sql(
        f"SELECT resident_code FROM {identities.name} GROUP BY resident_code "
        "HAVING count(*) > 1 LIMIT 1"
    ).scalar()
    if code is not None:
        rows = _rows_of(path, code)
        row = f"Row {rows[-1]}" if rows else "A row"
        raise LoadRefused(
            f"{row}: its resident code is already held by this node or earlier in the file "
            f"(Key (resident_code)=({code}) already exists)."
        )


def _copy(
    conn: Connection,
    rows: Rows,
    reader: Iterator[list[str]],
    sender: str,
    at: str,
    mode: str,
    path: Path,
) -> int:
    """The identities by one COPY (the server takes a chunk while the next is checked),
    then their history rows set-based (``_history``)."""
    import psycopg

    tables = (identities, identity_history)
    if mode == "after":
        for table in tables:
            found, uniques = _secondary(table)
            for index in found:
                conn.exec_driver_sql(f'DROP INDEX IF EXISTS "{index.name}"')
            for unique in uniques:
                conn.execute(DropConstraint(unique))
        # The primary key too: 10 million random codes inserted into its B-tree one by
        # one cost more than the COPY itself; built after, by one sort. A code held
        # twice is then found by one grouping (``_held_twice``).
        conn.exec_driver_sql(f"ALTER TABLE {identities.name} DROP CONSTRAINT {_PK}")
    dbapi: Any = conn.connection.driver_connection
    count = 0
    columns = ", ".join(_IDENTITY_COLUMNS)
    try:
        with (
            dbapi.cursor() as cur,
            cur.copy(f"COPY {identities.name} ({columns}) FROM STDIN") as copy,
        ):
            for _first, chunk in _chunks(rows, reader):
                keys = rows.person_keys(len(chunk))
                copy.write("".join([
                        f"{r[0]}\t{key}\t{_escape(r[1])}\t{r[2]}\t{r[3]}\t{_escape(r[4])}\t"
                        f"{r[5]}\t{_escape(r[6])}\t{r[7]}\t{r[8]}\t{r[9]}\t{at}\t"
                        f"{_escape(r[10])}\t{_escape(r[11])}\n"
                        for key, r in zip(keys, chunk, strict=True)
                    ]).encode())  # fmt: skip
                count += len(chunk)
    except psycopg.errors.UniqueViolation as exc:
        line = _LINE.search(exc.diag.context or "")
        row = f"Row {int(line.group(1)) + 1}" if line else "A row"  # row 1 is the header
        raise LoadRefused(
            f"{row}: its resident code is already held by this node or earlier in the file "
            f"({(exc.diag.message_detail or str(exc)).rstrip('.')})."
        ) from None
    if mode == "after":
        conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '1GB'")
        _held_twice(conn, path)
        conn.exec_driver_sql(
            f"ALTER TABLE {identities.name} ADD CONSTRAINT {_PK} PRIMARY KEY (resident_code)"
        )
    _history(conn, sender, at)
    if mode == "after":
        for table in tables:
            found, uniques = _secondary(table)
            for index in found:
                index.create(conn)
            for unique in uniques:
                conn.execute(AddConstraint(unique))
    return count


def _history(conn: Connection, sender: str, at: str) -> None:
    """One history row per loaded identity (R22), sent by the load and numbered 1..n as
    the database reads the rows just loaded (no sort: it cost a third of a load)."""
    shared = [c for c in _HISTORY_COLUMNS if c not in ("sender", "sender_seq", "applied_at")]
    conn.execute(
        text(
            f"INSERT INTO {identity_history.name} ({', '.join(_HISTORY_COLUMNS)}) "
            f"SELECT {', '.join(shared)}, :sender, "
            "row_number() OVER (), applied_at "
            f"FROM {identities.name} WHERE applied_at = :at"
        ),
        {"sender": sender, "at": at},
    )


# --- SQLite: executemany ----------------------------------------------------


def _executemany(
    conn: Connection, rows: Rows, reader: Iterator[list[str]], sender: str, at: str
) -> int:
    seen: dict[str, int] = {}
    ident_sql = _insert(identities.name, _IDENTITY_COLUMNS)
    count = 0
    for first, chunk in _chunks(rows, reader):
        codes = [r[0] for r in chunk]
        for n, code in enumerate(codes, start=first):
            if code in seen:
                raise LoadRefused(
                    f"Row {n}: resident code {code} is in the file twice (row {seen[code]})."
                )
            seen[code] = n
        for i in range(0, len(codes), _SQLITE_IN):
            part = codes[i : i + _SQLITE_IN]
            held = conn.scalars(
                select(identities.c.resident_code).where(identities.c.resident_code.in_(part))
            ).first()
            if held is not None:
                raise LoadRefused(
                    f"Row {seen[held]}: resident code {held} is already held by this node."
                )
        keys = rows.person_keys(len(chunk))
        conn.exec_driver_sql(ident_sql, [(r[0], key, *r[1:9], r[9], at, r[10], r[11])
                                         for key, r in zip(keys, chunk, strict=True)])  # fmt: skip
        count += len(chunk)
    _history(conn, sender, at)
    return count


def _insert(table: str, columns: Sequence[str]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


# --- after the rows: retired codes and the national code registry -------------


def _check_codes(conn: Connection, sender: str, registry: Table | None, path: Path) -> None:
    """Refuse a code a code change retired here (R6), or one the registry issued to
    another municipality than the row's origin."""
    h = identity_history.c
    if conn.execute(select(retired_codes.c.code).limit(1)).first() is not None:
        row = conn.execute(
            select(h.sender_seq, h.resident_code)
            .join(retired_codes, retired_codes.c.code == h.resident_code)
            .where(h.sender == sender).order_by(h.sender_seq).limit(1)
        ).first()  # fmt: skip
        if row is not None:
            raise LoadRefused(
                f"Row {_row_of(path, row.resident_code)}: resident code {row.resident_code} "
                "was retired by a code change and is never used again (R6)."
            )
    if registry is None or conn.execute(select(registry.c.code).limit(1)).first() is None:
        return
    other = conn.execute(
        select(h.sender_seq, h.resident_code, h.origin, registry.c.municipality)
        .join(registry, registry.c.code == h.resident_code)
        .where(h.sender == sender, registry.c.municipality != h.origin)
        .order_by(h.sender_seq).limit(1)
    ).first()  # fmt: skip
    if other is not None:
        raise LoadRefused(
            f"Row {_row_of(path, other.resident_code)}: resident code {other.resident_code} "
            f"was issued to municipality {other.municipality}, not to {other.origin} (R6)."
        )


def _row_of(path: Path, code: str) -> int:
    """The number of the first row holding ``code``."""
    rows = _rows_of(path, code)
    return rows[0] if rows else 0


def _rows_of(path: Path, code: str) -> list[int]:
    """The numbers of the rows holding ``code`` (read again: only a refusal needs it)."""
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        column = [h.strip() for h in next(reader)].index("resident_code")
        return [n for n, row in enumerate(reader, start=2) if row[column] == code]


def _register(conn: Connection, sender: str, registry: Table, at: str) -> None:
    """Every loaded code not yet in the registry enters it, issued to its origin."""
    conn.execute(
        text(
            f"INSERT INTO {registry.name} (code, municipality, issued_at) "
            "SELECT h.resident_code, h.origin, :at FROM identity_history h "
            f"WHERE h.sender = :sender AND NOT EXISTS (SELECT 1 FROM {registry.name} c "
            # In code order: the registry's B-tree grows at its end, not at random.
            "WHERE c.code = h.resident_code) ORDER BY h.resident_code"
        ),
        {"at": at, "sender": sender},
    )
