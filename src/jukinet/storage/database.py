"""Engines and schema migrations.

SQLite (WAL) is the default; PostgreSQL 15 is used by URL. Writers are
serialised: SQLite transactions begin IMMEDIATE (so two writers never race on
an upgrade from read to write lock), and on PostgreSQL every writer locks the
audit head row first (see ``audit.log``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event

from jukinet.errors import ConfigurationError

MIGRATIONS = Path(__file__).parent / "migrations"


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and IMMEDIATE transactions."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})
        _sqlite_tuning(engine)
        return engine
    if url.startswith("postgresql+psycopg"):
        return create_engine(url, pool_pre_ping=True)
    raise ConfigurationError(f"Unsupported database URL {url!r}: use sqlite:/// or postgresql://.")


def _sqlite_tuning(engine: Engine) -> None:
    # pysqlite opens transactions lazily and on its own terms; take that over so
    # every transaction is BEGIN IMMEDIATE (the documented SQLAlchemy recipe).
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration."""
    command.upgrade(_alembic_config(engine), "head")


def check_schema(engine: Engine) -> None:
    """Refuse to work on a database whose schema is not at the newest migration."""
    head = ScriptDirectory.from_config(_alembic_config(engine)).get_current_head()
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current != head:
        raise ConfigurationError(
            f"The register database is at schema {current or 'none'}, not {head}: "
            "run `jukinet register migrate`."
        )
