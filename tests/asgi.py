"""What the tests that drive a node's real app with signed requests share: a network
made by ``network init``, and one request through the whole ASGI app, in process.

``headers`` are sent as given (lower-cased); ``host`` is the name the signed URL uses.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jukinet.network.layout import NetworkLayout


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def media_type(self) -> str:
        return self.headers.get("content-type", "")


async def call(
    app: Any,
    method: str,
    target: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    host: str = "national",
    scheme: str = "https",
) -> Answer:
    path, _, query = target.partition("?")
    scope = {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1", "method": method, "scheme": scheme, "path": path,
        "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
        "headers": [(b"host", host.encode()),
                    *((k.lower().encode(), v.encode()) for k, v in (headers or {}).items())],
        "server": (host, 443), "client": ("127.0.0.1", 5000),
    }  # fmt: skip
    chunks = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if chunks:
            return chunks.pop()
        await asyncio.Event().wait()  # the app waits for a disconnect that never comes
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = sent[0]
    answered = {k.decode(): v.decode() for k, v in start.get("headers", [])}
    return Answer(start["status"], answered, b"".join(m.get("body", b"") for m in sent[1:]))


def network_init(root: Path, topology: str) -> NetworkLayout:
    """``jukinet network init`` of ``topology`` (TOML text) into ``root/net``, by the
    installed command, as an operator makes a network; its layout."""
    (root / "topology.toml").write_text(topology)
    made = subprocess.run(
        [str(Path(sys.executable).with_name("jukinet")), "network", "init",
         "--topology", str(root / "topology.toml"), "--dir", str(root / "net")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    return NetworkLayout(root / "net")
