"""``jukinet card-agent``: the terminal's card reader bridged to a web page (docs/card-agent.md).

Runs on the terminal with the reader, as the user at the terminal (a systemd user unit),
until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import typer

from jukinet.cli._common import console, handle_errors

DEFAULT_PORT = 47315
"""The port ``card-agent.js`` calls unless the page names another."""


@handle_errors
def card_agent(
    allow_origin: list[str] = typer.Option(
        ...,
        "--allow-origin",
        help="A page allowed to use the card, e.g. https://portal.example.jp (repeatable).",
    ),
    port: int = typer.Option(
        DEFAULT_PORT, "--port", min=1, max=65535, help="The port on 127.0.0.1 to listen on."
    ),
    reader: str | None = typer.Option(
        None,
        "--reader",
        envvar="JUKINET_CARD_READER",
        help="The PC/SC reader with the resident card (default: the first pcscd lists).",
    ),
) -> None:
    """Let pages of the allowed sites use the card in this terminal's reader (127.0.0.1 only)."""
    from jukinet.cardagent.guard import check_origin
    from jukinet.cardagent.server import HOST, run

    allowed = [check_origin(o) for o in allow_origin]
    console.print(f"card agent on http://{HOST}:{port} for {', '.join(allowed)}")
    run(port, allowed, reader)
