"""``jukinet resident`` and ``household``: audited reads of the register (R12)."""

from __future__ import annotations

import asyncio
from pathlib import Path

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
from jukinet.cli.render import history_lines, household_table, record_table
from jukinet.errors import InvalidInput
from jukinet.nodes.municipality import service
from jukinet.nodes.municipality.disclosure import CardAtWindow, disclose_answer, entries_of

app = typer.Typer(help="Read residents' records (audited).", no_args_is_help=True)
household_app = typer.Typer(help="Read households (audited).", no_args_is_help=True)


@app.command("show")
@handle_errors
def show(code: str, operator: str | None = OperatorOption) -> None:
    """A resident's record, current or removed (除票)."""
    from jukinet.nodes.municipality.cards import cards_of

    with register() as store:
        record = service.show_resident(store, login(store, operator), code)
        held = cards_of(store, record.resident_code)
    console.print(record_table(record))
    for card in held:  # the resident card (R15), newest first
        console.print(
            f"card {card.number} {card.state.value}  issued {card.issued_on.isoformat()}  "
            f"valid until {card.valid_until.isoformat()}"
        )
    if not held:
        console.print("no resident card")


@app.command("history")
@handle_errors
def history(code: str, operator: str | None = OperatorOption) -> None:
    """Every version of a resident's record, oldest first."""
    with register() as store:
        versions = service.resident_history(store, login(store, operator), code)
    for line in history_lines(versions):
        console.print(line, soft_wrap=True)


@household_app.command("show")
@handle_errors
def show_household(household_id: int, operator: str | None = OperatorOption) -> None:
    """A household and its current members."""
    with register() as store:
        view = service.show_household(store, login(store, operator), household_id)
    console.print(household_table(view))


@app.command("disclosure")
@handle_errors
def disclosure(
    code: str,
    operator: str | None = OperatorOption,
    card: bool = typer.Option(
        False, "--card", help="The resident's card proves who asks (PIN, JPKI signature)."
    ),
    reader: str | None = typer.Option(
        None, "--reader", help="The PC/SC reader the resident's card is in (with --card)."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Also write the answer the resident can check (JSON) to this file."
    ),
) -> None:
    """R14: every provision of a resident's identity information, newest first.

    Without --card the clerk has verified the resident at the window before asking;
    with --card the resident enters their user-authentication PIN (prompt, or
    JUKINET_CARD_PIN) and the card signs the request, which each node verifies.
    With --out the nodes' answers, with the inclusion proofs of every provision in each
    node's provision log, go to a file that `jukinet disclosure verify` checks.
    """
    if card != (reader is not None):
        raise InvalidInput("--card and --reader go together: --card --reader NAME.")
    with register() as store:
        session = login(store, operator)
        at_window = None
        if card:
            from jukinet.card.pcsc import PcscReader  # PC/SC is loaded only when a card is used

            pcsc = PcscReader(str(reader))
            pin = password_from_env_or_prompt("JUKINET_CARD_PIN", "The resident's PIN")
            at_window = CardAtWindow(pcsc, pin)
        answer = asyncio.run(disclose_answer(store, session, state.home, code, at_window))
    entries = entries_of(answer)
    if out is not None:
        out.write_text(answer.model_dump_json(indent=2) + "\n", encoding="utf-8")
    if not entries:
        console.print("No provision of this resident's identity information is recorded.")
    for e in entries:
        console.print(
            f"{e.at:%Y-%m-%d %H:%M}  {e.recipient_name} ({e.recipient})  affair {e.affair}  "
            f"{e.function}  fields: {', '.join(e.fields) or '— (match only)'}  at {e.node}",
            soft_wrap=True,
        )
    if out is not None:
        console.print(f"The answer the resident can check is in {out}.")
