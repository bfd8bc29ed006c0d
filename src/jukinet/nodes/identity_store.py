"""Identity information held by the prefecture and national nodes (R1, R22).

Both kinds hold only identity confirmation information (本人確認情報): the four
items, the resident code, the change information (reason, date), the status, and
the bookkeeping of delivery. No table has a column for anything else; a test pins
the column sets. One schema serves both kinds so that both share one migration
chain: ``issued_codes`` is used by the national node only (the code registry, R6),
the outbox by the prefecture only (it forwards to the national node).

Updates apply as docs/network.md says ("Identity updates", steps 3–5): one
transaction per batch, per-sender ``seq`` deduplication, in order, a gap stops the
batch; a refused batch changes nothing but one audit entry.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol, cast

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Date,
    Engine,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    insert,
    select,
    update,
)

from jukinet import config
from jukinet.audit import log as audit
from jukinet.domain.reasons import Family, reasons_of
from jukinet.errors import AccessDenied, ConfigurationError, JukinetError
from jukinet.network import outbox as ob
from jukinet.network.messages import (
    IdentityUpdate,
    NodeStatus,
    PeerLink,
    Role,
    UpdateAck,
    UpdateBatch,
)
from jukinet.nodekey import NodeKey
from jukinet.storage import tables as register_tables
from jukinet.storage.database import make_engine, sqlite_url

MIGRATIONS = Path(__file__).parent / "identity_migrations"
security_log = logging.getLogger("jukinet.security")

metadata = MetaData(naming_convention=register_tables.metadata.naming_convention)

_Id = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements INTEGER keys only


def _identity_columns() -> list[Column[Any]]:
    """The four items, the status and the change information (R1) — and nothing else."""
    return [
        Column("name", Text, nullable=False),
        Column("date_of_birth", Date, nullable=False),
        Column("sex", String(6), nullable=False),
        Column("address", Text, nullable=False),
        Column("status", String(8), nullable=False),
        Column("change_reason", String(32), nullable=False),
        Column("change_date", Date, nullable=False),
        Column("origin", String(6), nullable=False),  # the municipality that recorded it
        Column("recorded_at", String(40), nullable=False),  # when it was recorded there
    ]


node = Table(
    "node",
    metadata,
    Column("key", String(40), primary_key=True),
    Column("value", Text, nullable=False),
)

# Current identity per resident code. ``person_key`` is this node's own random link
# between the codes one person has held (R6 code changes); it means nothing elsewhere.
identities = Table(
    "identities",
    metadata,
    Column("resident_code", String(11), primary_key=True),
    Column("person_key", String(32), nullable=False, index=True),
    *_identity_columns(),
    Column("applied_at", String(32), nullable=False),
)
Index("ix_identities_origin", identities.c.origin, identities.c.resident_code)  # export

# One row per applied update, never changed: the full change history (R22).
identity_history = Table(
    "identity_history",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("person_key", String(32), nullable=False, index=True),
    Column("resident_code", String(11), nullable=False),
    Column("previous_code", String(11)),
    *_identity_columns(),
    Column("sender", String(64), nullable=False),
    Column("sender_seq", BigInteger, nullable=False),
    Column("applied_at", String(32), nullable=False),
    # An update is applied once, whatever the sender resends.
    UniqueConstraint("sender", "sender_seq"),
)

# Codes retired by a code change (R6): never usable again, still leading to the person.
retired_codes = Table(
    "retired_codes",
    metadata,
    Column("code", String(11), primary_key=True),
    Column("person_key", String(32), nullable=False, index=True),
    Column("retired_on", Date, nullable=False),
)

inbox_state = Table(
    "inbox_state",
    metadata,
    Column("sender", String(64), primary_key=True),
    Column("last_seq", BigInteger, nullable=False),
    Column("updated_at", String(32), nullable=False),
)

outbox = ob.outbox_table(metadata)

# The national code registry (R6): every code ever issued to a municipality.
issued_codes = Table(
    "issued_codes",
    metadata,
    Column("code", String(11), primary_key=True),
    Column("municipality", String(6), nullable=False),
    Column("issued_at", String(32), nullable=False),
)

# The same columns as jukinet.storage.tables.audit_log / audit_head: jukinet.audit.log
# runs its statements with those Table objects, which name only the table and its
# columns, so they run unchanged on this database. ``node`` is wider here, for the
# national node's code ("national").
audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", String(32), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("node", String(32), nullable=False),
    Column("operation", String(48), nullable=False),
    Column("target", Text, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("detail", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("signature", LargeBinary, nullable=False),
)

ENTRY_REASONS = frozenset(r.code for r in reasons_of(Family.ENTRY))


# --- authority (docs/network.md, step 5) ----------------------------------------


class UpdateRefused(AccessDenied):
    code = "update-refused"


class Sender(Protocol):
    """Who delivered a batch: ``jukinet.network.peer.Peer`` (read-only attributes)."""

    @property
    def node_id(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def code(self) -> str: ...


Authority = Callable[[Sender, IdentityUpdate], None]


def in_prefecture(municipality: str, prefecture: str) -> bool:
    """Whether a municipality code lies in a prefecture (the code's first two digits)."""
    return len(municipality) == 6 and len(prefecture) == 6 and municipality[:2] == prefecture[:2]


def admit_to_prefecture(prefecture: str, sender: Sender, update: IdentityUpdate) -> None:
    """A prefecture takes updates only from its municipalities, each about its own changes."""
    if sender.role != "municipality" or not in_prefecture(sender.code, prefecture):
        raise UpdateRefused(
            f"{sender.node_id} is not a municipality of prefecture {prefecture}; "
            "a prefecture takes identity updates only from its own municipalities."
        )
    if update.origin != sender.code:
        raise UpdateRefused(
            f"Update {update.seq} names municipality {update.origin} as its origin; "
            f"municipality {sender.code} may report only changes it recorded itself."
        )


def admit_to_national(sender: Sender, update: IdentityUpdate) -> None:
    """The national node takes updates only from prefectures, about their municipalities."""
    if sender.role != "prefecture":
        raise UpdateRefused(
            f"{sender.node_id} is not a prefecture; "
            "the national node takes identity updates only from prefectures."
        )
    if not in_prefecture(update.origin, sender.code):
        raise UpdateRefused(
            f"Update {update.seq} comes from municipality {update.origin}, which is not in "
            f"prefecture {sender.code}; a prefecture forwards only its own municipalities."
        )


@dataclass(frozen=True, slots=True)
class Holding:
    person_key: str
    origin: str
    status: str


@dataclass(frozen=True, slots=True)
class Standing:
    """What this node holds about the codes one update touches, read just before it."""

    current: Holding | None  # the row of ``resident_code``
    retired: bool  # ``resident_code`` was retired by a code change
    previous: Holding | None = None  # the row of ``previous_code`` (code change)
    previous_retired: bool = False


def check_standing(update: IdentityUpdate, standing: Standing) -> None:
    """A code may be changed only by its holder (``origin``), except an entry after removal.

    The holder is the municipality of the identity's last change; a new code, or (for
    an entry such as a move-in) a code whose identity is removed elsewhere, is open.
    """
    code, origin = update.resident_code, update.origin
    if standing.retired:
        raise UpdateRefused(
            f"Resident code {code} was retired by a code change (R6) and is never used again."
        )
    if update.previous_code is not None:
        old = update.previous_code
        if standing.current is not None:
            raise UpdateRefused(f"Resident code {code} is already in use; a new code must be new.")
        if standing.previous_retired:
            raise UpdateRefused(f"Resident code {old} was already retired by a code change.")
        if standing.previous is not None and standing.previous.origin != origin:
            raise UpdateRefused(
                f"Resident code {old} is held by municipality {standing.previous.origin}; "
                f"municipality {origin} may not change it."
            )
        return
    held = standing.current
    if held is None or held.origin == origin:
        return
    if update.change_reason in ENTRY_REASONS and held.status == "removed":
        return
    raise UpdateRefused(
        f"Resident code {code} is held by municipality {held.origin} "
        f"(status {held.status}); municipality {origin} may not change it"
        + (" (an entry needs the identity removed there first)." if held.status != "removed"
           else ".")
    )  # fmt: skip


# --- reading --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Identity:
    """One identity as held now (R1 fields, status, origin)."""

    resident_code: str
    name: str
    date_of_birth: date
    sex: str
    address: str
    status: str
    change_reason: str
    change_date: date
    origin: str
    recorded_at: str


@dataclass(frozen=True, slots=True)
class IdentityChange:
    """One applied update, as kept in the history."""

    resident_code: str
    previous_code: str | None
    name: str
    date_of_birth: date
    sex: str
    address: str
    status: str
    change_reason: str
    change_date: date
    origin: str
    recorded_at: str
    sender: str
    sender_seq: int
    applied_at: str


_IDENTITY_FIELDS = [
    "resident_code", "name", "date_of_birth", "sex", "address",
    "status", "change_reason", "change_date", "origin", "recorded_at",
]  # fmt: skip
_EXPORT_FIELDS = _IDENTITY_FIELDS[:-1]
_CHANGE_FIELDS = [*_IDENTITY_FIELDS[:1], "previous_code", *_IDENTITY_FIELDS[1:],
                  "sender", "sender_seq", "applied_at"]  # fmt: skip


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class IdentityStore:
    """A prefecture's or the national node's identity database and node key."""

    def __init__(self, engine: Engine, key: NodeKey) -> None:
        self.engine = engine
        self.key = key
        with engine.connect() as conn:
            meta = dict(conn.execute(select(node.c.key, node.c.value)).all())
        if "kind" not in meta:
            raise ConfigurationError("This database holds no identity node: run `network init`.")
        self.kind: str = meta["kind"]
        self.code: str = meta["code"]
        self.name: str = meta["name"]
        self.node_id = f"{self.kind}:{self.code}"

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A transaction that holds the audit head: writers on this node are serialised."""
        with self.engine.begin() as conn:
            audit.lock_head(conn)
            yield conn

    def audit(self, conn: Connection, *drafts: audit.Draft) -> int:
        return audit.append(conn, self.key, self.code, drafts)

    def refused(self, actor: str, operation: str, target: str, exc: JukinetError) -> None:
        """Record a refusal in a transaction of its own."""
        detail = f"{exc.code}: {exc.message}"
        with self.transaction() as conn:
            self.audit(conn, audit.Draft(actor, operation, target, audit.Outcome.REFUSED, detail))

    def close(self) -> None:
        self.engine.dispose()

    # --- applying updates -----------------------------------------------------
    def apply_batch(
        self, sender: Sender, batch: UpdateBatch, *, authority: Authority, forward: bool = False
    ) -> UpdateAck:
        """Apply a sender's batch in one transaction (docs/network.md, steps 3–5).

        ``seq <= last`` is skipped, ``last + 1`` is applied, a gap stops the batch.
        With ``forward`` each applied update also goes into this node's outbox under
        its own seq (prefecture → national). Any refusal rolls back the whole batch.
        """
        try:
            if batch.sender != sender.node_id:
                raise UpdateRefused(
                    f"The batch names {batch.sender} as its sender, but {sender.node_id} sent it."
                )
            for u in batch.updates:
                authority(sender, u)
            with self.transaction() as conn:
                last = self._last_seq(conn, sender.node_id)
                first_last, applied, duplicates = last, 0, 0
                at = _now()
                for u in batch.updates:
                    if u.seq <= last:
                        duplicates += 1
                        continue
                    if u.seq != last + 1:
                        break  # a gap: the sender resends from last + 1
                    standing = self._standing(conn, u)
                    check_standing(u, standing)
                    self._write(conn, sender.node_id, u, standing, at, forward)
                    last, applied = u.seq, applied + 1
                if last != first_last:
                    self._set_last_seq(conn, sender.node_id, last, first_last == 0, at)
                detail = f"applied {applied}, duplicates {duplicates}, acked {last}"
                self.audit(conn, audit.Draft(sender.node_id, "updates.apply", sender.node_id,
                                             detail=detail))  # fmt: skip
                return UpdateAck(acked_through=last)
        except JukinetError as exc:
            security_log.warning(
                "refused identity updates from %s: %s [%s]", sender.node_id, exc, exc.code
            )
            self.refused(sender.node_id, "updates.apply", sender.node_id, exc)
            raise

    def _last_seq(self, conn: Connection, sender: str) -> int:
        query = select(inbox_state.c.last_seq).where(inbox_state.c.sender == sender)
        return int(conn.execute(query).scalar() or 0)

    def _set_last_seq(self, conn: Connection, sender: str, last: int, new: bool, at: str) -> None:
        if new:
            conn.execute(insert(inbox_state).values(sender=sender, last_seq=last, updated_at=at))
        else:
            conn.execute(
                update(inbox_state)
                .where(inbox_state.c.sender == sender)
                .values(last_seq=last, updated_at=at)
            )

    def _holding(self, conn: Connection, code: str) -> Holding | None:
        row = conn.execute(
            select(identities.c.person_key, identities.c.origin, identities.c.status).where(
                identities.c.resident_code == code
            )
        ).first()
        return Holding(row.person_key, row.origin, row.status) if row else None

    def _retired(self, conn: Connection, code: str) -> bool:
        query = select(retired_codes.c.code).where(retired_codes.c.code == code)
        return conn.execute(query).first() is not None

    def _standing(self, conn: Connection, u: IdentityUpdate) -> Standing:
        current, retired = (
            self._holding(conn, u.resident_code),
            self._retired(conn, u.resident_code),
        )
        if u.previous_code is None:
            return Standing(current, retired)
        old = u.previous_code
        return Standing(current, retired, self._holding(conn, old), self._retired(conn, old))

    def _write(
        self, conn: Connection, sender: str, u: IdentityUpdate, standing: Standing, at: str,
        forward: bool,
    ) -> None:  # fmt: skip
        values = {
            "name": u.name, "date_of_birth": u.date_of_birth, "sex": u.sex, "address": u.address,
            "status": u.status, "change_reason": u.change_reason, "change_date": u.change_date,
            "origin": u.origin, "recorded_at": u.recorded_at.isoformat(),
        }  # fmt: skip
        # Which row the update lands on: a code change moves the identity to the new
        # code, keeping the person; the old code stays retired, pointing to the person.
        moved = standing.previous if u.previous_code is not None else standing.current
        code = u.previous_code if u.previous_code is not None else u.resident_code
        if moved is None:
            person_key = uuid.uuid4().hex
            conn.execute(
                insert(identities).values(
                    resident_code=u.resident_code, person_key=person_key, applied_at=at, **values
                )
            )
        else:
            person_key = moved.person_key
            conn.execute(
                update(identities)
                .where(identities.c.resident_code == code)
                .values(resident_code=u.resident_code, applied_at=at, **values)
            )
        if u.previous_code is not None:
            conn.execute(
                insert(retired_codes).values(
                    code=u.previous_code, person_key=person_key, retired_on=u.change_date
                )
            )
        conn.execute(
            insert(identity_history).values(
                person_key=person_key, resident_code=u.resident_code,
                previous_code=u.previous_code, sender=sender, sender_seq=u.seq, applied_at=at,
                **values,
            )
        )  # fmt: skip
        if forward:
            ob.enqueue(conn, outbox, lambda seq: u.model_copy(update={"seq": seq}))

    # --- reads ----------------------------------------------------------------
    def identity(self, code: str) -> Identity | None:
        """The identity held now under exactly this code (None for unknown or retired codes)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(*(identities.c[f] for f in _IDENTITY_FIELDS)).where(
                    identities.c.resident_code == code
                )
            ).first()
        return Identity(**row._mapping) if row else None

    def history(self, code: str) -> list[IdentityChange]:
        """Every applied update of the person who holds or held ``code``, oldest first."""
        with self.engine.connect() as conn:
            person_key = (
                conn.execute(
                    select(identities.c.person_key).where(identities.c.resident_code == code)
                ).scalar()
                or conn.execute(
                    select(retired_codes.c.person_key).where(retired_codes.c.code == code)
                ).scalar()
            )
            if person_key is None:
                return []
            rows = conn.execute(
                select(*(identity_history.c[f] for f in _CHANGE_FIELDS))
                .where(identity_history.c.person_key == person_key)
                .order_by(identity_history.c.id)
            ).all()
        return [IdentityChange(**r._mapping) for r in rows]

    def retired_code_holder(self, code: str) -> str | None:
        """The code the person who once held retired ``code`` holds now."""
        with self.engine.connect() as conn:
            person_key = conn.execute(
                select(retired_codes.c.person_key).where(retired_codes.c.code == code)
            ).scalar()
            if person_key is None:
                return None
            return conn.execute(
                select(identities.c.resident_code).where(identities.c.person_key == person_key)
            ).scalar()

    def export(self, municipality: str, chunk: int = 1000) -> Iterator[dict[str, str]]:
        """The current identities whose origin is ``municipality``, by code (reconcile)."""
        after = ""
        while True:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    select(*(identities.c[f] for f in _EXPORT_FIELDS))
                    .where(identities.c.origin == municipality, identities.c.resident_code > after)
                    .order_by(identities.c.resident_code)
                    .limit(chunk)
                ).all()
            for r in rows:
                yield {
                    k: v.isoformat() if isinstance(v, date) else v for k, v in r._mapping.items()
                }
            if len(rows) < chunk:
                return
            after = rows[-1].resident_code

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(identities)).scalar_one())

    def inbox(self, sender: str) -> int:
        """The last seq applied from ``sender``."""
        with self.engine.connect() as conn:
            return self._last_seq(conn, sender)

    def outbox_link(self, receiver: str, worker: ob.DeliveryWorker | None = None) -> PeerLink:
        """The state of this node's outbox towards ``receiver``, for ``NodeStatus``."""
        with self.engine.connect() as conn:
            waiting, delivered = ob.backlog(conn, outbox), ob.last_delivery(conn, outbox)
        return PeerLink(
            node_id=receiver,
            outbox_backlog=waiting,
            last_delivery_at=(worker and worker.last_delivery_at) or delivered,
            last_error=worker.last_error if worker else None,
        )

    def status(
        self, *, started_at: datetime, directory_version: int, links: list[PeerLink]
    ) -> NodeStatus:
        return NodeStatus(
            node_id=self.node_id,
            role=cast(Role, self.kind),  # "prefecture" or "national"
            directory_version=directory_version,
            started_at=started_at,
            links=links,
            identities=self.count(),
        )


def json_lines(rows: Iterator[dict[str, str]], per_chunk: int = 1000) -> Iterator[bytes]:
    """Rows as JSON lines in chunks: a sync iterator, so Starlette runs it (and the
    database reads behind ``rows``) in a worker thread, off the event loop."""
    chunk: list[str] = []
    for row in rows:
        chunk.append(json.dumps(row, ensure_ascii=False) + "\n")
        if len(chunk) >= per_chunk:
            yield "".join(chunk).encode()
            chunk = []
    if chunk:
        yield "".join(chunk).encode()


# --- schema and node setup ----------------------------------------------------


def _alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def migrate_identity(engine: Engine) -> None:
    """Bring the identity schema to the newest migration."""
    command.upgrade(_alembic_config(engine), "head")


def check_identity_schema(engine: Engine) -> None:
    """Refuse to work on a database whose schema is not at the newest migration."""
    head = ScriptDirectory.from_config(_alembic_config(engine)).get_current_head()
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current != head:
        raise ConfigurationError(
            f"The identity database is at schema {current or 'none'}, not {head}: migrate it."
        )


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
        migrate_identity(engine)
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


def open_identity_node(home: Path, kind: str) -> IdentityStore:
    cfg = config.load(home)
    if cfg.kind != kind:
        raise ConfigurationError(f"The node in {home} is a {cfg.kind} node, not a {kind} node.")
    engine = make_engine(cfg.database_url)
    try:
        check_identity_schema(engine)
        return IdentityStore(engine, NodeKey.load(cfg.key_path))
    except BaseException:
        engine.dispose()
        raise
