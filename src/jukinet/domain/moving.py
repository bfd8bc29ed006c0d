"""Moving with the card (R21, 住民基本台帳法 第24条の2; DESIGN.md §2 flow 5).

A card holder's move-out notification (付記転出届) reaches the old municipality O by
mail or online. O records the planned move-out without changing the register and
sends the move-out certificate information (転出証明書情報) to the new municipality
N. At N's window the card with its PIN proves identity and the move-in is recorded
from that information, for every person it names (the household moving with its
head, members without a card included: 第24条の2 第2項). N's move-in notice
(転入通知, 第9条) goes back and O finalises the removal, dated the day of moving.

The rules here are pure: what a notification must say, who may present a card for
which certificate, the deadlines of the card route, and the persons a move-in at N
records. Adapters store and send.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

from jukinet.domain import checks
from jukinet.domain.codes import parse_local_government_code, parse_resident_code
from jukinet.domain.events import DomesticMoveIn, MoveOut, NewPerson
from jukinet.domain.identity import Sex
from jukinet.domain.record import HEAD, Address, Name, ResidentRecord
from jukinet.errors import EventRefused, MoveWithCardRefused

__all__ = [
    "AFTER_MOVING",
    "AFTER_PLANNED",
    "NOTICE_AHEAD",
    "Certificate",
    "CertificatePerson",
    "MoveNotification",
    "card_move_in",
    "check_card_route_open",
    "check_notification",
    "final_move_out",
    "presenter",
]

# A move-in with the card is notified within 14 days of moving (第22条) and within 30
# days of the planned date of moving out the notification gave (令第24条の2); after
# that the card route has lapsed and the old municipality issues a paper certificate.
AFTER_MOVING = timedelta(days=14)
AFTER_PLANNED = timedelta(days=30)
# A move-out is notified at most 14 days before the planned date (as on paper).
NOTICE_AHEAD = timedelta(days=14)

LAPSED = (
    "The card route for this move has lapsed: ask municipality {origin} for a paper "
    "move-out certificate (転出証明書) and move in with it."
)


@dataclass(frozen=True, slots=True)
class MoveNotification:
    """A 付記転出届 as O receives it: by mail (a clerk types it) or online (signed)."""

    holder: str  # resident code of the card holder who notifies
    persons: tuple[str, ...]  # everyone moving: the holder and household members with them
    destination_code: str  # local government code of the new municipality N
    destination: str  # 転出先 as the holder wrote it (address at N)
    planned_on: date  # 転出予定日
    notified_on: date
    channel: str  # "mail" or "online"
    new_head: str | None = None  # when the head leaves and others stay


@dataclass(frozen=True, slots=True)
class CertificatePerson:
    """One person on the 転出証明書情報: as the paper certificate carries them."""

    resident_code: str
    name: Name
    date_of_birth: date
    sex: Sex
    relationship: str
    domicile: str
    domicile_head: str


@dataclass(frozen=True, slots=True)
class Certificate:
    """転出証明書情報: what O sends N for one planned move-out."""

    move_id: int  # O's number for the planned move
    origin: str  # O's local government code
    origin_name: str
    destination_code: str
    destination: str
    holder: str
    card_number: str  # the holder's card, as O's register knows it
    planned_on: date
    notified_on: date
    previous_address: str  # the address at O (前住所 at N)
    head_moves: bool
    persons: tuple[CertificatePerson, ...]

    def person(self, code: str) -> CertificatePerson | None:
        return next((p for p in self.persons if p.resident_code == code), None)


def check_notification(n: MoveNotification, origin: str, today: date) -> MoveOut:
    """The move-out the notification amounts to (persons holder first), once it may start
    a card move; the caller checks that against the register with the removal rules
    (``rules_removal.move_out``: residents, one household, the new head) and records
    it when the move-in notice comes (``final_move_out``)."""
    checks.not_future(n.notified_on, today, "notification date")
    if n.planned_on > n.notified_on + NOTICE_AHEAD:
        raise EventRefused("A move-out is notified at most 14 days before the planned date.")
    if n.planned_on < n.notified_on - AFTER_MOVING:
        raise MoveWithCardRefused(
            "A move-out with the card is notified at the latest 14 days after moving; "
            f"the planned date {n.planned_on} is too long ago: notify on paper."
        )
    destination = parse_local_government_code(n.destination_code)
    if destination == origin:
        raise EventRefused(
            "The destination is this municipality: a move within it is a 転居 (move-within)."
        )
    if not n.destination.strip():
        raise EventRefused("A move-out needs the destination (転出先).")
    if n.channel not in ("mail", "online"):
        raise EventRefused("A 付記転出届 arrives by mail or online.")
    holder = parse_resident_code(n.holder)
    named = tuple(parse_resident_code(p) for p in n.persons)
    if len(set(named)) != len(named):
        raise EventRefused("The same person is named twice.")
    persons = (holder, *(p for p in named if p != holder))
    return MoveOut(persons, n.destination.strip(), False, n.planned_on, n.notified_on, n.new_head)


def certificate_person(r: ResidentRecord) -> CertificatePerson:
    return CertificatePerson(
        r.resident_code, r.name, r.date_of_birth, r.sex, r.relationship, r.domicile,
        r.domicile_head,
    )  # fmt: skip


def presenter(cert: Certificate, card_code: str, card_number: str) -> CertificatePerson:
    """The person whose card may take the certificate: the holder who notified, with the
    card O knew; anyone else's card, or another card of the holder, is refused."""
    if card_code != cert.holder:
        raise MoveWithCardRefused(
            f"The card in the reader is not the card of the holder who notified move-out "
            f"{cert.origin}/{cert.move_id}; that holder must bring their own card."
        )
    if card_number != cert.card_number:
        raise MoveWithCardRefused(
            f"Card {card_number} is not the card named in the move-out notification "
            f"(card {cert.card_number}); bring that card."
        )
    person = cert.person(card_code)
    assert person is not None  # the holder is always on the certificate
    return person


def check_card_route_open(
    cert: Certificate, moved_on: date, notified_on: date, today: date
) -> None:
    """The deadlines of the card route at N, each refused with the way forward."""
    checks.not_future(moved_on, today, "date of moving in")
    checks.notified_after(notified_on, moved_on, today)
    lapsed = LAPSED.format(origin=cert.origin)
    if notified_on > moved_on + AFTER_MOVING:
        raise MoveWithCardRefused(
            f"A move-in is notified within 14 days of moving; {cert.holder} moved on "
            f"{moved_on}, {(notified_on - moved_on).days} days ago. " + lapsed
        )
    if notified_on > cert.planned_on + AFTER_PLANNED:
        raise MoveWithCardRefused(
            f"A move-in with the card is made within 30 days of the planned date of moving "
            f"out ({cert.planned_on}); it is {(notified_on - cert.planned_on).days} days "
            "after it. " + lapsed
        )
    if moved_on < cert.notified_on - AFTER_MOVING:
        raise MoveWithCardRefused(
            f"The date of moving in ({moved_on}) is before the move-out was notified "
            f"({cert.notified_on}) by more than 14 days: check the date."
        )


def card_move_in(
    cert: Certificate,
    address: Address,
    moved_on: date,
    notified_on: date,
    relationships: dict[str, str] | None = None,
    join_household: int | None = None,
) -> DomesticMoveIn:
    """The move-in at N that the certificate amounts to, for every person it names.

    When the head of household moves, the household keeps its head and relationships;
    otherwise the holder heads the new household and each other person needs a
    relationship to them (or, joining a household at N, every person needs one).
    """
    rels = dict(relationships or {})
    unknown = sorted(set(rels) - {p.resident_code for p in cert.persons})
    if unknown:
        raise EventRefused(f"{', '.join(unknown)} is not on the move-out certificate.")
    ordered = sorted(cert.persons, key=lambda p: (p.relationship != HEAD, p.resident_code))
    if not cert.head_moves and join_household is None:
        holder = next(p for p in cert.persons if p.resident_code == cert.holder)
        ordered = [holder, *(p for p in cert.persons if p is not holder)]
        rels[holder.resident_code] = HEAD
    persons: list[NewPerson] = []
    for p in ordered:
        relationship = rels.get(p.resident_code)
        if relationship is None:
            if join_household is not None or not cert.head_moves:
                raise EventRefused(
                    f"Give the relationship of {p.resident_code} ({p.name.full}) to the head "
                    "of the household they join (--rel CODE=続柄)."
                )
            relationship = p.relationship
        persons.append(
            NewPerson(
                p.name,
                p.date_of_birth,
                p.sex,
                relationship,
                p.domicile,
                p.domicile_head,
                p.resident_code,
            )
        )
    return DomesticMoveIn(
        tuple(persons), address, cert.previous_address, cert.origin, moved_on, notified_on,
        join_household,
    )  # fmt: skip


def final_move_out(planned: MoveOut, moved_on: date) -> MoveOut:
    """The move-out O records on the move-in notice: dated the day of moving at N.

    The 14-day notice rule of a paper move-out was checked when the notification came;
    the day of moving may lie later (the card route allows 30 days after the planned
    date), so the event is notified, for the rules, on the day of moving.
    """
    return replace(planned, moved_on=moved_on, notified_on=max(planned.notified_on, moved_on))
