"""Sending emergency orders to the national node, and the resumes that wait for a second
operator (R9, docs/emergency.md): what ``jukinet emergency`` and the network console
(docs/ui.md) both do, so that either may approve the other's pending resume.

An order is posted to the national node's ``POST /emergency`` as the operations
monitor; a resume signed by one operator waits in ``DIR/operators/pending/<id>.json``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from jukinet.errors import EmergencyOrderRefused
from jukinet.network.client import NodeClient
from jukinet.network.layout import NetworkLayout
from jukinet.network.messages_emergency import EmergencyAck, SignedOrder
from jukinet.network.monitor import monitor_identity


def post_order(layout: NetworkLayout, national_url: str, signed: SignedOrder) -> EmergencyAck:
    async def send() -> dict[str, Any]:
        async with NodeClient(monitor_identity(layout), timeout=10.0) as client:
            return await client.post(f"{national_url}/emergency", signed)

    return EmergencyAck.model_validate(asyncio.run(send()))


def _path(layout: NetworkLayout, order_id: str) -> Path:
    if not order_id.isalnum():
        raise EmergencyOrderRefused(f"No pending order {order_id!r}.")
    return layout.operators / "pending" / f"{order_id}.json"


def save_pending(layout: NetworkLayout, signed: SignedOrder) -> Path:
    path = _path(layout, signed.order.id)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.write_text(signed.model_dump_json(indent=1))
    return path


def load_pending(layout: NetworkLayout, order_id: str) -> SignedOrder:
    path = _path(layout, order_id)
    if not path.exists():
        raise EmergencyOrderRefused(f"No pending order {order_id!r} in {path.parent}.")
    return SignedOrder.model_validate_json(path.read_bytes())


def drop_pending(layout: NetworkLayout, order_id: str) -> None:
    _path(layout, order_id).unlink(missing_ok=True)


def pending(layout: NetworkLayout) -> list[SignedOrder]:
    folder = layout.operators / "pending"
    if not folder.exists():
        return []
    return [SignedOrder.model_validate_json(p.read_bytes()) for p in sorted(folder.glob("*.json"))]
