"""The municipality register's storage: one transaction per operation.

``RegisterStore.transaction()`` opens a transaction that has locked the audit
head, so operations on one node are serialised and each one writes its records,
their history rows and its audit entry atomically (or nothing at all).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, func, insert, select, update

from jukinet.audit import log as audit
from jukinet.domain.codes import LocalGovernmentCode, ResidentCode
from jukinet.domain.propagation import IdentityChanged, identity_changes
from jukinet.domain.record import Household, ResidentRecord
from jukinet.domain.rules import Decision
from jukinet.errors import ConfigurationError, PoolExhausted
from jukinet.keys import NodeKey
from jukinet.network import wakeup
from jukinet.network.messages import IdentityUpdate
from jukinet.nodes.municipality import codec
from jukinet.nodes.municipality.tables import (
    code_pool,
    events,
    household_history,
    households,
    node,
    outbox,
    persons,
    record_history,
    retired_codes,
)
from jukinet.storage.turns import WriterTurns


@dataclass(frozen=True, slots=True)
class Version:
    """One past or present state of a record, with the event that made it."""

    record: ResidentRecord
    event_id: int
    kind: str
    reason: str
    occurred_on: date
    recorded_at: str
    operator: str


class RegisterTx:
    """The register inside one transaction: ``RegisterView`` and ``Allocator`` for the rules."""

    def __init__(self, conn: Connection, store: RegisterStore) -> None:
        self.conn = conn
        self._store = store
        self._next_household: int | None = None
        self.pool_warning: str | None = None
        self.enqueued = 0  # identity updates put into the outbox in this transaction

    @property
    def municipality_code(self) -> LocalGovernmentCode:
        return self._store.code

    # --- reads -------------------------------------------------------------
    def record(self, code: ResidentCode) -> ResidentRecord | None:
        row = self.conn.execute(select(persons).where(persons.c.resident_code == code)).first()
        return codec.record(row._mapping) if row else None

    def record_by_person(self, person_id: str) -> ResidentRecord:
        row = self.conn.execute(select(persons).where(persons.c.person_id == person_id)).one()
        return codec.record(row._mapping)

    def retired_holder(self, code: ResidentCode) -> str | None:
        """The person who held ``code`` before it was retired, if any."""
        return self.conn.execute(
            select(retired_codes.c.person_id).where(retired_codes.c.code == code)
        ).scalar()

    def code_retired(self, code: ResidentCode) -> bool:
        return self.retired_holder(code) is not None

    def household(self, household_id: int) -> Household | None:
        row = self.conn.execute(
            select(households).where(households.c.household_id == household_id)
        ).first()
        return codec.household(row._mapping) if row else None

    def members(self, household_id: int) -> list[ResidentRecord]:
        rows = self.conn.execute(
            select(persons)
            .where(persons.c.household_id == household_id, persons.c.removal_reason.is_(None))
            .order_by(persons.c.relationship != "世帯主", persons.c.date_of_birth)
        ).all()
        return [codec.record(r._mapping) for r in rows]

    def history(self, person_id: str) -> list[Version]:
        rows = self.conn.execute(
            select(record_history.c.snapshot, events)
            .join(events, events.c.event_id == record_history.c.event_id)
            .where(record_history.c.person_id == person_id)
            .order_by(record_history.c.version)
        ).all()
        return [
            Version(
                codec.record(codec.from_json(r.snapshot)),
                r.event_id,
                r.kind,
                r.reason,
                r.occurred_on,
                r.recorded_at,
                r.operator,
            )
            for r in rows
        ]

    # --- allocation (Allocator) ---------------------------------------------
    def resident_code(self) -> ResidentCode:
        return self.draw_codes(1)[0]

    def draw_codes(self, count: int) -> list[ResidentCode]:
        """Take ``count`` unused codes from the pool, in random order (R6)."""
        rows = self.conn.execute(
            select(code_pool.c.code)
            .where(code_pool.c.assigned.is_(False))
            .order_by(code_pool.c.draw_key)
            .limit(count)
        ).all()
        if len(rows) < count:
            raise PoolExhausted(
                "The pool of unused resident codes is exhausted; "
                "replenish it (`jukinet pool replenish`) before entering new residents."
            )
        codes = [ResidentCode(r.code) for r in rows]
        for chunk in _chunks(codes, 500):
            self.conn.execute(
                update(code_pool).where(code_pool.c.code.in_(chunk)).values(assigned=True)
            )
        # Counted only up to the warning level: a full pool is not counted per birth.
        left = self.pool_remaining(up_to=self._store.low_water)
        if left < self._store.low_water:
            self.pool_warning = (
                f"Only {left} unused resident codes are left in the pool "
                f"(warning below {self._store.low_water}); replenish it soon."
            )
        return codes

    def pool_remaining(self, up_to: int | None = None) -> int:
        """How many unused codes the pool holds (at most ``up_to``, if given)."""
        unused = select(code_pool.c.code).where(code_pool.c.assigned.is_(False))
        if up_to is not None:
            unused = unused.limit(up_to)
        query = select(func.count()).select_from(unused.subquery())
        return int(self.conn.execute(query).scalar_one())

    def unseen(self, codes: Iterable[ResidentCode]) -> set[ResidentCode]:
        """The codes never seen here: in no pool, on no record, never retired (R6)."""
        fresh = set(codes)
        for chunk in _chunks(sorted(fresh), 500):
            for table in (code_pool, persons, retired_codes):
                column = table.c.code if table is not persons else persons.c.resident_code
                fresh -= set(self.conn.scalars(select(column).where(column.in_(chunk))))
        return fresh

    def add_to_pool(self, codes: Iterable[ResidentCode], received_at: str) -> int:
        """Add codes never seen here before; returns how many were new."""
        fresh = self.unseen(codes)
        rows = [
            {
                "code": c,
                "draw_key": secrets.randbits(62),
                "assigned": False,
                "received_at": received_at,
            }
            for c in fresh
        ]
        if rows:
            self.conn.execute(insert(code_pool), rows)
        return len(rows)

    def person_id(self) -> str:
        return uuid.uuid4().hex

    def household_id(self) -> int:
        if self._next_household is None:
            current = self.conn.execute(select(func.max(households.c.household_id))).scalar()
            self._next_household = (current or 0) + 1
        value = self._next_household
        self._next_household += 1
        return value

    # --- writes -------------------------------------------------------------
    def apply(self, decision: Decision, kind: str, payload: str, operator: str) -> int:
        """Write the decision: event row, records, households, history rows, retired codes."""
        event_id = self.add_event(
            kind, decision.reason.code, decision.occurred_on, payload, operator
        )
        self.write_records(decision.records, event_id)
        self.write_households(decision.households, event_id)
        for code in decision.retired_codes:
            holder = next(r.person_id for r in decision.records if r.resident_code != code)
            self.conn.execute(
                insert(retired_codes).values(
                    code=code, person_id=holder, retired_on=decision.occurred_on, event_id=event_id
                )
            )
        return event_id

    def add_event(
        self, kind: str, reason: str, occurred_on: date, payload: str, operator: str
    ) -> int:
        result = self.conn.execute(
            insert(events).values(
                kind=kind,
                reason=reason,
                occurred_on=occurred_on,
                recorded_at=audit.now(),
                operator=operator,
                payload=payload,
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    def write_records(self, records: Sequence[ResidentRecord], event_id: int) -> None:
        """Write new record versions, and the identity update of every identity change the
        domain finds (``domain.propagation``, R1, R22) into the outbox."""
        before = self._versions_before([r.person_id for r in records if r.version > 1])
        rows = [codec.record_row(r) for r in records]
        self._write_versions(persons, record_history, "person_id", rows, event_id)
        self._enqueue_updates(identity_changes(records, before))

    def _versions_before(self, person_ids: Sequence[str]) -> dict[str, ResidentRecord]:
        found: dict[str, ResidentRecord] = {}
        for chunk in _chunks(person_ids, 500):
            for row in self.conn.execute(select(persons).where(persons.c.person_id.in_(chunk))):
                found[row.person_id] = codec.record(row._mapping)
        return found

    def _enqueue_updates(self, changes: Sequence[IdentityChanged]) -> None:
        if not changes:
            return
        # Writers are serialised by the audit-head lock, so max + 1 is this sender's next seq.
        last = self.conn.execute(select(func.coalesce(func.max(outbox.c.seq), 0))).scalar_one()
        now = datetime.now(UTC)
        stamp = now.isoformat(timespec="microseconds")
        rows = []
        for i, change in enumerate(changes, start=int(last) + 1):
            update = identity_update(
                change.record, seq=i, origin=self._store.code, recorded_at=now,
                previous_code=change.previous_code,
            )  # fmt: skip
            rows.append({"seq": i, "payload": update.model_dump_json(), "created_at": stamp})
        self.conn.execute(insert(outbox), rows)
        self.enqueued += len(rows)

    def write_households(self, items: Sequence[Household], event_id: int) -> None:
        rows = [codec.household_row(h) for h in items]
        self._write_versions(households, household_history, "household_id", rows, event_id)

    def _write_versions(
        self, table: Table, history: Table, key: str, rows: list[dict[str, Any]], event_id: int
    ) -> None:
        """Insert first versions, update later ones (each from exactly its predecessor), and
        keep every version as a JSON snapshot in the history table."""
        fresh = [row for row in rows if row["version"] == 1]
        if fresh:
            self.conn.execute(insert(table), fresh)
        for row in rows:
            if row["version"] > 1:
                changed = self.conn.execute(
                    update(table)
                    .where(table.c[key] == row[key], table.c.version == row["version"] - 1)
                    .values(row)
                )
                if changed.rowcount != 1:
                    raise ConfigurationError(
                        f"{table.name} {row[key]} was changed by someone else meanwhile."
                    )
        snapshots = [
            {key: row[key], "version": row["version"], "event_id": event_id,
             "snapshot": codec.to_json(row)}
            for row in rows
        ]  # fmt: skip
        if snapshots:
            self.conn.execute(insert(history), snapshots)

    def audit(self, *drafts: audit.Draft) -> int:
        return audit.append(self.conn, self._store.key, self._store.code, drafts)


class RegisterStore:
    """A municipality's register database and node key."""

    def __init__(self, engine: Engine, key: NodeKey, home: Path | None = None) -> None:
        self.engine = engine
        self.key = key
        # Who is told, after a commit that put identity updates into the outbox, to
        # deliver them now: the delivery worker in this process (``wakers``, set by the
        # node), else the node process through its wake socket in ``home``.
        self.wakers: list[Callable[[], None]] = []
        self._wake_socket = wakeup.wake_path(home) if home is not None else None
        # The writers of this register on this host (clerks' CLIs, the node) take turns.
        self.turns = WriterTurns(home / "run" / "writers.lock") if home else nullcontext
        with engine.connect() as conn:
            meta = dict(conn.execute(select(node.c.key, node.c.value)).all())
        if "municipality_code" not in meta:
            raise ConfigurationError(
                "This database holds no register: run `jukinet register init`."
            )
        self.code = LocalGovernmentCode(meta["municipality_code"])
        self.name = meta["municipality_name"]
        self.low_water = int(meta.get("pool_low_water", "1000"))

    @contextmanager
    def transaction(self) -> Iterator[RegisterTx]:
        with self.turns(), self.engine.begin() as conn:
            audit.lock_head(conn)
            tx = RegisterTx(conn, self)
            yield tx
        if tx.enqueued:  # committed: the updates are safe, tell the worker
            self.wake_delivery()

    def wake_delivery(self) -> None:
        """Have the delivery worker look at the outbox now (best effort: a lost
        wake-up only waits for the worker's fallback poll)."""
        for wake in self.wakers:
            wake()
        if not self.wakers and self._wake_socket is not None:
            wakeup.poke(self._wake_socket)

    def audit_alone(self, draft: audit.Draft) -> None:
        """One entry in a transaction of its own (R9: a rollback, an emergency order)."""
        with self.transaction() as tx:
            tx.audit(draft)

    def export_identities(self, chunk: int = 1000) -> Iterator[dict[str, str]]:
        """Every record's identity information as the prefecture should hold it (reconcile)."""
        after = ""
        while True:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    select(persons)
                    .where(persons.c.resident_code > after)
                    .order_by(persons.c.resident_code)
                    .limit(chunk)
                ).all()
            for row in rows:
                u = identity_update(
                    codec.record(row._mapping),
                    seq=1,
                    origin=self.code,
                    recorded_at=datetime.now(UTC),
                )
                yield {
                    "resident_code": u.resident_code, "name": u.name,
                    "date_of_birth": u.date_of_birth.isoformat(), "sex": u.sex,
                    "address": u.address, "status": u.status, "change_reason": u.change_reason,
                    "change_date": u.change_date.isoformat(), "origin": u.origin,
                }  # fmt: skip
            if len(rows) < chunk:
                return
            after = rows[-1].resident_code

    def count_residents(self) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(persons)
                    .where(persons.c.removal_reason.is_(None))
                ).scalar_one()
            )

    def close(self) -> None:
        self.engine.dispose()


def create(engine: Engine, key: NodeKey, code: str, name: str, low_water: int) -> None:
    """Write a new register's identity and the empty audit chain (schema already migrated)."""
    with engine.begin() as conn:
        if conn.execute(select(node.c.value).where(node.c.key == "municipality_code")).first():
            raise ConfigurationError("This database already holds a register.")
        conn.execute(
            insert(node),
            [
                {"key": "municipality_code", "value": code},
                {"key": "municipality_name", "value": name},
                {"key": "pool_low_water", "value": str(low_water)},
            ],
        )
        audit.start(conn, key)


def identity_update(
    r: ResidentRecord,
    *,
    seq: int,
    origin: str,
    recorded_at: datetime,
    previous_code: str | None = None,
) -> IdentityUpdate:
    """The identity information of a record as it travels to the prefecture (R1 only)."""
    i = r.identity()
    return IdentityUpdate(
        seq=seq,
        origin=origin,
        resident_code=i.resident_code,
        previous_code=previous_code,
        name=i.name,
        date_of_birth=i.date_of_birth,
        sex=i.sex.value,
        address=i.address,
        status=r.status.value,
        change_reason=i.change_reason,
        change_date=i.change_date,
        recorded_at=recorded_at,
    )


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
