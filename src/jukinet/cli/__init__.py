"""The ``jukinet`` command.

Each command's module is imported only when that command runs (``_lazy``), so that
``jukinet code check`` or ``jukinet --help`` do not load the web server, the HTTP
client and the crypto stack that the network commands need.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from jukinet.cli._common import DEFAULT_HOME, DEFAULT_READER, HOME_ENV, READER_ENV, state
from jukinet.cli._lazy import LazyCommand, lazy_group


def _add_register_demo(register_cmd: Any) -> None:
    """``jukinet register demo`` is ``register_cmd.demo`` (added once per process)."""
    if not any(c.name == "demo" for c in register_cmd.app.registered_commands):
        register_cmd.app.command("demo")(register_cmd.demo)


COMMANDS: dict[str, LazyCommand] = {
    # name: the module in jukinet.cli, its attribute, and the help ``jukinet --help``
    # lists, which must be the command's own (tests/e2e/test_cli_startup.py checks).
    "seed": LazyCommand(
        "register_cmd",
        "seed",
        "Fill the register with coherent synthetic residents of this municipality.",
    ),
    "demo": LazyCommand(
        "network_cmd",
        "demo",
        "Create the demo network, fill every municipality with residents, and run it.",
    ),
    "code": LazyCommand("code_cmd", "app", "Check resident codes and local government codes."),
    "register": LazyCommand(
        "register_cmd",
        "app",
        "Create and inspect the municipality's register.",
        setup=_add_register_demo,
    ),
    "operator": LazyCommand("operator_cmd", "app", "Operator accounts (administrators only)."),
    "resident": LazyCommand("resident_cmd", "app", "Read residents' records (audited)."),
    "household": LazyCommand("resident_cmd", "household_app", "Read households (audited)."),
    "event": LazyCommand(
        "event_cmd", "app", "Record events at the window (clerks and supervisors)."
    ),
    "audit": LazyCommand("audit_cmd", "app", "Verify and read the audit log."),
    "pool": LazyCommand("register_cmd", "pool_app", "The pool of unused resident codes (R6)."),
    "network": LazyCommand("network_cmd", "app", "A whole network: init, up, status, reconcile."),
    "agency": LazyCommand("agency_cmd", "app", "Identity confirmation for an administrative body."),
    "pki": LazyCommand("network_cmd", "pki_app", "The network's certificates."),
    "emergency": LazyCommand(
        "emergency_cmd", "app", "The emergency stop: isolate, halt, resume (R9)."
    ),
    "jpki": LazyCommand(
        "jpki_cmd", "app", "The JPKI CA's CRL; verify a document signed with a card."
    ),
    "quarantine": LazyCommand(
        "quarantine_cmd", "app", "Refused identity updates held on this node."
    ),
    "card": LazyCommand("card_cmd", "app", "The resident card (R15–R19) and the card reader."),
    "card-agent": LazyCommand(
        "card_agent_cmd",
        "card_agent",
        "Let pages of the allowed sites use the card in this terminal's reader (127.0.0.1 only).",
    ),
    "copy": LazyCommand("copy_cmd", "app", "Copies of the resident record at the window."),
    "document": LazyCommand("copy_cmd", "document_app", "Check a signed copy of the record."),
    "move-out": LazyCommand(
        "moving_cmd",
        "move_out_app",
        "Moving with the card at the old municipality: the 付記転出届 (R21).",
    ),
    "move-in": LazyCommand(
        "moving_cmd",
        "move_in_app",
        "Moving with the card at the new municipality: the move-in with the card (R21).",
    ),
    "node": LazyCommand("network_cmd", "node_app", "Run this node (--home) as a network process."),
    "disclosure": LazyCommand(
        "disclosure_cmd", "app", "Check a disclosure answer; publish the provision log (R14)."
    ),
    "ids": LazyCommand("ids_cmd", "app", "Intrusion detection: alerts, the hotlist (R7)."),
    "web": LazyCommand("web_cmd", "app", "The network console (web)."),
    "portal": LazyCommand("portal_cmd", "app", "A municipality's resident portal (web)."),
    "window": LazyCommand("window_cmd", "app", "The municipality's window app (web)."),
    "report": LazyCommand("report_cmd", "app", "Reports for the advisory committee (R25)."),
    "identity": LazyCommand(
        "identity_cmd", "app", "Identity information of this node: load, retention."
    ),
}

app = typer.Typer(
    name="jukinet",
    help="jukinet: a municipality's resident register on a national resident-register network.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=lazy_group(COMMANDS),
)


@app.callback()
def _main(
    home: Path = typer.Option(
        DEFAULT_HOME, "--home", envvar=HOME_ENV, help="The node's folder (node.toml, key, data)."
    ),
    reader: str = typer.Option(
        DEFAULT_READER,
        "--reader",
        envvar=READER_ENV,
        help="The PC/SC reader holding the operator's card (R11).",
    ),
) -> None:
    state.home = home
    state.reader = reader


def main() -> None:
    app()
