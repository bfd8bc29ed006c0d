"""The server side of the network's security for FastAPI: who is calling, and may they.

Who may call an endpoint is a row of the endpoint table (``network/endpoints.py``);
a route only asks for its verified caller::

    @app.post("/updates")
    async def updates(batch: UpdateBatch, peer: Caller) -> UpdateAck: ...

``serve_endpoints`` tells the app which node it is (kind, node id) and which table
admits its callers; ``check_endpoints`` refuses, at app creation, a route without
a row, a row without a route, and a route that does not ask for its caller.
The app keeps its current ``DirectoryView`` in ``app.state.directory`` and a
``ReplayCache`` in ``app.state.replay``. Optional: ``app.state.authority``
(``"host:port"``) pins the authority a request must have been signed for;
without it the Host header is used, and its port must be the port the request
arrived on, so that a request signed for one node cannot be replayed to another.
Every refusal is one line on the ``jukinet.security`` logger and an RFC 9457
``application/problem+json`` body (see :func:`install_problem_handlers`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Annotated, Any, NoReturn

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, APIRouter
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute
from yarl import URL

from jukinet.errors import (
    AccessDenied,
    ConfigurationError,
    EventRefused,
    InvalidInput,
    JukinetError,
    NotFound,
    PoolExhausted,
    SignatureRefused,
)
from jukinet.network.directory import DirectoryView
from jukinet.network.endpoints import ENDPOINTS, Endpoint, EndpointTable, Role, Scope
from jukinet.network.messages import Problem
from jukinet.network.signatures import ReplayCache, verify_request

__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "Caller",
    "Peer",
    "caller",
    "check_endpoints",
    "install_problem_handlers",
    "problem_type",
    "serve_endpoints",
]

PROBLEM_MEDIA_TYPE = "application/problem+json"
security_log = logging.getLogger("jukinet.security")
network_log = logging.getLogger("jukinet.network")


@dataclass(frozen=True)
class Peer:
    """The verified caller of a request."""

    node_id: str
    role: str
    code: str


def problem_type(code: str) -> str:
    """The RFC 9457 ``type`` URI for a jukinet error code."""
    return f"urn:jukinet:problem:{code}"


def _problem(status: int, code: str, detail: str) -> Problem:
    return Problem(
        type=problem_type(code), title=HTTPStatus(status).phrase, status=status, detail=detail
    )


def _refuse(request: Request, keyid: str | None, status: int, code: str, reason: str) -> NoReturn:
    security_log.warning(
        "refused %s %s from %s: %s",
        request.method,
        request.url.path,
        keyid or "an unidentified caller",
        reason,
        extra={"peer": keyid, "path": request.url.path, "reason": reason, "status": status},
    )
    raise HTTPException(status, detail=_problem(status, code, reason).model_dump())


def _addressed_url(request: Request) -> tuple[str | None, str]:
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


async def caller(request: Request) -> Peer:
    """A FastAPI dependency: the verified, active caller the endpoint table admits here.

    The route's row is found by this node's kind, the method and the route's path
    template; the signature is verified, then the row's roles and, where the
    directory can tell, its scope (a municipality calls its own prefecture only).
    """
    row = _row_of(request)
    directory: DirectoryView = request.app.state.directory
    replay: ReplayCache = request.app.state.replay
    body = await request.body()
    url, why = _addressed_url(request)
    if url is None:
        _refuse(request, None, 401, "signature-refused", why)
    try:
        keyid = verify_request(
            request.method,
            url,
            request.headers,
            body,
            directory.public_key,
            replay,
            window=getattr(request.app.state, "signature_window", 30.0),
        )
    except SignatureRefused as exc:
        _refuse(request, exc.keyid, exc.status, exc.code, exc.reason)
    entry = directory.lookup(keyid)
    if entry is None:  # verify_request found its key a moment ago; never expected
        _refuse(request, keyid, 403, "signature-refused", f"{keyid} is not in the directory.")
    if entry.role not in row.roles:
        _refuse(
            request,
            keyid,
            403,
            "role-not-allowed",
            f"role {entry.role} may not call {request.method} {request.url.path}",
        )
    if row.scope is not Scope.ANY_NODE:
        here = directory.lookup(request.app.state.node_id)
        if here is None or not row.admits(entry, here):
            _refuse(
                request,
                keyid,
                403,
                "outside-scope",
                f"{entry.node_id} may not call {request.method} {request.url.path} on "
                f"{request.app.state.node_id}: {row.callers}.",
            )
    return Peer(entry.node_id, entry.role, entry.code)


Caller = Annotated[Peer, Depends(caller)]


def _row_of(request: Request) -> Endpoint:
    table: EndpointTable = request.app.state.endpoints
    route = request.scope.get("route")
    path = getattr(route, "path", request.url.path)
    row = table.row(request.app.state.node_kind, request.method, path)
    if row is None:  # check_endpoints refused such an app at creation; never expected
        _refuse(request, None, 403, "role-not-allowed", f"{request.method} {path} has no row.")
    return row


def serve_endpoints(
    app: FastAPI, kind: str, node_id: str, table: EndpointTable = ENDPOINTS
) -> None:
    """Make ``app`` the node ``node_id`` of ``kind``, its callers admitted by ``table``."""
    app.state.node_kind = Role(kind)
    app.state.node_id = node_id
    app.state.endpoints = table


def check_endpoints(app: FastAPI) -> FastAPI:
    """``app``, once every route has its row and checks its caller, and every row its route.

    Raises ConfigurationError (at app creation, before anything is served) otherwise.
    """
    kind: Role = app.state.node_kind
    table: EndpointTable = app.state.endpoints
    served: set[tuple[str, str]] = set()
    wrong: list[str] = []
    for route in _routes(app.routes, wrong):
        for method in sorted(route.methods or ()):
            served.add((method, route.path))
            if table.row(kind, method, route.path) is None:
                wrong.append(f"{method} {route.path} has no row in the endpoint table")
        if not _checks_caller(route.dependant):
            wrong.append(f"{route.path} does not check its caller (peer: Caller)")
    wrong += [
        f"{row} has no route" for row in table.of_kind(kind) if (row.method, row.path) not in served
    ]
    if wrong:
        raise ConfigurationError(
            f"The {kind} node's endpoints disagree with network/endpoints.py: {'; '.join(wrong)}."
        )
    return app


def _routes(routes: Iterable[BaseRoute], wrong: list[str]) -> Iterator[APIRoute]:
    """The API routes, those of included routers too (included without a prefix: a
    request finds its row by the path its route declares)."""
    for route in routes:
        included = getattr(route, "original_router", None)  # app.include_router(router)
        if isinstance(route, APIRoute):
            yield route
        elif isinstance(included, APIRouter):
            yield from _routes(included.routes, wrong)
        else:
            wrong.append(f"{getattr(route, 'path', type(route).__name__)} is not an API route")


def _checks_caller(dependant: Dependant) -> bool:
    return any(d.call is caller or _checks_caller(d) for d in dependant.dependencies)


# --- problem+json ---------------------------------------------------------------

_STATUS_OF: tuple[tuple[type[JukinetError], int], ...] = (
    (InvalidInput, 422),
    (NotFound, 404),
    (AccessDenied, 403),
    (EventRefused, 409),
    (PoolExhausted, 503),
    (ConfigurationError, 500),
)


def _problem_response(problem: Problem, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        problem.model_dump(),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


async def _http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail: Any = exc.detail
    if isinstance(detail, dict) and {"type", "title", "status", "detail"} <= set(detail):
        problem = Problem.model_validate(detail)
    else:
        problem = Problem(
            type="about:blank",
            title=HTTPStatus(exc.status_code).phrase,
            status=exc.status_code,
            detail=str(detail),
        )
    return _problem_response(problem, exc.headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(part) for part in first.get("loc", ()))
    detail = f"{where}: {first.get('msg', 'invalid')}" if where else "The request is not valid."
    return _problem_response(_problem(422, "invalid-input", detail))


async def _jukinet_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, JukinetError)
    status = next((s for kind, s in _STATUS_OF if isinstance(exc, kind)), 400)
    return _problem_response(_problem(status, exc.code, exc.message))


def install_problem_handlers(app: FastAPI) -> None:
    """Answer HTTP errors, invalid requests and JukinetErrors as problem+json (RFC 9457)."""
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(JukinetError, _jukinet_error)
