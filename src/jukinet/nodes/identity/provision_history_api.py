"""``POST /provision/history`` on the national and prefecture nodes: the calling agency's
own provisions (``provision_history``; docs/network.md, "An agency's provision history")."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter

from jukinet.domain.legal import LegalTable
from jukinet.network.messages_history import HistoryPage, HistoryRequest
from jukinet.network.openapi import Responses
from jukinet.network.peer import Caller
from jukinet.nodes.identity import provision_history
from jukinet.nodes.identity.store import IdentityStore

__all__ = ["router"]

REFUSED: Responses = {
    403: {"description": "The agency is no recipient of the legal table, or another node "
          "serves it (R2)."}
}  # fmt: skip


def router(store: IdentityStore, table: LegalTable) -> APIRouter:
    api = APIRouter()

    @api.post("/provision/history", responses=REFUSED)
    async def provision_history_page(req: HistoryRequest, peer: Caller) -> HistoryPage:
        # A read of the agency's rows and one audit entry: in a worker thread, off the loop.
        return await asyncio.to_thread(provision_history.history, store, table, peer.code, req)

    return api
