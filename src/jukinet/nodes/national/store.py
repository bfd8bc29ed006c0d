"""The national node's database: identity information of every resident (R1), the
code registry (R6) and the JPKI CA's records (R15, ``jpki_store``). Queries of the shared
identity tables are in ``nodes/identity/`` (``store.py``, ``applying.py``, ``reads.py``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from sqlalchemy import Connection, Engine, insert, select

from jukinet.domain.codes import generate_resident_code
from jukinet.errors import UpdateRefused
from jukinet.keys import NodeKey
from jukinet.network.messages import IdentityUpdate
from jukinet.nodes.identity import setup
from jukinet.nodes.identity.authority import Standing
from jukinet.nodes.identity.store import IdentityStore
from jukinet.nodes.identity.tables import identities, retired_codes
from jukinet.nodes.national import jpki_revocation
from jukinet.nodes.national.tables import issued_codes

KIND = "national"
MIGRATIONS = Path(__file__).parent / "migrations"
_CHUNK = 500


class NationalStore(IdentityStore):
    """Updates end here (nothing is forwarded); codes are issued from here."""

    def __init__(self, engine: Engine, key: NodeKey) -> None:
        super().__init__(engine, key)
        # Who each code of the batch being applied was issued to (``read_registry``).
        self._issued: dict[str, str] | None = None

    def writes_alone(self, u: IdentityUpdate, standing: Standing) -> bool:
        """An update of an identity held here may revoke its certificates (R15), which
        ``apply_one`` does; one that brings a new person here (a birth) revokes nothing."""
        return (standing.previous if u.previous_code is not None else standing.current) is None

    def read_registry(self, conn: Connection, codes: list[str] | None) -> None:
        """Read whom each of ``codes`` was issued to, in one query per chunk."""
        if codes is None:
            self._issued = None
            return
        issued: dict[str, str] = {}
        c = issued_codes.c
        for chunk in _chunks(codes):
            rows = conn.execute(select(c.code, c.municipality).where(c.code.in_(chunk)))
            issued.update({row.code: row.municipality for row in rows})
        self._issued = issued

    def apply_one(self, conn: Connection, sender: str, u: IdentityUpdate, at: str = "") -> None:
        """Apply ``u``, then revoke the JPKI certificates it makes wrong (R15), in ``conn``."""
        before = jpki_revocation.held_before(conn, u)
        super().apply_one(conn, sender, u, at)
        jpki_revocation.revoke_on_change(
            conn, before, u, node=self.node_id, record=lambda d: self.audit(conn, d), at=at
        )

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

    def check_registry(self, conn: Connection, u: IdentityUpdate, standing: Standing) -> None:
        """A code that appears here for the first time must be issued to the update's origin.

        First appearance: a code this node holds no identity under (a birth or any first
        report), or the new code of a code change. A code already held moves with its
        person (a move keeps the code), so the holder rule alone decides for it.
        """
        first = u.previous_code is not None or (standing.current is None and not standing.retired)
        if not first:
            return
        code = u.resident_code
        if self._issued is not None and code in self._issued:
            to: str | None = self._issued[code]
        else:  # not read for the batch, or not issued then: the registry itself decides
            to = conn.execute(
                select(issued_codes.c.municipality).where(issued_codes.c.code == code)
            ).scalar()
        if to is None:
            raise UpdateRefused(
                f"Resident code {code} was never issued by the national node (R6); "
                f"municipality {u.origin} may use only codes from its own pool."
            )
        if to != u.origin:
            raise UpdateRefused(
                f"Resident code {code} was issued to municipality {to}, not to municipality "
                f"{u.origin}; a new code must come from the pool of the municipality using it."
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
