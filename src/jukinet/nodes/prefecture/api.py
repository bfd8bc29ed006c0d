"""The prefecture node's HTTP API (docs/network.md, "Endpoints and who may call them").

Routes are ``async`` and run each service function off the event loop
(``asyncio.to_thread``); they parse, call it, and return the model.
The lifespan keeps the directory fresh and runs the delivery worker that forwards
applied updates to the national node.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, Query

from jukinet import config
from jukinet.network.messages import NodeStatus, UpdateAck, UpdateBatch
from jukinet.network.messages_audit import Cosignature, CosignRequest
from jukinet.network.openapi import IDENTITY_LINES, JsonLines
from jukinet.network.outbox import DeliveryWorker, make_sender
from jukinet.network.peer import Caller, check_endpoints
from jukinet.nodes.firewall_job import firewall_job
from jukinet.nodes.identity import (
    provision,
    provision_api,
    provision_history_api,
    provision_witness,
)
from jukinet.nodes.identity.reads import json_lines
from jukinet.nodes.ids_api import reporting
from jukinet.nodes.prefecture import card, service, witness
from jukinet.nodes.runtime import (
    background,
    install,
    keep_checkpoints,
    keep_directory_fresh,
    load_runtime,
)


def create_app(home: Path) -> FastAPI:
    """The prefecture node in ``home`` as an ASGI app (uvicorn serves it over mTLS)."""
    runtime = load_runtime(config.load(home))
    table = provision.load_table(home)  # the legal table (別表): home/legal.toml or shipped
    store = service.open_node(home)
    worker: DeliveryWorker | None = None

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        nonlocal worker
        try:
            async with runtime.client() as client:
                worker = service.delivery_worker(
                    store,
                    make_sender(client, runtime.settings.upstream_url),
                    poll=runtime.settings.outbox_poll,
                )
                async with background(
                    keep_directory_fresh(runtime, client),
                    firewall_job(runtime),
                    reporting(runtime, client),
                    worker.run_forever(),
                    keep_checkpoints(runtime, store),
                    provision_witness.keep_witnessed(runtime, store, client.post, table),
                ):
                    yield
        finally:
            store.close()

    app = FastAPI(title=f"jukinet prefecture {store.code}", lifespan=lifespan, openapi_url=None)
    install(app, runtime)
    runtime.audit = store.audit_alone  # rollbacks and emergency orders (R9)
    cards = card.card_source(home)  # a resident card proves a disclosure (R14)
    app.include_router(provision_api.router(store, table, cards))  # R2, R23, R24, R14
    app.state.fast_routes = provision_api.fast_routes(store, table)  # the lean lookup path
    app.include_router(provision_history_api.router(store, table))  # an agency's own (R14)

    refused = "A batch names another sender, or an update is not this municipality's to send (R1)."

    @app.post("/updates", responses={403: {"description": refused}})
    async def updates(batch: UpdateBatch, peer: Caller) -> UpdateAck:
        # Applying wakes the delivery worker towards the national node (store.wakers).
        return await asyncio.to_thread(service.receive, store, peer, batch)

    not_cosigned = "The checkpoint is not the municipality's, or it forks what was cosigned (R25)."

    @app.post("/audit/cosign", responses={403: {"description": not_cosigned}})
    async def audit_cosign(request: CosignRequest, peer: Caller) -> Cosignature:
        public = runtime.directory.public_key(peer.node_id)
        return await asyncio.to_thread(witness.cosign, store, peer, request, public)

    not_witnessed = "The checkpoint is not the node's, or it forks what was cosigned (R14, R25)."

    @app.post("/witness/cosign", responses={403: {"description": not_witnessed}})
    async def witness_cosign(request: CosignRequest, peer: Caller) -> Cosignature:
        public = runtime.directory.public_key(peer.node_id)
        return await asyncio.to_thread(provision_witness.cosign, store, peer, request, public)

    @app.get("/identities", response_class=JsonLines, responses=IDENTITY_LINES)
    async def identities(peer: Caller, municipality: Annotated[str, Query()]) -> JsonLines:
        rows = service.export(store, municipality)  # read lazily, in Starlette's worker thread
        return JsonLines(json_lines(rows))

    @app.get("/status")
    async def status(peer: Caller) -> NodeStatus:
        return runtime.heartbeat(
            await asyncio.to_thread(
                service.status,
                store,
                started_at=runtime.started_at,
                directory_version=runtime.directory.version,
                worker=worker,
            )
        )

    return check_endpoints(app)
