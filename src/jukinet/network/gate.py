"""The peer check as ASGI middleware: every request is checked before its body is read.

``PeerGate`` runs in front of the FastAPI app (``peer.serve_endpoints`` installs it),
so it sees a request before FastAPI reads or validates the body (R7). For a request
to an endpoint of the table (``network/endpoints.py``) it checks, in this order:

1. from the headers alone: the URL the caller addressed, that Signature,
   Signature-Input and Content-Digest are there, that the claimed keyid is an active
   member of the directory whose role and scope the row admits, and that a declared
   Content-Length is within the row's ``max_body``;
2. the body, read as it streams in, counted (a chunked upload is cut off at
   ``max_body``) and bounded in time (``app.state.body_timeout`` seconds, a slow
   sender gets 408);
3. the signature over the headers and the body's Content-Digest.

While the network is stopped for this node (R9: its directory has expired, the
network is halted, this node or the caller is isolated) every request is refused
with 503 ``network-stopped``, except ``GET /directory`` and ``GET /health`` (a node
must always be able to fetch the fresh directory that restarts it) and the national
node's ``POST /emergency`` (operators must be able to resume).

Only then is the request passed on (the body given to the app as it was read),
with the verified ``Peer`` in its scope for the ``caller`` dependency. Every refusal
is one line on the ``jukinet.security`` logger, one ECS line in the node's security
log (``app.state.security``, ``network/seclog.py``; so are unknown paths and admitted
requests, and a source a rule blocked is refused first of all), and a problem+json answer that
closes the connection when body bytes are left unread (they are never read). A path that is no
endpoint goes on to the app, unread, for its 404 or 405.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from yarl import URL

from jukinet.errors import SignatureRefused
from jukinet.network.directory import DirectoryView
from jukinet.network.endpoints import Endpoint, EndpointTable
from jukinet.network.endpoints import Scope as Callers
from jukinet.network.hotlist import common_name, refusal_reason
from jukinet.network.messages import Problem
from jukinet.network.seclog import SecurityLog
from jukinet.network.signatures import ReplayCache, _claimed_keyid, verify_request
from jukinet.network.signed_request import SIGNED_KEY, SignedRequest

__all__ = [
    "BODY_TIMEOUT",
    "PEER_KEY",
    "PROBLEM_MEDIA_TYPE",
    "FastRoute",
    "Peer",
    "PeerGate",
    "problem",
]

PROBLEM_MEDIA_TYPE = "application/problem+json"
PEER_KEY = "jukinet.peer"  # where the gate leaves the verified caller in the ASGI scope
BODY_TIMEOUT = 30.0  # seconds a request body may take to arrive (app.state.body_timeout)
security_log = logging.getLogger("jukinet.security")


@dataclass(frozen=True)
class Peer:
    """The verified caller of a request."""

    node_id: str
    role: str
    code: str


def problem(status: int, code: str, detail: str) -> Problem:
    """An RFC 9457 problem for a jukinet error ``code``."""
    return Problem(
        type=f"urn:jukinet:problem:{code}",
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
    )


# A route's lean path (``app.state.fast_routes``, by (method, path template)): given the
# checked request, its caller, what it signed and its body, the answer, or None to
# let the app's own route (FastAPI: its validation and refusals) take the request.
FastRoute = Callable[["Request", "Peer", "SignedRequest", bytes], Awaitable["Response | None"]]


class Refusal(Exception):
    """A refused request: status, problem code, reason and the keyid it claimed."""

    def __init__(self, status: int, code: str, reason: str, keyid: str | None = None) -> None:
        super().__init__(reason)
        self.status, self.code, self.reason, self.keyid = status, code, reason, keyid


def log_refusal(method: str, path: str, refusal: Refusal) -> None:
    security_log.warning(
        "refused %s %s from %s: %s",
        method,
        path,
        refusal.keyid or "an unidentified caller",
        refusal.reason,
        extra={
            "peer": refusal.keyid,
            "path": path,
            "reason": refusal.reason,
            "status": refusal.status,
        },
    )


class PeerGate:
    """ASGI middleware: the peer check of every endpoint, before its body is read."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        security: SecurityLog | None = getattr(scope["app"].state, "security", None)
        seen = _Seen(request, security)
        # Whether a refusal leaves body bytes unread: then the connection is closed
        # rather than the rest read and thrown away.
        unread = "transfer-encoding" in request.headers or request.headers.get(
            "content-length", "0"
        ) not in ("", "0")
        blocked = seen.blocked(getattr(scope["app"].state, "directory", None))
        if blocked is not None:
            # A source a rule or the hotlist blocked is refused before anything else (R7).
            await _answer(scope, receive, send, Refusal(403, "blocked", blocked), unread)
            return
        row = _row_for(request)
        if row is None:
            seen.event("unknown-path", "failure", "No endpoint has this path.")
            await self.app(scope, receive, send)
            return
        arrived = time.time()
        try:
            keyid = _check_head(request, row)
            body = await _read_body(request, receive, row, keyid)
            unread = False
            scope[PEER_KEY], url = _verify(request, row, body, arrived)
            _bound(seen.subject, keyid)
            scope[SIGNED_KEY] = _signed(request, url, body, scope[PEER_KEY].node_id)
        except Refusal as refusal:
            log_refusal(request.method, request.url.path, refusal)
            seen.refused(refusal)
            await _answer(scope, receive, send, refusal, unread)
            return
        seen.event("request", "success", caller=scope[PEER_KEY].node_id)
        fast: FastRoute | None = getattr(scope["app"].state, "fast_routes", {}).get(
            (row.method, row.path)
        )
        if fast is not None:
            response = await fast(request, scope[PEER_KEY], scope[SIGNED_KEY], body)
            if response is not None:
                await response(scope, receive, send)
                return
        await self.app(scope, _replay(body, receive), send)


async def _answer(
    scope: Scope, receive: Receive, send: Send, refusal: Refusal, unread: bool = True
) -> None:
    answer = problem(refusal.status, refusal.code, refusal.reason)
    response = JSONResponse(
        answer.model_dump(),
        status_code=refusal.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers={"Connection": "close"} if unread else None,
    )
    await response(scope, receive, send)


def _action(refusal: Refusal) -> str:
    """The security-log action of a refusal (docs/ids.md)."""
    if refusal.code == "signature-refused":
        if "replay" in refusal.reason:
            return "replay"
        if "not an active member" in refusal.reason:
            return "peer-refused"
        return "signature"
    known = {
        "role-not-allowed": "peer-refused",
        "outside-scope": "outside-scope",
        "blocked": "blocked",
    }
    return known.get(refusal.code, "request-refused")


class _Seen:
    """One request as the security log sees it (source, certificate subject, path)."""

    def __init__(self, request: Request, security: SecurityLog | None) -> None:
        self.request, self.security = request, security
        client = request.scope.get("client")
        self.source = (str(client[0]), int(client[1])) if client else None
        tls = request.scope.get("extensions", {}).get("tls", {})
        self.subject: str | None = tls.get("client_subject")

    def blocked(self, directory: DirectoryView | None) -> str | None:
        """Why this request's source is refused outright, or None: the hotlist of the
        directory blocks its address or its certificate's node, or a rule here blocked
        its address (R7). The refusal is a security-log event."""
        address = self.source[0] if self.source else None
        node = common_name(self.subject)
        entry = None if directory is None else directory.blocked(address=address, node_id=node)
        if entry is not None:
            reason = refusal_reason(entry)
            self.event("blocked", "failure", reason, caller=node, code="hotlist")
            return reason
        engine = None if self.security is None else self.security.engine
        if engine is None or engine.blocked("source.ip", address) is None:
            return None
        self.event("blocked", "failure", "A rule blocked this source.")
        return "This source is blocked."

    def refused(self, refusal: Refusal) -> None:
        self.event(
            _action(refusal), "failure", refusal.reason, caller=refusal.keyid, code=refusal.code
        )

    def event(self, action: str, outcome: str, reason: str = "", **more: str | None) -> None:
        if self.security is None:
            return
        request = self.request
        self.security.event(
            action,
            outcome,
            reason,
            source=self.source,
            subject=self.subject,
            request_id=request.headers.get("x-request-id"),
            method=request.method,
            path=request.url.path,
            **more,  # type: ignore[arg-type]
        )


def _row_for(request: Request) -> Endpoint | None:
    """The row of the route this request goes to, or None (no such endpoint here)."""
    app: Any = request.scope["app"]
    table: EndpointTable = app.state.endpoints
    path = _route_path(app.router.routes, request.scope)
    return None if path is None else table.row(app.state.node_kind, request.method, path)


def _route_path(routes: Iterable[Any], scope: Scope) -> str | None:
    """The path template of the route that takes ``scope``, included routers too
    (``app.include_router(router)``, without a prefix, as ``peer.check_endpoints`` says)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            found = _route_path(included.routes, scope)
            if found is not None:
                return found
            continue
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return str(route.path)
    return None


def addressed_url(request: Request) -> tuple[str | None, str]:
    """The URL the caller addressed (as signed), or None and why it cannot be trusted."""
    raw_path = request.scope.get("raw_path") or request.url.path.encode("utf-8")
    # ASGI's raw_path has no query, but httpx's in-process ASGITransport puts it there.
    raw_path = raw_path.split(b"?", 1)[0]
    query = request.scope.get("query_string", b"")
    target = raw_path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
    authority: str | None = getattr(request.app.state, "authority", None)
    if authority is None:
        host = request.headers.get("host")
        if not host:
            return None, "The request names no Host."
        try:
            port = URL(f"https://{host}").port
        except ValueError:
            return None, f"The Host {host!r} is not a host name."
        server = request.scope.get("server")
        if server is not None and server[1] is not None and port != server[1]:
            return None, f"The request was addressed to {host}, not to this node."
        authority = host
    return f"https://{authority}{target}", ""


def _bound(subject: str | None, keyid: str) -> None:
    """A signed request must come over its signer's own TLS certificate: the caller is
    the node the handshake proved (its certificate's CN) and the one that signed, the
    same node. ``subject`` is None only where no TLS ran (an in-process ASGI client)."""
    if subject is None:
        return
    holder = common_name(subject)
    if holder != keyid:
        raise Refusal(
            403,
            "signature-refused",
            f"The request is signed by {keyid} but came over the TLS certificate of "
            f"{holder or 'no node'}; a node signs with its own certificate's identity.",
            keyid,
        )


def _check_head(request: Request, row: Endpoint) -> str:
    """The claimed keyid, once everything the headers alone can show is admissible."""
    headers = request.headers
    if "signature" not in headers or "signature-input" not in headers:
        raise Refusal(401, "signature-refused", "The request carries no signature.")
    keyid = _claimed_keyid(headers)
    if keyid is None:
        raise Refusal(401, "signature-refused", "The signature names no keyid.")
    if "content-digest" not in headers:
        raise Refusal(401, "signature-refused", "The request carries no Content-Digest.", keyid)
    _admit(request, row, keyid)
    declared = headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > row.max_body):
        raise Refusal(
            413,
            "body-too-large",
            f"The body of {request.method} {row.path} may be at most {row.max_body} bytes; "
            f"this one declares {declared}.",
            keyid,
        )
    return keyid


# What a node answers while its traffic is stopped (R9): the way back to a fresh directory.
# POST /emergency too: operators must be able to resume a halted network.
ALWAYS_OPEN = frozenset({("GET", "/directory"), ("GET", "/health"), ("POST", "/emergency")})


def _admit(request: Request, row: Endpoint, keyid: str) -> Peer:
    """The caller ``keyid`` as the row admits it here (role and scope), or a Refusal."""
    directory: DirectoryView = request.app.state.directory
    entry = directory.lookup(keyid)
    if entry is None:
        reason = f"{keyid} is not an active member of the network directory."
        raise Refusal(403, "signature-refused", reason, keyid)
    blocked = directory.blocked(node_id=entry.node_id)
    if blocked is not None:  # the hotlist blocks this node's certificate (R7)
        raise Refusal(403, "blocked", refusal_reason(blocked), keyid)
    if (row.method, row.path) not in ALWAYS_OPEN:
        stopped = directory.stop_reason(request.app.state.node_id, entry.node_id)
        if stopped is not None:
            raise Refusal(503, "network-stopped", stopped, keyid)
    path = request.url.path
    if entry.role not in row.roles:
        reason = f"role {entry.role} may not call {request.method} {path}"
        raise Refusal(403, "role-not-allowed", reason, keyid)
    if row.scope is not Callers.ANY_NODE:
        node_id = request.app.state.node_id
        here = directory.lookup(node_id)
        if here is None or not row.admits(entry, here):
            reason = (
                f"{entry.node_id} may not call {request.method} {path} on {node_id}: {row.callers}."
            )
            raise Refusal(403, "outside-scope", reason, keyid)
    return Peer(entry.node_id, entry.role, entry.code)


async def _read_body(request: Request, receive: Receive, row: Endpoint, keyid: str) -> bytes:
    """The whole body, never more than ``row.max_body`` bytes, within the body timeout."""
    timeout: float = getattr(request.app.state, "body_timeout", BODY_TIMEOUT)
    where = f"{request.method} {row.path}"
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise Refusal(400, "body-incomplete", f"The caller of {where} went away.")
                chunk: bytes = message.get("body", b"")
                size += len(chunk)
                if size > row.max_body:
                    reason = f"The body of {where} is longer than {row.max_body} bytes."
                    raise Refusal(413, "body-too-large", reason, keyid)
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
    except TimeoutError:
        reason = f"The body of {where} did not arrive within {timeout:g} s."
        raise Refusal(408, "body-timeout", reason, keyid) from None
    body = b"".join(chunks)
    chunks.clear()
    return body


def _verify(request: Request, row: Endpoint, body: bytes, arrived: float) -> tuple[Peer, str]:
    """The verified caller and the URL it signed: the signature (as of the moment the
    headers arrived) and the body's Content-Digest, then the row's role and scope for
    the verified keyid."""
    url, why = addressed_url(request)
    if url is None:
        raise Refusal(401, "signature-refused", why)
    directory: DirectoryView = request.app.state.directory
    replay: ReplayCache = request.app.state.replay
    try:
        keyid = verify_request(
            request.method,
            url,
            request.headers,
            body,
            directory.public_key,
            replay,
            window=getattr(request.app.state, "signature_window", 30.0),
            now=arrived,
        )
    except SignatureRefused as exc:
        raise Refusal(exc.status, exc.code, exc.reason, exc.keyid) from None
    return _admit(request, row, keyid), url


def _signed(request: Request, url: str, body: bytes, keyid: str) -> SignedRequest:
    """What the verified caller signed, kept with the provisions it asks for (R14)."""
    headers = request.headers
    directory: DirectoryView = request.app.state.directory
    key = directory.public_key(keyid)
    tls = request.scope.get("extensions", {}).get("tls", {})
    return SignedRequest(
        keyid=keyid,
        method=request.method,
        url=url,
        content_digest=headers["content-digest"],
        signature_input=headers["signature-input"],
        signature=headers["signature"],
        body=body,
        public_key=key.public_bytes_raw().hex() if key is not None else "",
        certificate=tls.get("client_cert_sha256"),
    )


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the app the body the gate read, then the connection's own."""
    given = False

    async def again() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again
