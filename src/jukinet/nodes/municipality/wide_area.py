"""A wide-area copy at this municipality's window (広域交付, 第12条の4; R20, R3, R4).

A person whose home is another municipality B asks here (A) for a copy of their own
record or their household's. A does not know B from the resident code: the person
says where they live, the clerk names B's local government code (check digit
validated), and A finds B in the signed directory. The clerk records how identity
was verified: the card (mutual authentication and the PIN through the window's
reader, then the card's JPKI user-authentication key signs this request's terms, a
proof B checks itself), or a driving licence the clerk saw (its number, sent to B).

A asks B directly over mTLS with a signed request (``POST /wide-area/records``),
with no transaction open while it waits; B checks, audits and answers without the
domicile. A then audits the issue (``copy.wide-area``) and builds the
``ResidentCopy``: issued and certified by A (交付地), copying B's register (住所地).
A refusal, here or at B, is one audited entry here and changes nothing.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal, TypeVar

from jukinet import config
from jukinet.card.reader import Reader
from jukinet.card.terminal import Terminal
from jukinet.card.user_auth import sign_as_user
from jukinet.domain.access import Permission, Session
from jukinet.domain.codes import parse_local_government_code, parse_resident_code
from jukinet.domain.copies import CopyPerson, Issuer, ResidentCopy, mayor_title_for
from jukinet.domain.identity import Sex
from jukinet.domain.record import Name
from jukinet.errors import CardNotGenuine, ConfigurationError, UnknownMunicipality, WideAreaRefused
from jukinet.network.messages import CardProof
from jukinet.network.messages_wide_area import (
    LICENCE_DIGITS,
    Whose,
    WideAreaAnswer,
    WideAreaAsk,
    WideAreaRequest,
)
from jukinet.nodes.municipality.card_keys import WindowKeys
from jukinet.nodes.municipality.card_window import read_identity
from jukinet.nodes.municipality.service import run_after
from jukinet.nodes.municipality.store import RegisterStore, RegisterTx
from jukinet.nodes.runtime import NodeRuntime, load_runtime

__all__ = [
    "OPERATION",
    "Issuer",
    "WideAreaCard",
    "WindowAsk",
    "build_request",
    "issue_wide_area",
    "issue_wide_area_then",
    "wide_area_copy",
]

OPERATION = "copy.wide-area"
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class WindowAsk:
    """What the clerk enters: B, whose record, the options, and the verification."""

    home: str  # B's local government code, as the person says where they live
    applicant: str  # the person verified at the window
    verified_by: Literal["card", "licence"] | None
    subject: str | None = None  # whose record; the applicant's own if None
    whose: Whose = "self"
    household: bool = False
    members: tuple[str, ...] = ()
    with_relationship: bool = False
    with_code: bool = False
    with_domicile: bool = False  # never given on a wide-area copy, whatever is asked
    licence: str | None = None


@dataclass(frozen=True, slots=True)
class WideAreaCard:
    """The applicant's card in the window's reader and the PIN they entered; with
    ``window`` the terminal first authenticates mutually with the card's 住基AP and reads
    it with the PIN (a card holding only its JPKI application has no 住基AP)."""

    reader: Reader
    pin: str
    window: WindowKeys | None = None


def _checked(ask: WindowAsk, own: str) -> WindowAsk:
    """The clerk's entry, checked before anything is sent (a wrong one is refused here)."""
    home = parse_local_government_code(ask.home.strip())
    if home == own:
        raise WideAreaRefused(
            f"{home} is this municipality: issue the copy from the register here, "
            "without --wide-area."
        )
    parse_resident_code(ask.applicant)
    if ask.subject is not None:
        parse_resident_code(ask.subject)
    if ask.verified_by is None:
        raise WideAreaRefused(
            "Record how the person's identity was verified (the card, or a driving "
            "licence seen by the clerk); a wide-area copy is never issued without it."
        )
    if ask.verified_by == "licence" and (
        ask.licence is None or not LICENCE_DIGITS.fullmatch(ask.licence)
    ):
        raise WideAreaRefused("Record the driving licence's number: 12 digits.")
    if ask.whose == "self" and ask.subject not in (None, ask.applicant):
        raise WideAreaRefused(
            "A copy of someone else's record is a household copy, asked by a member of "
            "that household."
        )
    return ask


def _home_url(runtime: NodeRuntime, home: str) -> tuple[str, str]:
    """(node id, URL) of municipality ``home`` in the signed directory."""
    for entry in runtime.directory.entries():
        if entry.role == "municipality" and entry.code == home:
            if entry.status != "active" or not entry.url:
                raise UnknownMunicipality(
                    f"Municipality {home} is not an active member of the network now."
                )
            return entry.node_id, entry.url.rstrip("/")
    raise UnknownMunicipality(f"Municipality {home} is not in the network's directory.")


def build_request(
    ask: WindowAsk,
    issuer: str,
    clerk: str,
    card: WideAreaCard | None = None,
    now: datetime | None = None,
    request_id: str | None = None,
) -> WideAreaRequest:
    """The request A sends to B; with ``card`` the card proves the applicant first (a
    refusal by the card, such as a wrong PIN, ends here: nothing is sent)."""
    moment = now or datetime.now(UTC)
    rid = request_id or secrets.token_hex(16)
    subject = ask.subject or ask.applicant
    proof = None
    if ask.verified_by == "card":
        if card is None:
            raise WideAreaRefused("Put the person's card in the window's reader.")
        signed = WideAreaAsk(
            purpose="jukinet-wide-area/1",
            request_id=rid,
            issuer=issuer,
            home=ask.home,
            applicant=ask.applicant,
            subject=subject,
            whose=ask.whose,
            signed_at=moment,
        )
        proof = _card_proof(card, ask, signed.model_dump_json().encode("utf-8"))
    return WideAreaRequest(
        request_id=rid,
        asked_at=moment,
        clerk=clerk,
        applicant=ask.applicant,
        subject=subject,
        whose=ask.whose,
        household=ask.household,
        members=list(ask.members),
        with_relationship=ask.with_relationship,
        with_code=ask.with_code,
        with_domicile=ask.with_domicile,
        verified_by=ask.verified_by,
        licence=ask.licence if ask.verified_by == "licence" else None,
        card=proof,
    )


def _card_proof(card: WideAreaCard, ask: WindowAsk, payload: bytes) -> CardProof:
    card.reader.connect()
    try:
        terminal = Terminal(card.reader)
        if card.window is not None:
            read = read_identity(terminal, card.window, card.pin)
            if read.resident_code != ask.applicant:
                raise CardNotGenuine(
                    f"The card in the reader is not the card of {ask.applicant}; "
                    "the applicant's own card proves who they are."
                )
        signed = sign_as_user(terminal, card.pin, payload)
    finally:
        card.reader.disconnect()

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode("ascii")

    return CardProof(
        certificate=b64(signed.certificate), signature=b64(signed.signature), payload=b64(payload)
    )


def wide_area_copy(
    answer: WideAreaAnswer, issuer: Issuer, serial: str, issued_on: date
) -> ResidentCopy:
    """The copy A issues from B's answer (the seam the renderer and signer take it from)."""
    persons = tuple(
        CopyPerson(
            name=Name(p.family_name, p.given_name, p.family_kana, p.given_kana),
            date_of_birth=p.date_of_birth,
            sex=Sex(p.sex),
            became_resident_on=p.became_resident_on,
            address_fixed_on=p.address_fixed_on,
            notified_on=p.notified_on,
            previous_address=p.previous_address,
            relationship=p.relationship,
            resident_code=p.resident_code,
        )
        for p in answer.persons
    )
    return ResidentCopy(
        serial=serial,
        issuer_code=issuer.code,
        issuer_name=issuer.name,
        mayor_title=issuer.mayor_title,
        mayor_name=issuer.mayor_name,
        issued_on=issued_on,
        address=answer.address,
        head_name=answer.head_name,
        persons=persons,
        home_code=answer.home,
        home_name=answer.home_name,
        wide_area=True,
    )


async def issue_wide_area(
    store: RegisterStore,
    session: Session,
    home: Path,
    ask: WindowAsk,
    card: WideAreaCard | None = None,
    *,
    issuer: Issuer | None = None,
    today: date | None = None,
) -> ResidentCopy:
    """Ask B for the records and build the copy A issues (module docstring)."""
    return await issue_wide_area_then(
        store, session, home, ask, _built, card, issuer=issuer, today=today
    )


def _built(tx: RegisterTx, copy: ResidentCopy) -> ResidentCopy:
    return copy


async def issue_wide_area_then(
    store: RegisterStore,
    session: Session,
    home: Path,
    ask: WindowAsk,
    finish: Callable[[RegisterTx, ResidentCopy], T],
    card: WideAreaCard | None = None,
    *,
    issuer: Issuer | None = None,
    today: date | None = None,
    serial: Callable[[RegisterTx], str] | None = None,
) -> T:
    """``issue_wide_area``, then ``finish(tx, copy)`` in the transaction that audits the
    issue (the document signer renders, signs and records the copy there); ``serial``
    numbers the copy in that transaction (default: from the request id)."""
    subject = (ask.subject or ask.applicant).strip()
    own = (
        Issuer(store.code, store.name, mayor_title_for(store.name), "")
        if issuer is None
        else issuer
    )
    sent: list[WideAreaRequest] = []

    async def fetch() -> WideAreaAnswer:
        checked = _checked(ask, store.code)
        cfg = config.load(home)
        if cfg.network is None:
            raise ConfigurationError("This register is not on a network: it cannot ask B.")
        runtime = load_runtime(cfg)
        node, url = _home_url(runtime, parse_local_government_code(checked.home))
        request = build_request(checked, store.code, session.operator.username, card)
        sent.append(request)
        async with runtime.client() as client:
            reply = await client.post(f"{url}/wide-area/records", request)
        answer = WideAreaAnswer.model_validate(reply)
        if answer.request_id != request.request_id or answer.home != checked.home:
            raise WideAreaRefused(f"{node} answered another request; nothing is issued.")
        return answer

    def work(tx: RegisterTx, answer: WideAreaAnswer) -> tuple[T, str, str]:
        request = sent[0]
        number = serial(tx) if serial is not None else f"{own.code}-W{request.request_id[:12]}"
        copy = wide_area_copy(answer, own, number, today or date.today())
        result = finish(tx, copy)
        how = (
            f"driving licence {request.licence}"
            if request.verified_by == "licence"
            else "the card (mutual authentication, PIN, JPKI user-authentication)"
        )
        detail = (
            f"copy {number} from municipality {answer.home} (request {request.request_id}); "
            f"{request.whose} copy asked by {request.applicant}, verified by {how}; "
            f"{len(copy.persons)} person(s)"
        )
        return result, subject, detail

    return await run_after(store, session, Permission.READ_RECORD, OPERATION, subject, fetch, work)
