"""The transactional outbox and its delivery worker (docs/network.md, "Identity updates").

A writer puts each ``IdentityUpdate`` into the outbox in the same transaction as
the change it reports, numbered with the sender's next ``seq`` (1, 2, 3 … without
gaps). The ``DeliveryWorker`` sends the undelivered ones in ``seq`` order and marks
them delivered up to the receiver's acknowledgement. Delivery is at least once; the
receiver skips what it already has, so the effect is exactly once. Nothing is ever
deleted: the outbox is also the record of what was sent and when.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Index,
    MetaData,
    String,
    Table,
    Text,
    func,
    insert,
    select,
    update,
)

from jukinet.network import wakeup
from jukinet.network.messages import (
    MAX_BATCH,
    IdentityUpdate,
    PeerLink,
    UpdateAck,
    UpdateBatch,
)
from jukinet.storage.database import read_only

__all__ = [
    "DeliveryWorker",
    "Send",
    "backlog",
    "delivered_through",
    "enqueue",
    "last_delivery",
    "link",
    "make_sender",
    "mark_delivered",
    "mark_quarantined",
    "outbox_table",
    "pending",
    "quarantined",
]

log = logging.getLogger("jukinet.network.outbox")

Send = Callable[[UpdateBatch], Awaitable[UpdateAck]]


def outbox_table(metadata: MetaData, name: str = "outbox") -> Table:
    """The outbox table in ``metadata``: one row per update, kept after delivery."""
    table = Table(
        name,
        metadata,
        # The sender's own sequence number, assigned max + 1 by a serialised writer.
        Column("seq", BigInteger, primary_key=True, autoincrement=False),
        Column("payload", Text, nullable=False),  # the IdentityUpdate as JSON
        Column("created_at", String(32), nullable=False),
        Column("delivered_at", String(32)),
        # Set while the receiver holds the update in quarantine (refused, not applied).
        Column("quarantined_at", String(32)),
    )
    # Only undelivered rows are indexed, so finding them stays cheap however long
    # the (never pruned) delivery record grows.
    Index(
        f"ix_{name}_pending",
        table.c.seq,
        sqlite_where=table.c.delivered_at.is_(None),
        postgresql_where=table.c.delivered_at.is_(None),
    )
    return table


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def enqueue(conn: Connection, table: Table, make: Callable[[int], IdentityUpdate]) -> int:
    """Store the update ``make(seq)`` under the next seq; returns that seq.

    The caller's transaction must serialise writers (the node's audit-head lock does),
    otherwise two writers could draw the same seq (the primary key would refuse one).
    """
    seq = int(conn.execute(select(func.coalesce(func.max(table.c.seq), 0))).scalar_one()) + 1
    item = make(seq)
    if item.seq != seq:
        raise ValueError(f"outbox update carries seq {item.seq}, expected {seq}")
    conn.execute(
        insert(table).values(
            seq=seq, payload=item.model_dump_json(), created_at=_iso(datetime.now(UTC))
        )
    )
    return seq


def pending(
    conn: Connection, table: Table, limit: int, after: int | None = None
) -> list[IdentityUpdate]:
    """Updates in seq order: the undelivered ones, or (``after``) every one past a seq."""
    query = select(table.c.payload).order_by(table.c.seq).limit(limit)
    if after is None:
        query = query.where(table.c.delivered_at.is_(None))
    else:
        query = query.where(table.c.seq > after)
    return [IdentityUpdate.model_validate_json(p) for p in conn.scalars(query)]


def mark_delivered(conn: Connection, table: Table, through: int, at: datetime) -> None:
    """Mark every undelivered update up to ``through`` as delivered at ``at``."""
    conn.execute(
        update(table)
        .where(table.c.delivered_at.is_(None), table.c.seq <= through)
        .values(delivered_at=_iso(at))
    )


def delivered_through(conn: Connection, table: Table) -> int:
    """The highest seq such that it and every seq before it is delivered."""
    first_pending = conn.execute(
        select(func.min(table.c.seq)).where(table.c.delivered_at.is_(None))
    ).scalar()
    if first_pending is not None:
        return int(first_pending) - 1
    return int(conn.execute(select(func.coalesce(func.max(table.c.seq), 0))).scalar_one())


def backlog(conn: Connection, table: Table) -> int:
    """How many updates wait for delivery."""
    query = select(func.count()).select_from(table).where(table.c.delivered_at.is_(None))
    return int(conn.execute(query).scalar_one())


def last_delivery(conn: Connection, table: Table) -> datetime | None:
    """When the newest delivered update was acknowledged (delivery runs in seq order)."""
    through = delivered_through(conn, table)
    at = conn.execute(select(table.c.delivered_at).where(table.c.seq == through)).scalar()
    return datetime.fromisoformat(at) if at else None


def mark_quarantined(
    conn: Connection, table: Table, seqs: list[int], through: int, at: datetime
) -> None:
    """Record what the receiver holds in quarantine: exactly ``seqs`` up to ``through``."""
    c = table.c
    conn.execute(
        update(table)
        .where(c.seq <= through, c.quarantined_at.is_not(None), c.seq.not_in(seqs))
        .values(quarantined_at=None)
    )
    if seqs:
        conn.execute(
            update(table)
            .where(c.seq.in_(seqs), c.quarantined_at.is_(None))
            .values(quarantined_at=_iso(at))
        )


def quarantined(conn: Connection, table: Table) -> int:
    """How many delivered updates the receiver holds in quarantine (an alert)."""
    query = select(func.count()).select_from(table).where(table.c.quarantined_at.is_not(None))
    return int(conn.execute(query).scalar_one())


def link(
    conn: Connection, table: Table, receiver: str, worker: DeliveryWorker | None = None
) -> PeerLink:
    """The state of the outbox ``table`` towards ``receiver``, for ``NodeStatus``."""
    return PeerLink(
        node_id=receiver,
        outbox_backlog=backlog(conn, table),
        last_delivery_at=(worker and worker.last_delivery_at) or last_delivery(conn, table),
        last_error=worker.last_error if worker else None,
        quarantined=quarantined(conn, table),
    )


class Poster(Protocol):
    """What ``make_sender`` needs of a client: ``jukinet.network.client.NodeClient``."""

    async def post(self, url: str, model: BaseModel, /) -> dict[str, Any]: ...


def make_sender(client: Poster, url: str) -> Send:
    """A ``send`` for the worker: post the batch to ``{url}/updates``, parse the ack."""
    endpoint = url.rstrip("/") + "/updates"

    async def send(batch: UpdateBatch) -> UpdateAck:
        return UpdateAck.model_validate(await client.post(endpoint, batch))

    return send


class DeliveryWorker:
    """Delivers one outbox to one receiver, forever, in seq order, at least once.

    A failed send backs off (doubling from ``backoff[0]`` to ``backoff[1]`` seconds)
    and retries the same updates; nothing is dropped. An acknowledgement below what
    was already marked delivered means the receiver lacks updates (e.g. it was
    restored from a backup): the worker resends from the acknowledged seq + 1.
    Database calls run in a worker thread so the event loop stays free.

    The worker delivers as soon as it is told there is something new: ``wake()`` from
    this process (the prefecture after applying a batch), or a poke on the Unix socket
    ``wake_socket`` from another process on the host (a clerk's CLI, ``wakeup.py``).
    ``idle`` is only the fallback poll for a lost poke. Each delivery takes everything
    pending up to ``batch`` updates, so batches grow with the load and the worker goes
    on at once while a full batch was sent.
    """

    def __init__(
        self,
        engine: Engine,
        table: Table,
        sender: str,
        send: Send,
        *,
        batch: int = MAX_BATCH,
        idle: float = 1.0,
        backoff: tuple[float, float] = (0.2, 10.0),
        wake_socket: Path | None = None,
        writers: Callable[[], AbstractContextManager[object]] | None = None,
        linger: float = 0.05,
    ) -> None:
        self.engine = engine
        self.table = table
        self.sender = sender
        self._send = send
        self._batch = batch
        self._idle = idle
        self._backoff = backoff
        self._wake_socket = wake_socket
        # Woken, the worker waits this long before it reads, so that what is recorded
        # meanwhile goes in the same batch: every delivery costs a request, a signature
        # and a transaction with an audit entry at the receiver, and at one update per
        # batch those fixed costs took the cores from the window (batches grow with the
        # load; a full batch goes on at once).
        self._linger = linger
        # The turn the node's writers queue on (``IdentityStore.writers``, the register's
        # ``WriterTurns``): taken around the worker's own write too, so that it waits
        # its turn there rather than in SQLite's busy handler, which sleeps in steps.
        self._writers = writers or contextlib.nullcontext
        self._event = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.last_delivery_at: datetime | None = None
        self.last_error: str | None = None
        self.acked_through: int | None = None

    def wake(self) -> None:
        """Cut the idle wait short (there is something new); safe from any thread."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._event.set()
        else:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._event.set)

    async def run_forever(self) -> None:
        """Deliver until cancelled, listening on ``wake_socket`` meanwhile."""
        self._loop = asyncio.get_running_loop()
        listener = wakeup.Listener(self._wake_socket, self.wake) if self._wake_socket else None
        if listener is not None:
            listener.start(self._loop)
        try:
            await self._deliver()
        finally:
            if listener is not None:
                listener.close()

    async def _deliver(self) -> None:
        delay = self._backoff[0]
        cursor: int | None = None
        while True:
            try:  # this node's own database: it may be busy, or its disk full
                if cursor is None:
                    cursor = await asyncio.to_thread(self._delivered_through)
                updates = await asyncio.to_thread(self._read, cursor)
            except Exception as exc:
                delay = await self._trouble("reading the outbox", exc, delay)
                continue
            if not updates:
                await self._rest(self._idle)
                continue
            try:
                ack = await self._send(UpdateBatch(sender=self.sender, updates=updates))
            except Exception as exc:  # any failure: keep the updates, back off, retry
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning(
                    "delivery of %s updates %d..%d failed (%s); retrying in %.1f s",
                    self.sender, updates[0].seq, updates[-1].seq, self.last_error, delay,
                )  # fmt: skip
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._backoff[1])
                continue
            acked = min(ack.acked_through, updates[-1].seq)
            self.acked_through = acked
            progressed = acked > cursor
            at = datetime.now(UTC)
            try:
                await asyncio.to_thread(self._mark, acked, ack.quarantined, at)
            except Exception as exc:  # sent again from the cursor: the receiver skips them
                delay = await self._trouble("recording the acknowledgement", exc, delay)
                continue
            if progressed:
                self.last_delivery_at = at
            if ack.quarantined:
                log.warning(
                    "%s: the receiver holds updates %s in quarantine (refused, not applied)",
                    self.sender, ack.quarantined,
                )  # fmt: skip
            if acked < updates[-1].seq:
                # The receiver stopped short: it lacks earlier updates (resend from
                # acked + 1 at once) or it took nothing at all (back off, then retry).
                self.last_error = f"receiver acknowledged only through seq {acked}"
                log.warning(
                    "%s: receiver acknowledged %d of %d..%d; resending from %d",
                    self.sender, acked, updates[0].seq, updates[-1].seq, acked + 1,
                )  # fmt: skip
                if acked == cursor:
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self._backoff[1])
            else:
                self.last_error = None
                delay = self._backoff[0]
            cursor = acked
            if len(updates) < self._batch and acked >= updates[-1].seq:
                await self._rest(self._idle)

    async def _trouble(self, doing: str, exc: Exception, delay: float) -> float:
        """Log why this node's own database failed the worker, wait, and return the next wait."""
        self.last_error = f"{doing} failed: {type(exc).__name__}: {exc}".splitlines()[0]
        log.warning("%s: %s; retrying in %.1f s", self.sender, self.last_error, delay)
        await asyncio.sleep(delay)
        return min(delay * 2, self._backoff[1])

    async def _rest(self, seconds: float) -> None:
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation
        # that arrives as the event is set, and the worker would never stop.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._event.wait()
        if self._linger > 0:
            await asyncio.sleep(self._linger)
        self._event.clear()

    # Reads take no write lock: a clerk's CLI writing the same SQLite database from
    # another process held it most of the time under load, and the worker's reads then
    # slept in the busy handler for seconds.
    def _delivered_through(self) -> int:
        with self.engine.connect() as conn:
            return delivered_through(read_only(conn), self.table)

    def _read(self, after: int) -> list[IdentityUpdate]:
        with self.engine.connect() as conn:
            return pending(read_only(conn), self.table, self._batch, after=after)

    def _mark(self, through: int, held: list[int], at: datetime) -> None:
        with self._writers(), self.engine.begin() as conn:
            mark_delivered(conn, self.table, through, at)
            mark_quarantined(conn, self.table, held, through, at)
