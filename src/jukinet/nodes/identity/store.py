"""Applying, reading and exporting identity information (R1, R22).

Updates apply as docs/network.md says ("Identity updates", steps 3–5): one
transaction per batch, per-sender ``seq`` deduplication, in order, a gap stops the
batch; a refused batch changes nothing but one audit entry.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import cast

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    func,
    insert,
    select,
    update,
)

from jukinet.audit import log as audit
from jukinet.domain.names import fold
from jukinet.errors import ConfigurationError, JukinetError, StorageFull, UpdateRefused
from jukinet.keys import NodeKey
from jukinet.network import outbox as ob
from jukinet.network.messages import (
    IdentityUpdate,
    NodeStatus,
    PeerLink,
    Role,
    UpdateAck,
    UpdateBatch,
)
from jukinet.nodes.identity import quarantine
from jukinet.nodes.identity.authority import Authority, Holding, Sender, Standing, check_standing
from jukinet.nodes.identity.pseudonym import node_secret
from jukinet.nodes.identity.tables import (
    identities,
    identity_history,
    inbox_state,
    node,
    retired_codes,
    security_log,
)

# --- reading --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Identity:
    """One identity as held now (R1 fields, status, origin)."""

    resident_code: str
    name: str
    date_of_birth: date
    sex: str
    address: str
    status: str
    change_reason: str
    change_date: date
    origin: str
    recorded_at: str


@dataclass(frozen=True, slots=True)
class IdentityChange:
    """One applied update, as kept in the history."""

    resident_code: str
    previous_code: str | None
    name: str
    date_of_birth: date
    sex: str
    address: str
    status: str
    change_reason: str
    change_date: date
    origin: str
    recorded_at: str
    sender: str
    sender_seq: int
    applied_at: str


_IDENTITY_FIELDS = [
    "resident_code", "name", "date_of_birth", "sex", "address",
    "status", "change_reason", "change_date", "origin", "recorded_at",
]  # fmt: skip
_EXPORT_FIELDS = _IDENTITY_FIELDS[:-1]
_CHANGE_FIELDS = [*_IDENTITY_FIELDS[:1], "previous_code", *_IDENTITY_FIELDS[1:],
                  "sender", "sender_seq", "applied_at"]  # fmt: skip


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class IdentityStore:
    """A prefecture's or the national node's identity database and node key.

    ``forward_to`` is the outbox that every applied update also goes into (the
    prefecture's, towards the national node); None where updates end (national).
    """

    def __init__(self, engine: Engine, key: NodeKey, *, forward_to: Table | None = None) -> None:
        self.engine = engine
        self.key = key
        self.forward_to = forward_to
        self._writers = threading.Lock()
        with engine.connect() as conn:
            meta = dict(conn.execute(select(node.c.key, node.c.value)).all())
        if "kind" not in meta:
            raise ConfigurationError("This database holds no identity node: run `network init`.")
        self.kind: str = meta["kind"]
        self.code: str = meta["code"]
        self.name: str = meta["name"]
        self.node_id = f"{self.kind}:{self.code}"
        self._pseudonym_secret: bytes | None = None

    def pseudonym_secret(self, conn: Connection) -> bytes:
        """The node's pseudonym secret, read once (it never changes)."""
        if self._pseudonym_secret is None:
            self._pseudonym_secret = node_secret(conn)
        return self._pseudonym_secret

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A transaction that holds the audit head: writers on this node are serialised.

        Routes run use cases in worker threads; the threads of this process queue on a
        lock first, so that they wait their turn instead of in SQLite's busy handler,
        which sleeps in growing steps and turned a lookup's p99 from 83 ms to 390 ms.
        """
        with self._writers, self.engine.begin() as conn:
            audit.lock_head(conn)
            yield conn

    def audit(self, conn: Connection, *drafts: audit.Draft) -> int:
        return audit.append(conn, self.key, self.code, drafts)

    def refused(self, actor: str, operation: str, target: str, exc: JukinetError) -> None:
        """Record a refusal in a transaction of its own."""
        detail = f"{exc.code}: {exc.message}"
        with self.transaction() as conn:
            self.audit(conn, audit.Draft(actor, operation, target, audit.Outcome.REFUSED, detail))

    def close(self) -> None:
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
                last = self._last_seq(conn, sender.node_id)
                first_last, applied, duplicates, held = last, 0, 0, 0
                at = _now()
                for u in batch.updates:
                    if u.seq <= last:
                        duplicates += 1
                        continue
                    if u.seq != last + 1:
                        break  # a gap: the sender resends from last + 1
                    try:
                        quarantine.waiting_behind(conn, sender.node_id, u)
                        self.apply_one(conn, sender.node_id, u, at)
                        applied += 1 + quarantine.retry_after(self, conn, u, at)
                    except UpdateRefused as exc:
                        self._quarantine(conn, sender.node_id, u, exc, at)
                        held += 1
                    last = u.seq
                if last != first_last:
                    self._set_last_seq(conn, sender.node_id, last, first_last == 0, at)
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
        standing = self._standing(conn, u)
        check_standing(u, standing)
        self.check_registry(conn, u, standing)
        self._write(conn, sender, u, standing, at or _now())

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

    def _last_seq(self, conn: Connection, sender: str) -> int:
        query = select(inbox_state.c.last_seq).where(inbox_state.c.sender == sender)
        return int(conn.execute(query).scalar() or 0)

    def _set_last_seq(self, conn: Connection, sender: str, last: int, new: bool, at: str) -> None:
        if new:
            conn.execute(insert(inbox_state).values(sender=sender, last_seq=last, updated_at=at))
        else:
            conn.execute(
                update(inbox_state)
                .where(inbox_state.c.sender == sender)
                .values(last_seq=last, updated_at=at)
            )

    def _holding(self, conn: Connection, code: str) -> Holding | None:
        row = conn.execute(
            select(identities.c.person_key, identities.c.origin, identities.c.status).where(
                identities.c.resident_code == code
            )
        ).first()
        return Holding(row.person_key, row.origin, row.status) if row else None

    def _retired(self, conn: Connection, code: str) -> bool:
        query = select(retired_codes.c.code).where(retired_codes.c.code == code)
        return conn.execute(query).first() is not None

    def _standing(self, conn: Connection, u: IdentityUpdate) -> Standing:
        current, retired = (
            self._holding(conn, u.resident_code),
            self._retired(conn, u.resident_code),
        )
        if u.previous_code is None:
            return Standing(current, retired)
        old = u.previous_code
        return Standing(current, retired, self._holding(conn, old), self._retired(conn, old))

    def _write(
        self, conn: Connection, sender: str, u: IdentityUpdate, standing: Standing, at: str
    ) -> None:
        values = {
            "name": u.name, "date_of_birth": u.date_of_birth, "sex": u.sex, "address": u.address,
            "status": u.status, "change_reason": u.change_reason, "change_date": u.change_date,
            "origin": u.origin, "recorded_at": u.recorded_at.isoformat(),
        }  # fmt: skip
        # Which row the update lands on: a code change moves the identity to the new
        # code, keeping the person; the old code stays retired, pointing to the person.
        moved = standing.previous if u.previous_code is not None else standing.current
        code = u.previous_code if u.previous_code is not None else u.resident_code
        # The folded name and address (search by the 4 items) follow every write.
        folded = {"name_folded": fold(u.name), "address_folded": fold(u.address)}
        if moved is None:
            person_key = uuid.uuid4().hex
            conn.execute(
                insert(identities).values(
                    resident_code=u.resident_code, person_key=person_key, applied_at=at,
                    **values, **folded,
                )
            )  # fmt: skip
        else:
            person_key = moved.person_key
            conn.execute(
                update(identities)
                .where(identities.c.resident_code == code)
                .values(resident_code=u.resident_code, applied_at=at, **values, **folded)
            )
        if u.previous_code is not None:
            conn.execute(
                insert(retired_codes).values(
                    code=u.previous_code, person_key=person_key, retired_on=u.change_date
                )
            )
        conn.execute(
            insert(identity_history).values(
                person_key=person_key, resident_code=u.resident_code,
                previous_code=u.previous_code, sender=sender, sender_seq=u.seq, applied_at=at,
                **values,
            )
        )  # fmt: skip
        if self.forward_to is not None:
            ob.enqueue(conn, self.forward_to, lambda seq: u.model_copy(update={"seq": seq}))

    # --- reads ----------------------------------------------------------------
    def identity(self, code: str) -> Identity | None:
        """The identity held now under exactly this code (None for unknown or retired codes)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(*(identities.c[f] for f in _IDENTITY_FIELDS)).where(
                    identities.c.resident_code == code
                )
            ).first()
        return Identity(**row._mapping) if row else None

    def history(self, code: str) -> list[IdentityChange]:
        """Every applied update of the person who holds or held ``code``, oldest first."""
        with self.engine.connect() as conn:
            person_key = (
                conn.execute(
                    select(identities.c.person_key).where(identities.c.resident_code == code)
                ).scalar()
                or conn.execute(
                    select(retired_codes.c.person_key).where(retired_codes.c.code == code)
                ).scalar()
            )
            if person_key is None:
                return []
            rows = conn.execute(
                select(*(identity_history.c[f] for f in _CHANGE_FIELDS))
                .where(identity_history.c.person_key == person_key)
                .order_by(identity_history.c.id)
            ).all()
        return [IdentityChange(**r._mapping) for r in rows]

    def retired_code_holder(self, code: str) -> str | None:
        """The code the person who once held retired ``code`` holds now."""
        with self.engine.connect() as conn:
            person_key = conn.execute(
                select(retired_codes.c.person_key).where(retired_codes.c.code == code)
            ).scalar()
            if person_key is None:
                return None
            return conn.execute(
                select(identities.c.resident_code).where(identities.c.person_key == person_key)
            ).scalar()

    def export(self, municipality: str, chunk: int = 1000) -> Iterator[dict[str, str]]:
        """The current identities whose origin is ``municipality``, by code (reconcile)."""
        after = ""
        while True:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    select(*(identities.c[f] for f in _EXPORT_FIELDS))
                    .where(identities.c.origin == municipality, identities.c.resident_code > after)
                    .order_by(identities.c.resident_code)
                    .limit(chunk)
                ).all()
            for r in rows:
                yield {
                    k: v.isoformat() if isinstance(v, date) else v for k, v in r._mapping.items()
                }
            if len(rows) < chunk:
                return
            after = rows[-1].resident_code

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(identities)).scalar_one())

    def inbox(self, sender: str) -> int:
        """The last seq applied from ``sender``."""
        with self.engine.connect() as conn:
            return self._last_seq(conn, sender)

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


def json_lines(rows: Iterator[dict[str, str]], per_chunk: int = 1000) -> Iterator[bytes]:
    """Rows as JSON lines in chunks: a sync iterator, so Starlette runs it (and the
    database reads behind ``rows``) in a worker thread, off the event loop."""
    chunk: list[str] = []
    for row in rows:
        chunk.append(json.dumps(row, ensure_ascii=False) + "\n")
        if len(chunk) >= per_chunk:
            yield "".join(chunk).encode()
            chunk = []
    if chunk:
        yield "".join(chunk).encode()
