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
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

from fastapi import FastAPI
from sqlalchemy import Connection

from jukinet.config import NetworkSettings, NodeConfig
from jukinet.errors import ConfigurationError, DirectoryRefused
from jukinet.keys import NodeKey, load_public_key
from jukinet.network.client import NodeClient, NodeIdentity
from jukinet.network.directory import DirectoryView
from jukinet.network.ids import load_engine
from jukinet.network.messages import SignedDirectory
from jukinet.network.peer import Caller, install_problem_handlers, serve_endpoints
from jukinet.network.seclog import SecurityLog
from jukinet.network.signatures import ReplayCache

log = logging.getLogger("jukinet.node")
security_log = logging.getLogger("jukinet.security")

Fetch = Callable[[], Awaitable[SignedDirectory]]


@dataclass
class NodeRuntime:
    config: NodeConfig
    settings: NetworkSettings
    identity: NodeIdentity
    directory: DirectoryView
    replay: ReplayCache
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    security: SecurityLog = field(default_factory=lambda: SecurityLog("?"))

    @property
    def node_id(self) -> str:
        return self.settings.node_id

    def pin(self, origin: str) -> str | None:
        """The certificate the directory lists for the active node at ``origin`` (R7, R8)."""
        for entry in self.directory.entries():
            if entry.url and entry.url.rstrip("/") == origin:
                return entry.cert_pem
        return None

    def client(self) -> NodeClient:
        """A client that talks only to directory members, each pinned to its certificate."""
        return NodeClient(self.identity, pins=self.pin)


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
        directory=DirectoryView(signed, national_key),
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
        return {"node": runtime.node_id, "status": "ok", "directory": runtime.directory.version}

    @app.get("/directory")
    async def directory(peer: Caller) -> SignedDirectory:
        """The newest signed directory this node holds (the national node's is the source)."""
        return runtime.directory.signed


def directory_source(runtime: NodeRuntime, client: NodeClient) -> Fetch:
    """Where a node takes newer directories: the national node's ``GET /directory``, or, on
    the national node itself, the file ``network init`` and ``pki revoke`` write."""
    if runtime.config.kind == "national":
        path = runtime.config.directory_path

        async def from_file() -> SignedDirectory:
            text = await asyncio.to_thread(path.read_bytes)
            return SignedDirectory.model_validate_json(text)

        return from_file
    url = f"{runtime.settings.national_url}/directory"

    async def from_national() -> SignedDirectory:
        return SignedDirectory.model_validate(await client.get(url))

    return from_national


async def refresh_directory(view: DirectoryView, fetch: Fetch, every: float) -> None:
    """Every ``every`` seconds, take the directory ``fetch`` returns if it is newer.

    A failure is logged and the next round tried: an unreachable national node must not
    stop a node working with the directory it already has; a directory that does not
    verify is refused (and logged on ``jukinet.security``). Only cancellation ends it.
    """
    while True:
        await asyncio.sleep(every)
        try:
            if view.update(await fetch()):
                log.info("directory updated to version %d", view.version)
        except asyncio.CancelledError:
            raise
        except DirectoryRefused as exc:
            security_log.warning("directory refused: %s", exc)
        except Exception as exc:  # keep serving on the directory we have
            log.warning("directory refresh failed: %s: %s", type(exc).__name__, exc)


def keep_directory_fresh(runtime: NodeRuntime, client: NodeClient) -> Coroutine[Any, Any, None]:
    """The node's directory refresh, as its lifespan runs it (``background``)."""
    fetch = directory_source(runtime, client)
    return refresh_directory(runtime.directory, fetch, runtime.settings.directory_refresh)


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
