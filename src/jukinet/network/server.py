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
import signal
import socket
import ssl
from collections.abc import Callable
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from jukinet.network.server_protocol import TransportLimits, front_protocol
from jukinet.network.tls import load_crl

__all__ = ["WORKER_ENV", "TransportLimits", "build_server", "serve", "serve_async", "serve_workers"]

WORKER_ENV = "JUKINET_WORKER"  # which of a node's server processes this is ("0": the first)

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
        # Nodes are reached directly, never through a proxy: uvicorn's default trusts
        # X-Forwarded-For from 127.0.0.1, which would let a caller on this host name
        # another source for the security log and the IDS rules.
        proxy_headers=False,
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


def serve_workers(
    make_app: Callable[[], FastAPI],
    workers: int,
    *,
    host: str,
    port: int,
    cert_path: Path,
    key_path: Path,
    ca_path: Path,
) -> int:
    """Serve with ``workers`` processes accepting on one listening socket, until SIGTERM or
    SIGINT; the exit status (non-zero if a worker failed).

    This process binds the socket and forks the workers (before any thread or event loop
    is started here); each builds its own app (``make_app``: its own database
    connections, provision writer and event loop) and serves the inherited socket, the
    kernel handing each new connection to one of them. ``WORKER_ENV`` tells each which
    it is: the first runs the node's background jobs. SIGTERM and SIGINT go on to every
    worker, which finishes its requests in flight; if one worker stops, the others are
    stopped too (the node is one service: its operators restart it whole).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    children: list[int] = []
    for index in range(workers):
        pid = os.fork()
        if pid == 0:  # the worker
            status = 1
            try:
                os.environ[WORKER_ENV] = str(index)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                server = build_server(
                    make_app(), host=host, port=port, cert_path=cert_path,
                    key_path=key_path, ca_path=ca_path,
                )  # fmt: skip
                server.run(sockets=[sock])
                status = 0
            except BaseException:
                logging.getLogger("jukinet.node").exception("worker %d stopped on an error", index)
            finally:
                os._exit(status)
        children.append(pid)
    sock.close()

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    running, failed = set(children), False
    while running:
        pid, status = os.wait()
        running.discard(pid)
        if status != 0 and not failed and running:
            failed = True
            logging.getLogger("jukinet.node").error(
                "a worker process stopped (status %d): stopping the others", status
            )
            forward(signal.SIGTERM, None)
        failed = failed or status != 0
    return 1 if failed else 0


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
