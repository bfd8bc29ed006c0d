"""Running a node's FastAPI app under uvicorn: HTTPS only, TLS 1.3, client certificate required.

uvicorn builds the TLS context from its own settings; this module asks for a
required client certificate of the network CA and then raises the minimum
protocol version to TLS 1.3 on the context uvicorn made. The connections are
``server_protocol``'s: the handshake runs in the node's own TLS front (it knows the
peer's address for the security log and the IDS blocks), HTTP in uvicorn's httptools
(llhttp) protocol with the node's limits. ``serve`` runs the server on uvloop;
``serve_async`` on whatever loop is running (asyncio under the tests). uvicorn itself
stops gracefully on SIGTERM and SIGINT (it finishes the requests in flight).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import ssl
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from jukinet.network.server_protocol import TransportLimits, front_protocol
from jukinet.network.tls import load_crl

__all__ = ["TransportLimits", "build_server", "serve", "serve_async"]

security_log = logging.getLogger("jukinet.security")


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
    limits: TransportLimits | None = None,
) -> uvicorn.Server:
    """A uvicorn server for ``app``, configured and loaded, not yet started."""
    limits = limits or TransportLimits()
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
        http="httptools",  # replaced below by the TLS front over httptools
        ws="none",  # nodes speak plain HTTP requests only
        loop="uvloop",  # for serve(); serve_async runs on the caller's loop
        # A backstop: the protocol's own cap closes connections beyond max_connections.
        limit_concurrency=limits.max_connections + 1,
        timeout_keep_alive=limits.keep_alive_seconds,
    )
    config.load()
    context = config.ssl
    assert context is not None  # the certificate file makes it an HTTPS config
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    if crl_path is not None:
        load_crl(context, crl_path)
    # The listening socket is plain TCP: each connection's handshake runs in the TLS
    # front, which knows the peer (server_protocol.py), then HTTP over httptools.
    config.ssl = None
    security = getattr(getattr(app, "state", None), "security", None)
    config.http_protocol_class = front_protocol(limits, context, security)
    log_tls_secrets(context)
    return uvicorn.Server(config)


def log_tls_secrets(context: ssl.SSLContext) -> None:
    """With ``SSLKEYLOGFILE`` set, append each connection's TLS secrets to that file.

    A diagnostic, read once when the server is built: the variable OpenSSL-based tools
    and Python's own ``ssl.create_default_context`` honour (uvicorn builds a bare
    ``SSLContext``, which does not), in the NSS key log format that Wireshark and tshark
    decrypt a capture with (tests/e2e/r3.py records what reaches a node this way, R3).
    Whoever holds the file reads the node's traffic: never set it on a real node.
    """
    path = os.environ.get("SSLKEYLOGFILE")
    if path:
        context.keylog_filename = path
        security_log.warning(
            "SSLKEYLOGFILE is set: this node writes its TLS secrets to %s (a diagnostic; "
            "anyone with the file can read the node's traffic)", path,
        )  # fmt: skip


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
    limits: TransportLimits | None = None,
) -> None:
    """Serve in the running event loop; returns when the server has stopped.

    ``sockets`` are already bound, listening sockets to use instead of binding
    ``host:port`` (tests bind port 0 and read the port back; connections made
    before the server is up wait in the backlog). Setting ``stop`` shuts the
    server down gracefully, as SIGTERM does. ``limits`` defaults to TransportLimits().
    """
    server = build_server(
        app,
        host=host,
        port=port,
        cert_path=cert_path,
        key_path=key_path,
        ca_path=ca_path,
        crl_path=crl_path,
        limits=limits,
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
