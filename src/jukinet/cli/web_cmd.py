"""``jukinet web``: the national node's network console (docs/ui.md).

``web serve`` serves it (``network up`` starts it beside the national node);
``web enrol`` makes a console account for one of the national node's emergency
operators, seals their key under the password, and prints a one-time link through
which the operator registers their operator card (a WebAuthn authenticator).
"""

from __future__ import annotations

import secrets
from pathlib import Path

import typer

from jukinet import config
from jukinet.cli._common import console, handle_errors, state
from jukinet.keys import load_private_key
from jukinet.network.layout import NetworkLayout

app = typer.Typer(no_args_is_help=True, help="The network console (web).")


@app.command("serve")
@handle_errors
def serve() -> None:
    """Serve the network console of this national node (--home) on its own HTTPS port."""
    from jukinet.web.console.app import serve_console

    serve_console(state.home)


def enrol_operator(home: Path, operator: str, password: str | None) -> tuple[str, str]:
    """(password, link): the console account of ``operator`` (made, with their sealed
    emergency key, if new) and a fresh one-time link to register their card."""
    from jukinet.web.common.accounts import AccountFile
    from jukinet.web.common.sealed_key import seal
    from jukinet.web.console.app import ACCOUNTS_FILE, origin

    cfg = config.load(home)
    url, _ = origin(cfg)
    accounts = AccountFile(home / ACCOUNTS_FILE)
    account = accounts.get(operator)
    if account is None:
        password = password or secrets.token_urlsafe(12)
        key = load_private_key(NetworkLayout(home.parent.parent).operators / f"{operator}.key",
                               "operator's emergency key")  # fmt: skip
        account = accounts.create(operator, password)
        accounts.put(account.model_copy(update={"sealed_key": seal(key, password, operator)}))
    token = accounts.new_enrolment(operator)
    return password or "(unchanged)", f"{url}/enrol/{token}"


@app.command("enrol")
@handle_errors
def enrol(
    operator: str = typer.Argument(..., help="The operator, e.g. operator-1 (DIR/operators/)."),
    password: str | None = typer.Option(None, help="Their first password (default: made)."),
) -> None:
    """Make a one-time link for ``operator`` to register their operator card (24 h)."""
    chosen, link = enrol_operator(state.home, operator, password)
    console.print(f"{operator}: password {chosen}")
    console.print(f"Registration link (once, 24 h): {link}", soft_wrap=True)
