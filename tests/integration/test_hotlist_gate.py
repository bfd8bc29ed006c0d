"""The hotlist at the gate (R7, docs/ids.md), over real mTLS with real signatures.

A directory whose hotlist blocks a node's certificate: that node is refused (403
``blocked``, the block's id, reason and end in the problem), a security-log event says
so, its neighbours pass; the block ends at its ``until`` by the node's own clock, with no
new directory. A blocked address is refused before anything else is looked at.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI

from jukinet.errors import PeerRefused
from jukinet.network.client import NodeClient
from jukinet.network.directory import DirectoryView, sign_directory
from jukinet.network.messages import PoolRequest, SignedDirectory
from jukinet.network.messages_hotlist import HotlistEntry
from jukinet.network.seclog import SecurityLog
from tests.integration.test_transport import (
    CHIYODA,
    SERVER,
    SHINJUKU,
    World,
    _app,
    _running,
    world,
)

__all__ = ["world"]


def _blocking(
    world: World, version: int, kind: str, subject: str, until: datetime
) -> SignedDirectory:
    directory = world.signed(version).directory
    fingerprint = next((e.fingerprint for e in directory.entries if e.node_id == subject), None)
    entry = HotlistEntry(
        id="b10c" * 4, kind=kind, subject=subject, fingerprint=fingerprint,  # type: ignore[arg-type]
        reason="path scans from this source", since=datetime.now(UTC), until=until,
        confirmed_by="operator-1",
    )  # fmt: skip
    return sign_directory(directory.model_copy(update={"hotlist": [entry]}), world.national)


def _events(path: Path) -> list[dict[str, object]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [e for e in map(json.loads, lines) if e["event"]["action"] == "blocked"]


def _serve(world: World, tmp_path: Path) -> FastAPI:
    app = _app(world)
    app.state.security = SecurityLog(SERVER, tmp_path / "security.jsonl")
    return app


def test_a_blocked_nodes_certificate_is_refused_until_its_block_ends(
    world: World, tmp_path: Path
) -> None:
    until = datetime.now(UTC) + timedelta(seconds=3)

    async def main() -> None:
        app = _serve(world, tmp_path)
        async with (
            _running(app, world.identity(SERVER)) as url,
            NodeClient(world.identity(CHIYODA)) as chiyoda,
            NodeClient(world.identity(SHINJUKU)) as shinjuku,
        ):
            view: DirectoryView = app.state.directory
            assert view.update(_blocking(world, 2, "node", CHIYODA, until))
            with pytest.raises(PeerRefused) as refused:
                await chiyoda.post(f"{url}/updates", PoolRequest(count=1))
            assert refused.value.status == 403
            assert "blocked by the network's hotlist (block b10cb10cb10cb10c: path scans" in (
                refused.value.detail
            )
            assert (await shinjuku.post(f"{url}/updates", PoolRequest(count=2)))["count"] == 2
            await asyncio.sleep(max(0.0, (until - datetime.now(UTC)).total_seconds()) + 0.2)
            # Ended by the clock: admitted again, directory version 2 still held.
            assert (await chiyoda.post(f"{url}/updates", PoolRequest(count=3)))["count"] == 3
            assert view.version == 2

    asyncio.run(main())
    [event] = _events(tmp_path / "security.jsonl")
    assert event["jukinet"] == {"caller": CHIYODA, "code": "hotlist"}  # its certificate's CN
    assert "b10cb10cb10cb10c" in event["event"]["reason"]  # type: ignore[index]


def test_a_blocked_address_is_refused_before_anything_else(world: World, tmp_path: Path) -> None:
    async def main() -> None:
        app = _serve(world, tmp_path)
        async with (
            _running(app, world.identity(SERVER)) as url,
            NodeClient(world.identity(SHINJUKU)) as shinjuku,
        ):
            view: DirectoryView = app.state.directory
            later = datetime.now(UTC) + timedelta(hours=1)
            # The national node never blocks a member's address; a hand-made directory
            # does, to show the gate's check of the address itself.
            assert view.update(_blocking(world, 2, "address", "127.0.0.1", later))
            with pytest.raises(PeerRefused) as refused:
                await shinjuku.get(f"{url}/directory")  # not even the directory
            assert refused.value.status == 403 and "127.0.0.1 is blocked" in refused.value.detail

    asyncio.run(main())
    [event] = _events(tmp_path / "security.jsonl")
    assert event["source"]["ip"] == "127.0.0.1"  # type: ignore[index]
