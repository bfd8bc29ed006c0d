"""The municipality's pool of unused resident codes (R6).

Codes come from a ``CodeSource``, which may be the national node across the
network: it is asked with no transaction open, and the codes it gave are then
added and audited in one short transaction, so no clerk's write waits on it.
A stand-alone register makes its own codes (``LocalCodeSource``), behind the same port.

When a register is created, its first pool is filled inside the creating
transaction from a ``CodeMaker``: a source in this very process, which never
waits on the network.
"""

from __future__ import annotations

from typing import Protocol

from jukinet.audit import log as audit
from jukinet.domain.access import Permission, Session
from jukinet.domain.codes import ResidentCode, generate_resident_code
from jukinet.errors import InvalidInput, PoolExhausted
from jukinet.nodes.municipality.service import run_after
from jukinet.nodes.municipality.store import RegisterStore, RegisterTx

MAX_REPLENISH = 10_000_000
STALE_ROUNDS = 3  # answers in a row with no new code before a source is given up


class CodeSource(Protocol):
    name: str

    async def issue(self, count: int) -> list[ResidentCode]:
        """``count`` fresh random codes for this municipality's pool."""


class CodeMaker(Protocol):
    name: str

    def make(self, count: int) -> list[ResidentCode]:
        """``count`` fresh random codes, made in this process (safe inside a transaction)."""


class LocalCodeSource:
    """Random codes made on this node (the national registry replaces it on a network)."""

    name = "local"

    def make(self, count: int) -> list[ResidentCode]:
        return [generate_resident_code() for _ in range(count)]

    async def issue(self, count: int) -> list[ResidentCode]:
        return self.make(count)


def fill(tx: RegisterTx, maker: CodeMaker, count: int) -> int:
    """Add ``count`` new codes to the pool inside ``tx``; returns how many were added."""
    added = 0
    while added < count:
        added += tx.add_to_pool(maker.make(count - added), audit.now())
    return added


async def fresh_codes(store: RegisterStore, source: CodeSource, count: int) -> list[ResidentCode]:
    """``count`` codes from ``source`` that this node has never seen (no transaction open)."""
    fresh: set[ResidentCode] = set()
    stale = 0
    while len(fresh) < count:
        answer = await source.issue(count - len(fresh))
        with store.engine.connect() as conn:  # a plain read: writers go on meanwhile
            new = RegisterTx(conn, store).unseen(answer) - fresh
        fresh |= new
        stale = 0 if new else stale + 1
        if stale >= STALE_ROUNDS:
            raise PoolExhausted(
                f"The code source ({source.name}) keeps sending codes this node already has; "
                "no codes were added."
            )
    return sorted(fresh)


async def replenish(store: RegisterStore, session: Session, source: CodeSource, count: int) -> int:
    """An administrator adds ``count`` codes to the pool (audited)."""

    async def fetch() -> list[ResidentCode]:
        if not 1 <= count <= MAX_REPLENISH:
            raise InvalidInput(f"Replenish between 1 and {MAX_REPLENISH:,} codes at a time.")
        return await fresh_codes(store, source, count)

    def work(tx: RegisterTx, codes: list[ResidentCode]) -> tuple[int, str, str]:
        added = tx.add_to_pool(codes, audit.now())
        return added, "code pool", f"{added} codes from {source.name}; {tx.pool_remaining()} unused"

    return await run_after(
        store, session, Permission.MANAGE_NODE, "pool.replenish", "code pool", fetch, work
    )


def remaining(store: RegisterStore) -> int:
    with store.engine.connect() as conn:
        return RegisterTx(conn, store).pool_remaining()
