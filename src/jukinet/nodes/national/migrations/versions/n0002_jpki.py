"""the JPKI certification authority (R15): certificates, revocations, CRLs

Revision ID: national_0002
Revises: national_0001
Create Date: 2026-12-10 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "national_0002"
down_revision = "national_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jpki_certificates",
        sa.Column("serial", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("person_key", sa.String(length=32), nullable=False),
        sa.Column("resident_code", sa.String(length=11), nullable=False),
        sa.Column("municipality", sa.String(length=6), nullable=False),
        sa.Column("issued_at", sa.String(length=32), nullable=False),
        sa.Column("not_after", sa.String(length=32), nullable=False),
        sa.Column("der", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("serial", name=op.f("pk_jpki_certificates")),
    )
    op.create_index(op.f("ix_jpki_certificates_person_key"), "jpki_certificates", ["person_key"])
    op.create_table(
        "jpki_revocations",
        sa.Column("serial", sa.String(length=40), nullable=False),
        sa.Column("revoked_at", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("revoked_by", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["serial"],
            ["jpki_certificates.serial"],
            name=op.f("fk_jpki_revocations_serial_jpki_certificates"),
        ),
        sa.PrimaryKeyConstraint("serial", name=op.f("pk_jpki_revocations")),
    )
    op.create_table(
        "jpki_crls",
        sa.Column("number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("this_update", sa.String(length=32), nullable=False),
        sa.Column("next_update", sa.String(length=32), nullable=False),
        sa.Column("revocations", sa.Integer(), nullable=False),
        sa.Column("der", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_jpki_crls")),
    )


def downgrade() -> None:
    op.drop_table("jpki_crls")
    op.drop_table("jpki_revocations")
    op.drop_index(op.f("ix_jpki_certificates_person_key"), table_name="jpki_certificates")
    op.drop_table("jpki_certificates")
