"""The console's pages. Each reads or writes through the same service code as the CLI
(``network_view``, ``orders``); nothing here decides what an order may do — the
national node does, and its refusal is shown in its own words."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from fastapi import APIRouter, Depends, Form, Request, Response

from jukinet.errors import JukinetError
from jukinet.network.emergency_orders import pending
from jukinet.network.messages_emergency import EmergencyAck
from jukinet.web.common.app import operator, page, site_of
from jukinet.web.console import network_view, orders
from jukinet.web.console.app import Console
from jukinet.web.console.japan_map import japan_map, worst

OrderAction = Literal["isolate", "halt", "resume"]


def router(console: Console) -> APIRouter:
    api = APIRouter()

    async def network_context(request: Request) -> dict[str, Any]:
        rows = await network_view.node_rows(console.layout, console.specs)
        by_pref: dict[str, list[str]] = {}
        for row in rows:
            if row.prefecture:
                by_pref.setdefault(row.prefecture, []).append(row.state)
        states = {code: s for code, states in by_pref.items() if (s := worst(states))}
        site = site_of(request)
        label = site.catalogue.text("ja" if request.cookies.get("lang") != "en" else "en",
                                    "network.map")  # fmt: skip
        state, _ = await asyncio.to_thread(network_view.emergency_state, console.home)
        return {"rows": rows, "map": japan_map(console.prefecture_names, states, label),
                "state": state}  # fmt: skip

    @api.get("/")
    async def network(request: Request, who: str = Depends(operator)) -> Response:
        return page(request, "network.html", **await network_context(request))

    @api.get("/nodes")
    async def nodes(request: Request, who: str = Depends(operator)) -> Response:
        return page(request, "nodes.html", **await network_context(request))

    @api.get("/ids")
    async def ids(request: Request, who: str = Depends(operator)) -> Response:
        alerts = await asyncio.to_thread(network_view.alerts, console.home, console.node_id)
        blocks = await asyncio.to_thread(network_view.hotlist, console.home)
        return page(request, "ids.html", alerts=alerts, blocks=blocks)

    async def orders_page(request: Request, **extra: object) -> Response:
        state, carried = await asyncio.to_thread(network_view.emergency_state, console.home)
        waiting = await asyncio.to_thread(pending, console.layout)
        isolatable = [s for s in console.specs if s.role != "national"]
        status = 422 if extra.get("refused") else 200
        return page(request, "orders.html", status=status, state=state, carried=carried,
                    waiting=waiting, isolatable=isolatable, **extra)  # fmt: skip

    @api.get("/orders")
    async def orders_view(request: Request, who: str = Depends(operator)) -> Response:
        return await orders_page(request)

    @api.post("/orders/confirm")
    async def confirm(
        request: Request, action: OrderAction = Form(...), scope: str = Form("network"),
        who: str = Depends(operator),
    ) -> Response:  # fmt: skip
        return page(request, "confirm.html", action=action, scope=scope, order_id="")

    @api.post("/orders/sign")
    async def sign(
        request: Request, action: OrderAction = Form(...), scope: str = Form("network"),
        password: str = Form(""), who: str = Depends(operator),
    ) -> Response:  # fmt: skip
        site = site_of(request)
        try:
            done = await asyncio.to_thread(
                orders.order_now, console.layout, console.national_url, site.accounts,
                who, password, action, scope,
            )  # fmt: skip
        except JukinetError as exc:
            site.audit(f"web:{who}", f"emergency.{action}", scope, "refused", str(exc))
            return await orders_page(request, refused=str(exc))
        site.audit(f"web:{who}", f"emergency.{action}", scope, "ok", "signed in the console")
        if isinstance(done, EmergencyAck):
            return await orders_page(request, ack=done)
        return await orders_page(request, asked=done.order.id)

    @api.post("/orders/{order_id}/confirm")
    async def confirm_approval(
        request: Request, order_id: str, scope: str = Form(""), who: str = Depends(operator)
    ) -> Response:
        return page(request, "confirm.html", action="approve", scope=scope, order_id=order_id)

    @api.post("/orders/{order_id}/approve")
    async def approve(
        request: Request, order_id: str, password: str = Form(""), who: str = Depends(operator)
    ) -> Response:
        site = site_of(request)
        try:
            ack = await asyncio.to_thread(
                orders.approve, console.layout, console.national_url, site.accounts,
                who, password, order_id,
            )  # fmt: skip
        except JukinetError as exc:
            site.audit(f"web:{who}", "emergency.approve", order_id, "refused", str(exc))
            return await orders_page(request, refused=str(exc))
        site.audit(f"web:{who}", "emergency.approve", order_id, "ok", "approved in the console")
        return await orders_page(request, ack=ack)

    @api.get("/audit")
    async def audit(request: Request, who: str = Depends(operator)) -> Response:
        stored = await asyncio.to_thread(console.store.checkpoints)
        return page(request, "audit.html", checkpoints=stored[:20], total=len(stored))

    return api
