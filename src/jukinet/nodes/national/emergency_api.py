"""The national node's console for the emergency stop (R9, docs/emergency.md).

``POST /emergency`` takes an order signed by the national node's operators (the
operations console posts it, as the monitor): halt or isolate with one signature,
resume with two different ones. A valid order goes into the next directory at once
(the next version, valid for another lifetime), which every node fetches and obeys; a
refused one is one clear 422 problem, audited, and changes nothing.
"""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime

from fastapi import APIRouter

from jukinet.audit.log import Draft, Outcome
from jukinet.errors import EmergencyOrderRefused
from jukinet.keys import load_private_key
from jukinet.network.directory import file_lock, renew
from jukinet.network.emergency import NETWORK, OPERATORS_FILE, check_order, load_operators, state_of
from jukinet.network.messages import SignedDirectory
from jukinet.network.messages_emergency import CarriedOrder, EmergencyAck, SignedOrder
from jukinet.network.peer import Caller
from jukinet.nodes.identity.store import IdentityStore
from jukinet.nodes.runtime import NodeRuntime

refused = "The order is not valid now, not signed by enough different known operators, or "
refused += "does not fit the network's state (emergency-order-refused, R9)."


def accept(runtime: NodeRuntime, signed: SignedOrder, now: datetime) -> EmergencyAck:
    """Put ``signed`` into a fresh directory, once it is valid; EmergencyOrderRefused if not."""
    operators = load_operators(runtime.config.home / OPERATORS_FILE)
    order = signed.order
    signers = check_order(order, signed.signatures, operators, now)
    path = runtime.config.directory_path
    with runtime.directory_lock, file_lock(path):
        current = SignedDirectory.model_validate_json(path.read_bytes()).directory
        if current.version < runtime.directory.version:
            current = runtime.directory.directory
        if any(c.order.id == order.id for c in current.orders):
            raise EmergencyOrderRefused(f"Order {order.id} was already accepted.")
        state = state_of(current.orders, operators)
        if order.action == "isolate":
            entry = next((e for e in current.entries if e.node_id == order.scope), None)
            if entry is None or entry.role == "national" or entry.status != "active":
                raise EmergencyOrderRefused(
                    f"{order.scope} is no active node of the directory that can be isolated."
                )
        if order.action == "resume":
            stopped = (state.halted is not None if order.scope == NETWORK
                       else order.scope in state.isolated)  # fmt: skip
            if not stopped:
                raise EmergencyOrderRefused(
                    f"Nothing to resume: {order.scope} is neither halted nor isolated."
                )
        carried = CarriedOrder(order=order, signatures=signed.signatures, accepted_at=now)
        newer = current.model_copy(update={"orders": [*current.orders, carried]})
        key = load_private_key(runtime.config.key_path)
        fresh = renew(newer, key, runtime.settings.directory_lifetime, now)
        tmp = path.with_suffix(".order")
        tmp.write_text(fresh.model_dump_json(indent=1))
        os.replace(tmp, path)
        runtime.directory.update(fresh)
    detail = (f"order {order.id}: {order.action} {order.scope}, signed by {','.join(signers)}, "
              f"directory version {fresh.directory.version}")  # fmt: skip
    runtime.audit(Draft(f"operator:{','.join(signers)}", f"emergency.{order.action}",
                        order.scope, Outcome.OK, detail))  # fmt: skip
    after = runtime.directory.state
    return EmergencyAck(
        order_id=order.id,
        action=order.action,
        scope=order.scope,
        directory_version=fresh.directory.version,
        halted=after.halted is not None,
        isolated=sorted(after.isolated),
    )


def router(runtime: NodeRuntime, store: IdentityStore) -> APIRouter:
    api = APIRouter()

    @api.post("/emergency", responses={422: {"description": refused}})
    async def emergency(signed: SignedOrder, peer: Caller) -> EmergencyAck:
        """An emergency order of the national node's operators (R9)."""
        try:
            return await asyncio.to_thread(accept, runtime, signed, datetime.now(UTC))
        except EmergencyOrderRefused as exc:
            target = f"{signed.order.action} {signed.order.scope}"
            await asyncio.to_thread(store.refused, peer.node_id, "emergency", target, exc)
            raise

    return api
