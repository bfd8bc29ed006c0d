"""The national node's database: identity information of every resident (R1) and the
code registry (R6). Queries of the shared identity tables are in ``nodes/identity/store.py``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from sqlalchemy import Connection, Engine, insert, select

from jukinet.domain.codes import generate_resident_code
from jukinet.keys import NodeKey
from jukinet.nodes.identity import setup
from jukinet.nodes.identity.store import IdentityStore
from jukinet.nodes.identity.tables import identities, retired_codes
from jukinet.nodes.national.tables import issued_codes

KIND = "national"
MIGRATIONS = Path(__file__).parent / "migrations"
_CHUNK = 500


class NationalStore(IdentityStore):
    """Updates end here (nothing is forwarded); codes are issued from here."""

    def __init__(self, engine: Engine, key: NodeKey) -> None:
        super().__init__(engine, key)

    def fresh_codes(self, conn: Connection, count: int) -> list[str]:
        """``count`` random codes that no registry row, identity or retired code has."""
        chosen: dict[str, None] = {}  # insertion-ordered set: the random draw order
        while len(chosen) < count:
            candidates = {generate_resident_code() for _ in range(count - len(chosen))}
            candidates -= chosen.keys()
            for chunk in _chunks(sorted(candidates)):
                for column in (
                    issued_codes.c.code,
                    identities.c.resident_code,
                    retired_codes.c.code,
                ):
                    candidates -= set(conn.scalars(select(column).where(column.in_(chunk))))
            chosen.update(dict.fromkeys(candidates))
        return list(chosen)

    def record_issued(
        self, conn: Connection, codes: Sequence[str], municipality: str, at: str
    ) -> None:
        for chunk in _chunks(codes):
            conn.execute(
                insert(issued_codes),
                [{"code": c, "municipality": municipality, "issued_at": at} for c in chunk],
            )

    def was_issued(self, code: str) -> bool:
        """Whether the registry ever issued ``code``."""
        with self.engine.connect() as conn:
            found = conn.execute(select(issued_codes.c.code).where(issued_codes.c.code == code))
            return found.first() is not None


def migrate(engine: Engine) -> None:
    setup.migrate_identity(engine, MIGRATIONS)


def open_store(home: Path) -> NationalStore:
    return setup.open_identity_node(home, KIND, MIGRATIONS, NationalStore)


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]
