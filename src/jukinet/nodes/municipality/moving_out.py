"""Moving with the card at the old municipality O (R21, 第24条の2; docs/flows.md).

``notify`` records a 付記転出届 (by mail, typed by a clerk, or online, signed with the
card: ``moving_online``) as a planned move-out: the register does not change yet, and
the move-out certificate information goes to the new municipality N. ``cancel``
withdraws it (N is told). ``on_move_in_notice`` is N's 転入通知: the persons' records
are removed (転出), dated the day they moved, in one transaction with the message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Row, func, insert, select, update

from jukinet.audit import log as audit
from jukinet.domain import moving
from jukinet.domain.access import Permission, Session
from jukinet.domain.card import CardState
from jukinet.domain.codes import parse_resident_code
from jukinet.domain.events import MoveOut
from jukinet.domain.rules_removal import move_out as move_out_rule
from jukinet.errors import MoveWithCardRefused, NotFound
from jukinet.network.messages_moving import (
    CertificatePersonInfo,
    MoveCancelled,
    MoveInNotice,
    MoveOutCertificate,
)
from jukinet.nodes.municipality import moving_link
from jukinet.nodes.municipality.cards import current_card
from jukinet.nodes.municipality.service import event_payload, run
from jukinet.nodes.municipality.store import RegisterStore, RegisterTx
from jukinet.nodes.municipality.tables import planned_moves

__all__ = [
    "PlannedMove",
    "cancel",
    "notify",
    "on_move_in_notice",
    "planned_move",
    "planned_moves_of",
]

PLANNED, CANCELLED, COMPLETED = "planned", "cancelled", "completed"


@dataclass(frozen=True, slots=True)
class PlannedMove:
    """A planned move-out at O, as the clerk sees it."""

    move_id: int
    holder: str
    persons: tuple[str, ...]
    destination_code: str
    destination: str
    planned_on: date
    notified_on: date
    channel: str
    state: str
    moved_on: date | None


def _planned(row: Row[tuple[object, ...]]) -> PlannedMove:
    m = row._mapping
    return PlannedMove(
        m["move_id"], m["holder"], tuple(json.loads(m["persons"])), m["destination_code"],
        m["destination"], m["planned_on"], m["notified_on"], m["channel"], m["state"],
        m["moved_on"],
    )  # fmt: skip


def _find(tx: RegisterTx, move_id: int) -> PlannedMove:
    row = tx.conn.execute(select(planned_moves).where(planned_moves.c.move_id == move_id)).first()
    if row is None:
        raise NotFound(f"There is no planned move-out number {move_id} here.")
    return _planned(row)


def planned_move(store: RegisterStore, move_id: int) -> PlannedMove:
    with store.engine.connect() as conn:
        return _find(RegisterTx(conn, store), move_id)


def planned_moves_of(store: RegisterStore, session: Session) -> list[PlannedMove]:
    """Every planned move-out, newest first, as an audited read."""

    def work(tx: RegisterTx) -> tuple[list[PlannedMove], str, str]:
        rows = tx.conn.execute(select(planned_moves).order_by(planned_moves.c.move_id.desc()))
        found = [_planned(r) for r in rows]
        open_ = sum(m.state == PLANNED for m in found)
        return found, "planned move-outs", f"{len(found)} held, {open_} planned"

    return run(store, session, Permission.READ_RECORD, "move-out.list", "all", work)


def _certificate(
    tx: RegisterTx, move_id: int, origin_name: str, event: MoveOut, destination_code: str
) -> tuple[MoveOutCertificate, str]:
    """The 転出証明書情報 of ``event``'s persons as O's register holds them, and the
    holder's card number."""
    records = [tx.record(parse_resident_code(c)) for c in event.persons]
    assert all(r is not None for r in records)  # checked by the removal rules
    people = [r for r in records if r is not None]
    holder = people[0]
    card = current_card(tx, holder.resident_code)
    if card is None or card.state is not CardState.ACTIVE:
        raise MoveWithCardRefused(
            f"{holder.name.full} ({holder.resident_code}) holds no active card here: a "
            "付記転出届 is for card holders; notify the move-out on paper (event move-out)."
        )
    household = tx.household(holder.household_id)
    head_moves = household is not None and household.head_person_id in {r.person_id for r in people}
    persons = [
        CertificatePersonInfo(
            resident_code=r.resident_code,
            family_name=r.name.family,
            given_name=r.name.given,
            family_kana=r.name.family_kana,
            given_kana=r.name.given_kana,
            date_of_birth=r.date_of_birth,
            sex=r.sex.value,
            relationship=r.relationship,
            domicile=r.domicile,
            domicile_head=r.domicile_head,
        )
        for r in people
    ]
    message = MoveOutCertificate(
        kind="certificate", move_id=move_id, origin_name=origin_name,
        destination=event.destination, holder=holder.resident_code, card_number=card.number,
        planned_on=event.moved_on, notified_on=event.notified_on,
        previous_address=holder.address.text, head_moves=head_moves, persons=persons,
    )  # fmt: skip
    return message, card.number


def notify(
    store: RegisterStore,
    session: Session,
    notification: moving.MoveNotification,
    today: date,
    signed: str | None = None,
) -> PlannedMove:
    """Record a 付記転出届 and send its certificate information to N (one transaction)."""
    target = ",".join(notification.persons) or notification.holder

    def work(tx: RegisterTx) -> tuple[PlannedMove, str, str]:
        event = moving.check_notification(notification, store.code, today)
        move_out_rule(event, tx, today)  # residents, one household, the new head
        open_ = tx.conn.execute(
            select(planned_moves.c.move_id, planned_moves.c.persons).where(
                planned_moves.c.state == PLANNED
            )
        ).all()
        for other, persons in open_:
            if set(json.loads(persons)) & set(event.persons):
                raise MoveWithCardRefused(
                    f"Planned move-out {other} already names one of these persons; "
                    "cancel it first (move-out cancel)."
                )
        move_id = (
            int(
                tx.conn.execute(
                    select(func.coalesce(func.max(planned_moves.c.move_id), 0))
                ).scalar_one()
            )
            + 1
        )
        cert, card = _certificate(tx, move_id, store.name, event, notification.destination_code)
        tx.conn.execute(
            insert(planned_moves).values(
                move_id=move_id, holder=event.persons[0], persons=json.dumps(list(event.persons)),
                destination_code=notification.destination_code, destination=event.destination,
                new_head=event.new_head, planned_on=event.moved_on,
                notified_on=event.notified_on, channel=notification.channel, signed=signed,
                state=PLANNED, changed_at=audit.now(),
            )
        )  # fmt: skip
        seq = moving_link.enqueue(tx.conn, store.code, notification.destination_code, cert)
        planned = _find(tx, move_id)
        detail = (
            f"planned move-out {move_id} ({notification.channel}) to "
            f"{notification.destination_code} on {event.moved_on}, card {card}; "
            f"certificate information queued as message {seq}"
        )
        return planned, ",".join(event.persons), detail

    return run(store, session, Permission.RECORD_EVENT, "move-out.notify", target, work)


def cancel(store: RegisterStore, session: Session, move_id: int, today: date) -> PlannedMove:
    """Withdraw a planned move-out; N is told, so the certificate cannot be used."""

    def work(tx: RegisterTx) -> tuple[PlannedMove, str, str]:
        planned = _find(tx, move_id)
        if planned.state != PLANNED:
            raise MoveWithCardRefused(
                f"Planned move-out {move_id} is {planned.state}; only a planned one is cancelled."
            )
        tx.conn.execute(
            update(planned_moves)
            .where(planned_moves.c.move_id == move_id)
            .values(state=CANCELLED, changed_at=audit.now())
        )
        body = MoveCancelled(kind="cancel", move_id=move_id, cancelled_on=today)
        seq = moving_link.enqueue(tx.conn, store.code, planned.destination_code, body)
        detail = (
            f"planned move-out {move_id} cancelled; {planned.destination_code} told (message {seq})"
        )
        return _find(tx, move_id), ",".join(planned.persons), detail

    return run(store, session, Permission.RECORD_EVENT, "move-out.cancel", f"move {move_id}", work)


def on_move_in_notice(tx: RegisterTx, sender: str, notice: MoveInNotice, today: date) -> str:
    """N's 転入通知: remove the persons (転出) as of the day they moved; the detail audited.

    Refused (MoveWithCardRefused, EventRefused) if it does not fit the planned move.
    """
    planned = _find(tx, notice.move_id)
    if planned.destination_code != sender:
        raise MoveWithCardRefused(
            f"Planned move-out {notice.move_id} goes to {planned.destination_code}, "
            f"not to {sender}."
        )
    if planned.state == CANCELLED:
        raise MoveWithCardRefused(
            f"Planned move-out {notice.move_id} was cancelled here before {sender}'s move-in "
            "notice arrived; the clerks of both municipalities settle it."
        )
    if planned.state == COMPLETED:
        raise MoveWithCardRefused(f"Planned move-out {notice.move_id} is already finalised.")
    if set(notice.persons) != set(planned.persons):
        raise MoveWithCardRefused(
            f"The move-in notice names other persons than planned move-out {notice.move_id}."
        )
    row = tx.conn.execute(
        select(planned_moves.c.new_head).where(planned_moves.c.move_id == notice.move_id)
    ).scalar()
    event = moving.final_move_out(
        MoveOut(
            planned.persons, notice.address, False, planned.planned_on, planned.notified_on, row
        ),
        notice.moved_on,
    )
    decision = move_out_rule(event, tx, max(today, event.notified_on))
    actor = f"municipality:{sender}"
    event_id = tx.apply(decision, "move-out", event_payload(event), actor)
    tx.conn.execute(
        update(planned_moves)
        .where(planned_moves.c.move_id == notice.move_id)
        .values(
            state=COMPLETED, moved_on=notice.moved_on, event_id=event_id, changed_at=audit.now()
        )
    )
    return (
        f"move-in notice: planned move-out {notice.move_id} finalised as event {event_id} "
        f"(転出 on {notice.moved_on} to {notice.address})"
    )
