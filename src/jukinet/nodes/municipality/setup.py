"""Creating and opening a municipality node: home folder, key, database, first administrator."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import Engine

from jukinet import config
from jukinet.audit import log as audit
from jukinet.card.operator_card import IssuedOperatorCard, check_free, write_operator_card
from jukinet.domain.access import Role
from jukinet.domain.codes import parse_local_government_code
from jukinet.errors import ConfigurationError
from jukinet.keys import NodeKey
from jukinet.nodes.municipality import operator_cards
from jukinet.nodes.municipality import store as register
from jukinet.nodes.municipality.operators import add as add_operator
from jukinet.nodes.municipality.pool import CodeMaker, fill
from jukinet.nodes.municipality.store import RegisterStore
from jukinet.seed.places import Municipality
from jukinet.storage import migrations
from jukinet.storage.database import make_engine, sqlite_url

MIGRATIONS = Path(__file__).parent / "migrations"
DEFAULT_POOL = 10_000
DEFAULT_LOW_WATER = 1_000


@dataclass(frozen=True, slots=True)
class FirstAdministrator:
    username: str
    full_name: str
    password: str
    trained_on: date
    pledge_signed_on: date


def init_register(
    home: Path,
    municipality: Municipality,
    admin: FirstAdministrator,
    source: CodeMaker,
    *,
    database_url: str | None = None,
    pool_size: int = DEFAULT_POOL,
    low_water: int = DEFAULT_LOW_WATER,
    key: NodeKey | None = None,
    admin_card: Path | None = None,
) -> config.NodeConfig:
    """Create a municipality node in ``home``; refuses a folder that already holds one.

    ``admin_card``: where to write the first administrator's operator card (R11; with
    its chip key beside it), without which no one can sign in. Only tests leave it out
    (and bind cards of their own)."""
    code = parse_local_government_code(municipality.code)
    if (home / config.CONFIG_FILE).exists():
        raise ConfigurationError(f"{home} already holds a node; choose another --home.")
    if admin_card is not None:
        check_free(admin_card)
    card: IssuedOperatorCard | None = None
    home.mkdir(parents=True, exist_ok=True)
    cfg = config.NodeConfig(
        home=home.resolve(),
        kind="municipality",
        code=code,
        name=municipality.prefecture + municipality.name,
        database_url=database_url or sqlite_url(home.resolve() / "register.db"),
    )
    key = key or NodeKey.generate()
    key.save(cfg.key_path)
    engine = make_engine(cfg.database_url)
    try:
        migrate(engine)
        register.create(engine, key, cfg.code, cfg.name, low_water)
        store = RegisterStore(engine, key)
        with store.transaction() as tx:
            first = add_operator(
                tx.conn,
                username=admin.username,
                full_name=admin.full_name,
                role=Role.ADMINISTRATOR,
                node_code=cfg.code,
                password=admin.password,
                trained_on=admin.trained_on,
                pledge_signed_on=admin.pledge_signed_on,
            )
            dates = f"trained_on={admin.trained_on}, pledge_signed_on={admin.pledge_signed_on}"
            detail = f"role {Role.ADMINISTRATOR}; administrator; {dates}"  # read by the report
            drafts = [audit.Draft("system", "operator.add", admin.username, detail=detail)]
            if admin_card is not None:
                card = operator_cards.bind(tx.conn, key, first)
                drafts.append(audit.Draft("system", "operator.card.issue", admin.username))
            added = fill(tx, source, pool_size)
            tx.audit(
                audit.Draft("system", "register.init", cfg.code, detail=cfg.name),
                *drafts,
                audit.Draft("system", "pool.replenish", "code pool", detail=f"{added} codes"),
            )
        if admin_card is not None and card is not None:
            write_operator_card(admin_card, card)
        (home / "node.pub").write_bytes(key.public_pem())
        config.write(cfg)
    except BaseException:
        cfg.key_path.unlink(missing_ok=True)
        raise
    finally:
        engine.dispose()
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the register's schema to its newest revision."""
    migrations.migrate(engine, MIGRATIONS)


def check_schema(engine: Engine) -> None:
    """Refuse a register database whose schema is not the newest."""
    migrations.check_schema(engine, MIGRATIONS, "register", "run `jukinet register migrate`")


def open_register(home: Path) -> RegisterStore:
    cfg = config.load(home)
    if cfg.kind != "municipality":
        raise ConfigurationError(f"The node in {home} is a {cfg.kind} node, not a municipality.")
    engine = make_engine(cfg.database_url)
    check_schema(engine)
    return RegisterStore(engine, NodeKey.load(cfg.key_path), home)
