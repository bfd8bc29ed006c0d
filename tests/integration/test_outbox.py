"""The transactional outbox and its delivery worker: in order, at least once, nothing lost,
and with a deduplicating receiver exactly once in effect (docs/network.md, steps 1–4).

The receiver in these tests is a real national node (its ``IdentityStore`` on its own
database) behind an async function, standing in for the HTTP hop.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import MetaData, func, select

from jukinet.domain.codes import generate_resident_code, with_check_digit
from jukinet.keys import NodeKey
from jukinet.network import outbox as ob
from jukinet.network.messages import IdentityUpdate, UpdateAck, UpdateBatch, node_id
from jukinet.network.peer import Peer
from jukinet.nodes.identity import tables as ids
from jukinet.nodes.identity.store import IdentityStore
from jukinet.nodes.national import service as national_service
from jukinet.nodes.national.store import NationalStore
from jukinet.nodes.prefecture import service as prefecture_service
from jukinet.nodes.prefecture import tables as prefecture_tables
from jukinet.storage.database import make_engine
from tests.conftest import UrlFactory

PG_ENV = "JUKINET_TEST_PG_URL"
TOKYO = with_check_digit("13000")
CHIYODA = with_check_digit("13101")


@pytest.fixture
def prefecture(database: UrlFactory, tmp_path: Path) -> Iterator[IdentityStore]:
    home = tmp_path / "prefecture"
    prefecture_service.init_node(home, TOKYO, "東京都", database("p"), NodeKey.generate())
    store = prefecture_service.open_node(home)
    yield store
    store.close()


NationalFactory = Callable[[], IdentityStore]


@pytest.fixture
def nationals(database: UrlFactory, tmp_path: Path) -> Iterator[NationalFactory]:
    """Fresh national nodes, each on its own database (a second one = a restored node)."""
    made: list[IdentityStore] = []

    def make() -> IdentityStore:
        home = tmp_path / f"national{len(made)}"
        url = database(f"n{len(made)}")
        national_service.init_node(home, "national", "全国センター", url, NodeKey.generate())
        made.append(national_service.open_node(home))
        store = made[-1]
        assert isinstance(store, NationalStore)
        with store.transaction() as conn:  # the registry issued Chiyoda's codes (R6)
            store.record_issued(conn, CHIYODA_POOL, CHIYODA, "2025-01-01T00:00:00+00:00")
        return store

    yield make
    for store in made:
        store.close()


# The codes the tests' updates use: issued to Chiyoda by every national node made here.
CHIYODA_POOL = sorted({generate_resident_code() for _ in range(3000)})
_draw = itertools.cycle(CHIYODA_POOL)


def update(seq: int, code: str | None = None, *, reason: str = "birth") -> IdentityUpdate:
    return IdentityUpdate(
        seq=seq,
        origin=CHIYODA,
        resident_code=code or next(_draw),
        name="山田 太郎",
        date_of_birth=date(1980, 1, 1),
        sex="male",
        address="東京都千代田区丸の内一丁目1番1号",
        status="resident",
        change_reason=reason,
        change_date=date(2025, 4, 1),
        recorded_at=datetime.now(UTC),
    )


CHIYODA_PEER = Peer(node_id("municipality", CHIYODA), "municipality", CHIYODA)
TOKYO_PEER = Peer(node_id("prefecture", TOKYO), "prefecture", TOKYO)


def fill(prefecture: IdentityStore, count: int, first: int = 1) -> None:
    """Chiyoda reports ``count`` births; the prefecture queues them for the national node."""
    updates = [update(seq) for seq in range(first, first + count)]
    for i in range(0, count, 500):
        chunk = UpdateBatch(sender=CHIYODA_PEER.node_id, updates=updates[i : i + 500])
        prefecture_service.receive(prefecture, CHIYODA_PEER, chunk)


def receiver(national: IdentityStore) -> Callable[[UpdateBatch], Awaitable[UpdateAck]]:
    async def send(batch: UpdateBatch) -> UpdateAck:
        return await asyncio.to_thread(national_service.receive, national, TOKYO_PEER, batch)

    return send


def backlog(store: IdentityStore) -> int:
    with store.engine.connect() as conn:
        return ob.backlog(conn, prefecture_tables.outbox)


def history_seqs(national: IdentityStore) -> list[int]:
    with national.engine.connect() as conn:
        query = select(ids.identity_history.c.sender_seq).order_by(ids.identity_history.c.id)
        return list(conn.scalars(query))


def worker_for(prefecture: IdentityStore, send: ob.Send, batch: int = 500) -> ob.DeliveryWorker:
    """The prefecture's worker towards the national node, with short waits for tests."""
    return ob.DeliveryWorker(
        prefecture.engine, prefecture_tables.outbox, prefecture.node_id, send,
        batch=batch, idle=0.01, backoff=(0.01, 0.05),
    )  # fmt: skip


async def until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await asyncio.to_thread(condition):
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()


# --- the outbox table ---------------------------------------------------------------


def test_enqueue_numbers_updates_and_delivery_keeps_them(database: UrlFactory) -> None:
    metadata = MetaData()
    table = ob.outbox_table(metadata)
    engine = make_engine(database("outbox"))
    try:
        metadata.create_all(engine)
        with engine.begin() as conn:
            assert ob.delivered_through(conn, table) == 0
            assert ob.last_delivery(conn, table) is None
            codes = [generate_resident_code() for _ in range(5)]
            seqs = [ob.enqueue(conn, table, lambda s, c=c: update(s, c)) for c in codes]
        assert seqs == [1, 2, 3, 4, 5]
        at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
        with engine.begin() as conn:
            assert [u.resident_code for u in ob.pending(conn, table, 10)] == codes
            assert [u.seq for u in ob.pending(conn, table, 2)] == [1, 2]
            ob.mark_delivered(conn, table, 3, at)
        with engine.begin() as conn:
            assert [u.seq for u in ob.pending(conn, table, 10)] == [4, 5]
            assert [u.seq for u in ob.pending(conn, table, 10, after=1)] == [2, 3, 4, 5]
            assert (ob.backlog(conn, table), ob.delivered_through(conn, table)) == (2, 3)
            assert ob.last_delivery(conn, table) == at
            ob.mark_delivered(conn, table, 5, at)
            assert ob.delivered_through(conn, table) == 5
            # Nothing is deleted: the outbox is the record of what was sent.
            assert conn.execute(select(func.count()).select_from(table)).scalar_one() == 5
    finally:
        engine.dispose()


def test_enqueue_refuses_an_update_numbered_otherwise(prefecture: IdentityStore) -> None:
    with pytest.raises(ValueError, match="expected 1"), prefecture.transaction() as conn:
        ob.enqueue(conn, prefecture_tables.outbox, lambda seq: update(seq + 1))
    assert backlog(prefecture) == 0


# --- the delivery worker --------------------------------------------------------------


def test_everything_arrives_exactly_once_through_a_flaky_link(
    prefecture: IdentityStore, nationals: NationalFactory
) -> None:
    national = nationals()
    fill(prefecture, 230)
    deliver = receiver(national)
    calls = 0

    async def flaky(batch: UpdateBatch) -> UpdateAck:
        """Every third call fails: half before the receiver applies, half after (lost ack)."""
        nonlocal calls
        calls += 1
        if calls % 3 == 0:
            if calls % 2:
                raise ConnectionError("connection reset")
            await deliver(batch)
            raise TimeoutError("the answer was lost")
        return await deliver(batch)

    worker = worker_for(prefecture, flaky, batch=20)

    async def main() -> None:
        task = asyncio.create_task(worker.run_forever())
        await until(lambda: backlog(prefecture) == 0)
        fill(prefecture, 40, first=231)  # more arrive while the worker runs
        worker.wake()
        await until(lambda: backlog(prefecture) == 0)
        await stop(task)

    asyncio.run(main())
    assert calls > 18  # failures happened and were retried
    assert history_seqs(national) == list(range(1, 271))  # each applied once, in order
    assert national.count() == 270
    assert national.inbox(prefecture.node_id) == 270
    assert worker.last_delivery_at is not None and worker.acked_through == 270
    link = prefecture.outbox_link("national:national", worker)
    assert (link.outbox_backlog, link.last_error) == (0, None)


def test_a_receiver_that_is_down_delays_delivery_and_loses_nothing(
    prefecture: IdentityStore, nationals: NationalFactory, caplog: pytest.LogCaptureFixture
) -> None:
    national = nationals()
    fill(prefecture, 30)
    deliver = receiver(national)
    up = False

    async def link(batch: UpdateBatch) -> UpdateAck:
        if not up:
            raise ConnectionRefusedError("national node is down")
        return await deliver(batch)

    worker = worker_for(prefecture, link)

    async def main() -> None:
        nonlocal up
        task = asyncio.create_task(worker.run_forever())
        await until(lambda: worker.last_error is not None)
        await asyncio.sleep(0.1)
        assert backlog(prefecture) == 30 and national.count() == 0
        up = True
        await until(lambda: backlog(prefecture) == 0)
        await stop(task)

    asyncio.run(main())
    assert worker.last_error is None
    assert history_seqs(national) == list(range(1, 31))
    assert "national node is down" in caplog.text


REFUSE_UPDATES = {  # the database itself refuses every change of the outbox's rows
    "sqlite": ["CREATE TRIGGER outbox_refuses BEFORE UPDATE ON outbox "
               "BEGIN SELECT RAISE(ABORT, 'no room to write'); END"],
    "postgresql": ["CREATE FUNCTION outbox_refuses() RETURNS trigger LANGUAGE plpgsql AS "
                   "$$ BEGIN RAISE EXCEPTION 'no room to write'; END $$",
                   "CREATE TRIGGER outbox_refuses BEFORE UPDATE ON outbox FOR EACH ROW "
                   "EXECUTE FUNCTION outbox_refuses()"],
}  # fmt: skip
ALLOW_UPDATES = {
    "sqlite": ["DROP TRIGGER outbox_refuses"],
    "postgresql": ["DROP TRIGGER outbox_refuses ON outbox", "DROP FUNCTION outbox_refuses()"],
}


def run_sql(store: IdentityStore, statements: dict[str, list[str]]) -> None:
    with store.engine.begin() as conn:
        for statement in statements[conn.dialect.name]:
            conn.exec_driver_sql(statement)


def test_a_sender_whose_database_refuses_writes_holds_delivery_and_goes_on(
    prefecture: IdentityStore, nationals: NationalFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """The receiver applies and acknowledges, but the sender cannot record the ack (as on
    a full disk): the worker keeps the updates, logs why and retries; once it can write,
    it marks them, with nothing applied twice."""
    national = nationals()
    fill(prefecture, 30)
    assert prefecture_tables.outbox.name == "outbox"
    run_sql(prefecture, REFUSE_UPDATES)
    worker = worker_for(prefecture, receiver(national))

    async def main() -> None:
        task = asyncio.create_task(worker.run_forever())
        await until(lambda: national.count() == 30 and worker.last_error is not None)
        assert backlog(prefecture) == 30  # applied there, not yet recorded here
        await asyncio.to_thread(run_sql, prefecture, ALLOW_UPDATES)
        await until(lambda: backlog(prefecture) == 0)
        await stop(task)

    asyncio.run(main())
    assert history_seqs(national) == list(range(1, 31))
    assert "recording the acknowledgement failed" in caplog.text
    assert "no room to write" in caplog.text
    assert worker.last_error is None


def test_a_receiver_that_lost_updates_gets_them_again(
    prefecture: IdentityStore, nationals: NationalFactory
) -> None:
    """An ack below what was sent (a receiver restored from an old backup): resend from ack+1."""
    first, restored = nationals(), nationals()
    fill(prefecture, 25)
    target = receiver(first)

    async def send(batch: UpdateBatch) -> UpdateAck:
        return await target(batch)

    worker = worker_for(prefecture, send)

    async def main() -> None:
        nonlocal target
        task = asyncio.create_task(worker.run_forever())
        await until(lambda: backlog(prefecture) == 0)
        target = receiver(restored)  # it knows nothing of the 25 delivered updates
        fill(prefecture, 5, first=26)
        await until(lambda: backlog(prefecture) == 0)  # acked by the restored node: it has all
        await stop(task)

    asyncio.run(main())
    assert history_seqs(first) == list(range(1, 26))
    assert history_seqs(restored) == list(range(1, 31))
    assert backlog(prefecture) == 0


def test_the_worker_stops_cleanly_when_cancelled(prefecture: IdentityStore) -> None:
    async def never(batch: UpdateBatch) -> UpdateAck:
        raise AssertionError("nothing to send")

    worker = worker_for(prefecture, never)

    async def main() -> None:
        task = asyncio.create_task(worker.run_forever())
        await asyncio.sleep(0.05)
        worker.wake()
        await asyncio.sleep(0)
        await stop(task)

    asyncio.run(main())
    worker.wake()  # after the loop is gone: harmless
    assert worker.last_error is None


def test_make_sender_posts_the_batch_to_the_updates_endpoint() -> None:
    class Client:
        """A client that answers like a receiver that has everything (a real implementation)."""

        def __init__(self) -> None:
            self.posted: list[tuple[str, Any]] = []

        async def post(self, url: str, model: BaseModel, /) -> dict[str, Any]:
            self.posted.append((url, model))
            assert isinstance(model, UpdateBatch)
            return {"acked_through": model.updates[-1].seq}

    client = Client()
    send = ob.make_sender(client, "https://127.0.0.1:7400/")
    batch = UpdateBatch(sender="prefecture:130001", updates=[update(1), update(2)])
    assert asyncio.run(send(batch)) == UpdateAck(acked_through=2)
    assert client.posted == [("https://127.0.0.1:7400/updates", batch)]
