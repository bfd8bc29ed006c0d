"""The national node's schema: the identity tables (``nodes/identity/tables.py``) and the
code registry (R6), every resident code ever issued to a municipality."""

from __future__ import annotations

from sqlalchemy import Column, String, Table

from jukinet.nodes.identity.schema import kind_metadata

metadata = kind_metadata()

issued_codes = Table(
    "issued_codes",
    metadata,
    Column("code", String(11), primary_key=True),
    Column("municipality", String(6), nullable=False),
    Column("issued_at", String(32), nullable=False),
)
