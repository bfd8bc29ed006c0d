"""A kind's whole schema: the shared identity tables copied into the kind's own metadata."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import MetaData

from jukinet.nodes.identity import tables as shared
from jukinet.storage.database import NAMING_CONVENTION

SHARED_VERSIONS = Path(__file__).parent / "migrations" / "versions"


def kind_metadata() -> MetaData:
    """New metadata holding a copy of every shared identity table (with its indexes)."""
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    for table in shared.metadata.sorted_tables:
        table.to_metadata(metadata)
    return metadata
