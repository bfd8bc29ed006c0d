"""Reading what an identity node holds (R1, R22): the identity under a code now, the
history of its person, the holder of a retired code, and exports for reconcile.

``IdentityStore`` (``store.py``) has these reads through ``IdentityReads``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine, func, select

from jukinet.nodes.identity.tables import identities, identity_history, retired_codes


@dataclass(frozen=True, slots=True)
class Identity:
    """One identity as held now (R1 fields, status, origin)."""

    resident_code: str
    name: str
    date_of_birth: date
    sex: str
    address: str
    status: str
    change_reason: str
    change_date: date
    origin: str
    recorded_at: str


@dataclass(frozen=True, slots=True)
class IdentityChange:
    """One applied update, as kept in the history."""

    resident_code: str
    previous_code: str | None
    name: str
    date_of_birth: date
    sex: str
    address: str
    status: str
    change_reason: str
    change_date: date
    origin: str
    recorded_at: str
    sender: str
    sender_seq: int
    applied_at: str


_IDENTITY_FIELDS = [
    "resident_code", "name", "date_of_birth", "sex", "address",
    "status", "change_reason", "change_date", "origin", "recorded_at",
]  # fmt: skip
_EXPORT_FIELDS = _IDENTITY_FIELDS[:-1]
_CHANGE_FIELDS = [*_IDENTITY_FIELDS[:1], "previous_code", *_IDENTITY_FIELDS[1:],
                  "sender", "sender_seq", "applied_at"]  # fmt: skip


class IdentityReads:
    """The reads of an identity node's database (``engine``)."""

    engine: Engine

    def identity(self, code: str) -> Identity | None:
        """The identity held now under exactly this code (None for unknown or retired codes)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(*(identities.c[f] for f in _IDENTITY_FIELDS)).where(
                    identities.c.resident_code == code
                )
            ).first()
        return Identity(**row._mapping) if row else None

    def history(self, code: str) -> list[IdentityChange]:
        """Every applied update of the person who holds or held ``code``, oldest first."""
        with self.engine.connect() as conn:
            person_key = (
                conn.execute(
                    select(identities.c.person_key).where(identities.c.resident_code == code)
                ).scalar()
                or conn.execute(
                    select(retired_codes.c.person_key).where(retired_codes.c.code == code)
                ).scalar()
            )
            if person_key is None:
                return []
            rows = conn.execute(
                select(*(identity_history.c[f] for f in _CHANGE_FIELDS))
                .where(identity_history.c.person_key == person_key)
                .order_by(identity_history.c.id)
            ).all()
        return [IdentityChange(**r._mapping) for r in rows]

    def retired_code_holder(self, code: str) -> str | None:
        """The code the person who once held retired ``code`` holds now."""
        with self.engine.connect() as conn:
            person_key = conn.execute(
                select(retired_codes.c.person_key).where(retired_codes.c.code == code)
            ).scalar()
            if person_key is None:
                return None
            return conn.execute(
                select(identities.c.resident_code).where(identities.c.person_key == person_key)
            ).scalar()

    def export(self, municipality: str, chunk: int = 1000) -> Iterator[dict[str, str]]:
        """The current identities whose origin is ``municipality``, by code (reconcile)."""
        after = ""
        while True:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    select(*(identities.c[f] for f in _EXPORT_FIELDS))
                    .where(identities.c.origin == municipality, identities.c.resident_code > after)
                    .order_by(identities.c.resident_code)
                    .limit(chunk)
                ).all()
            for r in rows:
                yield {
                    k: v.isoformat() if isinstance(v, date) else v for k, v in r._mapping.items()
                }
            if len(rows) < chunk:
                return
            after = rows[-1].resident_code

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(identities)).scalar_one())


def json_lines(rows: Iterator[dict[str, str]], per_chunk: int = 1000) -> Iterator[bytes]:
    """Rows as JSON lines in chunks: a sync iterator, so Starlette runs it (and the
    database reads behind ``rows``) in a worker thread, off the event loop."""
    chunk: list[str] = []
    for row in rows:
        chunk.append(json.dumps(row, ensure_ascii=False) + "\n")
        if len(chunk) >= per_chunk:
            yield "".join(chunk).encode()
            chunk = []
    if chunk:
        yield "".join(chunk).encode()
