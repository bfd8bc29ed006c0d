"""Signed checkpoints of a node's audit tree, kept for outsiders (R12, R25; docs/audit.md).

A checkpoint is the C2SP tlog-checkpoint of the tree at some size, signed as a
signed note with the node key under the key name ``origin`` (``jukinet/<kind>/<code>/audit``).
The running node makes one every few minutes when the log has grown, an operator on
demand (``jukinet audit checkpoint``); each is stored with the cosignature lines its
prefecture returned. A later checkpoint always extends an earlier one: the node
signs only the tree it holds, and the consistency proof between any two is served
from the stored hashes.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, insert, select, update

from jukinet.audit import log, merkle
from jukinet.audit.note import Checkpoint, signed_note
from jukinet.audit.tables import REFERENCE
from jukinet.keys import NodeKey

audit_checkpoints = REFERENCE.checkpoints


def origin(kind: str, code: str) -> str:
    """The log's origin line and key name: a schema-less path, no spaces, no plus."""
    return f"jukinet/{kind}/{code}/audit"


def witness_name(prefecture_code: str) -> str:
    """The key name of a prefecture's cosignatures (its own log's origin is another)."""
    return f"jukinet/prefecture/{prefecture_code}/witness"


@dataclass(frozen=True, slots=True)
class Stored:
    size: int
    at: str
    note: str
    cosignatures: str

    @property
    def checkpoint(self) -> Checkpoint:
        return Checkpoint.parse(self.note[: self.note.rfind("\n\n") + 1])

    @property
    def full(self) -> str:
        """The signed note with the prefecture's cosignature lines, if any."""
        return self.note + self.cosignatures


def make(conn: Connection, key: NodeKey, name: str) -> Stored:
    """Sign and store a checkpoint of the tree as it is now (the newest, if it has not grown)."""
    size, root_hex = log.lock_head(conn)
    newest = latest(conn)
    if newest is not None and newest.size == size:
        return newest
    note = signed_note(Checkpoint(name, size, bytes.fromhex(root_hex)), name, key)
    at = log.now()
    conn.execute(insert(audit_checkpoints).values(size=size, at=at, note=note, cosignatures=""))
    return Stored(size, at, note, "")


def latest(conn: Connection) -> Stored | None:
    row = conn.execute(
        select(audit_checkpoints).order_by(audit_checkpoints.c.size.desc()).limit(1)
    ).one_or_none()
    return None if row is None else Stored(row.size, row.at, row.note, row.cosignatures)


def every(conn: Connection) -> list[Stored]:
    rows = conn.execute(select(audit_checkpoints).order_by(audit_checkpoints.c.size)).all()
    return [Stored(r.size, r.at, r.note, r.cosignatures) for r in rows]


def add_cosignatures(conn: Connection, size: int, lines: str) -> None:
    conn.execute(
        update(audit_checkpoints).where(audit_checkpoints.c.size == size).values(cosignatures=lines)
    )


def consistency(conn: Connection, old: int, new: int) -> list[bytes]:
    """The consistency proof from the tree of size ``old`` to that of ``new``."""
    if old == 0 or old == new:
        return []
    return merkle.prove_tree(new, old, lambda idx: log.read_hashes(conn, idx))


def inclusion(conn: Connection, seq: int, size: int) -> list[bytes]:
    """The inclusion proof of entry ``seq`` (1-based) in the tree of ``size``."""
    return merkle.prove_record(size, seq - 1, lambda idx: log.read_hashes(conn, idx))
