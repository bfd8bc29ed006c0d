"""the signed request of every provision

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 16:00:00.000000

- ``provision_requests``: one row per signed request that provided anything (a lookup,
  verify or search): its RFC 9421 Signature and Signature-Input, the covered components
  (method, URL, Content-Digest), the body, the signer's key id and public key and the
  fingerprint of its TLS certificate, so that a provision can be re-verified offline
  (R2, R7, R14; docs/network.md, "Non-repudiation"). The provision rows of a request
  carry its ``request_id`` already.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "provision_requests",
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.Column("keyid", sa.String(length=64), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("content_digest", sa.Text(), nullable=False),
        sa.Column("signature_input", sa.Text(), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("certificate", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_provision_requests")),
    )
    op.create_index(op.f("ix_provision_requests_at"), "provision_requests", ["at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_provision_requests_at"), table_name="provision_requests")
    op.drop_table("provision_requests")
