"""The national node's HTTP API (docs/network.md, "Endpoints and who may call them").

Routes are ``async`` and run each service function off the event loop
(``asyncio.to_thread``); they parse, call it, and return the model.
``GET /directory`` and ``GET /health`` come with the node runtime.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, Query

from jukinet import config
from jukinet.network.messages import NodeStatus, PoolGrant, PoolRequest, UpdateAck, UpdateBatch
from jukinet.network.messages_audit import Cosignature, CosignRequest
from jukinet.network.openapi import IDENTITY_LINES, JsonLines
from jukinet.network.peer import Caller, check_endpoints
from jukinet.nodes import ids_api
from jukinet.nodes.firewall_job import firewall_job
from jukinet.nodes.identity import (
    provision,
    provision_api,
    provision_history_api,
    provision_witness,
)
from jukinet.nodes.identity.reads import json_lines
from jukinet.nodes.national import (
    emergency_api,
    hotlist_api,
    jpki,
    jpki_api,
    jpki_card,
    pools,
    service,
)
from jukinet.nodes.runtime import (
    background,
    first_worker,
    install,
    keep_checkpoints,
    keep_directory_fresh,
    load_runtime,
)


def create_app(home: Path) -> FastAPI:
    """The national node in ``home`` as an ASGI app (uvicorn serves it over mTLS)."""
    runtime = load_runtime(config.load(home))
    table = provision.load_table(home)  # the legal table (別表): home/legal.toml or shipped
    store = service.open_node(home)
    ca = jpki.load_authority(home)  # the JPKI CA key (R15), made by `network init`

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            async with (
                runtime.client() as client,
                background(
                    # Every server process keeps its own view of the directory fresh;
                    # the rest runs once, in the first (network.server.serve_workers).
                    keep_directory_fresh(runtime, client),
                    *(
                        (
                            firewall_job(runtime),
                            keep_checkpoints(runtime, store),
                            ids_api.audit_own_alerts(
                                runtime.security, store.audit_alone, runtime.node_id
                            ),
                            provision_witness.keep_witnessed(runtime, store, client.post, table),
                        )
                        if first_worker()
                        else ()
                    ),
                ),
            ):
                yield
        finally:
            store.close()

    app = FastAPI(title="jukinet national node", lifespan=lifespan, openapi_url=None)
    install(app, runtime)
    runtime.audit = store.audit_alone  # rollbacks and emergency orders (R9)
    cards = jpki_card.card_source(store, ca)  # a resident card proves a disclosure (R14)
    app.include_router(provision_api.router(store, table, cards))  # R2, R23, R24, R14
    app.state.fast_routes = provision_api.fast_routes(store, table)  # the lean lookup path
    app.include_router(provision_history_api.router(store, table))  # an agency's own (R14)
    app.include_router(jpki_api.router(store, ca))  # the JPKI CA (R15)
    app.include_router(ids_api.router(home, store.audit_alone))  # every node's IDS alerts (R7)
    app.include_router(emergency_api.router(runtime, store))  # the emergency stop (R9)
    app.include_router(hotlist_api.router(runtime, store))  # the hotlist's blocks (R7)

    refused = "A batch names another sender, or an update is not this prefecture's to send (R1)."

    @app.post("/updates", responses={403: {"description": refused}})
    async def updates(batch: UpdateBatch, peer: Caller) -> UpdateAck:
        return await asyncio.to_thread(service.receive, store, peer, batch)

    not_witnessed = "The checkpoint is not the node's, or it forks what was cosigned (R14, R25)."

    @app.post("/witness/cosign", responses={403: {"description": not_witnessed}})
    async def witness_cosign(request: CosignRequest, peer: Caller) -> Cosignature:
        public = runtime.directory.public_key(peer.node_id)
        return await asyncio.to_thread(provision_witness.cosign, store, peer, request, public)

    @app.post("/pools")
    async def issue(request: PoolRequest, peer: Caller) -> PoolGrant:
        return await asyncio.to_thread(
            pools.issue_pool, store, peer.code, request.count, actor=peer.node_id
        )

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
            )
        )

    return check_endpoints(app)
