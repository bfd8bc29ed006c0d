"""``jukinet resident`` and ``household``: audited reads of the register (R12)."""

from __future__ import annotations

import typer

from jukinet.cli._common import OperatorOption, console, handle_errors, login, register
from jukinet.cli.render import history_lines, household_table, record_table
from jukinet.nodes.municipality import service

app = typer.Typer(help="Read residents' records (audited).", no_args_is_help=True)
household_app = typer.Typer(help="Read households (audited).", no_args_is_help=True)


@app.command("show")
@handle_errors
def show(code: str, operator: str | None = OperatorOption) -> None:
    """A resident's record, current or removed (除票)."""
    with register() as store:
        record = service.show_resident(store, login(store, operator), code)
    console.print(record_table(record))


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
