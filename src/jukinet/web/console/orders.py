"""Emergency orders from the console (R9, docs/ui.md): the operator's signature line is
made with their own Ed25519 key, unsealed with the password they type on the
confirmation step (``web/common/sealed_key.py``) for that one signature. The order
goes to the national node's ``POST /emergency`` as ``jukinet emergency`` sends it; a
resume waits in ``DIR/operators/pending/`` (the CLI's place, so either may approve it)
for a second, different operator. The national node checks and audits every order."""

from __future__ import annotations

import asyncio
from typing import Any

from jukinet.errors import AuthenticationFailed, EmergencyOrderRefused
from jukinet.network.client import NodeClient
from jukinet.network.emergency import cosign, new_order
from jukinet.network.layout import NetworkLayout
from jukinet.network.messages_emergency import Action, EmergencyAck, SignedOrder
from jukinet.network.monitor import monitor_identity
from jukinet.web.common.accounts import AccountFile
from jukinet.web.common.sealed_key import unseal

VALID_FOR = 3600.0


def _signed(accounts: AccountFile, operator: str, password: str, order: Any) -> SignedOrder:
    account = accounts.get(operator)
    if account is None or account.sealed_key is None:
        raise AuthenticationFailed(f"{operator} has no emergency key in the console.")
    key = unseal(account.sealed_key, password, operator)
    return cosign(order, operator, key)  # the key goes out of scope here


def post(layout: NetworkLayout, national_url: str, signed: SignedOrder) -> EmergencyAck:
    async def send() -> dict[str, Any]:
        async with NodeClient(monitor_identity(layout), timeout=10.0) as client:
            return await client.post(f"{national_url}/emergency", signed)

    return EmergencyAck.model_validate(asyncio.run(send()))


def pending(layout: NetworkLayout) -> list[SignedOrder]:
    folder = layout.operators / "pending"
    if not folder.exists():
        return []
    return [SignedOrder.model_validate_json(p.read_bytes()) for p in sorted(folder.glob("*.json"))]


def order_now(
    layout: NetworkLayout,
    national_url: str,
    accounts: AccountFile,
    operator: str,
    password: str,
    action: Action,
    scope: str,
) -> EmergencyAck | SignedOrder:
    """Isolate or halt at once (one operator); a resume is signed and left pending."""
    signed = _signed(accounts, operator, password, new_order(action, scope, valid_for=VALID_FOR))
    if action != "resume":
        return post(layout, national_url, signed)
    folder = layout.operators / "pending"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    (folder / f"{signed.order.id}.json").write_text(signed.model_dump_json(indent=1))
    return signed


def approve(
    layout: NetworkLayout,
    national_url: str,
    accounts: AccountFile,
    operator: str,
    password: str,
    order_id: str,
) -> EmergencyAck:
    """A second operator's signature on a pending resume, then sent; the file goes once
    the national node accepted it (a refusal leaves it for another operator)."""
    path = layout.operators / "pending" / f"{order_id}.json"
    if not order_id.isalnum() or not path.exists():
        raise EmergencyOrderRefused(f"No pending order {order_id!r}.")
    signed = _signed(
        accounts, operator, password, SignedOrder.model_validate_json(path.read_bytes())
    )
    ack = post(layout, national_url, signed)
    path.unlink()
    return ack
