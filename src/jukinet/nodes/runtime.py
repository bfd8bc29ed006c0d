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
import json
import logging
from collections.abc import AsyncIterator, Coroutine, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from fastapi import FastAPI
from fastapi.responses import StreamingResponse

from jukinet.config import NetworkSettings, NodeConfig
from jukinet.errors import ConfigurationError
from jukinet.network.client import NodeClient, NodeIdentity
from jukinet.network.directory import DirectoryView
from jukinet.network.messages import SignedDirectory
from jukinet.network.peer import Caller, install_problem_handlers, serve_endpoints
from jukinet.network.signatures import ReplayCache

log = logging.getLogger("jukinet.node")


@dataclass
class NodeRuntime:
    config: NodeConfig
    settings: NetworkSettings
    identity: NodeIdentity
    directory: DirectoryView
    replay: ReplayCache
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))

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
    national_key = load_pem_public_key(cfg.national_key_path.read_bytes())
    if not isinstance(national_key, Ed25519PublicKey):
        raise ConfigurationError(f"{cfg.national_key_path} is not an Ed25519 public key.")
    signed = SignedDirectory.model_validate_json(cfg.directory_path.read_bytes())
    return NodeRuntime(
        config=cfg,
        settings=cfg.network,
        identity=NodeIdentity(cfg.network.node_id, cfg.key_path, cfg.cert_path, cfg.ca_path),
        directory=DirectoryView(signed, national_key),
        replay=ReplayCache(),
    )


def install(app: FastAPI, runtime: NodeRuntime) -> None:
    """The node's state and handlers on ``app``, and the routes every node has.

    ``create_app`` returns ``check_endpoints(app)`` once all its routes are added.
    """
    serve_endpoints(app, runtime.config.kind, runtime.node_id)
    app.state.directory = runtime.directory
    app.state.replay = runtime.replay
    app.state.runtime = runtime
    install_problem_handlers(app)

    @app.get("/health")
    async def health(peer: Caller) -> dict[str, Any]:
        return {"node": runtime.node_id, "status": "ok", "directory": runtime.directory.version}

    @app.get("/directory")
    async def directory(peer: Caller) -> SignedDirectory:
        """The newest signed directory this node holds (the national node's is the source)."""
        return runtime.directory.signed


async def refresh_directory(runtime: NodeRuntime, client: NodeClient) -> None:
    """Keep the newest signed directory: from the national node, or (there) from its file."""
    is_national = runtime.config.kind == "national"
    while True:
        await asyncio.sleep(runtime.settings.directory_refresh)
        try:
            if is_national:
                text = await asyncio.to_thread(runtime.config.directory_path.read_bytes)
                signed = SignedDirectory.model_validate_json(text)
            else:
                data = await client.get(f"{runtime.settings.national_url}/directory")
                signed = SignedDirectory.model_validate(data)
            if runtime.directory.update(signed):
                log.info("directory updated to version %d", runtime.directory.version)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # keep serving on the directory we have
            log.warning("directory refresh failed: %s", exc)


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


def json_lines(rows: Iterable[dict[str, Any]]) -> StreamingResponse:
    """Stream rows as JSON lines (reconcile exports can be large)."""

    async def body() -> AsyncIterator[bytes]:
        batch: list[str] = []
        for row in rows:
            batch.append(json.dumps(row, ensure_ascii=False, default=str))
            if len(batch) >= 1000:
                yield ("\n".join(batch) + "\n").encode()
                batch = []
                await asyncio.sleep(0)
        if batch:
            yield ("\n".join(batch) + "\n").encode()

    return StreamingResponse(body(), media_type="application/jsonl")
