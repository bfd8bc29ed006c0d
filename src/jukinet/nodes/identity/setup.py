"""Creating, migrating and opening a prefecture or national node."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, insert, select

from jukinet import config
from jukinet.audit import log as audit
from jukinet.errors import ConfigurationError
from jukinet.keys import NodeKey
from jukinet.nodes.identity import provision_retention
from jukinet.nodes.identity.schema import SHARED_VERSIONS
from jukinet.nodes.identity.store import IdentityStore
from jukinet.nodes.identity.tables import node
from jukinet.storage import migrations as storage_migrations
from jukinet.storage.database import make_engine, sqlite_url

S = TypeVar("S", bound=IdentityStore)


def migrate_identity(engine: Engine, migrations: Path) -> None:
    """Bring a kind's schema (its own chain in ``migrations`` and the shared one) up to date."""
    storage_migrations.migrate(engine, migrations, [SHARED_VERSIONS])


def check_identity_schema(engine: Engine, migrations: Path) -> None:
    """Refuse to work on a database whose schema is not at the newest revisions."""
    hint = "run `jukinet --home HOME identity migrate`"
    storage_migrations.check_schema(engine, migrations, "identity", hint, [SHARED_VERSIONS])


def create_identity(engine: Engine, key: NodeKey, kind: str, code: str, name: str) -> None:
    """Write a new node's identity and the empty audit chain (schema already migrated)."""
    with engine.begin() as conn:
        if conn.execute(select(node.c.value).where(node.c.key == "kind")).first():
            raise ConfigurationError("This database already holds a node.")
        rows = [{"key": "kind", "value": kind}, {"key": "code", "value": code},
                {"key": "name", "value": name}]  # fmt: skip
        conn.execute(insert(node), rows)
        audit.start(conn, key)
        audit.append(conn, key, code, [audit.Draft("system", "node.init", code, detail=name)])


def init_identity_node(
    home: Path,
    kind: str,
    code: str,
    name: str,
    database_url: str | None,
    key: NodeKey,
    *,
    migrations: Path,
    network: config.NetworkSettings | None = None,
) -> config.NodeConfig:
    """Create a prefecture or national node in ``home``: database, node key, node.toml."""
    if (home / config.CONFIG_FILE).exists():
        raise ConfigurationError(f"{home} already holds a node; choose another home.")
    home.mkdir(parents=True, exist_ok=True)
    cfg = config.NodeConfig(
        home=home.resolve(),
        kind=kind,
        code=code,
        name=name,
        database_url=database_url or sqlite_url(home.resolve() / "identities.db"),
        network=network,
    )
    saved_key = not cfg.key_path.exists()
    if saved_key:
        key.save(cfg.key_path)
    elif NodeKey.load(cfg.key_path).public_pem() != key.public_pem():
        raise ConfigurationError(f"{cfg.key_path} holds another key than the one given.")
    engine = make_engine(cfg.database_url)
    try:
        migrate_identity(engine, migrations)
        create_identity(engine, key, kind, code, name)
        (home / "node.pub").write_bytes(key.public_pem())
        config.write(cfg)
    except BaseException:
        if saved_key:
            cfg.key_path.unlink(missing_ok=True)
        raise
    finally:
        engine.dispose()
    return cfg


def open_identity_node(
    home: Path, kind: str, migrations: Path, store: Callable[[Engine, NodeKey], S]
) -> S:
    cfg = config.load(home)
    if cfg.kind != kind:
        raise ConfigurationError(f"The node in {home} is a {cfg.kind} node, not a {kind} node.")
    engine = make_engine(cfg.database_url)
    try:
        check_identity_schema(engine, migrations)
        opened = store(engine, NodeKey.load(cfg.key_path))
        # The provision log's months ahead (PostgreSQL; provision_retention).
        provision_retention.ensure_partitions(opened)
        return opened
    except BaseException:
        engine.dispose()
        raise
