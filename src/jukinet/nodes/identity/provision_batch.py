"""A batch chunk's reads and answer lines with as little Python per row as it takes (R24).

A batch answers millions of rows; building a model object per row and serialising it
cost a third of a person's time. Here a chunk's people come from one statement over
the sorted codes as plain tuples, with the sector pseudonym kept per person
(``pseudonym_store``) joined in; each person's record is rendered once into a JSON
fragment by a format string, and each answer line is one more format. The lines are
byte for byte what ``BatchRow.model_dump_json(exclude_none=True)`` gives (a test
compares them): the same key order, no spaces, non-ASCII as UTF-8, and JSON's string
escapes as ``json.encoder.encode_basestring`` writes them (pydantic's are the same).
"""

from __future__ import annotations

import json.encoder
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from jukinet.domain.provision import BatchItem
from jukinet.nodes.identity.tables import identities, pseudonyms, retired_codes

__all__ = ["Render", "answer_lines", "read_held", "read_retired"]

# What JSON makes of a Python str (C, non-ASCII kept as UTF-8), quotes included.
_quote: Any = json.encoder.encode_basestring  # typeshed has it untyped

# The columns read per person, in this order; the pseudonym (or None) comes last.
_READ = ("resident_code", "person_key", "name", "date_of_birth", "sex", "address", "status",
         "change_reason", "change_date")  # fmt: skip
_PSEUDONYM = len(_READ)
_AT = {name: i for i, name in enumerate(_READ)} | {"pseudonym": _PSEUDONYM}


def _in(conn: Connection, column: str, values: Sequence[str]) -> tuple[str, tuple[Any, ...]]:
    """``column`` among ``values``: one bound array on PostgreSQL, a list of marks on SQLite."""
    if conn.dialect.paramstyle == "qmark":
        return f"{column} IN ({', '.join('?' * len(values))})", tuple(values)
    return f"{column} = ANY(%s)", (list(values),)


def read_held(conn: Connection, codes: Sequence[str], sector: str | None) -> list[tuple[Any, ...]]:
    """The people holding ``codes`` now, as (``_READ`` columns..., kept pseudonym or None),
    all text (dates in ISO form), in code order: one statement over the sorted codes."""
    if not codes:
        return []
    where, args = _in(conn, "i.resident_code", codes)
    columns = ", ".join(f"i.{c}" for c in _READ)
    if sector is None:
        sql = f"SELECT {columns}, NULL FROM {identities.name} i WHERE {where}"
    else:
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        sql = (
            f"SELECT {columns}, p.pseudonym FROM {identities.name} i "
            f"LEFT JOIN {pseudonyms.name} p ON p.person_key = i.person_key AND p.sector = {mark} "
            f"WHERE {where}"
        )
        args = (sector, *args)
    # The DBAPI cursor itself: its rows are plain tuples, fetched at once (SQLAlchemy's
    # result wraps and fetches each row, a few µs a person).
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, args)
        rows: list[tuple[Any, ...]] = list(cursor.fetchall())
    finally:
        cursor.close()
    if rows and rows[0][3].__class__ is not str:  # PostgreSQL gives dates: as text, once
        rows = [(*r[:3], r[3].isoformat(), *r[4:8], r[8].isoformat(), r[9]) for r in rows]
    rows.sort()
    return rows


def read_retired(conn: Connection, codes: Sequence[str]) -> dict[str, str]:
    """The person key behind each of ``codes`` that a code change retired (R6)."""
    if not codes:
        return {}
    where, args = _in(conn, "r.code", codes)
    sql = (
        f"SELECT r.code, i.person_key FROM {retired_codes.name} r "
        f"JOIN {identities.name} i ON i.person_key = r.person_key WHERE {where}"
    )
    return {code: key for code, key in conn.exec_driver_sql(sql, args)}


class Render:
    """The ``"record":{...}`` fragment of a person's answer line, for an affair's fields
    (``policy.provided_fields``: their order is the record's)."""

    def __init__(self, fields: Sequence[str]) -> None:
        inner = ",".join(f'"{f}":%s' for f in fields)
        self.template = '"record":{"fields":{' + inner + "}}"
        self.columns = tuple(_AT[f] for f in fields)

    def __call__(self, row: Sequence[Any]) -> str:
        return self.template % tuple([_quote(row[i]) for i in self.columns])


def answer_lines(
    chunk: Sequence[BatchItem], records: dict[str, str], retired: dict[str, str]
) -> bytes:
    """The chunk's answer lines, in input order: ``records`` is the rendered record of
    each code held now, ``retired`` the codes a code change retired."""
    out: list[str] = []
    add = out.append
    for row, asked, error in chunk:
        if asked is None:
            add(f'{{"row":{row},"found":false,"error":{_quote(error)}}}\n')
            continue
        record = records.get(asked)
        if record is not None:
            add(f'{{"row":{row},"resident_code":"{asked}","found":true,{record}}}\n')
        elif asked in retired:
            add(f'{{"row":{row},"resident_code":"{asked}","found":false,"status":"retired"}}\n')
        else:
            add(f'{{"row":{row},"resident_code":"{asked}","found":false}}\n')
    return "".join(out).encode()
