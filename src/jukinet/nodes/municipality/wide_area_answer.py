"""The home municipality B answers a wide-area copy request (R20, 第12条の4; R3, R4, R12).

Another municipality A, where the person stands, asks B directly (``POST
/wide-area/records``; never through a prefecture or the national node). B answers
only if, in this order:

1. the request is A's own (``issuer`` is the caller, proved by the signed request),
   fresh (``asked_at`` within ``MAX_SKEW`` of B's clock) and never answered before
   (its ``request_id``: a replay, even signed anew, is refused; see docs/flows.md);
2. a verification is recorded: a driving licence number (12 digits) the clerk saw,
   or the card's proof, which B checks itself: the card signed exactly this request
   (``WideAreaAsk``) with its JPKI user-authentication key, the certificate is the
   JPKI CA's, not revoked, within its validity, signed within ``MAX_SKEW``, and it is
   the certificate of an active card B issued to the applicant;
3. the applicant and the subject are residents of B, and the request is for the
   applicant's own record ("self") or their household's ("household": the applicant
   is a member of the subject's household);
4. the law gives the copy as asked (``domain.copies.copy_persons`` with
   ``wide_area``: the domicile is never in it).

The first check that fails is the one refusal (``WideAreaRefused``), audited at B in
a transaction of its own; nothing else changes. An answer is audited once with who
asked (A's node and clerk), for whom, how the identity was verified, and which items
were given; its request id is kept so that it is never answered again.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from pydantic import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from jukinet.audit import log as audit
from jukinet.domain.card import CardState
from jukinet.domain.codes import parse_resident_code
from jukinet.domain.copies import CopyOptions, CopyPerson, copy_persons, head_name
from jukinet.domain.record import ResidentRecord
from jukinet.errors import (
    CardCertificateRefused,
    ConfigurationError,
    CopyRefused,
    JukinetError,
    PeerUnreachable,
    WideAreaRefused,
)
from jukinet.jpki import Kind, load_ca_certificate, verify_signature
from jukinet.jpki.revocation import check_crl
from jukinet.network.messages_wide_area import (
    LICENCE_DIGITS,
    WideAreaAnswer,
    WideAreaAsk,
    WideAreaPerson,
    WideAreaRequest,
)
from jukinet.nodes.jpki_client import fetch_crl, saved_crl
from jukinet.nodes.municipality.service import audited
from jukinet.nodes.municipality.store import RegisterStore, RegisterTx
from jukinet.nodes.municipality.tables import cards, wide_area_requests

__all__ = ["MAX_SKEW", "OPERATION", "CardCheck", "answer", "card_check"]

MAX_SKEW = timedelta(minutes=5)  # a request or card proof further from B's clock is stale
OPERATION = "wide-area.answer"


@dataclass(frozen=True, slots=True)
class CardCheck:
    """What B verifies a card proof with, fetched before its transaction: the JPKI CA
    certificate and a current CRL, or the refusal to give inside it (audited)."""

    ca: x509.Certificate | None = None
    crl: x509.CertificateRevocationList | None = None
    refusal: JukinetError | None = None


async def card_check(home: Path, req: WideAreaRequest) -> CardCheck:
    """The CA and a current CRL when ``req`` is verified by the card (nothing otherwise):
    the CRL this node fetched last if still current, else the national node's."""
    if req.verified_by != "card":
        return CardCheck()
    try:
        ca = load_ca_certificate(home)
        try:
            crl = saved_crl(home)
            check_crl(crl, ca, datetime.now(UTC))
        except (ConfigurationError, CardCertificateRefused):  # none yet, or not current
            crl = await fetch_crl(home)
    except (PeerUnreachable, ConfigurationError, CardCertificateRefused):
        return CardCheck(
            refusal=WideAreaRefused(
                "The home municipality cannot check the card now (no current JPKI "
                "revocation list); ask again later, or verify the person's driving licence."
            )
        )
    return CardCheck(ca, crl)


def answer(
    store: RegisterStore,
    req: WideAreaRequest,
    caller: str,
    caller_code: str,
    check: CardCheck,
    now: datetime | None = None,
) -> WideAreaAnswer:
    """B's answer to ``req`` from ``caller`` (node id, local government ``caller_code``),
    or the one refusal (module docstring), audited either way."""
    moment = now or datetime.now(UTC)
    with audited(store, caller, OPERATION, req.subject), store.transaction() as tx:
        verified = _request_checks(tx, req, caller_code, check, moment)
        subject, persons, options, household = _persons(tx, req)
        _remember(tx, req, caller, moment)
        reply = _reply(tx, req, subject, persons, household, options)
        tx.audit(
            audit.Draft(
                caller,
                OPERATION,
                str(subject.resident_code),
                audit.Outcome.OK,
                _detail(req, verified, persons),
            )
        )
        return reply


def _request_checks(
    tx: RegisterTx, req: WideAreaRequest, caller_code: str, check: CardCheck, now: datetime
) -> str:
    """Checks 1 and 2 of the module docstring; how the identity was verified, for the audit."""
    if abs(now - req.asked_at) > MAX_SKEW:
        raise WideAreaRefused(
            f"The request was made at {req.asked_at.isoformat(timespec='seconds')}, more "
            f"than {MAX_SKEW.seconds // 60} minutes from this node's clock; ask again."
        )
    seen = tx.conn.execute(
        select(wide_area_requests.c.request_id).where(
            wide_area_requests.c.request_id == req.request_id
        )
    ).first()
    if seen is not None:
        raise WideAreaRefused(
            f"Request {req.request_id} was answered before; a request is answered once "
            "(ask again with a new request)."
        )
    if req.verified_by is None:
        raise WideAreaRefused(
            "The request records no verification of the person's identity (the card, "
            "or a driving licence seen by the clerk); nothing is answered without one."
        )
    if req.verified_by == "licence":
        if req.card is not None or req.licence is None or not LICENCE_DIGITS.fullmatch(req.licence):
            raise WideAreaRefused(
                "A request verified by a driving licence records the licence's number "
                "(12 digits) and nothing else."
            )
        return f"driving licence {req.licence}"
    return _card(tx, req, caller_code, check, now)


def _decoded(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:  # the message validated it; kept for a hand-made proof
        raise WideAreaRefused("The card proof is not readable.") from None


def _card(
    tx: RegisterTx, req: WideAreaRequest, caller_code: str, check: CardCheck, now: datetime
) -> str:
    proof = req.card
    if proof is None or req.licence is not None:
        raise WideAreaRefused("A request verified by the card carries the card's proof only.")
    payload = _decoded(proof.payload)
    try:
        ask = WideAreaAsk.model_validate_json(payload)
    except ValidationError:
        raise WideAreaRefused(
            "The card proof does not carry a wide-area request signed by the card."
        ) from None
    terms = (ask.request_id, ask.issuer, ask.home, ask.applicant, ask.subject, ask.whose)
    asked = (
        req.request_id,
        caller_code,
        tx.municipality_code,
        req.applicant,
        req.subject,
        req.whose,
    )
    if terms != asked:
        raise WideAreaRefused(
            "The card signed another request, not this one (request, municipalities, "
            "applicant, subject or whose records differ)."
        )
    if check.refusal is not None or check.ca is None or check.crl is None:
        raise check.refusal or WideAreaRefused("This node cannot verify the card now.")
    try:
        signer = verify_signature(
            payload,
            _decoded(proof.signature),
            _decoded(proof.certificate),
            check.ca,
            check.crl,
            now,
        )
    except CardCertificateRefused as exc:
        raise WideAreaRefused(f"The card's proof is refused: {exc.message}") from None
    if signer.kind is not Kind.AUTHENTICATION:
        raise WideAreaRefused(
            "The card proof is signed with the signing certificate; a wide-area request "
            "is signed with the user-authentication certificate."
        )
    if abs(now - ask.signed_at) > MAX_SKEW:
        raise WideAreaRefused("The card signed this request too long ago; sign it again.")
    serial = f"{signer.serial:040x}"
    card = tx.conn.execute(
        select(cards.c.card_number, cards.c.valid_until).where(
            cards.c.auth_serial == serial,
            cards.c.resident_code == req.applicant,
            cards.c.state == CardState.ACTIVE.value,
        )
    ).first()
    if card is None or card.valid_until < now.date():
        raise WideAreaRefused(
            "The card is not a valid card this municipality issued to the applicant."
        )
    return f"the card {card.card_number} (PIN, JPKI certificate {serial})"


def _resident(tx: RegisterTx, code: str, who: str) -> ResidentRecord:
    record = tx.record(parse_resident_code(code))
    if record is None or not record.is_resident:
        raise WideAreaRefused(
            f"The {who} ({code}) is not a resident of this municipality ({tx.municipality_code}); "
            "a wide-area copy is asked of the person's home municipality."
        )
    return record


def _persons(
    tx: RegisterTx, req: WideAreaRequest
) -> tuple[ResidentRecord, tuple[CopyPerson, ...], CopyOptions, list[ResidentRecord]]:
    """Check 3 and 4: the subject, the persons the copy prints, the options, the household."""
    subject = _resident(tx, req.subject, "subject")
    applicant = _resident(tx, req.applicant, "applicant")
    household = tx.members(subject.household_id)
    if req.whose == "self":
        if applicant.person_id != subject.person_id or req.household or req.members:
            raise WideAreaRefused(
                "A copy of the person's own record is of the verified person alone; "
                "for others ask for the household's (only a member of it may)."
            )
    elif all(m.person_id != applicant.person_id for m in household):
        raise WideAreaRefused(
            f"The applicant ({req.applicant}) is not a member of the household of "
            f"{req.subject}; a wide-area copy is only of one's own record or household."
        )
    options = CopyOptions(
        household=req.household,
        members=tuple(req.members),
        with_relationship=req.with_relationship,
        with_domicile=req.with_domicile,
        with_code=req.with_code,
        wide_area=True,
    )
    try:
        persons = copy_persons(subject, household, options)
    except CopyRefused as exc:
        raise WideAreaRefused(exc.message) from None
    return subject, persons, options, household


def _remember(tx: RegisterTx, req: WideAreaRequest, caller: str, now: datetime) -> None:
    try:
        tx.conn.execute(
            insert(wide_area_requests).values(
                request_id=req.request_id,
                caller=caller,
                subject=req.subject,
                answered_at=now.astimezone(UTC).isoformat(),
            )
        )
    except IntegrityError:  # the same request in another transaction at the same moment
        raise WideAreaRefused(f"Request {req.request_id} was answered before.") from None


def _reply(
    tx: RegisterTx,
    req: WideAreaRequest,
    subject: ResidentRecord,
    persons: tuple[CopyPerson, ...],
    household: list[ResidentRecord],
    options: CopyOptions,
) -> WideAreaAnswer:
    return WideAreaAnswer(
        request_id=req.request_id,
        home=tx.municipality_code,
        home_name=subject.address.municipality_name,
        address=subject.address.text,
        head_name=head_name(household, options),
        persons=[
            WideAreaPerson(
                family_name=p.name.family,
                given_name=p.name.given,
                family_kana=p.name.family_kana,
                given_kana=p.name.given_kana,
                date_of_birth=p.date_of_birth,
                sex=p.sex.value,
                became_resident_on=p.became_resident_on,
                address_fixed_on=p.address_fixed_on,
                notified_on=p.notified_on,
                previous_address=p.previous_address,
                relationship=p.relationship,
                resident_code=p.resident_code,
            )
            for p in persons
        ],
    )


def _detail(req: WideAreaRequest, verified: str, persons: tuple[CopyPerson, ...]) -> str:
    items = sorted({key for p in persons for key in p.items()})
    domicile = "; 本籍・筆頭者 asked, not given (第12条の4)" if req.with_domicile else ""
    return (
        f"request {req.request_id} by clerk {req.clerk}; {req.whose} copy asked by "
        f"{req.applicant}, verified by {verified}; {len(persons)} person(s); "
        f"items {', '.join(items)}{domicile}"
    )
