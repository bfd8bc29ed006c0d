"""The audit log's two tables, the same in every node kind's schema.

Each node kind's metadata includes them through ``audit_tables``; the log's own
statements are built on ``REFERENCE``, a copy outside any node's metadata (the SQL
names only the tables and their columns, so it runs on every node's database).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import BigInteger, Column, Integer, LargeBinary, MetaData, String, Table, Text


@dataclass(frozen=True, slots=True)
class AuditTables:
    log: Table
    head: Table
    tree: Table
    checkpoints: Table
    cosigned: Table


def audit_tables(metadata: MetaData, *, node_length: int = 32) -> AuditTables:
    log = Table(
        "audit_log",
        metadata,
        Column("seq", BigInteger, primary_key=True, autoincrement=False),
        Column("at", String(32), nullable=False),
        Column("actor", String(64), nullable=False),
        Column("node", String(node_length), nullable=False),
        Column("operation", String(48), nullable=False),
        Column("target", Text, nullable=False),
        Column("outcome", String(16), nullable=False),
        Column("detail", Text, nullable=False),
    )
    # One row: the tree's size and root hash, signed with the node key. Every writer
    # locks it first, which serialises appends to the tree (and detects a cut-off tail).
    head = Table(
        "audit_head",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("seq", BigInteger, nullable=False),
        Column("hash", String(64), nullable=False),
        Column("signature", LargeBinary, nullable=False),
        # The tree's right edge (its complete subtrees' hashes, 32 bytes each, left to
        # right): an append reads it with the lock instead of querying the tree.
        Column("edge", LargeBinary, nullable=False, default=b""),
    )
    # The Merkle tree's stored hashes in Go tlog's layout (audit/merkle.py): appending
    # adds rows at the end; a proof reads O(log n) of them.
    tree = Table(
        "audit_tree",
        metadata,
        Column("idx", BigInteger, primary_key=True, autoincrement=False),
        Column("hash", LargeBinary(32), nullable=False),
    )
    # The signed checkpoints (C2SP tlog-checkpoint as a signed note), newest last, with
    # the cosignature lines the prefecture returned (C2SP tlog-cosignature).
    checkpoints = Table(
        "audit_checkpoints",
        metadata,
        Column("size", BigInteger, primary_key=True, autoincrement=False),
        Column("at", String(32), nullable=False),
        Column("note", Text, nullable=False),
        Column("cosignatures", Text, nullable=False, default=""),
    )
    # On a prefecture: the newest checkpoint of each municipality it cosigned; the next
    # must be consistent with it, or it is a fork and is refused (R25).
    cosigned = Table(
        "audit_cosigned",
        metadata,
        Column("origin", String(96), primary_key=True),
        Column("size", BigInteger, nullable=False),
        Column("root", LargeBinary(32), nullable=False),
        Column("at", String(32), nullable=False),
    )
    return AuditTables(log, head, tree, checkpoints, cosigned)


REFERENCE = audit_tables(MetaData())
