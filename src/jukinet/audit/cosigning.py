"""Cosigning checkpoints: a prefecture witnesses its municipalities' logs (R25; docs/audit.md).

The prefecture keeps, per municipality (per log origin), the newest checkpoint it
cosigned. It cosigns a new one only if the municipality signed it and the
consistency proof shows it extends that one; otherwise the municipality rewrote its
history (a fork) or rolled it back, and the prefecture refuses, audits the refusal
and raises an alert on ``jukinet.security``. The first checkpoint of a municipality
is taken as it is (trust on first use), like any witness's.
"""

from __future__ import annotations

import base64
import logging
import time
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, insert, select, update

from jukinet.audit import log, merkle
from jukinet.audit.note import NoteError, cosign_line, open_checkpoint
from jukinet.audit.tables import REFERENCE
from jukinet.errors import CheckpointRefused
from jukinet.keys import NodeKey

audit_cosigned = REFERENCE.cosigned
security_log = logging.getLogger("jukinet.security")


@dataclass(frozen=True, slots=True)
class Request:
    note: str
    previous_size: int
    consistency: list[str]


def cosign(
    conn: Connection, key: NodeKey, cosigner: str, origin: str, public: Ed25519PublicKey,
    request: Request, now: int | None = None,
) -> str:  # fmt: skip
    """The cosignature line for ``request``'s checkpoint of the log ``origin``, or refuse.

    ``conn`` is a transaction holding the audit head; the caller audits the outcome.
    """
    try:
        cp = open_checkpoint(request.note, origin, public)
        proof = [base64.b64decode(h, validate=True) for h in request.consistency]
    except (NoteError, ValueError) as exc:
        raise CheckpointRefused(f"The checkpoint of {origin} is not its to sign: {exc}") from None
    if cp.origin != origin:
        raise CheckpointRefused(f"The checkpoint names {cp.origin}, not {origin}.")
    row = conn.execute(
        select(audit_cosigned).where(audit_cosigned.c.origin == origin).with_for_update()
    ).one_or_none()
    if row is not None:
        _extends(origin, int(row.size), bytes(row.root), cp.size, cp.root, request, proof)
    text = request.note[: request.note.rfind("\n\n") + 1]
    line = cosign_line(cosigner, key, text, int(time.time()) if now is None else now)
    values = {"size": cp.size, "root": cp.root, "at": log.now()}
    if row is None:
        conn.execute(insert(audit_cosigned).values(origin=origin, **values))
    elif cp.size > row.size:
        conn.execute(update(audit_cosigned).where(audit_cosigned.c.origin == origin).values(values))
    return line


def _extends(
    origin: str, old_size: int, old_root: bytes, size: int, root: bytes,
    request: Request, proof: list[bytes],
) -> None:  # fmt: skip
    if size < old_size:
        _fork(origin, f"its checkpoint of size {size} is older than the one of size "
                      f"{old_size} already cosigned (a rollback)")  # fmt: skip
    if request.previous_size != old_size:
        message = (
            f"The consistency proof must start from size {old_size}, the checkpoint of "
            f"{origin} cosigned last; it starts from {request.previous_size}."
        )
        security_log.warning("audit checkpoint not cosigned: %s [checkpoint-refused]", message)
        raise CheckpointRefused(message)
    if size == old_size:
        if root != old_root:
            _fork(origin, f"two different trees of size {size}")
        return
    if old_size == 0:
        return
    try:
        merkle.check_tree(proof, size, root, old_size, old_root)
    except merkle.ProofFailed:
        _fork(origin, f"its tree of size {size} does not extend the one of size {old_size} "
                      "already cosigned")  # fmt: skip


def _fork(origin: str, why: str) -> None:
    message = f"{origin} rewrote its audit history: {why}. Not cosigned."
    security_log.error("audit fork: %s [checkpoint-refused]", message)
    raise CheckpointRefused(message)
