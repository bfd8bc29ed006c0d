"""What a node gives a connection before any signature is seen, over real mTLS (R7).

The server of ``network/server.py`` (httptools behind the node's TLS front) with small
``TransportLimits``: a request head over ``max_head_bytes`` gets 400 and the connection
closed, whether it came whole or never ends, while a body sent with its head is no head;
a connection that sends no head within ``head_seconds`` is closed; beyond
``max_connections`` the oldest idle connection makes room. On asyncio and on uvloop.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import uvloop
from fastapi import FastAPI, Request

from jukinet.network.client import NodeIdentity
from jukinet.network.server import TransportLimits, serve_async
from tests.mtls import identities

LIMITS = TransportLimits(max_connections=2, head_seconds=0.5, max_head_bytes=4096)
WAIT = 10.0  # seconds any answer may take on a busy machine (never a measured time)


def _app() -> FastAPI:
    app = FastAPI()

    @app.api_route("/echo", methods=["GET", "POST"])
    async def echo(request: Request) -> dict[str, object]:
        body = await request.body()
        tls = request.scope.get("extensions", {}).get("tls", {})
        return {"size": len(body), "subject": tls.get("client_subject")}

    return app


@asynccontextmanager
async def _serving(server: NodeIdentity, limits: TransportLimits) -> AsyncIterator[int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    port = sock.getsockname()[1]
    stop = asyncio.Event()
    task = asyncio.create_task(
        serve_async(_app(), host="127.0.0.1", port=port, cert_path=server.cert_path,
                    key_path=server.key_path, ca_path=server.ca_path, sockets=[sock],
                    stop=stop, limits=limits)
    )  # fmt: skip
    try:
        yield port
    finally:
        stop.set()
        await task


Scenario = Callable[[int, NodeIdentity], Awaitable[None]]


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[Scenario], None]:
    server, agency = identities(tmp_path)

    def go(scenario: Scenario, limits: TransportLimits = LIMITS) -> None:
        async def main() -> None:
            async with _serving(server, limits) as port:
                await scenario(port, agency)

        (uvloop.run if request.param == "uvloop" else asyncio.run)(main())

    return go


async def _connect(
    port: int, who: NodeIdentity
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port, ssl=who.tls_context())


async def _closed(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes the connection."""
    try:
        return await asyncio.wait_for(reader.read(-1), WAIT)
    except (ConnectionError, ssl.SSLError):
        return b""


def _head(extra: str = "", length: int = 0) -> bytes:
    lines = ["POST /echo HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {length}"]
    return ("\r\n".join(lines) + "\r\n" + extra + "\r\n").encode("latin-1")


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes
) -> bytes:
    writer.write(raw)
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    return head + await asyncio.wait_for(reader.readexactly(length), WAIT)


def test_a_head_over_the_limit_gets_400_and_the_connection_closed(run: Callable[..., None]) -> None:
    """R7: a complete head over max_head_bytes, and a header line that never ends."""

    async def scenario(port: int, agency: NodeIdentity) -> None:
        reader, writer = await _connect(port, agency)
        writer.write(_head(f"X-Big: {'a' * 5000}\r\n"))
        answer = await _closed(reader)
        assert answer.startswith(b"HTTP/1.1 400 ")
        writer.close()

        reader, writer = await _connect(port, agency)
        writer.write(b"GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Endless: ")
        for _ in range(5):
            writer.write(b"a" * 1024)
        answer = await _closed(reader)
        assert answer.startswith(b"HTTP/1.1 400 ")
        writer.close()

    run(scenario)


def test_a_body_sent_with_its_head_is_not_counted_as_head(run: Callable[..., None]) -> None:
    """R7: 20 KiB of body in the same write as a small head is a request, answered."""

    async def scenario(port: int, agency: NodeIdentity) -> None:
        reader, writer = await _connect(port, agency)
        body = b"b" * (20 * 1024)
        answer = await _exchange(reader, writer, _head(length=len(body)) + body)
        assert answer.startswith(b"HTTP/1.1 200 ")
        assert b'"size":20480' in answer
        assert b'"subject":"CN=agency:onkyu' in answer  # the TLS client subject in the scope
        # A second request on the same connection (kept alive) is counted afresh.
        answer = await _exchange(reader, writer, _head(f"X-Pad: {'p' * 3000}\r\n"))
        assert answer.startswith(b"HTTP/1.1 200 ")
        writer.close()

    run(scenario)


def test_a_connection_without_a_head_in_time_is_closed(run: Callable[..., None]) -> None:
    """R7: after the handshake, and after an answer, the head is due within head_seconds."""

    async def scenario(port: int, agency: NodeIdentity) -> None:
        reader, writer = await _connect(port, agency)
        assert await _closed(reader) == b""  # nothing sent: closed, without an answer
        writer.close()

        reader, writer = await _connect(port, agency)
        writer.write(b"GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # the head never ends
        assert await _closed(reader) == b""
        writer.close()

    run(scenario)


def test_beyond_max_connections_the_oldest_idle_one_is_closed(run: Callable[..., None]) -> None:
    """R7: a third connection (the limit is 2) closes the oldest idle one, and is served."""

    async def scenario(port: int, agency: NodeIdentity) -> None:
        first = await _connect(port, agency)
        second = await _connect(port, agency)
        await _exchange(*first, _head())  # both are open in the server
        await _exchange(*second, _head())
        third = await _connect(port, agency)
        answer = await _exchange(*third, _head())
        assert answer.startswith(b"HTTP/1.1 200 ")
        assert await _closed(first[0]) == b""  # the oldest was closed to make room
        answer = await _exchange(*second, _head())  # the other one is still served
        assert answer.startswith(b"HTTP/1.1 200 ")
        for _, writer in (first, second, third):
            writer.close()

    # A head deadline far off: only the cap closes a connection here.
    run(scenario, TransportLimits(max_connections=2, head_seconds=60, keep_alive_seconds=60))
