"""The ``jukinet`` command."""

from __future__ import annotations

from pathlib import Path

import typer

from jukinet.cli import (
    agency_cmd,
    audit_cmd,
    code_cmd,
    event_cmd,
    network_cmd,
    operator_cmd,
    register_cmd,
    resident_cmd,
)
from jukinet.cli._common import DEFAULT_HOME, HOME_ENV, state

app = typer.Typer(
    name="jukinet",
    help="jukinet: a municipality's resident register on a national resident-register network.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _main(
    home: Path = typer.Option(
        DEFAULT_HOME, "--home", envvar=HOME_ENV, help="The node's folder (node.toml, key, data)."
    ),
) -> None:
    state.home = home


app.add_typer(code_cmd.app, name="code")
app.add_typer(register_cmd.app, name="register")
app.add_typer(operator_cmd.app, name="operator")
app.add_typer(resident_cmd.app, name="resident")
app.add_typer(resident_cmd.household_app, name="household")
app.add_typer(event_cmd.app, name="event")
app.add_typer(audit_cmd.app, name="audit")
app.add_typer(register_cmd.pool_app, name="pool")
app.add_typer(network_cmd.app, name="network")
app.add_typer(agency_cmd.app, name="agency")
app.add_typer(network_cmd.pki_app, name="pki")
app.add_typer(network_cmd.node_app, name="node")
app.command("seed")(register_cmd.seed)
app.command("demo")(network_cmd.demo)
register_cmd.app.command("demo")(register_cmd.demo)


def main() -> None:
    app()
