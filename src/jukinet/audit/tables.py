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
        Column("prev_hash", String(64), nullable=False),
        Column("hash", String(64), nullable=False),
    )
    # One row: the newest entry's hash, signed with the node key. Every writer locks
    # it first, which serialises appends to the chain (and detects a cut-off tail).
    head = Table(
        "audit_head",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("seq", BigInteger, nullable=False),
        Column("hash", String(64), nullable=False),
        Column("signature", LargeBinary, nullable=False),
    )
    return AuditTables(log, head)


REFERENCE = audit_tables(MetaData())
