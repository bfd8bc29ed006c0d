"""The migration from the hash-chained audit log to the Merkle tree, shared by every kind.

Each node kind's Alembic chain calls ``upgrade`` once: it adds the tree, checkpoint
and cosigning tables, drops the chain's two hash columns and builds the tree's stored
hashes from the entries already there. The head keeps the old chain's signature,
which no longer matches: the node signs the new head (size and root) with its next
audited operation, and until then ``jukinet audit verify`` says the head's
signature is not the node's (a migration holds no key).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from jukinet.audit import log, merkle


def upgrade() -> None:
    op.create_table(
        "audit_tree",
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("idx", name=op.f("pk_audit_tree")),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("cosignatures", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("size", name=op.f("pk_audit_checkpoints")),
    )
    op.create_table(
        "audit_cosigned",
        sa.Column("origin", sa.String(length=96), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("origin", name=op.f("pk_audit_cosigned")),
    )
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("prev_hash")
        batch.drop_column("hash")
    with op.batch_alter_table("audit_head") as batch:  # a new column needs a value: empty
        batch.add_column(sa.Column("edge", sa.LargeBinary(), nullable=True))
    conn = op.get_bind()
    tree = merkle.Appender(0, {})
    index = 0
    batch_rows: list[dict[str, object]] = []
    for e in log.entries(conn):
        for h in tree.add(merkle.leaf_hash(e.line())):
            batch_rows.append({"idx": index, "hash": h})
            index += 1
        if len(batch_rows) >= 10_000:
            conn.execute(sa.insert(log.audit_tree), batch_rows)
            batch_rows = []
    if batch_rows:
        conn.execute(sa.insert(log.audit_tree), batch_rows)
    conn.execute(
        sa.update(log.audit_head)
        .where(log.audit_head.c.id == 1)
        .values(hash=tree.root().hex(), edge=b"".join(tree.right_edge()))
    )
    with op.batch_alter_table("audit_head") as batch:
        batch.alter_column("edge", existing_type=sa.LargeBinary(), nullable=False)


def downgrade() -> None:
    op.drop_table("audit_cosigned")
    op.drop_table("audit_checkpoints")
    op.drop_table("audit_tree")
    with op.batch_alter_table("audit_head") as batch:
        batch.drop_column("edge")
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(
            sa.Column("prev_hash", sa.String(length=64), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("hash", sa.String(length=64), nullable=False, server_default=""))
