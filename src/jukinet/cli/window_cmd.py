"""``jukinet window``: a municipality's window app (docs/ui.md, "The window app").

``window serve`` serves it (``network up`` starts it beside the municipality node);
``window enrol`` prints a one-time link through which one of the register's operators
(``jukinet operator add``) registers their operator card (a WebAuthn authenticator).
Their password stays the register's.
"""

from __future__ import annotations

from pathlib import Path

import typer

from jukinet import config
from jukinet.cli._common import console, handle_errors, state

app = typer.Typer(no_args_is_help=True, help="The municipality's window app (web).")


@app.command("serve")
@handle_errors
def serve() -> None:
    """Serve the window app of this municipality node (--home) on its own HTTPS port."""
    from jukinet.web.window.app import serve_window

    serve_window(state.home)


def enrol_operator(home: Path, operator: str) -> str:
    """A fresh one-time link (24 h) for the register's ``operator`` to register a card."""
    from jukinet.audit import log as audit
    from jukinet.nodes.municipality.setup import open_register
    from jukinet.web.window.accounts import WindowAccounts
    from jukinet.web.window.app import origin

    url, _ = origin(config.load(home))
    store = open_register(home)
    try:
        token = WindowAccounts(home, store).new_enrolment(operator)
        store.audit_alone(audit.Draft("cli", "web.enrol.link", operator, audit.Outcome.OK,
                                      "one-time link to register an operator card"))  # fmt: skip
    finally:
        store.close()
    return f"{url}/enrol/{token}"


@app.command("enrol")
@handle_errors
def enrol(
    operator: str = typer.Argument(..., help="An operator of this register, e.g. clerk."),
) -> None:
    """Make a one-time link for ``operator`` to register their operator card (24 h)."""
    link = enrol_operator(state.home, operator)
    console.print(f"Registration link for {operator} (once, 24 h): {link}", soft_wrap=True)
