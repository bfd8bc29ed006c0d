"""The JPKI CA's endpoints on the national node (docs/jpki.md, "Endpoints"): each route
parses, calls one use case of ``nodes/national/jpki.py`` off the event loop, renders."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter

from jukinet.jpki import JpkiCA
from jukinet.network.messages import (
    JpkiBinding,
    JpkiBindingRequest,
    JpkiCertificates,
    JpkiCertifyRequest,
    JpkiCrl,
    JpkiRevokeRequest,
    JpkiRevokeResponse,
)
from jukinet.network.peer import Caller
from jukinet.nodes.identity.store import IdentityStore
from jukinet.nodes.national import jpki, jpki_card

__all__ = ["router"]


def router(store: IdentityStore, ca: JpkiCA | None) -> APIRouter:
    api = APIRouter()

    @api.post("/jpki/certify")
    async def jpki_certify(req: JpkiCertifyRequest, peer: Caller) -> JpkiCertificates:
        # Only a municipality may call (network.endpoints), for its own residents.
        return await asyncio.to_thread(jpki.certify, store, ca, peer, req)

    @api.post("/jpki/revoke")
    async def jpki_revoke(req: JpkiRevokeRequest, peer: Caller) -> JpkiRevokeResponse:
        return await asyncio.to_thread(jpki.revoke, store, peer, req)

    @api.post("/jpki/binding")
    async def jpki_binding(req: JpkiBindingRequest, peer: Caller) -> JpkiBinding:
        # Only a prefecture may call (network.endpoints), verifying a card proof (R14).
        return await asyncio.to_thread(jpki_card.binding, store, peer, req)

    @api.get("/jpki/crl")
    async def jpki_crl(peer: Caller) -> JpkiCrl:
        return await asyncio.to_thread(jpki.current_crl, store, ca)

    return api
