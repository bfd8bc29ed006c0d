"""The pool of unused resident codes: random assignment, low-water warning, no reissue (R6)."""

from __future__ import annotations

import asyncio

import pytest

from jukinet.domain import events as ev
from jukinet.domain.access import Session
from jukinet.domain.codes import ResidentCode
from jukinet.errors import InvalidInput, PoolExhausted
from jukinet.nodes.municipality import pool, service
from jukinet.nodes.municipality.store import RegisterStore
from tests.helpers import TODAY, arrival, counts, last_audit, person, snapshot


def drain(store: RegisterStore, leave: int) -> None:
    """Assign all but ``leave`` codes (as if residents had taken them)."""
    with store.transaction() as tx:
        tx.draw_codes(tx.pool_remaining() - leave)


def test_codes_are_assigned_in_random_order(store: RegisterStore, clerk: Session) -> None:
    family = arrival(*(person(code=None) for _ in range(1)))
    head = service.record_event(store, clerk, family, TODAY).records[0]
    codes = [
        service.record_event(
            store, clerk, ev.Birth(head.resident_code, head.name, head.sex, TODAY, TODAY), TODAY
        )
        .records[0]
        .resident_code
        for _ in range(30)
    ]
    assert codes != sorted(codes)
    assert len(set(codes)) == 30


def test_a_low_pool_warns_the_clerk(store: RegisterStore, clerk: Session) -> None:
    drain(store, leave=store.low_water)
    receipt = service.record_event(store, clerk, arrival(), TODAY)
    assert receipt.pool_warning is not None
    assert f"Only {store.low_water - 1} unused resident codes" in receipt.pool_warning


def test_a_full_pool_gives_no_warning(store: RegisterStore, clerk: Session) -> None:
    assert service.record_event(store, clerk, arrival(), TODAY).pool_warning is None


def test_an_empty_pool_refuses_new_residents_and_changes_nothing(
    store: RegisterStore, clerk: Session
) -> None:
    drain(store, leave=0)
    before, state = counts(store), snapshot(store)
    with pytest.raises(PoolExhausted, match="replenish"):
        service.record_event(store, clerk, arrival(), TODAY)
    assert snapshot(store) == state
    assert counts(store) == {**before, "audit_log": before["audit_log"] + 1}


def test_replenishing_adds_codes_and_is_audited(store: RegisterStore, admin: Session) -> None:
    before = pool.remaining(store)
    assert asyncio.run(pool.replenish(store, admin, pool.LocalCodeSource(), 250)) == 250
    assert pool.remaining(store) == before + 250
    entry = last_audit(store)[0]
    assert (entry.operation, entry.outcome) == ("pool.replenish", "ok")


@pytest.mark.parametrize("count", [0, -5, pool.MAX_REPLENISH + 1])
def test_a_silly_replenish_is_refused(store: RegisterStore, admin: Session, count: int) -> None:
    with pytest.raises(InvalidInput, match="between 1 and"):
        asyncio.run(pool.replenish(store, admin, pool.LocalCodeSource(), count))


class ReplayingSource:
    """A code source that hands out codes this node has seen before."""

    name = "replaying"

    def __init__(self, codes: list[ResidentCode], fresh: pool.CodeSource) -> None:
        self.codes, self.fresh = list(codes), fresh

    async def issue(self, count: int) -> list[ResidentCode]:
        out, self.codes = self.codes[:count], self.codes[count:]
        return out + await self.fresh.issue(count - len(out))


def test_a_retired_or_assigned_code_never_returns_to_the_pool(
    store: RegisterStore, clerk: Session, admin: Session
) -> None:
    """R6: the old code is retired for good; no source can bring it back."""
    r = service.record_event(store, clerk, arrival(), TODAY).records[0]
    changed = service.record_event(
        store, clerk, ev.CodeChange(r.resident_code, TODAY, TODAY), TODAY
    )
    new_code = changed.records[0].resident_code
    source = ReplayingSource([r.resident_code, new_code], pool.LocalCodeSource())
    before = pool.remaining(store)
    assert asyncio.run(pool.replenish(store, admin, source, 5)) == 5
    with store.transaction() as tx:
        drawn = tx.draw_codes(tx.pool_remaining())
    assert r.resident_code not in drawn
    assert new_code not in drawn
    assert len(drawn) == before + 5
