"""Alembic, for every node kind: bring a schema to its newest revision, or refuse an old one.

Each node kind keeps its migrations in ``nodes/<kind>/migrations`` (``env.py`` names
the kind's tables). The prefecture and national nodes also take the identity-node
revisions shared by both (``nodes/identity/migrations/versions``): their own chain
``depends_on`` the shared one, so both chains are upgraded to their heads.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from jukinet.errors import ConfigurationError

__all__ = ["alembic_config", "check_schema", "migrate"]


def alembic_config(engine: Engine, folder: Path, shared: Sequence[Path]) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(folder))
    locations = [folder / "versions", *shared]
    # Alembic splits version_locations on this separator; paths hold no newline.
    cfg.set_main_option("path_separator", "newline")
    cfg.set_main_option("version_locations", "\n".join(str(p) for p in locations))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine, folder: Path, shared: Sequence[Path] = ()) -> None:
    """Bring the schema to the newest revision of every chain in ``folder`` and ``shared``."""
    command.upgrade(alembic_config(engine, folder, shared), "heads")


def check_schema(
    engine: Engine, folder: Path, what: str, hint: str, shared: Sequence[Path] = ()
) -> None:
    """Refuse to work on a database whose schema is not at the newest revisions."""
    heads = set(ScriptDirectory.from_config(alembic_config(engine, folder, shared)).get_heads())
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    if current != heads:
        raise ConfigurationError(
            f"The {what} database is at schema {', '.join(sorted(current)) or 'none'}, "
            f"not {', '.join(sorted(heads))}: {hint}."
        )
