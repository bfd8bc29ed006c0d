"""The node's connections: a TLS front that knows the peer, and uvicorn's httptools protocol
with the node's limits (R7).

uvicorn hands the listening socket's TLS to the event loop, which runs the handshake where
no code of the node sees the peer's address (uvloop's TLS is compiled code; the node's
``ssl.SSLObject`` hook found it only in asyncio's Python frames). So the server listens on
plain TCP and each connection starts in ``TLSFront``: a source an IDS rule blocked is
closed before any handshake; otherwise the loop's own TLS protocol takes the connection,
and a failed handshake is logged with its source, on ``jukinet.security`` and in the
node's security log. The HTTP protocol then gets the TLS transport, exactly as from the
loop's own TLS server.

``Guarded`` is uvicorn's ``HttpToolsProtocol`` (llhttp) with a connection cap, a deadline
for each request head, eviction of idle connections and a cap on the head's size (llhttp
has no such setting, unlike h11's ``max_incomplete_event_size``: it is counted here), and
it puts the peer certificate's subject into the ASGI scope (``extensions["tls"]``).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import ssl
import time
from asyncio import sslproto
from dataclasses import dataclass
from typing import Any

import uvloop
import uvloop.loop as uvloop_loop
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from jukinet.network.seclog import SecurityLog, subject_text

__all__ = ["TransportLimits", "front_protocol"]

security_log = logging.getLogger("jukinet.security")

# The request line's method, spaces and version, and each header's ": " and CRLF, which
# the parser's callbacks do not hand over: added to the head's size as they are counted.
_LINE_OVERHEAD = 20
_HEADER_OVERHEAD = 4


@dataclass(frozen=True)
class TransportLimits:
    """What one node gives a connection before any signature is seen (R7).

    ``max_connections`` open at once (a new one beyond closes the oldest connection
    that has no request in flight, or is itself refused when all are busy);
    ``head_seconds`` for the TLS handshake and for a complete request head after the
    handshake or the last answer (idle and slow-header connections are closed);
    ``keep_alive_seconds`` between requests; ``max_head_bytes`` of request head; the
    body's own limit and timeout are the peer check's (``network/gate.py``).
    """

    max_connections: int = 128
    head_seconds: float = 10.0
    keep_alive_seconds: int = 5
    max_head_bytes: int = 16 * 1024


class Guarded(HttpToolsProtocol):
    """uvicorn's httptools protocol with a connection cap, a deadline and a size cap for
    each request head, and the peer certificate's subject in the ASGI scope."""

    limits: TransportLimits = TransportLimits()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._opened = time.monotonic()
        self._requests = 0
        self._heads = 0  # request heads the parser completed
        self._awaiting_head = True  # no request head complete since the last request
        self._head_fed = 0  # bytes fed to the parser while awaiting a head
        self._head_size = 0  # the head's own bytes, as the parser's callbacks hand them
        super().connection_made(transport)
        # The peer certificate's subject, for the security log (tls.client.subject).
        ssl_object = transport.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object else None
        self._tls: dict[object, object] = {
            "client_subject": subject_text(ssl_object.getpeercert()) if ssl_object else None,
            # Which certificate it was, kept with each provision's signed request (R14).
            "client_cert_sha256": hashlib.sha256(der).hexdigest() if der else None,
        }
        limits = self.limits
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
        self.loop.call_later(self.limits.head_seconds, self._head_deadline, self._requests)

    def _head_deadline(self, seen: int) -> None:
        if self._requests == seen and not self.transport.is_closing():
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        awaiting, heads = self._awaiting_head, self._heads
        super().data_received(data)
        if awaiting and self._heads == heads and not self.transport.is_closing():
            # Still no complete head: everything fed since the last one is head.
            self._head_fed += len(data)
            if self._head_fed > self.limits.max_head_bytes:
                self._head_too_large()

    def _head_too_large(self) -> None:
        self.logger.warning("Request head larger than %d bytes.", self.limits.max_head_bytes)
        self.send_400_response("Invalid HTTP request received.")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_size = _LINE_OVERHEAD

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        self._head_size += len(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        super().on_header(name, value)
        self._head_size += len(name) + len(value) + _HEADER_OVERHEAD

    def on_headers_complete(self) -> None:
        self._awaiting_head = False
        self._heads += 1
        self._head_fed = 0
        if self._head_size > self.limits.max_head_bytes:
            # Raised in a parser callback: uvicorn answers 400 and closes the connection.
            self.logger.warning("Request head larger than %d bytes.", self.limits.max_head_bytes)
            raise ValueError("request head too large")
        self._requests += 1
        self.scope["extensions"] = {"tls": self._tls}
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._awaiting_head = True

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()

    @property
    def idle(self) -> bool:
        """No request in flight and none begun."""
        return (self.cycle is None or self.cycle.response_complete) and (
            self._awaiting_head and self._head_fed == 0
        )


def _evict(connections: set[Any]) -> bool:
    idle = [c for c in connections if getattr(c, "idle", False)]
    if not idle:
        return False
    oldest = min(idle, key=lambda c: c._opened)
    oldest.transport.close()
    connections.discard(oldest)
    return True


class TLSFront(asyncio.Protocol):
    """A new TCP connection, handed to TLS at once (module docstring).

    What ``loop.start_tls`` does, done here synchronously in ``connection_made``: the
    loop's own TLS protocol (uvloop's, or asyncio's on any other loop) becomes the
    connection's protocol before its first byte is read, with the HTTP protocol as its
    application, which it tells of the connection once the handshake is done. The
    handshake's outcome comes back on a future, with the peer known here.
    """

    http_class: type[Guarded] = Guarded
    context: ssl.SSLContext
    security: SecurityLog | None = None

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.loop = _loop or asyncio.get_event_loop()
        self.http = self.http_class(config, server_state, app_state, self.loop)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        # (uvloop's TCPTransport is no subclass of asyncio.Transport, but is one in kind.)
        peer = _peer(transport)
        if self._blocked(peer):
            transport.close()
            return
        handshake: asyncio.Future[None] = self.loop.create_future()
        tls = _tls_protocol(self.loop)(
            self.loop,
            self.http,
            self.context,
            handshake,
            server_side=True,
            ssl_handshake_timeout=self.http.limits.head_seconds,
        )
        transport.set_protocol(tls)
        tls.connection_made(transport)
        handshake.add_done_callback(lambda done: self._handshaken(done, peer))

    def _blocked(self, peer: tuple[str, int] | None) -> bool:
        """A source an IDS rule blocked gets no handshake at all (R7)."""
        security = self.security
        engine = security.engine if security is not None else None
        if security is None or engine is None or peer is None:
            return False
        if engine.blocked("source.ip", peer[0]) is None:
            return False
        security.event("blocked", "failure", "A rule blocked this source.", source=peer)
        return True

    def _handshaken(self, done: asyncio.Future[None], peer: tuple[str, int] | None) -> None:
        exc = None if done.cancelled() else done.exception()
        if isinstance(exc, ssl.SSLError):
            # The loops log a failed handshake only in debug mode; uvicorn never sees it.
            reason = str(exc.reason or exc)
            security_log.warning("refused a TLS handshake: %s", reason)
            if self.security is not None:
                self.security.event("tls-handshake", "failure", reason, source=peer)
        # Any other failure (the peer went away, the handshake took too long) is no
        # refusal; the TLS protocol has closed the connection either way.


def _tls_protocol(loop: asyncio.AbstractEventLoop) -> Any:
    """The TLS protocol class of ``loop``: uvloop's own (compiled), else asyncio's."""
    if isinstance(loop, uvloop.Loop):
        return uvloop_loop.SSLProtocol  # type: ignore[attr-defined]  # (not in its stub)
    return sslproto.SSLProtocol


def _peer(transport: asyncio.BaseTransport) -> tuple[str, int] | None:
    peer = transport.get_extra_info("peername")
    if isinstance(peer, tuple) and len(peer) >= 2:
        return str(peer[0]), int(peer[1])
    return None


def front_protocol(
    limits: TransportLimits, context: ssl.SSLContext, security: SecurityLog | None
) -> type[TLSFront]:
    """The protocol class for uvicorn's ``http`` setting, bound to this server."""

    class Front(TLSFront):
        """This server's front: its HTTP class, limits, TLS context and log, set below."""

    Front.http_class = type("GuardedHttp", (Guarded,), {"limits": limits})
    Front.context = context
    Front.security = security
    return Front
