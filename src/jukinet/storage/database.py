"""Engines for every node kind's database (migrations: ``storage.migrations``).

SQLite (WAL) is the default; PostgreSQL 15 is used by URL. Writers are
serialised: SQLite transactions begin IMMEDIATE (so two writers never race on
an upgrade from read to write lock), and on PostgreSQL every writer locks the
audit head row first (see ``audit.log``).

A write that fails because the disk is full (SQLite's SQLITE_FULL, PostgreSQL's
``disk_full``, ENOSPC) raises ``StorageFull`` from every engine made here: one
sentence for the clerk, the agency or the sending node, and no traceback. The
database rolls the write back, so nothing committed is lost.
"""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import ExceptionContext

from jukinet.errors import ConfigurationError, StorageFull

# One naming convention for every node kind's schema, so that migrations name
# constraints and indexes the same way everywhere.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and IMMEDIATE transactions."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})
        _sqlite_tuning(engine)
    elif url.startswith("postgresql+psycopg"):
        engine = create_engine(url, pool_pre_ping=True)
    else:
        raise ConfigurationError(
            f"Unsupported database URL {url!r}: use sqlite:/// or postgresql://."
        )
    event.listen(engine, "handle_error", _full_disk)
    return engine


SQLITE_FULL = 13  # sqlite3 error code: "database or disk is full"
PG_DISK_FULL = "53100"  # SQLSTATE disk_full


def _full_disk(context: ExceptionContext) -> None:
    """Raise ``StorageFull`` in place of the driver's error for a full disk."""
    exc = context.original_exception
    full = (
        getattr(exc, "sqlite_errorcode", None) == SQLITE_FULL
        or getattr(exc, "sqlstate", None) == PG_DISK_FULL
        or (isinstance(exc, OSError) and exc.errno == errno.ENOSPC)
    )
    if full:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StorageFull(
            f"The node's disk is full ({first}): nothing was written. It works again once "
            "space is freed on its disk."
        ) from exc


READ_ONLY = "jukinet_read_only"


def read_only(conn: Connection) -> Connection:
    """``conn`` for reads only: on SQLite its transaction takes no write lock."""
    return conn.execution_options(**{READ_ONLY: True})


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
        # A connection marked READ_ONLY (``read_only``) reads a snapshot without the
        # write lock: WAL readers never wait for a writer, nor in the busy handler.
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
