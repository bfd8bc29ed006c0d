"""The server side of the network's security for FastAPI: who is calling, and may they.

Who may call an endpoint is a row of the endpoint table (``network/endpoints.py``);
the check itself runs before the body is read, in ``network/gate.py`` (``PeerGate``,
installed by ``serve_endpoints``); a route only asks for its verified caller::

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
from http import HTTPStatus
from typing import Annotated, Any, NoReturn

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, APIRouter
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute

from jukinet.errors import (
    AccessDenied,
    ConfigurationError,
    EventRefused,
    InvalidInput,
    JukinetError,
    NotFound,
    PoolExhausted,
    StorageFull,
)
from jukinet.network.endpoints import ENDPOINTS, EndpointTable, Role
from jukinet.network.gate import (
    PEER_KEY,
    PROBLEM_MEDIA_TYPE,
    Peer,
    PeerGate,
    Refusal,
    log_refusal,
    problem,
)
from jukinet.network.messages import Problem
from jukinet.network.openapi import node_openapi

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

network_log = logging.getLogger("jukinet.network")
node_log = logging.getLogger("jukinet.node")


def problem_type(code: str) -> str:
    """The RFC 9457 ``type`` URI for a jukinet error code."""
    return problem(200, code, "").type


def _refuse(request: Request, keyid: str | None, status: int, code: str, reason: str) -> NoReturn:
    log_refusal(request.method, request.url.path, Refusal(status, code, reason, keyid))
    raise HTTPException(status, detail=problem(status, code, reason).model_dump())


async def caller(request: Request) -> Peer:
    """A FastAPI dependency: the caller the gate (``PeerGate``) verified for this request.

    The gate runs before FastAPI reads or validates the body, so an unsigned or
    refused caller never learns how a body would have been parsed. A request that
    did not pass the gate (an app without it) is refused: the check fails closed.
    """
    peer = request.scope.get(PEER_KEY)
    if not isinstance(peer, Peer):
        _refuse(request, None, 401, "signature-refused", "The request was not checked.")
    return peer


Caller = Annotated[Peer, Depends(caller)]


def serve_endpoints(
    app: FastAPI, kind: str, node_id: str, table: EndpointTable = ENDPOINTS
) -> None:
    """Make ``app`` the node ``node_id`` of ``kind``, its callers admitted by ``table``."""
    app.state.node_kind = Role(kind)
    app.state.node_id = node_id
    app.state.endpoints = table
    app.add_middleware(PeerGate)
    # The schema says every refusal too (network/openapi.py); it is built, never served.
    app.openapi = lambda: node_openapi(app)  # type: ignore[method-assign]


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
    (StorageFull, 507),  # Insufficient Storage: the caller may send it again later
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
    elif exc.status_code == 400:
        # FastAPI's own "There was an error parsing the body" (a JSON body that is not
        # UTF-8, say): refused as every other body the node cannot take, 422, with why.
        problem = _unparsable(exc.__cause__)
    else:
        problem = Problem(
            type="about:blank",
            title=HTTPStatus(exc.status_code).phrase,
            status=exc.status_code,
            detail=str(detail),
        )
    return _problem_response(problem, exc.headers)


def _unparsable(cause: BaseException | None) -> Problem:
    why = (
        f": it is not UTF-8 text (byte {cause.start + 1})"
        if isinstance(cause, UnicodeDecodeError)
        else ""
    )
    return problem(422, "invalid-input", f"The body is not JSON{why}.")


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(part) for part in first.get("loc", ()))
    detail = f"{where}: {first.get('msg', 'invalid')}" if where else "The request is not valid."
    return _problem_response(problem(422, "invalid-input", detail))


async def _jukinet_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, JukinetError)
    return error_response(request.method, request.url.path, exc)


def error_response(method: str, path: str, exc: JukinetError) -> JSONResponse:
    """The problem+json answer of a JukinetError (as the app's handler gives it)."""
    status = next((s for kind, s in _STATUS_OF if isinstance(exc, kind)), 400)
    if isinstance(exc, StorageFull):  # the node's operators must act: one line in its log
        node_log.error("could not write for %s %s: %s", method, path, exc)
    return _problem_response(problem(status, exc.code, exc.message))


def install_problem_handlers(app: FastAPI) -> None:
    """Answer HTTP errors, invalid requests and JukinetErrors as problem+json (RFC 9457)."""
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(JukinetError, _jukinet_error)
