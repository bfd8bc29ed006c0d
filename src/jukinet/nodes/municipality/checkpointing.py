"""The running municipality signs checkpoints and has its prefecture cosign them (R25).

Every ``audit_checkpoint_every`` seconds (node.toml ``[network]``, default 300) the
node signs a checkpoint of its audit log if the log grew, and sends it with the
consistency proof from the newest cosigned one to its prefecture
(``POST /audit/cosign``); the cosignature line is checked and stored beside the
checkpoint, and ``jukinet audit export`` puts it in the bundle. A refusal (the
prefecture saw another history) is logged on ``jukinet.security``. The job's own
checkpoints are not audit entries: the log would otherwise grow by itself.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel

from jukinet.audit import checkpoints
from jukinet.audit.note import cosigned_at
from jukinet.errors import CheckpointRefused, PeerRefused
from jukinet.network.messages_audit import Cosignature, CosignRequest
from jukinet.nodes.municipality.store import RegisterStore

log = logging.getLogger("jukinet.node")
security_log = logging.getLogger("jukinet.security")

Post = Callable[[str, BaseModel], Awaitable[dict[str, Any]]]


def prepare(store: RegisterStore) -> tuple[checkpoints.Stored, CosignRequest | None]:
    """Sign a checkpoint now; the request to cosign it, or None if it already is."""
    name = checkpoints.origin("municipality", str(store.code))
    with store.transaction() as tx:
        made = checkpoints.make(tx.conn, store.key, name)
        if made.cosignatures:
            return made, None
        cosigned = [c for c in checkpoints.every(tx.conn) if c.cosignatures and c.size < made.size]
        previous = cosigned[-1].size if cosigned else 0
        proof = checkpoints.consistency(tx.conn, previous, made.size)
    return made, CosignRequest(
        checkpoint=made.note,
        previous_size=previous,
        consistency=[base64.b64encode(h).decode() for h in proof],
    )


def keep(store: RegisterStore, made: checkpoints.Stored, answer: Cosignature,
         public: Ed25519PublicKey) -> None:  # fmt: skip
    """Store the prefecture's cosignature line once it verifies."""
    if cosigned_at(made.note + answer.line, answer.cosigner, public) is None:
        raise CheckpointRefused(f"The cosignature of {answer.cosigner} does not verify.")
    with store.transaction() as tx:
        checkpoints.add_cosignatures(tx.conn, made.size, answer.line)


async def publish(
    store: RegisterStore, post: Post, prefecture_url: str, public: Ed25519PublicKey | None
) -> checkpoints.Stored:
    """One round: sign a checkpoint, have it cosigned, keep the cosignature."""
    made, request = await asyncio.to_thread(prepare, store)
    if request is None or public is None:
        return made
    try:
        answer = Cosignature.model_validate(
            await post(prefecture_url.rstrip("/") + "/audit/cosign", request)
        )
    except PeerRefused as exc:
        security_log.error("audit checkpoint %d not cosigned: %s", made.size, exc)
        raise
    await asyncio.to_thread(keep, store, made, answer, public)
    return made


async def run_forever(
    store: RegisterStore,
    post: Post,
    prefecture_url: str,
    public: Callable[[], Ed25519PublicKey | None],
    every: float,
) -> None:
    """``publish`` every ``every`` seconds; a failure is logged and tried again next time."""
    while True:
        await asyncio.sleep(every)
        try:
            await publish(store, post, prefecture_url, public())
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the next round tries again; the log is not at risk
            log.warning("audit checkpoint round failed: %s: %s", type(exc).__name__, exc)
