"""Propagation with headroom (R22, docs/reliability.md, "Waking delivery"): an update
committed by another process on the node's host wakes the delivery worker through the
node's wake socket, so it leaves without waiting for the poll; a lost wake-up only
delays it until the fallback poll; and a batch applied set-based has exactly the effect
of its updates applied one at a time.

The sender is a prefecture node's store, its receiver a real national node, as in
``test_outbox.py``.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import select

import jukinet
from jukinet.network import outbox as ob
from jukinet.network import wakeup
from jukinet.network.messages import IdentityUpdate, UpdateBatch
from jukinet.nodes.identity import tables as ids
from jukinet.nodes.identity.store import IdentityStore
from jukinet.nodes.prefecture import service as prefecture_service
from tests.integration.test_outbox import (
    CHIYODA_PEER,
    TOKYO_PEER,
    NationalFactory,
    backlog,
    fill,
    history_seqs,
    nationals,
    prefecture,
    receiver,
    stop,
    until,
    update,
)

__all__ = ["nationals", "prefecture"]  # fixtures shared with test_outbox.py

HOUR = 3600.0  # a fallback poll that never comes within a test

# Another process on the host: opens the prefecture node from its home, as a CLI does,
# and applies a municipality's batch there (which puts it into the outbox, committed).
_OTHER_PROCESS = """
import sys
from pathlib import Path
from jukinet.network.messages import UpdateBatch
from jukinet.nodes.prefecture import service
from tests.integration.test_outbox import CHIYODA_PEER

home, batch = Path(sys.argv[1]), UpdateBatch.model_validate_json(Path(sys.argv[2]).read_text())
store = service.open_node(home)
service.receive(store, CHIYODA_PEER, batch)
store.close()
"""


def _in_another_process(home: Path, first: int, count: int) -> None:
    root = Path(jukinet.__file__).parents[2]  # the checkout: src/ and tests/
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "src"), str(root)])}
    updates = [update(seq) for seq in range(first, first + count)]  # codes issued here
    batch = home.parent / "batch.json"
    batch.write_text(UpdateBatch(sender=CHIYODA_PEER.node_id, updates=updates).model_dump_json())
    subprocess.run(
        [sys.executable, "-c", _OTHER_PROCESS, str(home), str(batch)],
        env=env, check=True, cwd=root, timeout=120,
    )  # fmt: skip


def test_an_update_committed_by_another_process_leaves_without_waiting_for_the_poll(
    prefecture: IdentityStore, nationals: NationalFactory
) -> None:
    """R22: with the fallback poll an hour away, updates a CLI-like process applies at
    the prefecture still reach the national node: its commit woke the worker."""
    national = nationals()
    home = _home(prefecture)
    worker = prefecture_service.delivery_worker(prefecture, receiver(national), poll=HOUR)
    sends = 0
    deliver = receiver(national)

    async def counting(batch: UpdateBatch) -> Any:
        nonlocal sends
        sends += 1
        return await deliver(batch)

    worker._send = counting  # count the deliveries, the hop itself unchanged

    async def main() -> None:
        task = asyncio.create_task(worker.run_forever())
        fill(prefecture, 5)  # in this process: wakes the worker directly
        await until(lambda: backlog(prefecture) == 0, timeout=60)
        settled = sends  # the worker now rests for an hour unless woken
        await asyncio.to_thread(_in_another_process, home, 6, 7)
        await until(lambda: backlog(prefecture) == 0, timeout=60)
        assert sends > settled
        await stop(task)

    asyncio.run(main())
    assert history_seqs(national) == list(range(1, 13))
    assert national.inbox(prefecture.node_id) == 12


def _home(store: IdentityStore) -> Path:
    """The prefecture's home: where its wake socket lives (``wakeup.wake_path``)."""
    assert store.wake_socket is not None
    return store.wake_socket.parent.parent


def test_a_lost_wake_up_only_delays_delivery(
    prefecture: IdentityStore, nationals: NationalFactory, tmp_path: Path
) -> None:
    """R22: a commit whose wake-up reaches nobody (no node listening) still succeeds, and
    the worker finds its updates at its next poll, each applied once, in order."""
    national = nationals()
    nowhere = tmp_path / "no-node-here.sock"
    assert wakeup.poke(nowhere) is False  # never raises
    prefecture.wake_socket = nowhere
    fill(prefecture, 30)  # committed; its poke was lost
    assert backlog(prefecture) == 30
    worker = ob.DeliveryWorker(
        prefecture.engine, prefecture.forward_to, prefecture.node_id,  # type: ignore[arg-type]
        receiver(national), idle=0.05,
    )  # fmt: skip

    async def main() -> None:
        task = asyncio.create_task(worker.run_forever())
        await until(lambda: backlog(prefecture) == 0, timeout=60)
        await stop(task)

    asyncio.run(main())
    assert history_seqs(national) == list(range(1, 31))


def test_the_wake_socket_wakes_a_listener_and_many_pokes_wake_it_once(tmp_path: Path) -> None:
    """R22: the node listens on the socket in its home; pokes that pile up while it
    works cost one wake-up, not one each."""
    woken: list[int] = []

    async def main() -> None:
        path = wakeup.wake_path(tmp_path)
        listener = wakeup.Listener(path, lambda: woken.append(1))
        assert listener.start(asyncio.get_running_loop())
        assert all(wakeup.poke(path) for _ in range(5))
        for _ in range(500):
            if woken:
                break
            await asyncio.sleep(0.01)
        listener.close()
        assert not path.exists()

    asyncio.run(main())
    assert len(woken) == 1


# --- set-based apply -------------------------------------------------------------------


def _moved(u: IdentityUpdate, **changes: Any) -> IdentityUpdate:
    return u.model_copy(update=changes)


def _state(store: IdentityStore) -> tuple[list[tuple[Any, ...]], ...]:
    i, h, r, q = ids.identities.c, ids.identity_history.c, ids.retired_codes.c, ids.quarantine.c
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(i.resident_code, i.name, i.address, i.status, i.origin, i.change_reason)
            .order_by(i.resident_code)
        ).all()  # fmt: skip
        history = conn.execute(
            select(h.sender_seq, h.resident_code, h.previous_code, h.address).order_by(h.id)
        ).all()
        retired = conn.execute(select(r.code).order_by(r.code)).all()
        held = conn.execute(select(q.sender_seq, q.reason).order_by(q.sender_seq)).all()
        # One person per identity: a code change keeps the person.
        people = conn.execute(
            select(h.sender_seq, i.resident_code).join(ids.identities, i.person_key == h.person_key)
            .order_by(h.sender_seq)
        ).all()  # fmt: skip
    return tuple([tuple(x) for x in part] for part in (rows, history, retired, held, people))


def test_a_batch_applied_set_based_has_the_effect_of_its_updates_one_by_one(
    nationals: NationalFactory,
) -> None:
    """R1, R22: births, a later change of one of them, a code change, a refused update
    and one waiting behind it, all in one batch, leave the node exactly as the same
    updates sent one per batch do (identities, history, retired codes, quarantine)."""
    a, b, c, d = (update(seq) for seq in range(1, 5))
    changes = [
        a, b, c, d,
        _moved(b, seq=5, address="東京都千代田区神田神保町一丁目1番", change_reason="move-within"),
        _moved(c, seq=6, resident_code=update(99).resident_code, previous_code=c.resident_code,
               change_reason="code-change"),
        _moved(a, seq=7, origin="131024", change_reason="move-within"),  # not Chiyoda's: held
        _moved(a, seq=8, status="removed", change_reason="death"),  # waits behind seq 7
        update(9),
        _moved(d, seq=10, name="山田 次郎", change_reason="name-change"),
    ]  # fmt: skip
    together, alone = nationals(), nationals()
    batch = UpdateBatch(sender=TOKYO_PEER.node_id, updates=changes)
    ack = together.apply_batch(TOKYO_PEER, batch, authority=_anyone)
    for u in changes:
        one = UpdateBatch(sender=TOKYO_PEER.node_id, updates=[u])
        alone.apply_batch(TOKYO_PEER, one, authority=_anyone)
    assert ack.acked_through == 10 and ack.quarantined == [7, 8]
    assert _state(together) == _state(alone)
    assert together.count() == 5


def _anyone(sender: Any, u: IdentityUpdate) -> None:
    """Admit every update (the authority rule is not what this test is about)."""
