"""The card agent as a process: uvicorn on 127.0.0.1 only, without an access log.

There is no option to listen elsewhere: the agent is the terminal's own, and a page
reaches it from the browser on the same machine. The access log is off so that nothing
of a request is written anywhere (the PIN is in bodies only, never in a URL, but a log
of who asked what of the card is still the card's business alone).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import uvicorn

from jukinet.cardagent.app import make_app
from jukinet.cardagent.card import Card
from jukinet.cardagent.guard import check_origin
from jukinet.errors import CardAgentRefused

__all__ = ["HOST", "run"]

HOST = "127.0.0.1"


def run(
    port: int,
    origins: Sequence[str],
    reader: str | None = None,
) -> None:
    """Serve until interrupted (SIGINT or SIGTERM)."""
    if not origins:
        raise CardAgentRefused(
            "Name at least one page allowed to use the card: --allow-origin https://host[:port]."
        )
    allowed = [check_origin(o) for o in origins]
    app = make_app(Card(reader), port, allowed)
    config = uvicorn.Config(
        app,
        host=HOST,
        port=port,
        access_log=False,
        log_level=logging.WARNING,
        server_header=False,
        lifespan="off",
        ws="none",
    )
    uvicorn.Server(config).run()
