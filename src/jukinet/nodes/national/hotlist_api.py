"""The national node's console for the hotlist (R7, docs/ids.md): ``POST /ids/blocks``.

The operations console (as the monitor) posts a block or a lift that one of the national
node's operators signed with their emergency key. A valid one goes into the next signed
directory at once (the next version, valid for another lifetime), which every node
fetches and obeys; a refused one is one clear 422 problem, audited, and changes nothing.
"""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime

from fastapi import APIRouter

from jukinet.audit.log import Draft, Outcome
from jukinet.errors import BlockRefused
from jukinet.keys import load_private_key
from jukinet.network.directory import file_lock, renew
from jukinet.network.emergency import OPERATORS_FILE, load_operators
from jukinet.network.hotlist import accept_block, check_block
from jukinet.network.messages import SignedDirectory
from jukinet.network.messages_hotlist import BlockAck, SignedBlock
from jukinet.network.peer import Caller
from jukinet.nodes.identity.store import IdentityStore
from jukinet.nodes.runtime import NodeRuntime

refused = "The block is not valid now, not signed by a known operator, or does not fit the "
refused += "hotlist or the directory (block-refused, R7)."


def accept(runtime: NodeRuntime, signed: SignedBlock, now: datetime) -> BlockAck:
    """Put the block or lift of ``signed`` into a fresh directory; BlockRefused if it is
    not valid."""
    operator = check_block(signed, load_operators(runtime.config.home / OPERATORS_FILE), now)
    path = runtime.config.directory_path
    with runtime.directory_lock, file_lock(path):
        current = SignedDirectory.model_validate_json(path.read_bytes()).directory
        if current.version < runtime.directory.version:
            current = runtime.directory.directory
        newer, entry = accept_block(current, signed, operator, now)
        key = load_private_key(runtime.config.key_path)
        fresh = renew(newer, key, runtime.settings.directory_lifetime, now)
        tmp = path.with_suffix(".block")
        tmp.write_text(fresh.model_dump_json(indent=1))
        os.replace(tmp, path)
        runtime.directory.update(fresh)
    action = signed.order.action
    detail = (f"block {entry.id}: {action} {entry.kind} {entry.subject} until "
              f"{entry.until.isoformat(timespec='seconds')}, {entry.reason}, by {operator}, "
              f"directory version {fresh.directory.version}")  # fmt: skip
    runtime.audit(Draft(f"operator:{operator}", f"ids.{action}", entry.subject, Outcome.OK,
                        detail))  # fmt: skip
    return BlockAck(block_id=entry.id, action=action, kind=entry.kind, subject=entry.subject,
                    until=entry.until, directory_version=fresh.directory.version)  # fmt: skip


def router(runtime: NodeRuntime, store: IdentityStore) -> APIRouter:
    api = APIRouter()

    @api.post("/ids/blocks", responses={422: {"description": refused}})
    async def blocks(signed: SignedBlock, peer: Caller) -> BlockAck:
        """A block of the hotlist confirmed, or lifted, by an operator (R7)."""
        try:
            return await asyncio.to_thread(accept, runtime, signed, datetime.now(UTC))
        except BlockRefused as exc:
            order = signed.order
            target = order.subject or order.block_id or "?"
            await asyncio.to_thread(store.refused, peer.node_id, f"ids.{order.action}", target, exc)
            raise

    return api
