"""Append-only, hash-chained audit log with a signed head (R12, R25).

Each entry's hash covers its content and the previous entry's hash, so altering,
removing or reordering any entry breaks the chain from that point. The head row
holds the newest hash signed with the node key, so cutting entries off the end
shows too. Appending locks the head row: the chain never forks.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, bindparam, insert, select, update

from jukinet.audit.tables import REFERENCE
from jukinet.keys import NodeKey, verify_signature

audit_log, audit_head = REFERENCE.log, REFERENCE.head

GENESIS = "0" * 64


class Outcome:
    OK = "ok"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class Draft:
    """An entry before it joins the chain: who did what to which record, and how it ended."""

    actor: str
    operation: str
    target: str
    outcome: str = Outcome.OK
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Entry:
    seq: int
    at: str
    actor: str
    node: str
    operation: str
    target: str
    outcome: str
    detail: str
    prev_hash: str
    hash: str


def entry_hash(
    seq: int, at: str, actor: str, node: str, operation: str, target: str,
    outcome: str, detail: str, prev_hash: str,
) -> str:  # fmt: skip
    canonical = json.dumps(
        [seq, at, actor, node, operation, target, outcome, detail, prev_hash],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def head_message(seq: int, digest: str) -> bytes:
    return f"jukinet-audit-head:{seq}:{digest}".encode()


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def start(conn: Connection, key: NodeKey) -> None:
    """Create the empty chain's signed head (once, when the register is created)."""
    conn.execute(
        insert(audit_head).values(
            id=1, seq=0, hash=GENESIS, signature=key.sign(head_message(0, GENESIS))
        )
    )


# Every operation of every node runs these: built once, they skip SQLAlchemy's
# per-call expression construction (a fifth of a lookup's time).
_LOCK_HEAD = (
    select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1).with_for_update()
)
_INSERT_ENTRIES = insert(audit_log)
_ADVANCE_HEAD = (
    update(audit_head)
    .where(audit_head.c.id == 1)
    .values(seq=bindparam("new_seq"), hash=bindparam("new_hash"), signature=bindparam("new_sig"))
)


def lock_head(conn: Connection) -> tuple[int, str]:
    """Lock the head row for this transaction; returns (seq, hash) of the newest entry."""
    row = conn.execute(_LOCK_HEAD).one()
    return int(row.seq), str(row.hash)


def append(conn: Connection, key: NodeKey, node: str, drafts: Sequence[Draft]) -> int:
    """Append ``drafts`` to the chain in this transaction; returns the last seq."""
    seq, prev = lock_head(conn)
    at = now()
    rows = []
    for d in drafts:
        seq += 1
        digest = entry_hash(
            seq, at, d.actor, node, d.operation, d.target, d.outcome, d.detail, prev
        )
        rows.append(
            {
                "seq": seq,
                "at": at,
                "actor": d.actor,
                "node": node,
                "operation": d.operation,
                "target": d.target,
                "outcome": d.outcome,
                "detail": d.detail,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
    if rows:
        conn.execute(_INSERT_ENTRIES, rows)
        conn.execute(
            _ADVANCE_HEAD,
            {"new_seq": seq, "new_hash": prev, "new_sig": key.sign(head_message(seq, prev))},
        )
    return seq


def entries(conn: Connection, after: int = 0, batch: int = 5000) -> Iterator[Entry]:
    """Every entry in chain order, read in batches so memory stays flat."""
    while True:
        rows = conn.execute(
            select(audit_log).where(audit_log.c.seq > after).order_by(audit_log.c.seq).limit(batch)
        ).all()
        if not rows:
            return
        for r in rows:
            yield Entry(**r._mapping)
        after = rows[-1].seq


@dataclass(frozen=True, slots=True)
class Problem:
    seq: int
    what: str


@dataclass(frozen=True, slots=True)
class Verification:
    entries: int
    problems: tuple[Problem, ...]

    @property
    def intact(self) -> bool:
        return not self.problems


def verify(conn: Connection, public: Ed25519PublicKey, max_problems: int = 20) -> Verification:
    """Walk the chain and the signed head; report where it was altered, cut or reordered."""
    problems: list[Problem] = []
    expected_seq, prev, count = 1, GENESIS, 0
    for e in entries(conn):
        count += 1
        if e.seq != expected_seq:
            problems.append(Problem(e.seq, f"entries {expected_seq}..{e.seq - 1} are missing"))
        if e.prev_hash != prev:
            problems.append(
                Problem(e.seq, "does not follow the entry before it (removed or reordered)")
            )
        digest = entry_hash(
            e.seq, e.at, e.actor, e.node, e.operation, e.target, e.outcome, e.detail, e.prev_hash
        )
        if digest != e.hash:
            problems.append(Problem(e.seq, "was altered: its content does not match its hash"))
        prev, expected_seq = e.hash, e.seq + 1
        if len(problems) >= max_problems:
            break
    head = conn.execute(select(audit_head).where(audit_head.c.id == 1)).one_or_none()
    last = expected_seq - 1
    if head is None:
        problems.append(Problem(last, "the signed head of the log is missing"))
    elif not verify_signature(public, head.signature, head_message(head.seq, head.hash)):
        problems.append(Problem(head.seq, "the head's signature is not the node's"))
    elif len(problems) < max_problems and (head.seq != last or head.hash != prev):
        problems.append(
            Problem(
                last,
                f"the signed head names entry {head.seq}, but the log ends at entry {last}"
                if head.seq != last
                else "the last entry is not the one the signed head names",
            )
        )
    return Verification(count, tuple(problems))
