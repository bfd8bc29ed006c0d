"""The identity node's provision log: a Merkle tree with one leaf per provision row (R14).

``log_provisions`` appends the leaves of a call's (or a batch chunk's) rows in the
same transaction as the rows, set-based: one read of the head, one multi-row insert
of the stored hashes, one update of the head. The leaf (``jukinet.audit.
provision_log``) is built from the row and is kept in it as its index, basis and
commitment; the tree's hashes are kept as the audit log keeps its own (Go tlog's
layout), so an inclusion proof reads O(log n) of them. Writers are serialised by the
audit head's lock (``IdentityStore.transaction``), so the tree never forks.

The disclosure secret behind the commitments is 32 random bytes in the node's ``node``
table, made on first use like the pseudonym secret (an existing node gains it, and
its rows written before the log existed are logged by ``catch_up`` when it starts).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update

from jukinet.audit import merkle
from jukinet.audit import provision_log as fmt
from jukinet.audit.log import now
from jukinet.audit.note import Checkpoint, signed_note
from jukinet.keys import NodeKey
from jukinet.nodes.identity.tables import (
    node,
    provision_checkpoints,
    provision_head,
    provision_tree,
    provisions,
)

SECRET_KEY = "disclosure_secret"

# (at, node, recipient, affair, basis, function, fields, request id, person key)
Row = tuple[str, str, str, str, str, str, str, str, str]


def disclosure_secret(conn: Connection) -> bytes:
    """The node's disclosure secret (k_r of a person is keyed with it), made on first use."""
    value = conn.execute(select(node.c.value).where(node.c.key == SECRET_KEY)).scalar()
    if value is None:
        value = secrets.token_hex(32)
        conn.execute(insert(node).values(key=SECRET_KEY, value=value))
    return bytes.fromhex(value)


def _head(conn: Connection) -> merkle.Appender:
    row = conn.execute(select(provision_head).where(provision_head.c.id == 1)).one_or_none()
    if row is None:
        conn.execute(insert(provision_head).values(id=1, size=0, root=merkle.EMPTY_ROOT, edge=b""))
        return merkle.Appender(0, {})
    size, kept = int(row.size), bytes(row.edge)
    edge = merkle.edge_indexes(size)
    hashes = [kept[i : i + merkle.HASH_SIZE] for i in range(0, len(kept), merkle.HASH_SIZE)]
    return merkle.Appender(size, {(lv, n): h for (lv, n, _), h in zip(edge, hashes, strict=True)})


def size(conn: Connection) -> tuple[int, bytes]:
    """(size, root) of the log now."""
    row = conn.execute(select(provision_head).where(provision_head.c.id == 1)).one_or_none()
    return (0, merkle.EMPTY_ROOT) if row is None else (int(row.size), bytes(row.root))


def append(conn: Connection, secret: bytes, rows: Sequence[Row]) -> list[tuple[int, str]]:
    """Append one leaf per row; returns (leaf index, commitment) per row, in order."""
    if not rows:
        return []
    tree = _head(conn)
    index = merkle.stored_hash_count(tree.size)
    out: list[tuple[int, str]] = []
    hashes: list[tuple[int, bytes]] = []
    keys: dict[str, bytes] = {}
    templates: dict[tuple[str, ...], fmt.LeafTemplate] = {}
    for row in rows:
        person, fixed = row[8], row[:8]
        n = tree.size
        k_r = keys.get(person)
        if k_r is None:
            k_r = keys[person] = fmt.resident_key(secret, person)
        c = fmt.commitment(k_r, n)
        template = templates.get(fixed)
        if template is None:
            template = templates[fixed] = fmt.LeafTemplate(*fixed)
        for h in tree.add(merkle.leaf_hash(template.line(n, c))):
            hashes.append((index, h))
            index += 1
        out.append((n, c))
    # Plain tuples through the DBAPI's executemany, as the provision rows themselves
    # (provision_store.log_provisions): a batch chunk adds about two hashes a row.
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    conn.exec_driver_sql(
        f"INSERT INTO {provision_tree.name} (idx, hash) VALUES ({mark}, {mark})", hashes
    )
    conn.execute(
        update(provision_head)
        .where(provision_head.c.id == 1)
        .values(size=tree.size, root=tree.root(), edge=b"".join(tree.right_edge()))
    )
    return out


def catch_up(conn: Connection, secret: bytes, basis_of: Callable[[str], str]) -> int:
    """Log the rows written before the log existed (``leaf`` NULL), oldest first; returns
    how many. Their basis is the one the node's legal table gives the affair now."""
    old = conn.execute(
        select(provisions.c.id, provisions.c.at, provisions.c.node, provisions.c.recipient,
               provisions.c.affair, provisions.c.function, provisions.c.fields,
               provisions.c.request_id, provisions.c.person_key)
        .where(provisions.c.leaf.is_(None)).order_by(provisions.c.id)
    ).all()  # fmt: skip
    rows: list[Row] = [(r.at, r.node, r.recipient, r.affair, basis_of(r.affair), r.function,
                        r.fields, r.request_id, r.person_key) for r in old]  # fmt: skip
    for r, row, (leaf, c) in zip(old, rows, append(conn, secret, rows), strict=True):
        conn.execute(
            update(provisions)
            .where(provisions.c.id == r.id)
            .values(leaf=leaf, basis=row[4], commitment=c)
        )
    return len(old)


def read_hashes(conn: Connection, indexes: Sequence[int]) -> list[bytes]:
    if not indexes:
        return []
    found = dict(
        conn.execute(
            select(provision_tree.c.idx, provision_tree.c.hash).where(
                provision_tree.c.idx.in_(sorted(set(indexes)))
            )
        ).all()
    )
    missing = [i for i in indexes if i not in found]
    if missing:
        raise LookupError(f"the provision tree has no stored hash at {missing[:5]}")
    return [bytes(found[i]) for i in indexes]


def inclusion(conn: Connection, index: int, tree_size: int) -> list[bytes]:
    """The inclusion proof of leaf ``index`` in the tree of ``tree_size``."""
    return merkle.prove_record(tree_size, index, lambda idx: read_hashes(conn, idx))


@dataclass(frozen=True, slots=True)
class Stored:
    size: int
    note: str
    cosignatures: str

    @property
    def full(self) -> str:
        return self.note + self.cosignatures


def checkpoint(conn: Connection, key: NodeKey, name: str) -> Stored:
    """The newest signed checkpoint, made now if the log has grown since."""
    tree_size, root = size(conn)
    row = conn.execute(
        select(provision_checkpoints).order_by(provision_checkpoints.c.size.desc()).limit(1)
    ).one_or_none()
    if row is not None and int(row.size) == tree_size:
        return Stored(int(row.size), row.note, row.cosignatures)
    note = signed_note(Checkpoint(name, tree_size, root), name, key)
    conn.execute(
        insert(provision_checkpoints).values(size=tree_size, at=now(), note=note, cosignatures="")
    )
    return Stored(tree_size, note, "")


def witnessed(conn: Connection, upto: int) -> Stored | None:
    """The newest checkpoint of at most ``upto`` leaves that a witness cosigned."""
    row = conn.execute(
        select(provision_checkpoints)
        .where(provision_checkpoints.c.size <= upto, provision_checkpoints.c.cosignatures != "")
        .order_by(provision_checkpoints.c.size.desc()).limit(1)
    ).one_or_none()  # fmt: skip
    return None if row is None else Stored(int(row.size), row.note, row.cosignatures)


def consistency(conn: Connection, old: int, new: int) -> list[bytes]:
    """The consistency proof from the tree of ``old`` leaves to that of ``new``."""
    if old == 0 or old == new:
        return []
    return merkle.prove_tree(new, old, lambda idx: read_hashes(conn, idx))


def leaf_of(r: Any) -> bytes:
    """The leaf line of a logged provision row."""
    return fmt.leaf_line(int(r.leaf), r.at, r.node, r.recipient, r.affair, r.basis or "",
                         r.function, r.fields, r.request_id, r.commitment or "")  # fmt: skip


def leaves(conn: Connection, upto: int, batch: int = 5000) -> Iterator[bytes]:
    """The leaf lines 0..upto-1 in order, rebuilt from the rows (the published log).

    A row deleted from the table leaves a gap: the export stops being the tree the
    checkpoints sign, which the resident's check finds (``disclosure_check``)."""
    after = -1
    while after < upto - 1:
        rows = conn.execute(
            select(provisions.c.leaf, provisions.c.at, provisions.c.node,
                   provisions.c.recipient, provisions.c.affair, provisions.c.basis,
                   provisions.c.function, provisions.c.fields, provisions.c.request_id,
                   provisions.c.commitment)
            .where(provisions.c.leaf > after, provisions.c.leaf < upto)
            .order_by(provisions.c.leaf).limit(batch)
        ).all()  # fmt: skip
        if not rows:
            return
        for r in rows:
            yield leaf_of(r)
        after = int(rows[-1].leaf)
