"""The link between two municipalities for moving with the card (R21, R3).

Like identity updates (``network/outbox.py``) the messages are written into an outbox
in the transaction that decided them, numbered with this node's next seq towards
that receiver, and delivered at least once, in order, by ``MovingWorker``; the
receiver keeps the digest of every seq it took (``moving_inbox``), so a copy is
acknowledged again and changes nothing, a different message under a taken seq or a
seq past the next one is refused. A municipality that is down delays a move: the
messages wait in the outbox and go when it is back.

The outbox of identity updates is not reused: it has one receiver (the prefecture)
and carries only ``IdentityUpdate``; these go to any municipality.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, func, insert, select, update

from jukinet.errors import MoveWithCardRefused
from jukinet.network.messages import PeerLink
from jukinet.network.messages_moving import MovingAck, MovingBody, MovingMessage
from jukinet.nodes.municipality.tables import moving_inbox, moving_outbox

__all__ = ["MovingWorker", "backlog", "digest", "enqueue", "take", "taken"]

log = logging.getLogger("jukinet.moving")

Send = Callable[[str, MovingMessage], Awaitable[MovingAck]]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def enqueue(conn: Connection, origin: str, receiver: str, body: MovingBody) -> int:
    """Put ``body`` to ``receiver`` into the outbox under the next seq towards it.

    The caller's transaction holds the audit-head lock, which serialises writers.
    """
    last = conn.execute(
        select(func.coalesce(func.max(moving_outbox.c.seq), 0)).where(
            moving_outbox.c.receiver == receiver
        )
    ).scalar_one()
    seq = int(last) + 1
    message = MovingMessage(seq=seq, origin=origin, body=body)
    conn.execute(
        insert(moving_outbox).values(
            receiver=receiver, seq=seq, payload=message.model_dump_json(), created_at=_now()
        )
    )
    return seq


def digest(message: MovingMessage) -> str:
    return hashlib.sha256(message.body.model_dump_json().encode()).hexdigest()


def taken(conn: Connection, sender: str, message: MovingMessage) -> bool:
    """Whether ``message`` was taken already (True: a copy, acknowledge again).

    Refused: a different message under a seq already taken, or a seq past the next.
    """
    q = moving_inbox.c
    last = int(
        conn.execute(
            select(func.coalesce(func.max(q.seq), 0)).where(q.sender == sender)
        ).scalar_one()
    )
    if message.seq <= last:
        held = conn.execute(
            select(q.digest).where(q.sender == sender, q.seq == message.seq)
        ).scalar()
        if held == digest(message):
            return True
        raise MoveWithCardRefused(
            f"Message {message.seq} of municipality {sender} was taken already with other "
            "content; a replayed or altered message changes nothing."
        )
    if message.seq != last + 1:
        raise OutOfOrder(sender, message.seq, last)
    return False


class OutOfOrder(MoveWithCardRefused):
    """A message past the next one: the receiver answers with what it took (``last``),
    so that the sender sends again from there (it may have been restored from a backup)."""

    def __init__(self, sender: str, seq: int, last: int) -> None:
        super().__init__(
            f"Message {seq} of municipality {sender} comes before {last + 1}; messages are "
            f"taken in order, without gaps: send again from {last + 1}."
        )
        self.last = last


def take(conn: Connection, sender: str, message: MovingMessage, outcome: str) -> None:
    conn.execute(
        insert(moving_inbox).values(
            sender=sender, seq=message.seq, digest=digest(message), outcome=outcome,
            received_at=_now(),
        )
    )  # fmt: skip


def last_taken(conn: Connection, sender: str) -> int:
    q = moving_inbox.c
    return int(
        conn.execute(
            select(func.coalesce(func.max(q.seq), 0)).where(q.sender == sender)
        ).scalar_one()
    )


def backlog(conn: Connection) -> int:
    """How many messages wait for delivery, to all receivers."""
    query = select(func.count()).select_from(moving_outbox)
    return int(conn.execute(query.where(moving_outbox.c.delivered_at.is_(None))).scalar_one())


def links(conn: Connection, worker: MovingWorker | None = None) -> list[PeerLink]:
    """One link per municipality that messages wait for, for ``NodeStatus`` (an alert
    in ``network status`` when its delivery fails)."""
    c = moving_outbox.c
    rows = conn.execute(
        select(c.receiver, func.count())
        .where(c.delivered_at.is_(None))
        .group_by(c.receiver)
        .order_by(c.receiver)
    ).all()
    return [
        PeerLink(
            node_id=f"municipality:{receiver} (moving)",
            outbox_backlog=int(count),
            last_delivery_at=worker.last_delivery_at if worker else None,
            last_error=worker.errors.get(receiver) if worker else None,
        )
        for receiver, count in rows
    ]


class MovingWorker:
    """Delivers the moving outbox, each receiver in seq order, at least once.

    A receiver that cannot be reached waits (doubling from ``backoff[0]`` to
    ``backoff[1]`` seconds) while the others go on; nothing is dropped.
    """

    def __init__(
        self,
        engine: Engine,
        send: Send,
        *,
        idle: float = 0.2,
        backoff: tuple[float, float] = (0.2, 10.0),
    ) -> None:
        self.engine = engine
        self._send = send
        self._idle = idle
        self._backoff = backoff
        self._wait: dict[str, tuple[float, float]] = {}  # receiver: (not before, delay)
        self.last_error: str | None = None
        self.errors: dict[str, str] = {}  # receiver: why its last delivery failed
        self.last_delivery_at: datetime | None = None

    def _first_pending(self) -> list[tuple[str, MovingMessage]]:
        c = moving_outbox.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(c.receiver, func.min(c.seq))
                .where(c.delivered_at.is_(None))
                .group_by(c.receiver)
            ).all()
            out: list[tuple[str, MovingMessage]] = []
            for receiver, seq in rows:
                payload = conn.execute(
                    select(c.payload).where(c.receiver == receiver, c.seq == seq)
                ).scalar_one()
                out.append((receiver, MovingMessage.model_validate_json(payload)))
            return out

    def _mark(self, receiver: str, through: int) -> None:
        c = moving_outbox.c
        with self.engine.begin() as conn:
            conn.execute(
                update(moving_outbox)
                .where(c.receiver == receiver, c.seq <= through, c.delivered_at.is_(None))
                .values(delivered_at=_now())
            )

    async def run_once(self) -> int:
        """One round: the first waiting message to each receiver that is not backing off;
        returns how many were delivered."""
        delivered = 0
        for receiver, message in await asyncio.to_thread(self._first_pending):
            not_before, delay = self._wait.get(receiver, (0.0, self._backoff[0]))
            if time.monotonic() < not_before:
                continue
            try:
                ack = await self._send(receiver, message)
            except Exception as exc:  # keep the message, back off for this receiver only
                self.last_error = f"{receiver}: {type(exc).__name__}: {exc}"
                self.errors[receiver] = f"{type(exc).__name__}: {exc}"
                log.warning("moving message %d to %s failed (%s); retrying in %.1f s",
                            message.seq, receiver, self.last_error, delay)  # fmt: skip
                self._wait[receiver] = (time.monotonic() + delay, min(delay * 2, self._backoff[1]))
                continue
            self._wait.pop(receiver, None)
            self.errors.pop(receiver, None)
            self.last_error = None
            if ack.acked_through < message.seq - 1:  # it lacks earlier ones: resend them
                log.warning("%s took moving messages only through %d; resending from %d",
                            receiver, ack.acked_through, ack.acked_through + 1)  # fmt: skip
                await asyncio.to_thread(self._resend, receiver, ack.acked_through)
                continue
            await asyncio.to_thread(self._mark, receiver, min(ack.acked_through, message.seq))
            if ack.acked_through >= message.seq:
                delivered += 1
                self.last_delivery_at = datetime.now(UTC)
        return delivered

    def _resend(self, receiver: str, after: int) -> None:
        c = moving_outbox.c
        with self.engine.begin() as conn:
            conn.execute(
                update(moving_outbox)
                .where(c.receiver == receiver, c.seq > after)
                .values(delivered_at=None)
            )

    async def run_forever(self) -> None:
        while True:
            try:
                delivered = await self.run_once()
            except Exception as exc:  # this node's own database: busy, or its disk full
                self.last_error = f"reading the moving outbox failed: {type(exc).__name__}: {exc}"
                log.warning("%s", self.last_error.splitlines()[0])
                delivered = 0
            if not delivered:
                await asyncio.sleep(self._idle)
