"""the audit log becomes a Merkle tree with signed checkpoints

Revision ID: 0008_audit_merkle_tree
Revises: 0007_wide_area_requests
Create Date: 2026-12-02 04:00:00.000000

- ``audit_tree``: the stored hashes of the RFC 9162 tree over the audit entries.
- ``audit_checkpoints``: the signed checkpoints (C2SP tlog-checkpoint) and cosignatures.
- ``audit_log`` loses the hash chain's ``prev_hash`` and ``hash`` (R12, R25; docs/audit.md).
"""

from __future__ import annotations

from jukinet.audit import upgrade as audit_upgrade

revision = "0008_audit_merkle_tree"
down_revision = "0007_wide_area_requests"
branch_labels = None
depends_on = None


def upgrade() -> None:
    audit_upgrade.upgrade()


def downgrade() -> None:
    audit_upgrade.downgrade()
