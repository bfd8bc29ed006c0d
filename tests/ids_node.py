"""A node's TLS front run inside a network namespace (tests/netns.py), for fail2ban.

``python -m tests.ids_node FOLDER HOST PORT LOG``: serves over mTLS (the identity in
FOLDER) with a security log at LOG and the default IDS rules; prints ``ready`` once
the socket listens. Every failed handshake is a line of LOG with its source.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path

from fastapi import FastAPI

from jukinet.network.ids import DEFAULT_RULES, Engine, parse_rules
from jukinet.network.seclog import SecurityLog
from jukinet.network.server import serve_async


async def main(folder: Path, host: str, port: int, log: Path) -> None:
    app = FastAPI(openapi_url=None)
    rules, hours = parse_rules(DEFAULT_RULES)
    app.state.security = SecurityLog("prefecture:130001", log, Engine(rules, hours))
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen()
    print("ready", flush=True)
    await serve_async(
        app, host=host, port=port, cert_path=folder / "node.pem", key_path=folder / "node.key",
        ca_path=folder / "ca.pem", sockets=[sock],
    )  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])))
