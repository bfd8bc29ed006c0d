"""``jukinet portal``: a municipality's resident portal (docs/ui.md, "The resident portal").

``portal serve`` serves it on the node's ``network.portal_port`` (``network up`` starts it
beside each municipality node); residents sign in with their card through the
terminal's card agent (``jukinet card-agent --allow-origin <the portal's origin>``).
"""

from __future__ import annotations

from pathlib import Path

import typer

from jukinet import config
from jukinet.cli._common import handle_errors, state
from jukinet.errors import ConfigurationError

app = typer.Typer(no_args_is_help=True, help="A municipality's resident portal (web).")


@app.command("serve")
@handle_errors
def serve() -> None:
    """Serve the resident portal of this municipality node (--home) on its HTTPS port."""
    from jukinet.web.portal.app import serve_portal

    serve_portal(state.home)


def portal_url(home: Path) -> str | None:
    """Where the portal of the node at ``home`` is, if it has one."""
    try:
        net = config.load(home).network
    except ConfigurationError:
        return None
    if net is None or net.portal_port is None:
        return None
    return f"https://{net.portal_host}:{net.portal_port}/"
