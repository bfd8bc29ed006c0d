"""Identity nodes witness each other's provision and audit logs (R14, R25; docs/audit.md).

A prefecture's provision log is cosigned by the national node, and the national
node's by every prefecture: the national node is the one node above a prefecture, and
no prefecture is above the national node, so each prefecture witnesses it. To show
one resident a history the others did not cosign, the national node would have to
fork its log towards every prefecture at once; a resident sees their own
prefecture's cosignature in their answer.

Both directions, and both logs, are one ``POST /witness/cosign`` each of the node's
newest checkpoint (the witness tells the log by its origin line) with the consistency
proof from the newest one that cosigner signed;
the witness checks it with ``audit.cosigning`` (a fork or a rollback is refused and
raises an alert) and answers with its cosignature/v1 line, which the node appends to
the checkpoint's lines. Every ``audit_checkpoint_every`` seconds (node.toml).
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel, ValidationError
from sqlalchemy import Connection, select, update

from jukinet.audit import checkpoints, cosigning
from jukinet.audit import log as audit
from jukinet.audit import provision_log as fmt
from jukinet.audit.note import SIG_PREFIX, cosigned_at
from jukinet.audit.tables import REFERENCE
from jukinet.domain.legal import LegalTable
from jukinet.errors import CheckpointRefused, JukinetError, PeerRefused
from jukinet.network.gate import Peer
from jukinet.network.messages_audit import Cosignature, CosignRequest
from jukinet.nodes.identity import provision_log
from jukinet.nodes.identity.store import IdentityStore
from jukinet.nodes.identity.tables import provision_checkpoints
from jukinet.nodes.runtime import NodeRuntime

OPERATION = "witness.cosign"
log = logging.getLogger("jukinet.node")
security_log = logging.getLogger("jukinet.security")

Post = Callable[[str, BaseModel], Awaitable[dict[str, Any]]]
# (the witness's URL, its cosigner key name, its Ed25519 key) of each witness now.
Witnesses = Callable[[], list[tuple[str, str, Ed25519PublicKey]]]


def witness_name(kind: str, code: str) -> str:
    """The key name of an identity node's cosignatures."""
    return f"jukinet/{kind}/{code}/witness"


def cosign(
    store: IdentityStore, peer: Peer, request: CosignRequest, public: Ed25519PublicKey | None
) -> Cosignature:
    """Cosign ``peer``'s provision or audit checkpoint, or refuse it (audited both ways)."""
    logs = (fmt.origin(peer.role, peer.code), checkpoints.origin(peer.role, peer.code))
    named = request.checkpoint.split("\n", 1)[0]
    origin = named if named in logs else logs[0]
    name = witness_name(store.kind, store.code)
    if named not in logs:
        exc = CheckpointRefused(
            f"The checkpoint names {named[:96]!r}, not a log of {peer.node_id}."
        )
        store.refused(peer.node_id, OPERATION, origin, exc)
        raise exc
    return cosign_audited(store, peer, request, public, origin, name, OPERATION)


def cosign_audited(
    store: IdentityStore,
    peer: Peer,
    request: CosignRequest,
    public: Ed25519PublicKey | None,
    origin: str,
    name: str,
    operation: str,
) -> Cosignature:
    """As ``name``, cosign ``peer``'s checkpoint of the log ``origin``, or refuse it;
    audited both ways (the prefecture's ``/audit/cosign`` of its municipalities too)."""
    try:
        if public is None:
            raise CheckpointRefused(f"{peer.node_id} has no key in the directory.")
        asked = cosigning.Request(request.checkpoint, request.previous_size, request.consistency)
        with store.transaction() as conn:
            line = cosigning.cosign(conn, store.key, name, origin, public, asked)
            size = request.checkpoint.split("\n")[1]
            store.audit(conn, audit.Draft(peer.node_id, operation, origin, detail=f"size {size}"))
    except CheckpointRefused as exc:
        store.refused(peer.node_id, operation, origin, exc)
        raise
    return Cosignature(cosigner=name, line=line)


def _signed_by(lines: str, name: str) -> bool:
    return any(line.startswith(f"{SIG_PREFIX}{name} ") for line in lines.splitlines())


Log = Literal["provisions", "audit"]
_TABLES = {"provisions": provision_checkpoints, "audit": REFERENCE.checkpoints}


def _make(conn: Connection, store: IdentityStore, which: Log) -> provision_log.Stored:
    if which == "provisions":
        return provision_log.checkpoint(conn, store.key, fmt.origin(store.kind, store.code))
    made = checkpoints.make(conn, store.key, checkpoints.origin(store.kind, store.code))
    return provision_log.Stored(made.size, made.note, made.cosignatures)


def prepare(
    store: IdentityStore, cosigner: str, which: Log = "provisions"
) -> tuple[provision_log.Stored, CosignRequest | None]:
    """Sign a checkpoint of the provision (or audit) log now; the request for ``cosigner``
    to cosign it, or None if it has."""
    table = _TABLES[which]
    with store.transaction() as conn:
        made = _make(conn, store, which)
        if _signed_by(made.cosignatures, cosigner):
            return made, None
        rows = conn.execute(
            select(table.c.size, table.c.cosignatures)
            .where(table.c.size < made.size).order_by(table.c.size.desc())
        ).all()  # fmt: skip
        previous = next((int(r.size) for r in rows if _signed_by(r.cosignatures, cosigner)), 0)
        prove = provision_log.consistency if which == "provisions" else checkpoints.consistency
        proof = prove(conn, previous, made.size)
    return made, CosignRequest(
        checkpoint=made.note, previous_size=previous,
        consistency=[base64.b64encode(h).decode() for h in proof],
    )  # fmt: skip


def keep(store: IdentityStore, made: provision_log.Stored, answer: Cosignature,
         public: Ed25519PublicKey, which: Log = "provisions") -> None:  # fmt: skip
    """Append the witness's cosignature line once it verifies."""
    if cosigned_at(made.note + answer.line, answer.cosigner, public) is None:
        raise CheckpointRefused(f"The cosignature of {answer.cosigner} does not verify.")
    table = _TABLES[which]
    with store.transaction() as conn:
        lines = conn.execute(
            select(table.c.cosignatures).where(table.c.size == made.size)
        ).scalar_one()  # fmt: skip
        if not _signed_by(lines, answer.cosigner):
            conn.execute(
                update(table).where(table.c.size == made.size)
                .values(cosignatures=lines + answer.line)
            )  # fmt: skip


async def publish(store: IdentityStore, post: Post, witnesses: Witnesses) -> None:
    """One round: sign a checkpoint and have every witness cosign it; a witness that
    refuses (an alert) or cannot be reached does not keep the others from cosigning."""
    for url, name, public in witnesses():
        for which in ("provisions", "audit"):
            made, request = await asyncio.to_thread(prepare, store, name, which)
            if request is None:
                continue
            try:
                answer = Cosignature.model_validate(
                    await post(url.rstrip("/") + "/witness/cosign", request)
                )
                await asyncio.to_thread(keep, store, made, answer, public, which)
            except PeerRefused as exc:
                security_log.error("%s checkpoint %d not cosigned by %s: %s", which, made.size,
                                   name, exc)  # fmt: skip
            except (JukinetError, ValidationError) as exc:  # a witness down: ask the others
                log.warning("%s checkpoint %d not cosigned by %s: %s", which, made.size, name,
                            exc)  # fmt: skip


async def run_forever(store: IdentityStore, post: Post, witnesses: Witnesses, every: float) -> None:
    """``publish`` every ``every`` seconds; a failure is logged and tried again next time."""
    while True:
        await asyncio.sleep(every)
        try:
            await publish(store, post, witnesses)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the next round tries again; the log is not at risk
            log.warning("provision checkpoint round failed: %s: %s", type(exc).__name__, exc)


def directory_witnesses(runtime: NodeRuntime, kind: str) -> Witnesses:
    """The witnesses of a node of ``kind`` as the directory lists them now: the national
    node for a prefecture, every prefecture for the national node."""

    def now() -> list[tuple[str, str, Ed25519PublicKey]]:
        role: Literal["national", "prefecture"] = (
            "national" if kind == "prefecture" else "prefecture"
        )
        found = []
        for entry in runtime.directory.entries(role):
            public = runtime.directory.public_key(entry.node_id)
            if entry.url and public is not None:
                code = entry.node_id.partition(":")[2]
                found.append((entry.url, witness_name(role, code), public))
        return found

    return now


async def keep_witnessed(
    runtime: NodeRuntime, store: IdentityStore, post: Post, table: LegalTable
) -> None:
    """Log the rows of an upgraded node once, then have the log cosigned periodically."""
    from jukinet.nodes.identity.disclosure import catch_up

    def logged() -> int:
        with store.transaction() as conn:
            return catch_up(store, conn, table)

    caught = await asyncio.to_thread(logged)
    if caught:
        log.info("provision log: %d earlier provision rows logged", caught)
    witnesses = directory_witnesses(runtime, store.kind)
    await run_forever(store, post, witnesses, runtime.settings.audit_checkpoint_every)
