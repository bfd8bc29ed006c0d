"""What every node process has, whatever its kind: identity, directory, replay cache.

Each node kind's ``api.create_app`` builds a ``NodeRuntime`` from its home, calls
``install`` (directory, replay cache and endpoint table on ``app.state``,
problem+json handlers, ``GET /health``, ``GET /directory``), adds its own routes,
returns ``check_endpoints(app)`` (every route has its row in
``network/endpoints.py``) and runs ``refresh_directory`` and its own workers in its lifespan.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

from fastapi import FastAPI
from sqlalchemy import Connection

from jukinet.audit.log import Draft, Outcome
from jukinet.config import NetworkSettings, NodeConfig
from jukinet.errors import ConfigurationError, DirectoryRefused, DirectoryRolledBack
from jukinet.keys import NodeKey, load_private_key, load_public_key
from jukinet.network.client import NodeClient, NodeIdentity
from jukinet.network.directory import DirectoryView, due_for_renewal, file_lock, renew
from jukinet.network.emergency import OPERATORS_FILE, load_operators
from jukinet.network.hotlist import changes
from jukinet.network.ids import load_engine
from jukinet.network.messages import NodeStatus, SignedDirectory
from jukinet.network.messages_emergency import CarriedOrder
from jukinet.network.messages_hotlist import HotlistEntry
from jukinet.network.peer import Caller, install_problem_handlers, serve_endpoints
from jukinet.network.seclog import SecurityLog
from jukinet.network.signatures import ReplayCache

log = logging.getLogger("jukinet.node")
security_log = logging.getLogger("jukinet.security")

Fetch = Callable[[], Awaitable[SignedDirectory]]
Audit = Callable[[Draft], None]  # one entry in the node's own audit log (its kind sets it)


def _no_audit(draft: Draft) -> None:
    log.warning("not audited (no audit log set): %s %s", draft.operation, draft.detail)


@dataclass
class NodeRuntime:
    config: NodeConfig
    settings: NetworkSettings
    identity: NodeIdentity
    directory: DirectoryView
    replay: ReplayCache
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    security: SecurityLog = field(default_factory=lambda: SecurityLog("?"))
    # Each kind's create_app points this at its own audit log (R9: rollbacks, orders).
    audit: Audit = _no_audit
    # The national node writes its directory file from two places (renewal, emergency
    # orders): one at a time.
    directory_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def node_id(self) -> str:
        return self.settings.node_id

    def pin(self, origin: str) -> str | None:
        """The certificate the directory lists for the active node at ``origin`` (R7, R8)."""
        for entry in self.directory.entries():
            if entry.url and entry.url.rstrip("/") == origin:
                return entry.cert_pem
        return None

    def heartbeat(self, status: NodeStatus) -> NodeStatus:
        """``status`` with the expiry of the directory this node holds (R9)."""
        return status.model_copy(update={"directory_expires_at": self.directory.expires_at})

    def hold(self, method: str, url: str) -> str | None:
        """Why a request to ``url`` must wait now (R9), or None: the directory has expired,
        the network is halted, or this node or the receiver is isolated. Fetching the
        directory from the national node always goes, or nothing could ever restart."""
        if method == "GET" and url == f"{self.settings.national_url.rstrip('/')}/directory":
            return None
        return self.directory.stop_reason(self.node_id, self._receiver(url))

    def _receiver(self, url: str) -> str | None:
        for entry in self.directory.entries(include_revoked=True):
            if entry.url and url.startswith(entry.url.rstrip("/") + "/"):
                return entry.node_id
        return None

    def client(self) -> NodeClient:
        """A client that talks only to directory members, each pinned to its certificate,
        and holds every request while the network is stopped for this node (R9)."""
        return NodeClient(self.identity, pins=self.pin, hold=self.hold)


def load_runtime(cfg: NodeConfig) -> NodeRuntime:
    if cfg.network is None:
        raise ConfigurationError(
            f"The node in {cfg.home} is not part of a network (no [network] in node.toml)."
        )
    national_key = load_public_key(cfg.national_key_path, "national node's public key")
    signed = SignedDirectory.model_validate_json(cfg.directory_path.read_bytes())
    runtime = NodeRuntime(
        config=cfg,
        settings=cfg.network,
        identity=NodeIdentity(cfg.network.node_id, cfg.key_path, cfg.cert_path, cfg.ca_path),
        directory=DirectoryView(signed, national_key, load_operators(cfg.home / OPERATORS_FILE)),
        replay=ReplayCache(),
        # Every security event as an ECS line in log/security.jsonl, through the IDS rules.
        security=SecurityLog.in_home(cfg.home, cfg.network.node_id, load_engine(cfg.home)),
    )
    if runtime.security.engine is not None:
        runtime.security.engine.protected = lambda value: value in member_hosts(runtime.directory)
    return runtime


def member_hosts(directory: DirectoryView) -> set[str]:
    """The hosts of the directory's active members: never blocked by address (R7)."""
    return {
        host
        for entry in directory.entries()
        if entry.url and entry.status == "active" and (host := urlsplit(entry.url).hostname)
    }


def install(app: FastAPI, runtime: NodeRuntime) -> None:
    """The node's state and handlers on ``app``, and the routes every node has.

    ``create_app`` returns ``check_endpoints(app)`` once all its routes are added.
    """
    serve_endpoints(app, runtime.config.kind, runtime.node_id)
    app.state.directory = runtime.directory
    app.state.replay = runtime.replay
    app.state.runtime = runtime
    # Every security event as an ECS line in log/security.jsonl, through the IDS rules (R7).
    app.state.security = runtime.security
    install_problem_handlers(app)

    @app.get("/health")
    async def health(peer: Caller) -> dict[str, Any]:
        return {
            "node": runtime.node_id,
            "status": "ok",
            "directory": runtime.directory.version,
            "directory_expires_at": runtime.directory.expires_at.isoformat(),
            "stopped": runtime.directory.stop_reason(runtime.node_id),
        }

    @app.get("/directory")
    async def directory(peer: Caller) -> SignedDirectory:
        """The newest signed directory this node holds (the national node's is the source)."""
        return runtime.directory.signed


def directory_source(runtime: NodeRuntime, client: NodeClient) -> Fetch:
    """Where a node takes newer directories: the national node's ``GET /directory``, or, on
    the national node itself, the file ``network init`` and ``pki revoke`` write."""
    if runtime.config.kind == "national":
        path = runtime.config.directory_path
        key = load_private_key(runtime.config.key_path)
        lifetime = runtime.settings.directory_lifetime

        def read_or_renew() -> SignedDirectory:
            with runtime.directory_lock, file_lock(path):
                return _read_or_renew()

        def _read_or_renew() -> SignedDirectory:
            signed = SignedDirectory.model_validate_json(path.read_bytes())
            held = runtime.directory.signed
            # An older file (a restored backup, a tampered copy) is a rollback: the loop
            # refuses and audits it; a renewal starts from the newest version known.
            newest = signed if signed.directory.version >= held.directory.version else held
            if due_for_renewal(newest.directory, lifetime):
                # The heartbeat (R9): the next version, valid for another lifetime.
                newest = renew(newest.directory, key, lifetime)
                tmp = path.with_suffix(".renew")
                tmp.write_text(newest.model_dump_json(indent=1))
                os.replace(tmp, path)
                log.info("directory renewed: version %d", newest.directory.version)
                return newest
            return signed

        async def from_file() -> SignedDirectory:
            return await asyncio.to_thread(read_or_renew)

        return from_file
    url = f"{runtime.settings.national_url}/directory"

    async def from_national() -> SignedDirectory:
        return SignedDirectory.model_validate(await client.get(url))

    return from_national


async def refresh_directory(
    view: DirectoryView,
    fetch: Fetch,
    every: float,
    audit: Audit = _no_audit,
    keep: Callable[[SignedDirectory], None] | None = None,
) -> None:
    """Every ``every`` seconds, take the directory ``fetch`` returns if it is newer.

    A failure is logged and the next round tried: an unreachable national node does not
    stop a node at once, but once the directory it holds expires the node's traffic stops
    (R9, ``DirectoryView.stop_reason``). A directory that does not verify is refused and
    logged on ``jukinet.security``; an older one (a rollback) is also audited. Only
    cancellation ends it.
    """
    refused: set[int] = set()  # rolled-back versions already audited (one entry each)
    while True:
        await asyncio.sleep(every)
        try:
            known = {c.order.id for c in view.directory.orders}
            listed = list(view.directory.hotlist)
            if view.update(await fetch()):
                log.info("directory updated to version %d", view.version)
                if keep is not None:  # a restarted node starts from it, orders and all
                    await asyncio.to_thread(keep, view.signed)
                for carried in view.directory.orders:
                    if carried.order.id not in known:
                        await _obeyed(audit, carried, view.version)
                for change, entry in changes(listed, view.directory.hotlist):
                    await _audited(audit, hotlist_draft(change, entry, view.version))
        except asyncio.CancelledError:
            raise
        except DirectoryRolledBack as exc:
            security_log.warning("directory refused: %s", exc, extra={"reason": exc.code})
            if exc.version in refused:
                continue
            refused.add(exc.version)
            draft = Draft("national", "directory.rollback", f"directory:{view.version}",
                          Outcome.REFUSED, f"{exc.code}: {exc.message}")  # fmt: skip
            await _audited(audit, draft)
        except DirectoryRefused as exc:
            security_log.warning("directory refused: %s", exc)
        except Exception as exc:  # keep serving on the directory we have
            log.warning("directory refresh failed: %s: %s", type(exc).__name__, exc)


def keep_directory_fresh(runtime: NodeRuntime, client: NodeClient) -> Coroutine[Any, Any, None]:
    """The node's directory refresh, as its lifespan runs it (``background``)."""
    fetch = directory_source(runtime, client)
    path = runtime.config.directory_path

    def keep(signed: SignedDirectory) -> None:
        tmp = path.with_suffix(".new")
        tmp.write_text(signed.model_dump_json(indent=1))
        os.replace(tmp, path)

    national = runtime.config.kind == "national"  # its file is the source already
    return refresh_directory(
        runtime.directory,
        fetch,
        runtime.settings.directory_refresh,
        runtime.audit,
        None if national else keep,
    )


async def _obeyed(audit: Audit, carried: CarriedOrder, version: int) -> None:
    """An emergency order this node now obeys: an alert and an audit entry (R9)."""
    order = carried.order
    signers = ",".join(s.operator for s in carried.signatures)
    detail = (f"order {order.id}: {order.action} {order.scope}, signed by {signers}, "
              f"accepted {carried.accepted_at.isoformat(timespec='seconds')}, "
              f"directory version {version}")  # fmt: skip
    security_log.warning("emergency order obeyed: %s", detail,
                         extra={"reason": f"emergency.{order.action}"})  # fmt: skip
    await _audited(audit, Draft(f"operator:{signers}", f"emergency.{order.action}",
                                order.scope, Outcome.OK, detail))  # fmt: skip


def hotlist_draft(change: str, entry: HotlistEntry, version: int) -> Draft:
    """The audit entry of a hotlist change this node obeys (``ids.block``, ``ids.lift``)."""
    by = entry.lifted_by if change == "lift" else entry.confirmed_by
    detail = (f"block {entry.id}: {change} {entry.kind} {entry.subject} until "
              f"{entry.until.isoformat(timespec='seconds')}, {entry.reason}, by {by}, "
              f"directory version {version}")  # fmt: skip
    security_log.warning("hotlist change obeyed: %s", detail, extra={"reason": f"ids.{change}"})
    return Draft(f"operator:{by}", f"ids.{change}", entry.subject, Outcome.OK, detail)


async def _audited(audit: Audit, draft: Draft) -> None:
    try:
        await asyncio.to_thread(audit, draft)
    except Exception as exc:  # the refusal stands; its audit entry is what failed
        log.warning("audit of %s failed: %s: %s", draft.operation, type(exc).__name__, exc)


class _Audited(Protocol):
    """What ``keep_checkpoints`` needs of an identity node's store."""

    key: NodeKey
    code: str
    kind: str

    def transaction(self) -> contextlib.AbstractContextManager[Connection]: ...


async def keep_checkpoints(runtime: NodeRuntime, store: _Audited) -> None:
    """Sign a checkpoint of the node's audit log every few minutes when it grew (R25).

    A municipality's own job (``municipality/checkpointing.py``) also has it cosigned.
    """
    from jukinet.audit import checkpoints

    name = checkpoints.origin(store.kind, store.code)

    def make() -> None:
        with store.transaction() as conn:
            checkpoints.make(conn, store.key, name)

    while True:
        await asyncio.sleep(runtime.settings.audit_checkpoint_every)
        try:
            await asyncio.to_thread(make)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the next round tries again
            log.warning("audit checkpoint failed: %s: %s", type(exc).__name__, exc)


def first_worker() -> bool:
    """Whether this is the node's first server process (``network.server.serve_workers``;
    the only one unless ``workers`` is set): it runs the node's background jobs."""
    from jukinet.network.server import WORKER_ENV

    return os.environ.get(WORKER_ENV, "0") == "0"


@contextlib.asynccontextmanager
async def background(*jobs: Coroutine[Any, Any, None]) -> AsyncIterator[None]:
    """Run ``jobs`` (directory refresh, delivery worker …) while the app serves; on
    shutdown cancel them and wait until they have stopped."""
    tasks = [asyncio.create_task(job) for job in jobs]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
