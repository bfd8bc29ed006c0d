"""Running a node's FastAPI app under uvicorn: HTTPS only, TLS 1.3, client certificate required.

uvicorn builds the TLS context from its own settings; this module asks for a
required client certificate of the network CA and then raises the minimum
protocol version to TLS 1.3 on the context uvicorn made. uvicorn itself stops
gracefully on SIGTERM and SIGINT (it finishes the requests in flight).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import ssl
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h11
import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.h11_impl import H11Protocol

from jukinet.network.seclog import SecurityLog, subject_text
from jukinet.network.tls import load_crl

__all__ = ["TransportLimits", "build_server", "serve", "serve_async"]

security_log = logging.getLogger("jukinet.security")


@dataclass(frozen=True)
class TransportLimits:
    """What one node gives a connection before any signature is seen (R7).

    ``max_connections`` open at once (a new one beyond closes the oldest connection
    that has no request in flight, or is itself refused when all are busy);
    ``head_seconds`` for a complete request head after the handshake or the last
    answer (idle and slow-header connections are closed); ``keep_alive_seconds``
    between requests; ``max_head_bytes`` of request head; the body's own limit and
    timeout are the peer check's (``network/gate.py``).
    """

    max_connections: int = 128
    head_seconds: float = 10.0
    keep_alive_seconds: int = 5
    max_head_bytes: int = 16 * 1024


class _LoggedHandshake(ssl.SSLObject):
    """An SSLObject that logs a failed server handshake on ``jukinet.security``
    (asyncio logs it only in debug mode; uvicorn never sees it), and as an ECS line
    in the node's security log (``security``, set by ``build_server``)."""

    security: SecurityLog | None = None
    _checked = False

    def do_handshake(self) -> None:
        if not self._checked:
            self._checked = True
            self._refuse_blocked()
        try:
            super().do_handshake()
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            raise
        except ssl.SSLError as exc:
            security_log.warning("refused a TLS handshake: %s", exc.reason or exc)
            if self.security is not None:
                self.security.event(
                    "tls-handshake", "failure", str(exc.reason or exc), source=_handshake_peer(1)
                )
            raise

    def _refuse_blocked(self) -> None:
        """A source an IDS rule blocked gets no handshake at all (R7): refused first."""
        engine = self.security.engine if self.security is not None else None
        if engine is None or self.security is None:
            return
        peer = _handshake_peer(1)
        if peer is not None and engine.blocked("source.ip", peer[0]) is not None:
            self.security.event("blocked", "failure", "A rule blocked this source.", source=peer)
            raise ssl.SSLError("blocked by an IDS rule")


def _handshake_peer(depth: int = 0) -> tuple[str, int] | None:
    """The address of the connection whose handshake is running, or None.

    An SSLObject does not know its socket; asyncio's SSLProtocol, which calls
    ``do_handshake`` (two frames up), does. Nothing public offers it, so it is read
    from that frame: the one place a failed handshake and its source meet.
    """
    frame = sys._getframe(2 + depth)
    for _ in range(3):
        owner = frame.f_locals.get("self")
        transport = getattr(owner, "_transport", None)
        if transport is not None:
            peer = transport.get_extra_info("peername")
            if isinstance(peer, tuple) and len(peer) >= 2:
                return str(peer[0]), int(peer[1])
        if frame.f_back is None:
            break
        frame = frame.f_back
    return None


def _guarded_protocol(limits: TransportLimits) -> type[H11Protocol]:
    class Guarded(H11Protocol):
        """uvicorn's h11 protocol with a connection cap and a deadline for each request head."""

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            self._opened = time.monotonic()
            self._requests = 0
            super().connection_made(transport)
            if len(self.connections) > limits.max_connections and not _evict(self.connections):
                security_log.warning(
                    "refused a connection from %s: %d connections busy (limit %d)",
                    self.client[0] if self.client else "?",
                    len(self.connections) - 1,
                    limits.max_connections,
                )
                transport.close()
                return
            self._arm()

        def _arm(self) -> None:
            seen = self._requests
            self.loop.call_later(limits.head_seconds, self._head_deadline, seen)

        def _head_deadline(self, seen: int) -> None:
            if self._requests == seen and not self.transport.is_closing():
                self.transport.close()

        def handle_events(self) -> None:
            before = self.cycle
            super().handle_events()
            if self.cycle is not before and self.cycle is not None:
                self._requests += 1
                # The peer certificate's subject, for the security log (tls.client.subject).
                ssl_object = self.transport.get_extra_info("ssl_object")
                subject = subject_text(ssl_object.getpeercert()) if ssl_object else None
                extensions = self.cycle.scope.setdefault("extensions", {})
                extensions["tls"] = {"client_subject": subject}

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm()

        @property
        def idle(self) -> bool:
            return (self.cycle is None or self.cycle.response_complete) and (
                self.conn.their_state is h11.IDLE
            )

    def _evict(connections: set[Any]) -> bool:
        idle = [c for c in connections if getattr(c, "idle", False)]
        if not idle:
            return False
        oldest = min(idle, key=lambda c: c._opened)
        oldest.transport.close()
        connections.discard(oldest)
        return True

    return Guarded


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
        http=_guarded_protocol(limits),
        # A backstop: the protocol's own cap closes connections beyond max_connections.
        limit_concurrency=limits.max_connections + 1,
        timeout_keep_alive=limits.keep_alive_seconds,
        h11_max_incomplete_event_size=limits.max_head_bytes,
    )
    config.load()
    assert config.ssl is not None  # the certificate file makes it an HTTPS config
    config.ssl.minimum_version = ssl.TLSVersion.TLSv1_3
    config.ssl.sslobject_class = type(
        "LoggedHandshake",
        (_LoggedHandshake,),
        {"security": getattr(getattr(app, "state", None), "security", None)},
    )
    if crl_path is not None:
        load_crl(config.ssl, crl_path)
    log_tls_secrets(config.ssl)
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
