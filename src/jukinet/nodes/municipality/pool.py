"""The municipality's pool of unused resident codes (R6).

Codes come from a ``CodeSource``. Until the national node issues pools over the
network, a register is created with ``LocalCodeSource``, behind the same port.
"""

from __future__ import annotations

from typing import Protocol

from jukinet.audit import log as audit
from jukinet.domain.access import Permission, Session
from jukinet.domain.codes import ResidentCode, generate_resident_code
from jukinet.errors import InvalidInput
from jukinet.nodes.municipality.service import run
from jukinet.nodes.municipality.store import RegisterStore, RegisterTx

MAX_REPLENISH = 10_000_000


class CodeSource(Protocol):
    name: str

    def issue(self, count: int) -> list[ResidentCode]:
        """``count`` fresh random codes for this municipality's pool."""


class LocalCodeSource:
    """Random codes made on this node (the national registry replaces it on a network)."""

    name = "local"

    def issue(self, count: int) -> list[ResidentCode]:
        return [generate_resident_code() for _ in range(count)]


def fill(tx: RegisterTx, source: CodeSource, count: int) -> int:
    """Add ``count`` new codes to the pool inside ``tx``; returns how many were added."""
    added = 0
    while added < count:
        added += tx.add_to_pool(source.issue(count - added), audit.now())
    return added


def replenish(store: RegisterStore, session: Session, source: CodeSource, count: int) -> int:
    """An administrator adds ``count`` codes to the pool (audited)."""

    def work(tx: RegisterTx) -> tuple[int, str, str]:
        if not 1 <= count <= MAX_REPLENISH:
            raise InvalidInput(f"Replenish between 1 and {MAX_REPLENISH:,} codes at a time.")
        added = fill(tx, source, count)
        return added, "code pool", f"{added} codes from {source.name}; {tx.pool_remaining()} unused"

    return run(store, session, Permission.MANAGE_NODE, "pool.replenish", "code pool", work)


def remaining(store: RegisterStore) -> int:
    with store.engine.connect() as conn:
        return RegisterTx(conn, store).pool_remaining()
