"""An identity node's store (R1, R22): its database and node key, transactions and
audit, applying a sender's batch of updates, and the node's status.

Updates apply as docs/network.md says ("Identity updates", steps 3–5): one
transaction per batch, per-sender ``seq`` deduplication, in order, a gap stops the
batch; a refused batch changes nothing but one audit entry. The writes an update is
made of are in ``applying.py``; the reads in ``reads.py``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import cast

from sqlalchemy import Connection, Engine, Table, select

from jukinet.audit import log as audit
from jukinet.errors import ConfigurationError, JukinetError, StorageFull, UpdateRefused
from jukinet.keys import NodeKey
from jukinet.network import outbox as ob
from jukinet.network import wakeup
from jukinet.network.messages import (
    IdentityUpdate,
    NodeStatus,
    PeerLink,
    Role,
    UpdateAck,
    UpdateBatch,
)
from jukinet.nodes.identity import applying, provision_log, quarantine
from jukinet.nodes.identity.authority import Authority, Sender, Standing, check_standing
from jukinet.nodes.identity.provision_writer import GroupWriter
from jukinet.nodes.identity.pseudonym import node_secret
from jukinet.nodes.identity.reads import Identity, IdentityChange, IdentityReads
from jukinet.nodes.identity.tables import node, security_log

__all__ = ["Identity", "IdentityChange", "IdentityStore", "refusal"]


def refusal(actor: str, operation: str, target: str, exc: JukinetError) -> audit.Draft:
    """The audit entry of a refusal: the error's code and its sentence."""
    return audit.Draft(
        actor, operation, target, audit.Outcome.REFUSED, f"{exc.code}: {exc.message}"
    )


class IdentityStore(IdentityReads):
    """A prefecture's or the national node's identity database and node key.

    ``forward_to`` is the outbox that every applied update also goes into (the
    prefecture's, towards the national node); None where updates end (national).
    """

    def __init__(self, engine: Engine, key: NodeKey, *, forward_to: Table | None = None) -> None:
        self.engine = engine
        self.key = key
        self.forward_to = forward_to
        self._writers = threading.Lock()
        self._forwarded = False  # this transaction put updates into ``forward_to``
        self.wakers: list[Callable[[], None]] = []
        self.wake_socket: Path | None = None  # set by the node kind that forwards
        with engine.connect() as conn:
            meta = dict(conn.execute(select(node.c.key, node.c.value)).all())
        if "kind" not in meta:
            raise ConfigurationError("This database holds no identity node: run `network init`.")
        self.kind: str = meta["kind"]
        self.code: str = meta["code"]
        self.name: str = meta["name"]
        self.node_id = f"{self.kind}:{self.code}"
        self._pseudonym_secret: bytes | None = None
        self._disclosure_secret: bytes | None = None
        # Lookups, verifies and searches: group commit in one writer thread.
        self.provision_writer = GroupWriter(self)

    def pseudonym_secret(self, conn: Connection) -> bytes:
        """The node's pseudonym secret, read once (it never changes)."""
        if self._pseudonym_secret is None:
            self._pseudonym_secret = node_secret(conn)
        return self._pseudonym_secret

    def disclosure_secret(self, conn: Connection) -> bytes:
        """The node's disclosure secret (provision log commitments), read once."""
        if self._disclosure_secret is None:
            self._disclosure_secret = provision_log.disclosure_secret(conn)
        return self._disclosure_secret

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A transaction that holds the audit head: writers on this node are serialised.

        Routes run use cases in worker threads; the threads of this process queue on a
        lock first, so that they wait their turn instead of in SQLite's busy handler,
        which sleeps in growing steps and turned a lookup's p99 from 83 ms to 390 ms.
        """
        with self._writers:
            self._forwarded = False
            with self.engine.begin() as conn:
                audit.lock_head(conn)
                yield conn
            if self._forwarded:  # committed: have the delivery worker forward it now
                self.wake_delivery()

    @property
    def writers(self) -> threading.Lock:
        """The lock this process's writers queue on before the database (``transaction``)."""
        return self._writers

    def wake_delivery(self) -> None:
        """Tell the delivery worker of ``forward_to`` there is news (best effort: a lost
        wake-up only waits for its fallback poll): the one in this process (``wakers``,
        set by the node), else the node process through ``wake_socket``."""
        for wake in self.wakers:
            wake()
        if not self.wakers and self.wake_socket is not None:
            wakeup.poke(self.wake_socket)

    @contextmanager
    def group_transaction(
        self, take: Callable[[], None]
    ) -> Iterator[tuple[Connection, audit.Head]]:
        """The writers' turn, as ``transaction``; ``take`` runs once it has come (the
        provision writer takes the calls waiting by then), before the transaction
        begins and locks the audit head, once: it yields the head as locked."""
        with self._writers:
            take()
            with self.engine.begin() as conn:
                yield conn, audit.lock_edge(conn)

    def audit_alone(self, draft: audit.Draft) -> None:
        """One entry in a transaction of its own (R9: a rollback, an emergency order)."""
        with self.transaction() as conn:
            self.audit(conn, draft)

    def audit(self, conn: Connection, *drafts: audit.Draft) -> int:
        return audit.append(conn, self.key, self.code, drafts)

    def refused(self, actor: str, operation: str, target: str, exc: JukinetError) -> None:
        """Record a refusal in a transaction of its own."""
        with self.transaction() as conn:
            self.audit(conn, refusal(actor, operation, target, exc))

    def close(self) -> None:
        """Answer the provision calls taken in (the writer drains), then close the database."""
        self.provision_writer.close()
        self.engine.dispose()

    # --- applying updates -----------------------------------------------------
    def apply_batch(self, sender: Sender, batch: UpdateBatch, *, authority: Authority) -> UpdateAck:
        """Apply a sender's batch in one transaction (docs/network.md, steps 3–5).

        ``seq <= last`` is skipped, ``last + 1`` is applied, a gap stops the batch.
        With ``forward_to`` each applied update also goes into that outbox under this
        node's own seq (prefecture → national). An update the rules refuse goes into
        quarantine and the batch goes on past it ("Quarantine"); a sender that may not
        send at all (``authority``) is refused whole.
        """
        try:
            if batch.sender != sender.node_id:
                raise UpdateRefused(
                    f"The batch names {batch.sender} as its sender, but {sender.node_id} sent it."
                )
            for u in batch.updates:
                authority(sender, u)
            with self.transaction() as conn:
                last = applying.last_seq(conn, sender.node_id)
                first_last, applied, duplicates, held = last, 0, 0, 0
                at = applying.now()
                fresh = [u for u in batch.updates if u.seq > last]
                writer = applying.BatchWriter(conn, sender.node_id, fresh, at, self.forward_to)
                self.read_registry(conn, writer.codes)
                try:
                    for u in batch.updates:
                        if u.seq <= last:
                            duplicates += 1
                            continue
                        if u.seq != last + 1:
                            break  # a gap: the sender resends from last + 1
                        try:
                            if writer.fast(u) and self._write_fast(conn, writer, u):
                                applied += 1
                            else:  # one by one against the database, as written so far
                                writer.flush()
                                writer.touch(u)
                                quarantine.waiting_behind(conn, sender.node_id, u)
                                self.apply_one(conn, sender.node_id, u, at)
                                applied += 1 + quarantine.retry_after(self, conn, u, at)
                        except UpdateRefused as exc:
                            writer.touch(u)
                            self._quarantine(conn, sender.node_id, u, exc, at)
                            held += 1
                        last = u.seq
                    writer.flush()
                finally:
                    self.read_registry(conn, None)
                if applied and self.forward_to is not None:
                    self._forwarded = True
                if last != first_last:
                    applying.set_last_seq(conn, sender.node_id, last, first_last == 0, at)
                detail = f"applied {applied}, duplicates {duplicates}, acked {last}"
                detail += f", quarantined {held}" if held else ""
                self.audit(conn, audit.Draft(sender.node_id, "updates.apply", sender.node_id,
                                             detail=detail))  # fmt: skip
                waiting = quarantine.open_seqs(conn, sender.node_id)
                return UpdateAck(acked_through=last, quarantined=waiting)
        except StorageFull:  # this node's trouble, not a refusal of the sender: it resends
            raise
        except JukinetError as exc:
            security_log.warning(
                "refused identity updates from %s: %s [%s]", sender.node_id, exc, exc.code
            )
            self.refused(sender.node_id, "updates.apply", sender.node_id, exc)
            raise

    def apply_one(self, conn: Connection, sender: str, u: IdentityUpdate, at: str = "") -> None:
        """Check ``u`` against what this node holds and write it; ``UpdateRefused`` if not."""
        standing = applying.standing(conn, u)
        check_standing(u, standing)
        self.check_registry(conn, u, standing)
        applying.write(conn, sender, u, standing, at or applying.now(), self.forward_to)
        if self.forward_to is not None:
            self._forwarded = True

    def _write_fast(
        self, conn: Connection, writer: applying.BatchWriter, u: IdentityUpdate
    ) -> bool:
        """Check ``u`` against the standing read for the batch and collect its rows, as
        ``apply_one`` would write them; False if ``u`` must go through ``apply_one``."""
        standing = writer.standing(u)
        if not self.writes_alone(u, standing):
            return False
        check_standing(u, standing)
        self.check_registry(conn, u, standing)
        writer.write(u, standing)
        return True

    def writes_alone(self, u: IdentityUpdate, standing: Standing) -> bool:
        """Whether ``u`` writes nothing but the rows ``BatchWriter`` collects (the
        national node also revokes certificates on some updates: it overrides this)."""
        return True

    def read_registry(self, conn: Connection, codes: list[str] | None) -> None:
        """Read what ``check_registry`` needs of ``codes`` at once (None: forget it).

        A prefecture holds no registry: nothing to read. The national node overrides it.
        """

    def _quarantine(
        self, conn: Connection, sender: str, u: IdentityUpdate, exc: UpdateRefused, at: str
    ) -> None:
        quarantine.hold(conn, sender, u, exc.message, at)
        security_log.warning("quarantined update %d from %s: %s", u.seq, sender, exc)
        draft = audit.Draft(sender, "updates.quarantine", f"{sender} update {u.seq}",
                            audit.Outcome.REFUSED, f"{exc.code}: {exc.message}")  # fmt: skip
        self.audit(conn, draft)

    def check_registry(self, conn: Connection, u: IdentityUpdate, standing: Standing) -> None:
        """Whether the code registry allows ``u`` (raise ``UpdateRefused`` if not).

        A prefecture holds no registry: nothing to check here. The national node,
        which does, overrides this (``NationalStore.check_registry``).
        """

    # --- the node's state -----------------------------------------------------
    def inbox(self, sender: str) -> int:
        """The last seq applied from ``sender``."""
        with self.engine.connect() as conn:
            return applying.last_seq(conn, sender)

    def outbox_link(self, receiver: str, worker: ob.DeliveryWorker | None = None) -> PeerLink:
        """The state of this node's outbox towards ``receiver``, for ``NodeStatus``."""
        if self.forward_to is None:
            raise ConfigurationError(f"The {self.kind} node forwards no updates.")
        outbox = self.forward_to
        with self.engine.connect() as conn:
            return ob.link(conn, outbox, receiver, worker)

    def status(
        self, *, started_at: datetime, directory_version: int, links: list[PeerLink]
    ) -> NodeStatus:
        return NodeStatus(
            node_id=self.node_id,
            role=cast(Role, self.kind),  # "prefecture" or "national"
            directory_version=directory_version,
            started_at=started_at,
            links=links,
            identities=self.count(),
            quarantined=self.quarantined(),
        )

    def quarantined(self) -> int:
        """How many refused updates wait in quarantine here for an operator."""
        with self.engine.connect() as conn:
            return quarantine.count_open(conn)
