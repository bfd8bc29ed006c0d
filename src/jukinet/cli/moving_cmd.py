"""``jukinet move-out notify|receive|cancel|show`` and ``jukinet move-in card``: moving
with the card (R21, 第24条の2; docs/flows.md "Moving with the card").

At the old municipality a clerk enters a 付記転出届 that came by mail (``notify``) or
takes one that came online, signed with the card (``receive FILE``); the planned
move-out's certificate information goes to the new municipality by itself. At the
new municipality's window the holder's card and PIN prove who they are and
``move-in card`` records the move-in of everyone on that information.
"""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

import typer

from jukinet.cli._common import (
    OperatorOption,
    console,
    day,
    handle_errors,
    login,
    register,
    state,
)

move_out_app = typer.Typer(
    help="Moving with the card at the old municipality: the 付記転出届 (R21).",
    no_args_is_help=True,
)
move_in_app = typer.Typer(
    help="Moving with the card at the new municipality: the move-in with the card (R21).",
    no_args_is_help=True,
)

Notified = typer.Option(None, "--notified", help="Notification date (default: today).")


def _print_planned(planned: object) -> None:
    from jukinet.nodes.municipality.moving_out import PlannedMove

    assert isinstance(planned, PlannedMove)
    console.print(
        f"Planned move-out {planned.move_id} ({planned.channel}, {planned.state}): "
        f"{', '.join(planned.persons)} to municipality {planned.destination_code} "
        f"({planned.destination}) on {planned.planned_on.isoformat()}.",
        markup=False,
    )
    if planned.moved_on is not None:
        console.print(f"  moved on {planned.moved_on.isoformat()}; the records are removed (転出)")
    elif planned.state == "planned":
        console.print(
            "  the move-out certificate information goes to the new municipality; the "
            "records are removed when its move-in notice comes back"
        )


@move_out_app.command("notify")
@handle_errors
def notify(
    holder: str = typer.Option(..., "--holder", help="Resident code of the card holder."),
    persons: list[str] = typer.Option(
        [], "--with", help="Household members moving with the holder; repeatable."
    ),
    to: str = typer.Option(..., "--to", help="Local government code of the new municipality."),
    destination: str = typer.Option(..., "--destination", help="転出先: the new address."),
    planned: str = typer.Option(..., "--planned", help="Planned date of moving (転出予定日)."),
    new_head: str | None = typer.Option(None, help="New head if the head leaves and others stay."),
    notified: str | None = Notified,
    operator: str | None = OperatorOption,
) -> None:
    """付記転出届 by mail: record the planned move-out of a card holder (and household)."""
    from jukinet.domain.moving import MoveNotification
    from jukinet.nodes.municipality import moving_out, service

    with register() as store:
        session = login(store, operator)
        with service.audited(store, session.actor, "move-out.notify", holder.strip()):
            n = MoveNotification(
                holder.strip(), tuple(p.strip() for p in persons), to.strip(), destination,
                day(planned), day(notified, date.today()), "mail", new_head,
            )  # fmt: skip
        planned_move = moving_out.notify(store, session, n, date.today())
    _print_planned(planned_move)


@move_out_app.command("receive")
@handle_errors
def receive(
    file: Path = typer.Argument(..., help="The signed online notification (JSON)."),
    operator: str | None = OperatorOption,
) -> None:
    """付記転出届 online: verify the card's signature (JPKI CA, CRL) and record it."""
    from jukinet.errors import InvalidInput
    from jukinet.nodes.municipality import moving_online

    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise InvalidInput(f"{file} cannot be read as a UTF-8 text file.") from None
    with register() as store:
        session = login(store, operator)
        planned_move = asyncio.run(
            moving_online.receive(store, session, state.home, text, date.today())
        )
    console.print("The signature is the holder's (JPKI signing certificate, not revoked).")
    _print_planned(planned_move)


@move_out_app.command("cancel")
@handle_errors
def cancel(
    move_id: int = typer.Argument(..., help="The planned move-out's number."),
    operator: str | None = OperatorOption,
) -> None:
    """Withdraw a planned move-out; the new municipality can no longer use its information."""
    from jukinet.nodes.municipality import moving_out

    with register() as store:
        session = login(store, operator)
        planned_move = moving_out.cancel(store, session, move_id, date.today())
    _print_planned(planned_move)


@move_out_app.command("show")
@handle_errors
def show(
    move_id: int = typer.Argument(..., help="The planned move-out's number."),
    operator: str | None = OperatorOption,
) -> None:
    """A planned move-out and what became of it."""
    from jukinet.nodes.municipality import moving_out

    with register() as store:
        login(store, operator)
        planned_move = moving_out.planned_move(store, move_id)
    _print_planned(planned_move)


@move_out_app.command("list")
@handle_errors
def list_planned(operator: str | None = OperatorOption) -> None:
    """Every planned move-out and what became of it, newest first (audited)."""
    from jukinet.nodes.municipality import moving_out

    with register() as store:
        session = login(store, operator)
        found = moving_out.planned_moves_of(store, session)
    for planned_move in found:
        _print_planned(planned_move)
    if not found:
        console.print("No planned move-out.")


@move_in_app.command("list")
@handle_errors
def list_incoming(operator: str | None = OperatorOption) -> None:
    """The move-out certificate information received from other municipalities (audited),
    with the last day the card route is open for each pending one."""
    from jukinet.domain.moving import AFTER_PLANNED
    from jukinet.nodes.municipality import moving_in

    with register() as store:
        session = login(store, operator)
        found = moving_in.held(store, session)
    for item in found:
        c = item.certificate
        names = ", ".join(f"{p.resident_code} {p.name.full}" for p in c.persons)
        line = (
            f"{c.origin}/{c.move_id} ({item.state}): holder {c.holder}, card {c.card_number}; "
            f"{names}; planned {c.planned_on.isoformat()}"
        )
        if item.state == "pending":
            line += f"; open until {(c.planned_on + AFTER_PLANNED).isoformat()}"
        console.print(line, markup=False)
    if not found:
        console.print("No move-out certificate information received.")


@move_in_app.command("card")
@handle_errors
def card(
    reader: str = typer.Option(..., "--reader", help="The reader holding the resident's card."),
    town: str = typer.Option(..., "--town", help="町字 of the new address."),
    block: str = typer.Option(..., "--block", help="番地・号 of the new address."),
    building: str = typer.Option("", "--building", help="Building and room."),
    moved: str = typer.Option(..., "--moved", help="Date of moving in."),
    rel: list[str] = typer.Option([], "--rel", help="CODE=続柄 when the head stays behind."),
    join_household: int | None = typer.Option(None, help="Join this household instead."),
    notified: str | None = Notified,
    operator: str | None = OperatorOption,
) -> None:
    """転入 with the card: mutual authentication and PIN, then the move-in of everyone on
    the move-out certificate information the old municipality sent."""
    from jukinet.cli.card_window_cmd import _pin_pad
    from jukinet.cli.event_cmd import _rels
    from jukinet.nodes.municipality import card_window, moving_in, service
    from jukinet.nodes.municipality.addresses import town_address
    from jukinet.nodes.municipality.card_keys import load_window

    with register() as store:
        session = login(store, operator)
        with service.audited(store, session.actor, "event.move-in-card", "card in the reader"):
            address = town_address(store, town, block, building)
            relationships = _rels(rel)
            window = load_window(state.home, store.code)
            with card_window.terminal(reader) as t:
                read = card_window.read_identity(t, window, _pin_pad(False))
        console.print(f"Card {read.card_number} is genuine and the PIN is right.")
        receipt = moving_in.move_in_with_card(
            store, session, read, address, day(moved), day(notified, date.today()),
            date.today(), relationships, join_household,
        )  # fmt: skip
    from jukinet.cli.render import receipt_lines

    for line in receipt_lines(receipt):
        console.print(line)
    console.print("The move-in notice (転入通知) goes to the old municipality.")
