"""``jukinet operator``: accounts, training, pledges, lockout (R10, R11, R13)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from jukinet.cli._common import (
    OperatorOption,
    console,
    day,
    handle_errors,
    login,
    password_from_env_or_prompt,
    register,
)
from jukinet.domain.access import Operator
from jukinet.nodes.municipality import staff
from jukinet.nodes.municipality.operators import parse_role

app = typer.Typer(help="Operator accounts (administrators only).", no_args_is_help=True)
card_app = typer.Typer(
    help="Operator cards: issue and revoke the card an operator signs in with (R11).",
    no_args_is_help=True,
)
app.add_typer(card_app, name="card")


def _said(op: Operator) -> None:
    state = "active" if op.active else ("locked" if op.locked else "inactive")
    console.print(f"{op.username} ({op.full_name}, {op.role}): {state}")


@app.command("add")
@handle_errors
def add(
    username: str = typer.Argument(...),
    full_name: str = typer.Option(..., "--name", help="The operator's full name."),
    role: str = typer.Option(..., help="clerk, supervisor, auditor or administrator."),
    trained_on: str | None = typer.Option(None, help="Date of security training (R13)."),
    pledge_on: str | None = typer.Option(None, help="Date the confidentiality pledge was signed."),
    operator: str | None = OperatorOption,
) -> None:
    """Create an account. New password: prompt or JUKINET_NEW_PASSWORD."""
    with register() as store:
        session = login(store, operator)
        password = password_from_env_or_prompt("JUKINET_NEW_PASSWORD", "New password", True)
        op = staff.add(
            store,
            session,
            username=username,
            full_name=full_name,
            role=parse_role(role),
            password=password,
            trained_on=day(trained_on) if trained_on else None,
            pledge_signed_on=day(pledge_on) if pledge_on else None,
        )
    _said(op)


@app.command("train")
@handle_errors
def train(
    username: str,
    on: str = typer.Option(..., help="Training date"),
    operator: str | None = OperatorOption,
) -> None:
    """Record an operator's security training (R13)."""
    with register() as store:
        _said(staff.record_training(store, login(store, operator), username, day(on)))


@app.command("pledge")
@handle_errors
def pledge(
    username: str,
    on: str = typer.Option(..., help="Signing date"),
    operator: str | None = OperatorOption,
) -> None:
    """Record an operator's signed confidentiality pledge (R10)."""
    with register() as store:
        _said(staff.record_pledge(store, login(store, operator), username, day(on)))


@app.command("unlock")
@handle_errors
def unlock(username: str, operator: str | None = OperatorOption) -> None:
    """Unlock an account locked after wrong passwords."""
    with register() as store:
        _said(staff.unlock(store, login(store, operator), username))


@app.command("lock")
@handle_errors
def lock(username: str, operator: str | None = OperatorOption) -> None:
    """Lock an account (e.g. an operator who left)."""
    with register() as store:
        _said(staff.lock(store, login(store, operator), username))


@app.command("passwd")
@handle_errors
def passwd(username: str, operator: str | None = OperatorOption) -> None:
    """Set an operator's password (JUKINET_NEW_PASSWORD or prompt)."""
    with register() as store:
        session = login(store, operator)
        password = password_from_env_or_prompt("JUKINET_NEW_PASSWORD", "New password", True)
        _said(staff.set_password(store, session, username, password))


@app.command("list")
@handle_errors
def list_operators(operator: str | None = OperatorOption) -> None:
    """Every account of this node."""
    with register() as store:
        found = staff.list_all(store, login(store, operator))
    t = Table(title="operators")
    for col in ("user", "name", "role", "trained", "pledge", "state"):
        t.add_column(col)
    for op in found:
        t.add_row(
            op.username, op.full_name, op.role.value, str(op.trained_on or "—"),
            str(op.pledge_signed_on or "—"),
            "active" if op.active else ("locked" if op.locked else "inactive"),
        )  # fmt: skip
    console.print(t)


@card_app.command("issue")
@handle_errors
def card_issue(
    username: str = typer.Argument(..., help="The operator who gets the card."),
    out: Path = typer.Option(..., "--out", help="The card image to write (must not exist)."),
    operator: str | None = OperatorOption,
) -> None:
    """Issue an operator card certified by this node and bind it to the account; a card
    issued before is revoked. Writes the image and its chip key (FILE.key)."""
    from jukinet.card.operator_card import check_free, write_operator_card

    check_free(out)
    with register() as store:
        card = staff.issue_card(store, login(store, operator), username)
    written = write_operator_card(out, card)
    console.print(
        f"Operator card of {username} written to {written[0]} (chip key {written[1]}); "
        f"serve it with: jukinet card serve {written[0]} --slot 1",
        soft_wrap=True,
    )


@card_app.command("revoke")
@handle_errors
def card_revoke(
    username: str = typer.Argument(..., help="The operator whose card is revoked."),
    operator: str | None = OperatorOption,
) -> None:
    """Revoke an operator's card: it signs no one in any more."""
    with register() as store:
        staff.revoke_card(store, login(store, operator), username)
    console.print(f"The operator card of {username} is revoked.")
