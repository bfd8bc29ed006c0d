"""Append-only audit log: an RFC 9162 Merkle tree over its entries, with a signed head (R12, R25).

Each entry is one canonical JSON line (``line``); its leaf is the RFC 9162 leaf hash
of that line's UTF-8 bytes. The tree's hashes are stored as they are made
(``audit_tree``, Go tlog's layout, see ``merkle``), so appending reads only the
tree's right edge and a proof reads O(log n) hashes. The head row holds the size and
root hash, signed with the node key on every append: altering, removing or
reordering any entry changes the root, and cutting entries off the end contradicts
the signed size. Appending locks the head row: the tree never forks.

The former hash chain (each entry's hash covering the previous one) is gone: the
tree proves everything the chain proved (a root over every entry, signed), and also
what a chain cannot prove cheaply to an outsider: that a later checkpoint extends an
earlier one (a consistency proof of O(log n) hashes instead of the whole log), and
that one entry is in the log (an inclusion proof). Keeping both would cost a second
hash per entry and prove nothing more. Checkpoints for outsiders: ``checkpoints``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, bindparam, insert, select, update

from jukinet.audit import merkle
from jukinet.audit.tables import REFERENCE
from jukinet.keys import NodeKey, verify_signature

audit_log, audit_head, audit_tree = REFERENCE.log, REFERENCE.head, REFERENCE.tree

EMPTY = merkle.EMPTY_ROOT.hex()


class Outcome:
    OK = "ok"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class Draft:
    """An entry before it joins the log: who did what to which record, and how it ended."""

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

    def line(self) -> bytes:
        return line(self.seq, self.at, self.actor, self.node, self.operation, self.target,
                    self.outcome, self.detail)  # fmt: skip


def line(
    seq: int, at: str, actor: str, node: str, operation: str, target: str,
    outcome: str, detail: str,
) -> bytes:  # fmt: skip
    """The entry's line in ``entries.jsonl``, byte for byte (docs/audit.md, "The entry line").

    A JSON object with these eight keys in this order, no spaces, non-ASCII as UTF-8
    (control characters, quote and backslash escaped as JSON requires), no newline.
    """
    return json.dumps(
        {"seq": seq, "at": at, "actor": actor, "node": node, "operation": operation,
         "target": target, "outcome": outcome, "detail": detail},
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()  # fmt: skip


def head_message(size: int, root_hex: str) -> bytes:
    return f"jukinet-audit-head:{size}:{root_hex}".encode()


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def start(conn: Connection, key: NodeKey) -> None:
    """Create the empty tree's signed head (once, when the register is created)."""
    conn.execute(
        insert(audit_head).values(
            id=1, seq=0, hash=EMPTY, signature=key.sign(head_message(0, EMPTY))
        )
    )


# Every operation of every node runs these: built once, they skip SQLAlchemy's
# per-call expression construction (a fifth of a lookup's time).
_LOCK_HEAD = (
    select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1).with_for_update()
)
_LOCK_EDGE = (
    select(audit_head.c.seq, audit_head.c.edge).where(audit_head.c.id == 1).with_for_update()
)
_INSERT_ENTRIES = insert(audit_log)
_INSERT_HASHES = insert(audit_tree)
_ADVANCE_HEAD = (
    update(audit_head)
    .where(audit_head.c.id == 1)
    .values(
        seq=bindparam("new_seq"),
        hash=bindparam("new_hash"),
        signature=bindparam("new_sig"),
        edge=bindparam("new_edge"),
    )
)


def lock_head(conn: Connection) -> tuple[int, str]:
    """Lock the head row for this transaction; returns (size, root hash hex) of the tree."""
    row = conn.execute(_LOCK_HEAD).one()
    return int(row.seq), str(row.hash)


_READ_HASHES = select(audit_tree.c.idx, audit_tree.c.hash).where(
    audit_tree.c.idx.in_(bindparam("idx", expanding=True))
)


def read_hashes(conn: Connection, indexes: Sequence[int]) -> list[bytes]:
    """The stored tree hashes at ``indexes``, in that order (a ``merkle.HashReader``)."""
    if not indexes:
        return []
    found = dict(conn.execute(_READ_HASHES, {"idx": sorted(set(indexes))}).all())
    missing = [i for i in indexes if i not in found]
    if missing:
        raise LookupError(f"the audit tree has no stored hash at {missing[:5]}")
    return [bytes(found[i]) for i in indexes]


def appender(conn: Connection, size: int, kept: bytes = b"") -> merkle.Appender:
    """An appender for the stored tree of ``size``: its right edge as the head keeps it,
    or read from the tree (one query) when the head keeps none."""
    edge = merkle.edge_indexes(size)
    hashes = [kept[i : i + merkle.HASH_SIZE] for i in range(0, len(kept), merkle.HASH_SIZE)]
    if len(hashes) != len(edge):
        hashes = read_hashes(conn, [i for _, _, i in edge])
    return merkle.Appender(size, {(lv, n): h for (lv, n, _), h in zip(edge, hashes, strict=True)})


@dataclass(frozen=True, slots=True)
class Head:
    """The head row as locked for this transaction: the tree's size and right edge."""

    seq: int
    edge: bytes


def lock_edge(conn: Connection) -> Head:
    """Lock the head row for this transaction, with what ``append`` needs of it."""
    row = conn.execute(_LOCK_EDGE).one()
    return Head(int(row.seq), bytes(row.edge))


def append(
    conn: Connection, key: NodeKey, node: str, drafts: Sequence[Draft], head: Head | None = None
) -> int:
    """Append ``drafts`` to the log in this transaction; returns the last seq.

    ``head`` is the head this transaction locked (``lock_edge``) and has not advanced
    since: given, the head is not locked and read a second time. One signature of the
    new head, however many drafts.
    """
    if not drafts:
        return lock_head(conn)[0] if head is None else head.seq
    if head is None:
        head = lock_edge(conn)
    seq = head.seq
    tree = appender(conn, seq, head.edge)
    index = merkle.stored_hash_count(seq)
    at = now()
    rows, hashes = [], []
    for d in drafts:
        seq += 1
        rows.append(
            {"seq": seq, "at": at, "actor": d.actor, "node": node, "operation": d.operation,
             "target": d.target, "outcome": d.outcome, "detail": d.detail}
        )  # fmt: skip
        leaf = merkle.leaf_hash(
            line(seq, at, d.actor, node, d.operation, d.target, d.outcome, d.detail)
        )
        for h in tree.add(leaf):
            hashes.append({"idx": index, "hash": h})
            index += 1
    root = tree.root().hex()
    conn.execute(_INSERT_ENTRIES, rows)
    conn.execute(_INSERT_HASHES, hashes)
    conn.execute(
        _ADVANCE_HEAD,
        {
            "new_seq": seq,
            "new_hash": root,
            "new_sig": key.sign(head_message(seq, root)),
            "new_edge": b"".join(tree.right_edge()),
        },
    )
    return seq


def entries(conn: Connection, after: int = 0, batch: int = 5000) -> Iterator[Entry]:
    """Every entry in seq order, read in batches so memory stays flat."""
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


def _stored(conn: Connection, lo: int, hi: int) -> dict[int, bytes]:
    rows = conn.execute(
        select(audit_tree.c.idx, audit_tree.c.hash).where(
            audit_tree.c.idx >= lo, audit_tree.c.idx < hi
        )
    ).all()
    return {int(i): bytes(h) for i, h in rows}


def verify(conn: Connection, public: Ed25519PublicKey, max_problems: int = 20) -> Verification:
    """Recompute the tree from the entries; report where it was altered, cut or reordered."""
    problems: list[Problem] = []
    tree = merkle.Appender(0, {})
    expected_seq, count = 1, 0
    batch: list[Entry] = []

    def check(batch: list[Entry]) -> None:
        # Tree positions up to the batch's last seq; a missing entry's place takes the
        # stored leaf, an altered one's the stored leaf too, so that each tampering is
        # reported once, where it is, and not again in every hash above it.
        if not batch:
            return
        by_seq = {e.seq: e for e in batch}
        lo = merkle.stored_hash_count(tree.size)
        stored = _stored(conn, lo, merkle.stored_hash_count(batch[-1].seq))
        index = lo
        while tree.size < batch[-1].seq:
            seq = tree.size + 1
            kept = stored.get(index)
            e = by_seq.get(seq)
            leaf = kept if e is None and kept else merkle.leaf_hash(e.line()) if e else b""
            if e is not None and kept != leaf:
                problems.append(Problem(seq, "was altered: its content does not match its leaf"))
                leaf = kept or leaf
            hashes = tree.add(leaf)
            if leaf and any(stored.get(index + i) != h for i, h in enumerate(hashes)):
                problems.append(Problem(seq, "the tree's stored hashes above it were altered"))
            index += len(hashes)

    for e in entries(conn):
        count += 1
        if e.seq != expected_seq:
            problems.append(Problem(e.seq, f"entries {expected_seq}..{e.seq - 1} are missing"))
        expected_seq = e.seq + 1
        batch.append(e)
        if len(batch) == 5000:
            check(batch)
            batch = []
        if len(problems) >= max_problems:
            break
    check(batch)
    root = tree.root().hex()
    head = conn.execute(select(audit_head).where(audit_head.c.id == 1)).one_or_none()
    last = expected_seq - 1
    if head is None:
        problems.append(Problem(last, "the signed head of the log is missing"))
    elif not verify_signature(public, head.signature, head_message(head.seq, head.hash)):
        problems.append(Problem(head.seq, "the head's signature is not the node's"))
    elif len(problems) < max_problems and (head.seq != last or head.hash != root):
        problems.append(
            Problem(
                last,
                f"the signed head names entry {head.seq}, but the log ends at entry {last}"
                if head.seq != last
                else "the entries do not make the tree whose root the head signs",
            )
        )
    return Verification(count, tuple(problems[:max_problems]))
