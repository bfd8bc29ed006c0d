"""``jukinet card issue|reissue|suspend|revoke|check|sign|unblock|update``: the resident
card at the window (R15–R17, docs/card.md "Issuing and life cycle", "At the window").

Clerks sign in as for every register command; the resident types the card's PINs at
the PIN pad (a hidden prompt with confirmation; JUKINET_CARD_PIN and
JUKINET_CARD_SIGNING_PASSWORD for scripts and tests, as JUKINET_PASSWORD).
"""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from jukinet.cli._common import (
    OperatorOption,
    console,
    handle_errors,
    login,
    password_from_env_or_prompt,
    register,
    state,
)

if TYPE_CHECKING:
    from jukinet.domain.card import Card
    from jukinet.domain.record import ResidentRecord

PIN_ENV = "JUKINET_CARD_PIN"
SIGNING_ENV = "JUKINET_CARD_SIGNING_PASSWORD"
ReaderOption = typer.Option(..., "--reader", help="The card reader (PC/SC name or part of it).")


def _pin_pad(confirm: bool) -> str:
    return password_from_env_or_prompt(PIN_ENV, "PIN pad: the card's PIN (4 digits)", confirm)


def _signing_pad(confirm: bool) -> str:
    return password_from_env_or_prompt(
        SIGNING_ENV, "PIN pad: the signing password (6-16 upper-case letters, digits)", confirm
    )


def _issue(code: str, out: Path, operator: str | None, reissue: bool) -> None:
    from jukinet.card.builder import CardPins
    from jukinet.card.content import PinFormat
    from jukinet.errors import InvalidInput
    from jukinet.nodes.municipality import cards

    with register() as store:
        session = login(store, operator)
        # Under 15 the card gets no signing certificate (R15), so no signing password.
        signs = cards.signing_certificate_due(store, code, date.today())
        pin = _pin_pad(True)
        password = _signing_pad(True) if signs else None
        if not PinFormat.DIGITS_4.accepts(pin.encode()):
            raise InvalidInput("A card PIN is 4 digits.")
        if password is not None and not PinFormat.UPPER_ALNUM_6_16.accepts(password.encode()):
            raise InvalidInput("The signing password is 6 to 16 upper-case letters and digits.")
        pins = CardPins(jpki_auth=pin, jpki_sign=password, resident=pin, municipal=pin)
        console.print("Making the card's keys for the card (a real chip makes its own) ...")
        issued = asyncio.run(
            cards.issue(store, session, state.home, code, pins, out, date.today(), reissue=reissue)
        )
    card = issued.card
    console.print(
        f"Card {card.number} issued to {issued.record.name.full} ({card.resident_code}), "
        f"valid until {card.valid_until.isoformat()}.",
        markup=False,
    )
    if signs:
        console.print("  JPKI certificates issued by the network's JPKI CA for the card's keys")
    else:
        console.print(
            "  JPKI user-authentication certificate issued by the network's JPKI CA; no "
            "signing certificate (the resident is under 15)"
        )
    if issued.replaced:
        console.print(f"  card {issued.replaced} replaced; its certificates revoked")
    console.print(f"  wrote {issued.image} and its chip key {issued.chip_key}", markup=False)


def issue(
    code: str = typer.Argument(..., help="The resident's code."),
    out: Path = typer.Option(..., "--out", help="The card image to write (must not exist)."),
    operator: str | None = OperatorOption,
) -> None:
    """Issue a resident's card: the resident sets the PINs, the JPKI CA certifies its keys."""
    _issue(code, out, operator, reissue=False)


def reissue(
    code: str = typer.Argument(..., help="The resident's code."),
    out: Path = typer.Option(..., "--out", help="The new card image (must not exist)."),
    operator: str | None = OperatorOption,
) -> None:
    """A new card for a resident; the card they held is replaced and its certificates revoked."""
    _issue(code, out, operator, reissue=True)


def _end(number: str, step: str, reason: str, operator: str | None) -> None:
    from jukinet.domain.card import CardStep
    from jukinet.nodes.municipality import cards

    with register() as store:
        session = login(store, operator)
        card = asyncio.run(
            cards.end(store, session, state.home, number, CardStep(step), reason, date.today())
        )
    console.print(
        f"Card {card.number} is {card.state.value}; its JPKI certificates are revoked.",
        markup=False,
    )


def suspend(
    number: str = typer.Argument(..., help="The card number."),
    reason: str = typer.Option(..., "--reason", help="lost or stolen."),
    operator: str | None = OperatorOption,
) -> None:
    """Suspend a lost or stolen card; its JPKI certificates are revoked at once."""
    _end(number, "suspend", reason, operator)


def revoke(
    number: str = typer.Argument(..., help="The card number."),
    operator: str | None = OperatorOption,
) -> None:
    """Revoke a card (given back or withdrawn); its JPKI certificates are revoked."""
    _end(number, "revoke", "given back", operator)


def check(reader: str = ReaderOption, operator: str | None = OperatorOption) -> None:
    """Identity at the window: mutual authentication with the card, the holder's PIN, and
    the register's word on the card."""
    from jukinet.cli.render import record_table
    from jukinet.nodes.municipality import card_window, cards
    from jukinet.nodes.municipality.card_keys import load_window

    with register() as store:
        session = login(store, operator)
        window = load_window(state.home, store.code)
        with card_window.terminal(reader) as t:
            issuer, number = card_window.prove_card(t, window)
            console.print(f"Card {number} is genuine (issued by municipality {issuer}).")
            read = card_window.read_identity(t, window, _pin_pad(False))
        card, record = cards.at_window(
            store, session, "check", read.card_number, read.municipality_code, date.today(),
            lambda _card, _record: "identity checked: mutual authentication and PIN",
            card_code=read.resident_code,
        )  # fmt: skip
    console.print(
        f"Identity checked: card {card.number}, active, valid until "
        f"{card.valid_until.isoformat()}; holder {record.name.full}.",
        markup=False,
    )
    console.print(record_table(record))


def sign(
    file: Path = typer.Argument(..., help="The document to sign."),
    reader: str = ReaderOption,
    out: Path = typer.Option(
        ...,
        "--out",
        help="The signature to write; the signing certificate goes beside it (OUT.cert).",
    ),
) -> None:
    """Sign FILE with the card's JPKI signing key (the holder types the signing password)."""
    from jukinet.nodes.municipality import card_window

    document = file.read_bytes()
    with card_window.terminal(reader) as t:
        card_window.require_signing_certificate(t)  # before asking for a password
        signature, cert = card_window.sign(t, _signing_pad(False), document)
    cert_file = out.with_name(out.name + ".cert")
    out.write_bytes(signature)
    cert_file.write_bytes(cert)
    console.print(f"Signed {file.name}: signature {out}, signing certificate {cert_file}.")


def sign_move_out(
    reader: str = ReaderOption,
    origin: str = typer.Option(..., "--from", help="Local government code moved from."),
    holder: str = typer.Option(..., "--holder", help="Your resident code (the card's)."),
    persons: list[str] = typer.Option(
        [], "--with", help="Household members moving with you; repeatable."
    ),
    to: str = typer.Option(..., "--to", help="Local government code of the new municipality."),
    destination: str = typer.Option(..., "--destination", help="転出先: the new address."),
    planned: str = typer.Option(..., "--planned", help="Planned date of moving (転出予定日)."),
    new_head: str | None = typer.Option(None, help="New head if you leave and others stay."),
    out: Path = typer.Option(..., "--out", help="The signed notification to write (JSON)."),
) -> None:
    """付記転出届 online (R21): a move-out notification signed with the card's JPKI signing
    key, for the old municipality (`jukinet move-out receive FILE` there)."""
    from jukinet.cli._common import day
    from jukinet.domain.moving import MoveNotification
    from jukinet.nodes.municipality import card_window, moving_online

    n = MoveNotification(
        holder.strip(), tuple(p.strip() for p in persons), to.strip(), destination,
        day(planned), date.today(), "online", new_head,
    )  # fmt: skip
    doc = moving_online.document(n, origin.strip())
    with card_window.terminal(reader) as t:
        signature, cert = card_window.sign(t, _signing_pad(False), moving_online.canonical(doc))
    out.write_text(moving_online.signed_file(doc, signature, cert), encoding="utf-8")
    console.print(f"Signed the move-out notification to municipality {origin}: {out}.")


def unblock(
    reader: str = ReaderOption,
    pin: str = typer.Option("resident", "--pin", help="resident, municipal, jpki-auth, jpki-sign."),
    identity: str = typer.Option(
        ..., "--identity", help="How the holder's identity was checked (e.g. 'passport TK123')."
    ),
    operator: str | None = OperatorOption,
) -> None:
    """Supervisor: reset the retry counter of a blocked PIN of the card in the reader."""
    from jukinet.errors import InvalidInput
    from jukinet.nodes.municipality import card_window, cards
    from jukinet.nodes.municipality.card_keys import load_window

    if not identity.strip():
        raise InvalidInput("Say how the holder's identity was checked (--identity).")
    with register() as store:
        session = login(store, operator)
        window = load_window(state.home, store.code)
        with card_window.terminal(reader) as t:
            issuer, number = card_window.prove_card(t, window)

            def on_card(_card: Card, _record: ResidentRecord) -> str:
                label = card_window.unblock(t, window, pin)
                return f"{label} unblocked; identity checked by {identity.strip()}"

            cards.at_window(store, session, "unblock", number, issuer, date.today(), on_card)
    console.print(f"Card {number}: the {card_window.PINS[pin][2]} is unblocked.")


def update(reader: str = ReaderOption, operator: str | None = OperatorOption) -> None:
    """Write the holder's current resident code to the card (after a code change, R6)."""
    from jukinet.nodes.municipality import card_window, cards
    from jukinet.nodes.municipality.card_keys import load_window

    with register() as store:
        session = login(store, operator)
        window = load_window(state.home, store.code)
        with card_window.terminal(reader) as t:
            issuer, number = card_window.prove_card(t, window)

            def on_card(card: Card, record: ResidentRecord) -> str:
                code = card_window.write_resident_code(t, window, record.resident_code)
                return f"resident code {card.resident_code} -> {code} written (UPDATE)"

            _card, record = cards.at_window(
                store, session, "update", number, issuer, date.today(), on_card
            )
    console.print(f"Card {number} now holds resident code {record.resident_code}.")


def register_commands(app: typer.Typer) -> None:
    for fn in (issue, reissue, suspend, revoke, check, sign, unblock, update):
        app.command(fn.__name__)(handle_errors(fn))
    app.command("sign-move-out")(handle_errors(sign_move_out))
