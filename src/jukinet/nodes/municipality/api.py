"""The municipality node's HTTP API and its delivery worker (docs/network.md).

Clerks work through the CLI on the same database; this process delivers the
identity updates their events put into the outbox to the prefecture, keeps the
directory fresh, and answers the operations monitor.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

from fastapi import FastAPI

from jukinet import config
from jukinet.documents import certs
from jukinet.documents.signing import DocumentSigner
from jukinet.domain.codes import LocalGovernmentCode, prefecture_code_of
from jukinet.errors import PeerUnreachable
from jukinet.network import outbox as ob
from jukinet.network import wakeup
from jukinet.network.copy_messages import TokenCheck, TokenVerdict
from jukinet.network.messages import NodeStatus, node_id
from jukinet.network.messages_moving import MovingAck, MovingMessage
from jukinet.network.messages_wide_area import WideAreaAnswer, WideAreaRequest
from jukinet.network.openapi import IDENTITY_LINES, JsonLines, Responses
from jukinet.network.peer import Caller, check_endpoints
from jukinet.nodes.firewall_job import firewall_job
from jukinet.nodes.identity.reads import json_lines
from jukinet.nodes.ids_api import reporting
from jukinet.nodes.municipality import checkpointing, moving_receive, service, wide_area_answer
from jukinet.nodes.municipality.copy_check import check_token
from jukinet.nodes.municipality.moving_link import MovingWorker
from jukinet.nodes.municipality.setup import open_register
from jukinet.nodes.municipality.tables import outbox
from jukinet.nodes.runtime import background, install, keep_directory_fresh, load_runtime

WIDE_AREA_REFUSED: Responses = {
    403: {
        "description": "Not this municipality's resident, not the person's own record or "
        "household, no recorded verification, a card proof that proves nobody, or a request "
        "answered before (R20, 第12条の4)."
    }
}


def create_app(home: Path) -> FastAPI:
    """The municipality node in ``home`` as an ASGI app (uvicorn serves it over mTLS)."""
    cfg = config.load(home)
    runtime = load_runtime(cfg)
    store = open_register(home)
    prefecture = node_id("prefecture", prefecture_code_of(LocalGovernmentCode(cfg.code)))
    worker: ob.DeliveryWorker | None = None
    moving: MovingWorker | None = None

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        nonlocal worker, moving
        try:
            async with runtime.client() as client:
                worker = ob.DeliveryWorker(
                    store.engine,
                    outbox,
                    runtime.node_id,
                    ob.make_sender(client, runtime.settings.upstream_url),
                    idle=runtime.settings.outbox_poll,
                    wake_socket=wakeup.wake_path(home),
                    writers=store.turns,
                )
                store.wakers.append(worker.wake)  # events recorded in this process

                async def send_moving(receiver: str, message: MovingMessage) -> MovingAck:
                    entry = runtime.directory.lookup(node_id("municipality", receiver))
                    if entry is None or not entry.url:
                        raise PeerUnreachable(f"Municipality {receiver} is not in the directory.")
                    url = entry.url.rstrip("/") + "/moving"
                    return MovingAck.model_validate(await client.post(url, message))

                moving = MovingWorker(store.engine, send_moving)
                cosigning = checkpointing.run_forever(
                    store,
                    client.post,
                    runtime.settings.upstream_url,
                    lambda: runtime.directory.public_key(prefecture),
                    runtime.settings.audit_checkpoint_every,
                )
                async with background(
                    keep_directory_fresh(runtime, client),
                    firewall_job(runtime),
                    reporting(runtime, client),
                    worker.run_forever(),
                    moving.run_forever(),
                    cosigning,
                ):
                    yield
        finally:
            store.close()

    app = FastAPI(title=f"jukinet municipality {cfg.code}", lifespan=lifespan, openapi_url=None)
    install(app, runtime)
    runtime.audit = store.audit_alone  # rollbacks and emergency orders (R9)

    @app.get("/identities", response_class=JsonLines, responses=IDENTITY_LINES)
    async def identities(peer: Caller) -> JsonLines:
        rows = store.export_identities()  # read lazily, in Starlette's worker thread
        return JsonLines(json_lines(rows))

    replayed = (
        "The message is refused (move-with-card-refused): another message was taken under "
        "its seq (replayed or altered), or it names another sender than the caller."
    )

    @app.post("/moving", responses={409: {"description": replayed}})
    async def moving_message(message: MovingMessage, peer: Caller) -> MovingAck:
        """A message of moving with the card from another municipality (R21)."""
        return await asyncio.to_thread(
            moving_receive.receive, store, peer.code, message, date.today()
        )

    @app.get("/status")
    async def status(peer: Caller) -> NodeStatus:
        return runtime.heartbeat(
            await asyncio.to_thread(
                service.status,
                store,
                prefecture,
                started_at=runtime.started_at,
                directory_version=runtime.directory.version,
                worker=worker,
                moving=moving,
            )
        )

    @app.post("/wide-area/records", responses=WIDE_AREA_REFUSED)
    async def wide_area_records(req: WideAreaRequest, peer: Caller) -> WideAreaAnswer:
        # A municipality asks for the record of one of ours (R20); B checks and audits.
        check = await wide_area_answer.card_check(home, req)
        return await asyncio.to_thread(
            wide_area_answer.answer, store, req, peer.node_id, peer.code, check
        )

    signer: DocumentSigner | None = None

    @app.post("/documents/verify")
    async def verify_copy(check: TokenCheck, peer: Caller) -> TokenVerdict:
        nonlocal signer
        if signer is None:  # read at the first check: a register without one still runs
            signer = DocumentSigner.load(home)
        return await asyncio.to_thread(
            check_token, store, signer, peer.node_id, check.token, home / certs.CRL_FILE
        )

    return check_endpoints(app)
