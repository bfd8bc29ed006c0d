"""The provision and disclosure endpoints of the national and prefecture nodes
(docs/network.md, "Endpoints"): each route parses, calls one use case of
``jukinet.nodes.identity.provision``, and renders its answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ValidationError
from starlette.responses import Response

from jukinet.domain.legal import LegalTable
from jukinet.domain.provision import MAX_BATCH_LINE
from jukinet.errors import JukinetError
from jukinet.network.gate import FastRoute, Peer
from jukinet.network.messages import (
    BatchFirstRow,
    DisclosureRequest,
    LookupRequest,
    LookupResponse,
    SearchRequest,
    SearchResponse,
    VerifyRequest,
    VerifyResponse,
)
from jukinet.network.messages_disclosure import ProvenDisclosure
from jukinet.network.openapi import (
    BATCH_ANSWER,
    BATCH_BODY,
    JsonLines,
    Responses,
    require_batch_media_type,
)
from jukinet.network.peer import Caller, error_response
from jukinet.network.signed_request import SIGNED_KEY, SignedRequest
from jukinet.nodes.identity import provision, provision_writer
from jukinet.nodes.identity.card_proof import CardEvidence
from jukinet.nodes.identity.store import IdentityStore

__all__ = ["CardSource", "body_lines", "fast_routes", "router"]

# What the use cases refuse themselves (network/openapi.py adds the peer check's refusals).
_NOT_SERVED = (
    "The legal table gives this agency no such affair or function, or another node serves "
    "it (R2, R5)."
)
REFUSED: Responses = {403: {"description": _NOT_SERVED}}
NOT_THEIRS: Responses = {
    403: {
        "description": "Only the resident's own municipality may ask, and a card proof "
        "must hold (R14)."
    }
}


def body_lines(body: bytes, limit: int = MAX_BATCH_LINE) -> Iterator[bytes]:
    """The lines of an uploaded file as bytes, split on ``\\n`` only, lazily.

    A line longer than ``limit`` bytes comes out cut to ``limit + 1`` bytes: enough
    for the parser to refuse it by its length (one row error), never a huge copy.
    Decoding is the parser's (``jukinet.domain.provision.batch_text``), per line, so
    bad UTF-8 or a NUL byte is one malformed row and the rows after it go on.
    """
    start, size = 0, len(body)
    while start < size:
        end = body.find(b"\n", start)
        stop = size if end < 0 else end
        yield body[start : min(stop, start + limit + 1)]
        start = stop + 1


# How a node gets what it verifies a card proof with (R14): the national node from its own
# CA and records, a prefecture from its home and the national node (docs/network.md).
CardSource = Callable[[DisclosureRequest], Awaitable[CardEvidence]]


def router(store: IdentityStore, table: LegalTable, card: CardSource | None = None) -> APIRouter:
    """The provision and disclosure endpoints (docs/network.md, "Endpoints").

    Lookups, verifies and searches are awaited from the store's provision writer, which
    commits them in groups and answers each once its group is committed
    (``provision_writer``); the rest run in a worker thread (a batch streams from one,
    chunk by chunk). The event loop never waits for the database (docs/architecture.md,
    "Routes and the event loop", "Group commit").
    """
    api = APIRouter()
    writer = store.provision_writer

    @api.post("/provision/lookup", responses=REFUSED)
    async def provision_lookup(
        req: LookupRequest, peer: Caller, request: Request
    ) -> LookupResponse:
        signed = request.scope.get(SIGNED_KEY)
        return await writer.run(provision.lookup_work(store, table, peer.code, req, signed))

    @api.post("/provision/verify", responses=REFUSED)
    async def provision_verify(
        req: VerifyRequest, peer: Caller, request: Request
    ) -> VerifyResponse:
        signed = request.scope.get(SIGNED_KEY)
        return await writer.run(provision.verify_work(store, table, peer.code, req, signed))

    @api.post("/provision/search", responses=REFUSED)
    async def provision_search(
        req: SearchRequest, peer: Caller, request: Request
    ) -> SearchResponse:
        signed = request.scope.get(SIGNED_KEY)
        return await writer.run(provision.search_work(store, table, peer.code, req, signed))

    @api.post(
        "/provision/batch",
        response_class=JsonLines,
        responses=REFUSED | BATCH_ANSWER,
        openapi_extra=BATCH_BODY,
    )
    async def provision_batch(
        request: Request,
        peer: Caller,
        affair: Annotated[str, Query()],
        first_row: Annotated[BatchFirstRow, Query()] = 1,
    ) -> JsonLines:
        require_batch_media_type(request)
        # The body is already in memory: the peer check verified its Content-Digest
        # before anything was done with it.
        lines = body_lines(await request.body())
        # Authorised (or refused) in a worker thread; the answer is then a sync iterator
        # of one block of JSON lines per chunk: Starlette runs it, and the database work
        # behind it, in a worker thread, off the event loop.
        blocks = await asyncio.to_thread(
            provision.batch_answer, store, table, peer.code, affair, lines, first_row
        )
        return JsonLines(blocks)

    @api.post("/disclosure", responses=NOT_THEIRS)
    async def provision_disclosure(req: DisclosureRequest, peer: Caller) -> ProvenDisclosure:
        # Only a municipality may call (network.endpoints); it asks about its residents.
        evidence = await card(req) if card is not None and req.card is not None else None
        return await asyncio.to_thread(provision.disclosure, store, table, req, peer.code, evidence)

    return api


# The lean path of the lookup, verify and search (network/gate.py, ``FastRoute``): the
# same use case and the same answer as the routes above, without Starlette's routing
# and FastAPI's dependency injection and response validation (about 40 % of a
# lookup's time on the event loop, bench/RESULTS.md). The routes above stay what the
# OpenAPI document shows and what takes every request this path does not: a body that
# is not JSON or not valid goes on to FastAPI, which refuses it as before.
_JSON = "application/json"


def fast_routes(store: IdentityStore, table: LegalTable) -> dict[tuple[str, str], FastRoute]:
    """The lean paths of ``POST /provision/lookup``, ``/verify`` and ``/search``."""
    writer = store.provision_writer

    def lean(
        model: type[BaseModel], work: Callable[..., provision_writer.Work[BaseModel]]
    ) -> FastRoute:
        async def route(
            request: Request, peer: Peer, signed: SignedRequest, body: bytes
        ) -> Response | None:
            media = request.headers.get("content-type", "").partition(";")[0].strip()
            if media.lower() != _JSON:
                return None
            try:
                req = model.model_validate_json(body)
            except ValidationError:
                return None  # FastAPI's route answers it, as it always did (422)
            try:
                answer = await writer.run(work(store, table, peer.code, req, signed))
            except JukinetError as exc:
                return error_response(request.method, request.url.path, exc)
            return Response(answer.model_dump_json(), media_type=_JSON)

        return route

    return {
        ("POST", "/provision/lookup"): lean(LookupRequest, provision.lookup_work),
        ("POST", "/provision/verify"): lean(VerifyRequest, provision.verify_work),
        ("POST", "/provision/search"): lean(SearchRequest, provision.search_work),
    }
