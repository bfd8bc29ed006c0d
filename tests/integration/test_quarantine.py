"""A refused identity update is a quarantined item, not a wall in front of the queue (R1, R22).

The receiver applies everything before it, keeps the refused update with its reason
(``quarantine``), acknowledges past it and tells the sender which of its updates it
holds (``UpdateAck.quarantined``). A later update of the same person from the same
sender waits in quarantine too, so nothing of one person is applied out of order.
An operator releases an item (re-applied, in the person's order) or drops it (a
decision on record); both are audited. Real databases: SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from jukinet.audit import log as audit
from jukinet.domain.codes import generate_resident_code
from jukinet.errors import UpdateRefused
from jukinet.network import outbox as ob
from jukinet.network.messages import UpdateAck, UpdateBatch
from jukinet.nodes.identity import quarantine
from jukinet.nodes.identity.store import IdentityStore
from jukinet.nodes.national import pools
from jukinet.nodes.national import service as national_service
from jukinet.nodes.prefecture import service as prefecture_service
from jukinet.nodes.prefecture import tables as prefecture_tables
from tests.conftest import UrlFactory
from tests.integration.test_identity_nodes import (
    CHIYODA,
    CHUO,
    audit_entries,
    batch,
    municipality,
    national,
    prefecture,
    prefecture_peer,
    start_prefecture,
    update,
)

__all__ = ["national", "prefecture"]  # the fixtures

TOKYO = prefecture_peer()
CHIYODA_PEER, CHUO_PEER = municipality(CHIYODA), municipality(CHUO)


def to_prefecture(store: IdentityStore, sender: object, *updates: object) -> UpdateAck:
    return prefecture_service.receive(store, sender, batch(sender, *updates))  # type: ignore[arg-type]


def held(store: IdentityStore, code: str) -> tuple[str, str, str] | None:
    i = store.identity(code)
    return (i.origin, i.status, i.change_reason) if i else None


def status_quarantined(store: IdentityStore) -> int:
    if store.kind == "national":
        s = national_service.status(store, started_at=audit_now(), directory_version=1)
    else:
        s = prefecture_service.status(store, started_at=audit_now(), directory_version=1)
    return s.quarantined


def audit_now():  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    return datetime.now(UTC)


def test_a_code_never_issued_is_quarantined_at_national_and_blocks_nothing_r6(
    national: IdentityStore,
) -> None:
    bogus = generate_resident_code()  # never issued
    good = pools.issue_pool(national, CHIYODA, 2).codes
    ack = national_service.receive(
        national, TOKYO, batch(TOKYO, update(1, bogus), update(2, good[0]), update(3, good[1]))
    )
    assert (ack.acked_through, ack.quarantined) == (3, [1])
    assert held(national, bogus) is None
    assert held(national, good[0]) == held(national, good[1]) == (CHIYODA, "resident", "birth")
    [item] = quarantine.items(national)
    assert (item.sender, item.sender_seq, item.resident_code) == (TOKYO.node_id, 1, bogus)
    assert "never issued" in item.reason and item.resolution is None
    assert status_quarantined(national) == 1
    assert national.inbox(TOKYO.node_id) == 3  # acknowledged past it: the sender moves on
    refused = [e for e in audit_entries(national) if e.outcome == audit.Outcome.REFUSED]
    assert [e.operation for e in refused] == ["updates.quarantine"]


def test_a_refused_update_lets_later_updates_of_other_persons_apply(
    prefecture: IdentityStore,
) -> None:
    code, a, b = (generate_resident_code() for _ in range(3))
    to_prefecture(prefecture, CHUO_PEER, update(1, code, origin=CHUO))  # Chuo holds it
    ack = to_prefecture(
        prefecture, CHIYODA_PEER, update(1, code, reason="move-in"), update(2, a), update(3, b)
    )
    assert (ack.acked_through, ack.quarantined) == (3, [1])
    assert held(prefecture, code) == (CHUO, "resident", "birth")
    assert held(prefecture, a) == held(prefecture, b) == (CHIYODA, "resident", "birth")
    [item] = quarantine.items(prefecture)
    assert "held by municipality 131024" in item.reason
    assert status_quarantined(prefecture) == 1
    with prefecture.engine.connect() as conn:  # only the applied ones go on to national
        assert ob.backlog(conn, prefecture_tables.outbox) == 3


def test_a_later_update_of_the_same_person_waits_and_both_apply_once_the_move_out_does(
    prefecture: IdentityStore,
) -> None:
    """A move-in before the move-out it needs is only early: it resolves itself (R22)."""
    code, other = generate_resident_code(), generate_resident_code()
    to_prefecture(prefecture, CHUO_PEER, update(1, code, origin=CHUO))
    to_prefecture(prefecture, CHIYODA_PEER, update(1, code, reason="move-in"))
    ack = to_prefecture(
        prefecture,
        CHIYODA_PEER,
        update(2, code, reason="name-change", name="山田 一"),
        update(3, other),
    )
    assert (ack.acked_through, ack.quarantined) == (3, [1, 2])
    assert held(prefecture, code) == (CHUO, "resident", "birth")
    assert held(prefecture, other) is not None
    waiting = quarantine.items(prefecture)[-1]
    assert waiting.sender_seq == 2 and "quarantined update 1" in waiting.reason
    assert status_quarantined(prefecture) == 2
    # Chuo's move-out arrives: Chiyoda's two updates now pass, in their order, by themselves.
    to_prefecture(prefecture, CHUO_PEER, update(2, code, origin=CHUO, reason="move-out",
                                                 status="removed"))  # fmt: skip
    assert held(prefecture, code) == (CHIYODA, "resident", "name-change")
    assert prefecture.identity(code).name == "山田 一"  # type: ignore[union-attr]
    resolved = [(i.sender_seq, i.resolution, i.resolved_by) for i in quarantine.items(prefecture)]
    assert resolved == [(1, "released", "node"), (2, "released", "node")]
    assert status_quarantined(prefecture) == 0
    releases = [e for e in audit_entries(prefecture) if e.operation == "quarantine.release"]
    assert [e.actor for e in releases] == ["node", "node"]
    with prefecture.engine.connect() as conn:  # released updates go on to national
        reasons = [u.change_reason for u in ob.pending(conn, prefecture_tables.outbox, 10)]
    assert reasons[-2:] == ["move-in", "name-change"]
    ack = to_prefecture(prefecture, CHIYODA_PEER, update(4, code, reason="minor-correction"))
    assert (ack.acked_through, ack.quarantined) == (4, [])


def test_release_reapplies_in_order_after_the_cause_is_fixed_and_drop_records_a_decision(
    national: IdentityStore,
) -> None:
    """A code the registry never issued stays for an operator (R6): here the registry is
    corrected, then the operator releases in order and drops what was sent in error."""
    from sqlalchemy import insert

    from jukinet.nodes.national.tables import issued_codes

    code = generate_resident_code()
    national_service.receive(national, TOKYO, batch(
        TOKYO,
        update(1, code),
        update(2, code, reason="name-change", name="山田 一"),
        update(3, code, reason="minor-correction", name="山田 二"),
    ))  # fmt: skip
    first, second, third = quarantine.items(national)
    assert "never issued" in first.reason
    with pytest.raises(UpdateRefused, match="never issued"):  # not before the cause is fixed
        quarantine.release(national, first.id, operator="ops-yamada")
    with national.transaction() as conn:  # the registry's missing row, restored
        conn.execute(insert(issued_codes).values(code=code, municipality=CHIYODA, issued_at="x"))
    with pytest.raises(UpdateRefused, match="release or drop update 1"):  # in order
        quarantine.release(national, second.id, operator="ops-yamada")
    quarantine.release(national, first.id, operator="ops-yamada")
    assert held(national, code) == (CHIYODA, "resident", "birth")
    quarantine.release(national, second.id, operator="ops-yamada")
    assert national.identity(code).name == "山田 一"  # type: ignore[union-attr]
    quarantine.drop(national, third.id, operator="ops-yamada", note="sent in error")
    assert national.identity(code).name == "山田 一"  # type: ignore[union-attr]
    resolved = {i.sender_seq: (i.resolution, i.resolved_by) for i in quarantine.items(national)}
    assert resolved == {1: ("released", "ops-yamada"), 2: ("released", "ops-yamada"),
                        3: ("dropped", "ops-yamada")}  # fmt: skip
    assert status_quarantined(national) == 0
    ops = [e.operation for e in audit_entries(national) if e.actor == "operator:ops-yamada"]
    assert ops == ["quarantine.release"] * 4 + ["quarantine.drop"]  # 2 refused, 2 done, 1 drop


def test_the_sender_marks_what_the_receiver_quarantined_and_shows_it_in_status(
    prefecture: IdentityStore, national: IdentityStore
) -> None:
    bogus = generate_resident_code()
    good = pools.issue_pool(national, CHIYODA, 1).codes[0]
    to_prefecture(prefecture, CHIYODA_PEER, update(1, bogus), update(2, good))

    async def deliver(b: UpdateBatch) -> UpdateAck:
        return await asyncio.to_thread(national_service.receive, national, TOKYO, b)

    send: Callable[[UpdateBatch], Awaitable[UpdateAck]] = deliver
    worker = prefecture_service.delivery_worker(prefecture, send)

    def marked() -> bool:  # what the assertions read (the ack alone comes before the marks)
        link = prefecture.outbox_link("national:national", worker)
        return (link.outbox_backlog, link.quarantined) == (0, 1)

    async def run() -> None:
        task = asyncio.create_task(worker.run_forever())
        deadline = asyncio.get_running_loop().time() + 30
        while not await asyncio.to_thread(marked) and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(run())
    link = prefecture.outbox_link("national:national", worker)
    assert (link.outbox_backlog, link.quarantined) == (0, 1)
    assert held(national, good) is not None and held(national, bogus) is None
    [item] = quarantine.items(national)
    quarantine.drop(national, item.id, operator="ops-sato", note="code not from a pool")
    assert status_quarantined(national) == 0


def test_an_operator_lists_releases_and_drops_with_the_cli(
    database: UrlFactory, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from jukinet.cli import app

    home = tmp_path / "prefecture"
    store = start_prefecture(database, home)
    try:
        code, other = generate_resident_code(), generate_resident_code()
        to_prefecture(store, CHUO_PEER, update(1, code, origin=CHUO))
        to_prefecture(store, CHIYODA_PEER, update(1, code, reason="move-in"), update(2, other,
                      reason="move-in", origin=CHIYODA))  # fmt: skip
        to_prefecture(store, CHUO_PEER, update(2, other, origin=CHUO, reason="minor-correction"))
    finally:
        store.close()
    run = CliRunner().invoke
    listed = run(app, ["--home", str(home), "quarantine", "list"])
    assert listed.exit_code == 0, listed.output
    assert "held by municipality" in listed.output and "2 open." in listed.output
    released = run(app, ["--home", str(home), "quarantine", "release", "1", "--operator", "ops"])
    assert released.exit_code == 1 and "held by municipality 131024" in released.output
    dropped = run(app, ["--home", str(home), "quarantine", "drop", "1", "--operator", "ops",
                        "--note", "entered without a move-out"])  # fmt: skip
    assert dropped.exit_code == 0 and "will not be applied" in dropped.output
    assert "1 open." in run(app, ["--home", str(home), "quarantine", "list"]).output
