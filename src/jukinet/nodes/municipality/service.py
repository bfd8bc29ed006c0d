"""Use cases at the municipality window. Each is one transaction and one audit entry.

A refused request rolls back whatever it began and leaves exactly one entry: the
refusal, written in a transaction of its own (R12).

No transaction waits on another node: a use case that asks the network (``run_after``)
asks first, then records and audits in one short transaction, so every other
clerk's writes go on meanwhile.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any, TypeVar

from jukinet.audit import log as audit
from jukinet.card.reader import Reader
from jukinet.domain.access import Permission, Session
from jukinet.domain.codes import ResidentCode, parse_resident_code
from jukinet.domain.events import EVENT_KINDS, Event, MinorCorrection
from jukinet.domain.record import Household, ResidentRecord
from jukinet.domain.rules import decide
from jukinet.errors import AccessDenied, HouseholdNotFound, JukinetError, ResidentNotFound
from jukinet.network import outbox as ob
from jukinet.network.messages import NodeStatus, node_id
from jukinet.nodes.municipality import moving_link
from jukinet.nodes.municipality.moving_link import MovingWorker
from jukinet.nodes.municipality.operator_cards import check_card
from jukinet.nodes.municipality.operators import authenticate
from jukinet.nodes.municipality.store import RegisterStore, RegisterTx, Version
from jukinet.nodes.municipality.tables import outbox

T = TypeVar("T")
F = TypeVar("F")


@dataclass(frozen=True, slots=True)
class Receipt:
    """What the clerk sees after recording an event."""

    event_id: int
    kind: str
    reason: str
    records: tuple[ResidentRecord, ...]
    retired_codes: tuple[ResidentCode, ...]
    pool_warning: str | None


@dataclass(frozen=True, slots=True)
class HouseholdView:
    household: Household
    members: tuple[ResidentRecord, ...]


def refusal_detail(exc: JukinetError) -> str:
    return f"{exc.code}: {exc.message}"


@contextmanager
def audited(store: RegisterStore, actor: str, operation: str, target: str) -> Iterator[None]:
    """Record the refusal of whatever fails inside, in its own transaction, then re-raise."""
    try:
        yield
    except JukinetError as exc:
        with store.transaction() as tx:
            tx.audit(
                audit.Draft(actor, operation, target, audit.Outcome.REFUSED, refusal_detail(exc))
            )
        raise


def login(store: RegisterStore, username: str, password: str, reader: Reader) -> Session:
    """Authenticate an operator of this node by password and operator card (R11): the
    node's fresh challenge goes through ``reader`` to the card, which must be the one
    bound to the account. Failures are counted and audited."""
    failure: AccessDenied
    with store.transaction() as tx:
        try:
            return authenticate(
                tx.conn,
                username,
                password,
                store.code,
                lambda op: check_card(tx.conn, store.key, op, reader),
            )
        except AccessDenied as exc:
            failure = exc
            tx.audit(
                audit.Draft(
                    f"operator:{username}",
                    "login",
                    username,
                    audit.Outcome.REFUSED,
                    refusal_detail(exc),
                )
            )
    raise failure


def run(
    store: RegisterStore,
    session: Session,
    permission: Permission,
    operation: str,
    target: str,
    work: Callable[[RegisterTx], tuple[T, str, str]],
) -> T:
    """Check the permission, do ``work`` in one transaction and audit it once.

    ``work`` returns (result, audited target, detail).
    """
    with audited(store, session.actor, operation, target):
        session.require(permission)
        with store.transaction() as tx:
            result, final_target, detail = work(tx)
            session.require_card()  # the card left the reader: nothing is committed (R11)
            tx.audit(audit.Draft(session.actor, operation, final_target, audit.Outcome.OK, detail))
            return result


async def run_after(
    store: RegisterStore,
    session: Session,
    permission: Permission,
    operation: str,
    target: str,
    fetch: Callable[[], Awaitable[F]],
    work: Callable[[RegisterTx, F], tuple[T, str, str]],
) -> T:
    """``run``, with ``fetch`` (network I/O) awaited before the transaction begins.

    The permission is checked before anything is fetched; a refusal, in ``fetch`` or
    in ``work``, leaves one refusal entry, a success one entry written with ``work``.
    """
    with audited(store, session.actor, operation, target):
        session.require(permission)
        fetched = await fetch()

        def transact() -> T:
            with store.transaction() as tx:
                result, final_target, detail = work(tx, fetched)
                session.require_card()
                draft = audit.Draft(
                    session.actor, operation, final_target, audit.Outcome.OK, detail
                )
                tx.audit(draft)
                return result

        # In a worker thread: the database is kept off the event loop, and ``work`` may
        # use libraries that run an event loop of their own (pyHanko signs a copy so).
        return await asyncio.to_thread(transact)


def record_event(store: RegisterStore, session: Session, event: Event, today: date) -> Receipt:
    """Check an event against the register and record it (one transaction)."""
    kind = EVENT_KINDS[type(event)]
    permission = (
        Permission.CORRECT_RECORD if isinstance(event, MinorCorrection) else Permission.RECORD_EVENT
    )

    def work(tx: RegisterTx) -> tuple[Receipt, str, str]:
        decision = decide(event, tx, tx, today)
        event_id = tx.apply(decision, kind, event_payload(event), session.actor)
        receipt = Receipt(
            event_id,
            kind,
            decision.reason.code,
            decision.records,
            decision.retired_codes,
            tx.pool_warning,
        )
        subjects = ",".join(decision.subjects)
        retired = f"; retired {','.join(decision.retired_codes)}" if decision.retired_codes else ""
        return receipt, subjects, f"event {event_id} ({decision.reason.code}){retired}"

    return run(store, session, permission, f"event.{kind}", _target(event), work)


def show_resident(store: RegisterStore, session: Session, code: str) -> ResidentRecord:
    """A resident's record, current or removed, as an audited read."""

    def work(tx: RegisterTx) -> tuple[ResidentRecord, str, str]:
        record = _find(tx, code)
        return record, record.resident_code, f"status {record.status}"

    return run(store, session, Permission.READ_RECORD, "resident.show", code.strip(), work)


def resident_history(store: RegisterStore, session: Session, code: str) -> list[Version]:
    """Every version of a resident's record, oldest first, as an audited read."""

    def work(tx: RegisterTx) -> tuple[list[Version], str, str]:
        record = _find(tx, code)
        versions = tx.history(record.person_id)
        return versions, record.resident_code, f"{len(versions)} versions"

    return run(store, session, Permission.READ_RECORD, "resident.history", code.strip(), work)


def show_household(store: RegisterStore, session: Session, household_id: int) -> HouseholdView:
    def work(tx: RegisterTx) -> tuple[HouseholdView, str, str]:
        household = tx.household(household_id)
        if household is None:
            raise HouseholdNotFound(f"There is no household number {household_id}.")
        members = tuple(tx.members(household_id))
        return (
            HouseholdView(household, members),
            f"household {household_id}",
            (f"{len(members)} members"),
        )

    return run(
        store, session, Permission.READ_RECORD, "household.show", f"household {household_id}", work
    )


def _find(tx: RegisterTx, code: str) -> ResidentRecord:
    parsed = parse_resident_code(code)
    record = tx.record(parsed)
    if record is not None:
        return record
    holder = tx.retired_holder(parsed)
    if holder is not None:
        current = tx.record_by_person(holder)
        raise ResidentNotFound(
            f"Code {parsed} was retired at the holder's request (R6); "
            f"the record now carries code {current.resident_code}."
        )
    raise ResidentNotFound(f"No record of this municipality carries code {parsed}.")


def _target(event: Event) -> str:
    """What the refusal entry names: the codes or household the event was about."""
    names: list[str] = []
    for f in dataclasses.fields(event):
        value = getattr(event, f.name)
        if f.name in ("resident_code", "parent_code", "new_head") and value:
            names.append(str(value))
        elif f.name == "persons":
            names += [p if isinstance(p, str) else (p.resident_code or "new") for p in value]
        elif (f.name.endswith("household") or f.name == "household_id") and value is not None:
            names.append(f"household {value}")
    return ",".join(names) or "new"


def _plain(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


def event_payload(event: Event) -> str:
    """The event as recorded in the event log (JSON)."""
    return json.dumps(
        {"kind": EVENT_KINDS[type(event)], **_plain(event)}, ensure_ascii=False, sort_keys=True
    )


def status(
    store: RegisterStore,
    prefecture: str,
    *,
    started_at: datetime,
    directory_version: int,
    worker: ob.DeliveryWorker | None = None,
    moving: MovingWorker | None = None,
) -> NodeStatus:
    """What the operations monitor reads of this node: its outbox towards the prefecture,
    then one link per municipality that moving messages wait for (R21)."""
    with store.engine.connect() as conn:
        link = ob.link(conn, outbox, prefecture, worker)
        waiting = moving_link.links(conn, moving)
    return NodeStatus(
        node_id=node_id("municipality", store.code),
        role="municipality",
        directory_version=directory_version,
        started_at=started_at,
        links=[link, *waiting],
        identities=store.count_residents(),
    )
