"""The prefecture node's schema: the identity tables (``nodes/identity/tables.py``) and the
outbox through which every applied update goes on to the national node (R22)."""

from __future__ import annotations

from jukinet.network import outbox as ob
from jukinet.nodes.identity.schema import kind_metadata

metadata = kind_metadata()

outbox = ob.outbox_table(metadata)
