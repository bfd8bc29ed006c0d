"""The resident card at the window (R15–R17, docs/card.md "Issuing and life cycle").

Issuing: the card's keys are made for the card, the national JPKI CA certifies its two
RSA keys (``jpki.certify_card_keys``), the municipality's card-issuer key certifies the
keys of the 住基AP and the municipal application, and the image with its chip key is
written. A resident under 15 gets a card with the user-authentication certificate only
(JPKI issues no signing certificate before 15): no signing key, certificate or password
on it. Suspending (lost), revoking and reissuing revoke the card's JPKI certificates
at the national node first. Every step is one audited entry (``card.issue``,
``card.reissue``, ``card.suspend``, ``card.revoke``, ``card.check``, ``card.unblock``,
``card.update``, the card number or resident code as target), besides the entries of
the JPKI CA's answers that ``jpki`` writes (``card.certify``, and ``card.revoke`` with
the resident code as target); ``domain/card.py`` says which steps are legal.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import select, update

from jukinet.card import image
from jukinet.card.builder import Authorities, CardKeys, CardPins, Holder, JpkiCertificates
from jukinet.card.builder import issue_card as build_card
from jukinet.domain import card as rules
from jukinet.domain.access import Permission, Session
from jukinet.domain.card import Card, CardState, CardStep
from jukinet.domain.codes import parse_resident_code
from jukinet.domain.record import ResidentRecord
from jukinet.errors import CardStateRefused, InvalidInput, NotFound, ResidentNotFound
from jukinet.jpki import load_ca_certificate, public_key_der
from jukinet.jpki.validity import may_hold_signing_certificate
from jukinet.nodes.municipality import jpki
from jukinet.nodes.municipality.card_keys import load_window
from jukinet.nodes.municipality.service import audited, run
from jukinet.nodes.municipality.store import RegisterStore, RegisterTx
from jukinet.nodes.municipality.tables import cards

VALID_YEARS = 10
SUPERVISOR = Permission.CORRECT_RECORD
"""Unblocking a PIN is a supervisor's (clerks record events, supervisors also correct)."""


@dataclass(frozen=True, slots=True)
class IssuedCard:
    card: Card
    image: Path
    chip_key: Path
    record: ResidentRecord
    replaced: str | None


def _row_card(row: object) -> Card:
    m = row._mapping  # type: ignore[attr-defined]
    return Card(
        m["card_number"], m["resident_code"], CardState(m["state"]), m["issued_on"],
        m["valid_until"],
    )  # fmt: skip


def card_by_number(tx: RegisterTx, number: str) -> Card | None:
    row = tx.conn.execute(select(cards).where(cards.c.card_number == number)).first()
    return _row_card(row) if row is not None else None


def current_card(tx: RegisterTx, resident_code: str) -> Card | None:
    """The resident's newest card (any state), or None."""
    row = tx.conn.execute(
        select(cards)
        .where(cards.c.resident_code == resident_code)
        .order_by(cards.c.issued_on.desc(), cards.c.card_number.desc())
    ).first()
    return _row_card(row) if row is not None else None


def _resident(tx: RegisterTx, code: str) -> ResidentRecord:
    record = tx.record(parse_resident_code(code))
    if record is None or not record.is_resident:
        raise ResidentNotFound(f"No current resident of this municipality carries code {code}.")
    return record


def _known_card(tx: RegisterTx, number: str) -> Card:
    card = card_by_number(tx, number)
    if card is None:
        raise NotFound(f"This municipality issued no card numbered {number}.")
    return card


def _valid_until(today: date) -> date:
    return today.replace(year=today.year + VALID_YEARS, day=min(today.day, 28))


def _serial(der: bytes) -> str:
    return f"{x509.load_der_x509_certificate(der).serial_number:040x}"


def signs_on(record: ResidentRecord, today: date) -> bool:
    """Whether a card issued ``today`` gets a JPKI signing certificate: not under 15 (R15)."""
    return may_hold_signing_certificate(record.date_of_birth, today)


def signing_certificate_due(store: RegisterStore, resident_code: str, today: date) -> bool:
    """Whether the card the window is about to issue gets a signing certificate, so the
    window asks the resident for a signing password (a plain read; the issue audits)."""
    with store.engine.connect() as conn:
        return signs_on(_resident(RegisterTx(conn, store), resident_code.strip()), today)


def _set_state(tx: RegisterTx, number: str, state: CardState, today: date, reason: str) -> None:
    tx.conn.execute(
        update(cards)
        .where(cards.c.card_number == number)
        .values(state=state.value, changed_on=today, reason=reason)
    )


async def issue(
    store: RegisterStore,
    session: Session,
    home: Path,
    resident_code: str,
    pins: CardPins,
    out: Path,
    today: date,
    *,
    reissue: bool = False,
    keys: CardKeys | None = None,
) -> IssuedCard:
    """Issue a card to a resident (``reissue``: replacing the card they hold)."""
    code = resident_code.strip()
    operation = "card.reissue" if reissue else "card.issue"
    chip_key_file = image.key_path(out)
    with audited(store, session.actor, operation, code):
        session.require(Permission.RECORD_EVENT)
        window = load_window(home, store.code)
        for path in (out, chip_key_file):
            if path.exists():
                raise InvalidInput(f"{path} already exists; a card is written to new files only.")
        if not out.parent.is_dir():
            raise InvalidInput(f"The folder {out.parent} does not exist.")
        with store.engine.connect() as conn:
            tx = RegisterTx(conn, store)
            record, old = _resident(tx, code), current_card(tx, code)
        if reissue:
            if old is None:
                raise CardStateRefused("The resident holds no card to replace; use `card issue`.")
            rules.after(old, CardStep.REPLACE)
        else:
            rules.may_issue(old)
    if reissue and old is not None and old.state is CardState.ACTIVE:
        await jpki.revoke_card_certificates(store, session, home, code, "holder-request")
    keys = keys or CardKeys.generate()  # made for the card, as a chip would make them
    signs = signs_on(record, today)
    if not signs:  # no signing certificate, so no key or password to protect one (R15)
        pins = dataclasses.replace(pins, jpki_sign=None)
    elif pins.jpki_sign is None:
        raise InvalidInput(
            "The resident is 15 or over: the card's JPKI signing password must be set."
        )
    signing_key = public_key_der(keys.jpki_sign.public_key()) if signs else None
    certified = await jpki.certify_card_keys(
        store, session, home, code, public_key_der(keys.jpki_auth.public_key()), signing_key
    )
    if signs and certified.signing is None:
        raise CardStateRefused("The JPKI CA issued no signing certificate for this card.")
    ca_der = load_ca_certificate(home).public_bytes(Encoding.DER)
    number = f"{secrets.randbelow(10**12):012d}"
    holder = Holder(code, number, store.code, record.name.full, _valid_until(today))
    authorities = Authorities(
        JpkiCertificates(certified.authentication, certified.signing, ca_der),
        window.issuer,
        window.terminal_ca,
    )
    content = build_card(holder, pins, authorities, keys)

    def work(tx: RegisterTx) -> tuple[IssuedCard, str, str]:
        current = _resident(tx, code)
        previous = current_card(tx, code)
        replaced = None
        if reissue and previous is not None:
            rules.after(previous, CardStep.REPLACE)
            _set_state(tx, previous.number, CardState.REPLACED, today, f"replaced by {number}")
            tx.conn.execute(
                update(cards)
                .where(cards.c.card_number == previous.number)
                .values(replaced_by=number)
            )
            replaced = previous.number
        elif not reissue:
            rules.may_issue(previous)
        tx.conn.execute(
            cards.insert().values(
                card_number=number, resident_code=code, state=CardState.ACTIVE.value,
                issued_on=today, valid_until=holder.valid_until,
                auth_serial=_serial(certified.authentication),
                sign_serial=_serial(certified.signing) if certified.signing else None,
                changed_on=today, reason="issued", replaced_by=None,
            )
        )  # fmt: skip
        chip_key = image.new_chip_key()
        image.write_image(out, content, chip_key)
        image.write_chip_key(chip_key_file, chip_key)
        card = Card(number, code, CardState.ACTIVE, today, holder.valid_until)
        detail = f"card {number}, valid until {holder.valid_until.isoformat()}; keys made for "
        detail += "the card, JPKI certificates " + _serial(certified.authentication)
        if certified.signing is not None:
            detail += f", {_serial(certified.signing)}"
        else:
            detail += " (user authentication only: no signing certificate under 15)"
        if replaced:
            detail += f"; replaces card {replaced}"
        return (
            IssuedCard(card, out, chip_key_file, current, replaced),
            current.resident_code,
            detail,
        )

    try:
        return run(store, session, Permission.RECORD_EVENT, operation, code, work)
    except BaseException:
        for path in (out, chip_key_file):
            path.unlink(missing_ok=True)
        raise


async def end(
    store: RegisterStore,
    session: Session,
    home: Path,
    number: str,
    step: CardStep,
    reason: str,
    today: date,
) -> Card:
    """Suspend (``reason`` lost or stolen) or revoke a card; its JPKI certificates are
    revoked at the national node first."""
    operation = f"card.{step.value}"
    with audited(store, session.actor, operation, number):
        session.require(Permission.RECORD_EVENT)
        if step is CardStep.SUSPEND:
            rules.check_suspend_reason(reason)
        elif step is not CardStep.REVOKE:
            raise InvalidInput("A card is ended by suspending or revoking it.")
        with store.engine.connect() as conn:
            card = _known_card(RegisterTx(conn, store), number)
        new_state = rules.after(card, step)
    revoked: list[str] = []
    if card.state is CardState.ACTIVE:
        jpki_reason = "card-lost" if step is CardStep.SUSPEND else "holder-request"
        answer = await jpki.revoke_card_certificates(
            store, session, home, card.resident_code, jpki_reason
        )
        revoked = [f"{r.kind} {r.serial}" for r in answer]

    def work(tx: RegisterTx) -> tuple[Card, str, str]:
        current = _known_card(tx, number)
        rules.after(current, step)
        _set_state(tx, number, new_state, today, reason)
        listed = ", ".join(revoked) or "none valid"
        done = Card(number, current.resident_code, new_state, current.issued_on,
                    current.valid_until)  # fmt: skip
        return done, number, f"{new_state.value} ({reason}); JPKI certificates revoked: {listed}"

    return run(store, session, Permission.RECORD_EVENT, operation, number, work)


def at_window(
    store: RegisterStore,
    session: Session,
    step: str,
    number: str,
    municipality_code: str,
    today: date,
    on_card: Callable[[Card, ResidentRecord], str],
    card_code: str | None = None,
) -> tuple[Card, ResidentRecord]:
    """A card in this window's reader: ``check`` (identity), ``unblock`` or ``update``.

    The card must be this municipality's and in a state that allows ``step``;
    ``on_card`` then does the card's part, given the holder's current record, and
    returns what the audit entry records. ``card_code``: the resident code the card
    holds, for ``check``, which refuses a code the register no longer gives the holder.
    """
    permission = {"check": Permission.READ_RECORD, "unblock": SUPERVISOR}.get(
        step, Permission.RECORD_EVENT
    )

    def work(tx: RegisterTx) -> tuple[tuple[Card, ResidentRecord], str, str]:
        if municipality_code != store.code:
            raise CardStateRefused(
                f"Card {number} was issued by municipality {municipality_code}, not by this "
                "one; its register there says whether the card is good."
            )
        card = _known_card(tx, number)
        if step == "check":
            rules.proves_identity(card, today)
        else:
            rules.after(card, CardStep(step))
        current = tx.record(parse_resident_code(card.resident_code))
        if current is None:
            holder = tx.retired_holder(parse_resident_code(card.resident_code))
            if holder is None:
                raise ResidentNotFound(f"The holder of card {number} is not in the register.")
            current = tx.record_by_person(holder)
        if card_code is not None and card_code != current.resident_code:
            raise CardStateRefused(
                f"Card {number} holds resident code {card_code}, which the holder no longer "
                f"has (now {current.resident_code}); write the new code with `card update`."
            )
        detail = on_card(card, current)
        if current.resident_code != card.resident_code:
            tx.conn.execute(
                update(cards)
                .where(cards.c.card_number == number)
                .values(resident_code=current.resident_code)
            )
        return (card, current), current.resident_code, f"card {number}: {detail}"

    return run(store, session, permission, f"card.{step}", number, work)


def cards_of(store: RegisterStore, resident_code: str) -> list[Card]:
    """A resident's cards, newest first (shown with the resident, no audit of its own)."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(cards)
            .where(cards.c.resident_code == resident_code.strip())
            .order_by(cards.c.issued_on.desc(), cards.c.card_number.desc())
        ).all()
    return [_row_card(r) for r in rows]
