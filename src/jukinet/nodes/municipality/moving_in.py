"""Moving with the card at the new municipality N (R21, 第24条の2; docs/flows.md).

The move-out certificate information (転出証明書情報) from O is kept pending
(``on_certificate``) until the holder comes to the window: their card, with mutual
authentication and the PIN (``card_window.read_identity``), proves who they are, and
``move_in_with_card`` records the move-in of every person on the certificate in one
transaction with the 転入通知 to O. A cancellation from O (``on_cancel``) makes the
certificate unusable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import insert, select, update

from jukinet.audit import log as audit
from jukinet.domain import moving
from jukinet.domain.access import Permission, Session
from jukinet.domain.identity import Sex
from jukinet.domain.record import Address, Name
from jukinet.domain.rules import decide
from jukinet.errors import MoveWithCardRefused
from jukinet.network.messages_moving import MoveCancelled, MoveInNotice, MoveOutCertificate
from jukinet.nodes.municipality import moving_link
from jukinet.nodes.municipality.card_window import CardRead
from jukinet.nodes.municipality.service import Receipt, event_payload, run
from jukinet.nodes.municipality.store import RegisterStore, RegisterTx
from jukinet.nodes.municipality.tables import incoming_moves

__all__ = [
    "Incoming",
    "held",
    "move_in_with_card",
    "on_cancel",
    "on_certificate",
    "pending_for",
]

PENDING, CANCELLED, USED = "pending", "cancelled", "used"


@dataclass(frozen=True, slots=True)
class Incoming:
    certificate: moving.Certificate
    state: str


def certificate_of(origin: str, m: MoveOutCertificate, destination_code: str) -> moving.Certificate:
    persons = tuple(
        moving.CertificatePerson(
            p.resident_code,
            Name(p.family_name, p.given_name, p.family_kana, p.given_kana),
            p.date_of_birth,
            Sex(p.sex),
            p.relationship,
            p.domicile,
            p.domicile_head,
        )
        for p in m.persons
    )
    return moving.Certificate(
        m.move_id, origin, m.origin_name, destination_code, m.destination, m.holder,
        m.card_number, m.planned_on, m.notified_on, m.previous_address, m.head_moves, persons,
    )  # fmt: skip


def on_certificate(tx: RegisterTx, sender: str, m: MoveOutCertificate) -> str:
    """Keep O's certificate information pending; a second one for the same move is refused."""
    c = incoming_moves.c
    known = tx.conn.execute(
        select(c.state).where(c.origin == sender, c.move_id == m.move_id)
    ).scalar()
    if known is not None:
        raise MoveWithCardRefused(
            f"Move-out certificate information {sender}/{m.move_id} was received already "
            f"({known}); a second copy is not kept."
        )
    now = audit.now()
    tx.conn.execute(
        insert(incoming_moves).values(
            origin=sender, move_id=m.move_id, holder=m.holder, certificate=m.model_dump_json(),
            state=PENDING, received_at=now, changed_at=now,
        )
    )  # fmt: skip
    names = ",".join(p.resident_code for p in m.persons)
    return f"certificate information {sender}/{m.move_id} pending: {names}, planned {m.planned_on}"


def on_cancel(tx: RegisterTx, sender: str, m: MoveCancelled) -> str:
    c = incoming_moves.c
    state = tx.conn.execute(
        select(c.state).where(c.origin == sender, c.move_id == m.move_id)
    ).scalar()
    if state is None:
        raise MoveWithCardRefused(f"No certificate information {sender}/{m.move_id} is held here.")
    if state != PENDING:
        raise MoveWithCardRefused(
            f"Certificate information {sender}/{m.move_id} is {state} here; it cannot be cancelled."
        )
    tx.conn.execute(
        update(incoming_moves)
        .where(c.origin == sender, c.move_id == m.move_id)
        .values(state=CANCELLED, changed_at=audit.now())
    )
    return f"certificate information {sender}/{m.move_id} cancelled on {m.cancelled_on}"


def _rows_for(tx: RegisterTx, holder: str) -> list[Incoming]:
    c = incoming_moves.c
    rows = tx.conn.execute(
        select(c.origin, c.certificate, c.state)
        .where(c.holder == holder)
        .order_by(c.received_at.desc())
    ).all()
    return [_incoming(tx, origin, text, state) for origin, text, state in rows]


def _incoming(tx: RegisterTx, origin: str, text: str, state: str) -> Incoming:
    message = MoveOutCertificate.model_validate_json(text)
    return Incoming(certificate_of(origin, message, tx.municipality_code), state)


def pending_for(tx: RegisterTx, holder: str) -> moving.Certificate:
    """The pending certificate information naming ``holder`` as the card holder."""
    rows = _rows_for(tx, holder)
    pending = [r.certificate for r in rows if r.state == PENDING]
    if pending:
        return pending[0]
    if rows:
        last = rows[0]
        raise MoveWithCardRefused(
            f"The move-out certificate information {last.certificate.origin}/"
            f"{last.certificate.move_id} for this card holder is {last.state}: "
            + (
                "the move-out was withdrawn at the old municipality."
                if last.state == CANCELLED
                else "the move-in was recorded with it already."
            )
        )
    raise MoveWithCardRefused(
        f"No move-out certificate information names the holder of this card ({holder}): "
        "the holder notifies the move-out with the card at the old municipality first "
        "(付記転出届), or moves in with a paper move-out certificate."
    )


def held(store: RegisterStore, session: Session) -> list[Incoming]:
    """Every certificate information received, newest first, as an audited read."""

    def work(tx: RegisterTx) -> tuple[list[Incoming], str, str]:
        c = incoming_moves.c
        rows = tx.conn.execute(
            select(c.origin, c.certificate, c.state).order_by(c.received_at.desc())
        ).all()
        found = [_incoming(tx, origin, text, state) for origin, text, state in rows]
        pending = sum(i.state == PENDING for i in found)
        return found, "certificate information", f"{len(found)} held, {pending} pending"

    return run(store, session, Permission.READ_RECORD, "move-in.list", "all", work)


def move_in_with_card(
    store: RegisterStore,
    session: Session,
    card: CardRead,
    address: Address,
    moved_on: date,
    notified_on: date,
    today: date,
    relationships: dict[str, str] | None = None,
    join_household: int | None = None,
) -> Receipt:
    """The move-in of everyone on the holder's certificate information (第24条の2 第2項),
    once the card in the reader proved its holder (mutual authentication, PIN)."""

    def work(tx: RegisterTx) -> tuple[Receipt, str, str]:
        cert = pending_for(tx, card.resident_code)
        moving.presenter(cert, card.resident_code, card.card_number)
        moving.check_card_route_open(cert, moved_on, notified_on, today)
        event = moving.card_move_in(cert, address, moved_on, notified_on, relationships,
                                    join_household)  # fmt: skip
        decision = decide(event, tx, tx, today)
        event_id = tx.apply(decision, "move-in", event_payload(event), session.actor)
        c = incoming_moves.c
        tx.conn.execute(
            update(incoming_moves)
            .where(c.origin == cert.origin, c.move_id == cert.move_id)
            .values(state=USED, event_id=event_id, changed_at=audit.now())
        )
        notice = MoveInNotice(
            kind="move-in-notice", move_id=cert.move_id, moved_on=moved_on,
            notified_on=notified_on, address=address.text,
            persons=[p.resident_code for p in cert.persons],
        )  # fmt: skip
        seq = moving_link.enqueue(tx.conn, store.code, cert.origin, notice)
        receipt = Receipt(event_id, "move-in", decision.reason.code, decision.records, (),
                          tx.pool_warning)  # fmt: skip
        detail = (
            f"event {event_id} (move-in with card {card.card_number}) from certificate "
            f"information {cert.origin}/{cert.move_id}; move-in notice queued as message {seq}"
        )
        return receipt, ",".join(decision.subjects), detail

    return run(store, session, Permission.RECORD_EVENT, "event.move-in-card",
               card.resident_code, work)  # fmt: skip
