"""The provision and disclosure endpoints of the national and prefecture nodes
(docs/network.md, "Endpoints"): each route parses, calls one use case of
``jukinet.nodes.identity.provision``, and renders its answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from jukinet.domain.legal import LegalTable
from jukinet.domain.provision import MAX_BATCH_LINE
from jukinet.network.messages import (
    BatchFirstRow,
    BatchRow,
    DisclosureRequest,
    DisclosureResponse,
    LookupRequest,
    LookupResponse,
    SearchRequest,
    SearchResponse,
    VerifyRequest,
    VerifyResponse,
)
from jukinet.network.peer import Caller
from jukinet.nodes.identity import provision
from jukinet.nodes.identity.store import IdentityStore

__all__ = ["batch_lines", "body_lines", "router"]


def batch_lines(rows: Iterable[BatchRow], per_chunk: int = 1000) -> Iterator[bytes]:
    """Batch rows as JSON lines, a chunk at a time (a sync iterator: Starlette runs it,
    and the database work behind ``rows``, in a worker thread, off the event loop)."""
    chunk: list[str] = []
    for row in rows:
        chunk.append(row.model_dump_json(exclude_none=True) + "\n")
        if len(chunk) >= per_chunk:
            yield "".join(chunk).encode()
            chunk = []
    if chunk:
        yield "".join(chunk).encode()


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


def router(store: IdentityStore, table: LegalTable) -> APIRouter:
    """The provision and disclosure endpoints (docs/network.md, "Endpoints").

    Every use case runs in a worker thread (a batch streams from one, chunk by chunk),
    never on the event loop (docs/architecture.md, "Routes and the event loop").
    """
    api = APIRouter()

    @api.post("/provision/lookup")
    async def provision_lookup(req: LookupRequest, peer: Caller) -> LookupResponse:
        return await asyncio.to_thread(provision.lookup, store, table, peer.code, req)

    @api.post("/provision/verify")
    async def provision_verify(req: VerifyRequest, peer: Caller) -> VerifyResponse:
        return await asyncio.to_thread(provision.verify, store, table, peer.code, req)

    @api.post("/provision/search")
    async def provision_search(req: SearchRequest, peer: Caller) -> SearchResponse:
        return await asyncio.to_thread(provision.search, store, table, peer.code, req)

    @api.post("/provision/batch")
    async def provision_batch(
        request: Request,
        peer: Caller,
        affair: Annotated[str, Query()],
        first_row: Annotated[BatchFirstRow, Query()] = 1,
    ) -> StreamingResponse:
        # The body is already in memory: the peer check verified its Content-Digest
        # before anything was done with it.
        lines = body_lines(await request.body())
        rows = await asyncio.to_thread(
            provision.batch, store, table, peer.code, affair, lines, first_row
        )
        return StreamingResponse(batch_lines(rows), media_type="application/jsonl")

    @api.post("/disclosure")
    async def provision_disclosure(req: DisclosureRequest, peer: Caller) -> DisclosureResponse:
        # Only a municipality may call (network.endpoints); it asks about its residents.
        return await asyncio.to_thread(provision.disclosure, store, table, req, peer.code)

    return api
