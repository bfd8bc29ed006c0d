"""Running a node's FastAPI app under uvicorn: HTTPS only, TLS 1.3, client certificate required.

uvicorn builds the TLS context from its own settings; this module asks for a
required client certificate of the network CA and then raises the minimum
protocol version to TLS 1.3 on the context uvicorn made. uvicorn itself stops
gracefully on SIGTERM and SIGINT (it finishes the requests in flight).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from jukinet.network.tls import load_crl

__all__ = ["build_server", "serve", "serve_async"]


def build_server(
    app: FastAPI,
    *,
    host: str,
    port: int,
    cert_path: Path,
    key_path: Path,
    ca_path: Path,
    crl_path: Path | None = None,
    graceful_seconds: float = 10.0,
) -> uvicorn.Server:
    """A uvicorn server for ``app``, configured and loaded, not yet started."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        ssl_certfile=str(cert_path),
        ssl_keyfile=str(key_path),
        ssl_ca_certs=str(ca_path),
        ssl_cert_reqs=ssl.CERT_REQUIRED,
        workers=1,
        # The node configures logging itself; uvicorn's dictConfig would replace it.
        log_config=None,
        timeout_graceful_shutdown=int(graceful_seconds),
        server_header=False,
    )
    config.load()
    assert config.ssl is not None  # the certificate file makes it an HTTPS config
    config.ssl.minimum_version = ssl.TLSVersion.TLSv1_3
    if crl_path is not None:
        load_crl(config.ssl, crl_path)
    return uvicorn.Server(config)


def serve(
    app: FastAPI,
    *,
    host: str,
    port: int,
    cert_path: Path,
    key_path: Path,
    ca_path: Path,
    crl_path: Path | None = None,
) -> None:
    """Serve until SIGTERM or SIGINT (in its own event loop)."""
    build_server(
        app,
        host=host,
        port=port,
        cert_path=cert_path,
        key_path=key_path,
        ca_path=ca_path,
        crl_path=crl_path,
    ).run()


async def serve_async(
    app: FastAPI,
    *,
    host: str,
    port: int,
    cert_path: Path,
    key_path: Path,
    ca_path: Path,
    crl_path: Path | None = None,
    sockets: list[socket.socket] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve in the running event loop; returns when the server has stopped.

    ``sockets`` are already bound, listening sockets to use instead of binding
    ``host:port`` (tests bind port 0 and read the port back; connections made
    before the server is up wait in the backlog). Setting ``stop`` shuts the
    server down gracefully, as SIGTERM does.
    """
    server = build_server(
        app,
        host=host,
        port=port,
        cert_path=cert_path,
        key_path=key_path,
        ca_path=ca_path,
        crl_path=crl_path,
    )

    async def stop_when_told(event: asyncio.Event) -> None:
        await event.wait()
        server.should_exit = True

    watcher = asyncio.create_task(stop_when_told(stop)) if stop is not None else None
    try:
        await server.serve(sockets=sockets)
    finally:
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
