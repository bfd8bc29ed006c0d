"""A server and an agency on one test CA, over real mutual TLS: a national node's
certificate for the server, an agency's for the client."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from jukinet.network import pki
from jukinet.network.client import NodeIdentity
from jukinet.network.server import serve_async
from jukinet.network.topology import free_port_block


def identities(folder: Path) -> tuple[NodeIdentity, NodeIdentity]:
    """``(server, agency)``: ``national:000000`` and ``agency:onkyu``, in ``folder``."""
    ca = pki.create_ca("demo")
    for role, code in (("national", "000000"), ("agency", "onkyu")):
        key, cert = pki.issue_certificate(ca, role, code, ["127.0.0.1"])
        pki.write_identity(folder / role, key, cert, ca.cert)
    return (
        NodeIdentity.in_folder("national:000000", folder / "national"),
        NodeIdentity.in_folder("agency:onkyu", folder / "agency"),
    )


@asynccontextmanager
async def serving(app: Any, server: NodeIdentity) -> AsyncIterator[str]:
    """Serve ``app`` over mTLS on a free port of 127.0.0.1 below the ephemeral range
    (``free_port_block``), bound here and handed to the server; its URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    for attempt in range(20):  # another process may take the port between check and bind
        try:
            sock.bind(("127.0.0.1", free_port_block(1)))
            break
        except OSError:
            if attempt == 19:
                raise
    sock.listen()
    stop = asyncio.Event()
    task = asyncio.create_task(
        serve_async(app, host="127.0.0.1", port=sock.getsockname()[1],
                    cert_path=server.cert_path, key_path=server.key_path,
                    ca_path=server.ca_path, sockets=[sock], stop=stop)
    )  # fmt: skip
    try:
        yield f"https://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        stop.set()
        await task
