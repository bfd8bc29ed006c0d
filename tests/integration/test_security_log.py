"""Security events as ECS JSON lines from a real server (real mTLS, real signatures) (R7).

The server of ``test_transport`` (prefecture 130001) with a security log and the
default IDS rules: a failed handshake, a missing signature, a replay, a caller of
another prefecture and an unknown path are each one line with the source address,
an admitted call carries the certificate subject, and a rule's block refuses the
source before anything else; on asyncio (the tests' loop) and on uvloop (the nodes').
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import uvloop
from fastapi import FastAPI

from jukinet.errors import PeerRefused, PeerUnreachable
from jukinet.network.client import NodeClient, NodeIdentity
from jukinet.network.ids import DEFAULT_RULES, Engine, parse_rules
from jukinet.network.messages import PoolRequest
from jukinet.network.seclog import SecurityLog
from tests.integration.test_transport import (
    BODY,
    CHIYODA,
    KITA,
    SERVER,
    World,
    _app,
    _running,
    _signed_headers,
    world,
)

__all__ = ["world"]  # the fixture, shared with test_transport


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


async def _status(world: World, method: str, url: str, headers: dict[str, str]) -> int:
    connector = aiohttp.TCPConnector(ssl=world.identity(CHIYODA).tls_context())
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.request(method, url, data=BODY, headers=headers) as response,
    ):
        return response.status


@pytest.fixture(params=["asyncio", "uvloop"])
def loop(request: pytest.FixtureRequest) -> str:
    """The event loop the server runs on: the tests' (asyncio) and the nodes' (uvloop)."""
    return str(request.param)


def _serve(world: World, tmp_path: Path, rules: str, scenario: Any, loop: str) -> SecurityLog:
    parsed, hours = parse_rules(rules)
    log = SecurityLog(SERVER, tmp_path / "security.jsonl", Engine(parsed, hours))

    async def main() -> None:
        app: FastAPI = _app(world)
        app.state.security = log
        async with _running(app, world.identity(SERVER)) as url:
            await scenario(url)

    if loop == "uvloop":
        uvloop.run(main())
    else:
        asyncio.run(main())
    return log


def test_every_refusal_is_one_ecs_line_with_its_source(
    world: World, tmp_path: Path, loop: str
) -> None:
    async def scenario(url: str) -> None:
        impostor = NodeIdentity(
            CHIYODA,
            world.folder / "foreign" / "municipality_131016" / "node.key",
            world.folder / "foreign" / "municipality_131016" / "node.pem",
            world.identity(CHIYODA).ca_path,
        )
        async with NodeClient(impostor) as client:
            with pytest.raises(PeerUnreachable):
                await client.post(f"{url}/updates", PoolRequest(count=5))
        assert await _status(world, "POST", f"{url}/updates", {}) == 401
        signed = _signed_headers(world, f"{url}/updates", BODY)
        assert await _status(world, "POST", f"{url}/updates", signed) == 200
        assert await _status(world, "POST", f"{url}/updates", signed) == 401  # a replay
        async with NodeClient(world.identity(KITA)) as client:
            with pytest.raises(PeerRefused):
                await client.post(f"{url}/updates", PoolRequest(count=5))
        assert await _status(world, "GET", f"{url}/.env", {}) == 404

    log = _serve(world, tmp_path, DEFAULT_RULES, scenario, loop)
    assert log.path is not None
    lines = _lines(log.path)
    events = [(r["event"]["kind"], r["event"]["action"], r["event"]["outcome"]) for r in lines]
    assert events == [
        ("event", "tls-handshake", "failure"),
        ("event", "signature", "failure"),
        ("event", "request", "success"),
        ("event", "replay", "failure"),
        ("event", "outside-scope", "failure"),
        ("alert", "not-own", "unknown"),
        ("event", "unknown-path", "failure"),
    ]
    assert all(r["source"]["ip"] == "127.0.0.1" and r["source"]["port"] > 0 for r in lines)
    assert all(r["observer"]["name"] == SERVER for r in lines)
    admitted = lines[2]
    assert admitted["tls"]["client"]["subject"].startswith("CN=municipality:131016,")
    assert admitted["jukinet"]["caller"] == CHIYODA
    assert admitted["url"]["path"] == "/updates"
    assert lines[4]["jukinet"] == {"caller": KITA, "code": "outside-scope"}
    assert lines[6]["url"]["path"] == "/.env"
    first = log.path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith('{"@timestamp":"') and first.index('"event"') < first.index('"source"')


def test_a_source_a_rule_blocked_is_refused_before_anything_else(
    world: World, tmp_path: Path, loop: str
) -> None:
    rules = DEFAULT_RULES.replace("threshold = 5", "threshold = 3", 1)

    async def scenario(url: str) -> None:
        signed = _signed_headers(world, f"{url}/updates", BODY)
        # A connection opened before the block: its next request is refused by the gate.
        connector = aiohttp.TCPConnector(ssl=world.identity(CHIYODA).tls_context())
        async with aiohttp.ClientSession(connector=connector) as session:
            async with session.post(f"{url}/updates", data=BODY, headers=signed) as response:
                assert response.status == 200
            for _ in range(3):  # no body: the connection is kept alive after each 401
                async with session.post(f"{url}/updates") as response:
                    assert response.status == 401
            again = _signed_headers(world, f"{url}/updates", BODY)
            async with session.post(f"{url}/updates", data=BODY, headers=again) as response:
                assert response.status == 403
        # A new connection from the blocked source gets no TLS handshake at all.
        with pytest.raises(aiohttp.ClientError):
            await _status(world, "POST", f"{url}/updates", signed)

    log = _serve(world, tmp_path, rules, scenario, loop)
    assert log.path is not None
    actions = [r["event"]["action"] for r in _lines(log.path)]
    assert actions == [
        "request", "signature", "signature", "signature", "auth-failures", "blocked", "blocked"
    ]  # fmt: skip
    alert = _lines(log.path)[4]
    assert alert["source"]["ip"] == "127.0.0.1"
    assert "blocked_until" in alert["jukinet"]


def test_a_forwarded_for_header_does_not_change_the_logged_source(
    world: World, tmp_path: Path, loop: str
) -> None:
    """R7: a node is reached directly, never through a proxy: a caller on the node's own
    host cannot name another source (X-Forwarded-For) for the security log or the rules."""

    async def scenario(url: str) -> None:
        signed = _signed_headers(world, f"{url}/updates", BODY)
        forged = {**signed, "X-Forwarded-For": "10.9.9.9", "X-Forwarded-Proto": "http"}
        assert await _status(world, "POST", f"{url}/updates", forged) == 200

    log = _serve(world, tmp_path, DEFAULT_RULES, scenario, loop)
    assert log.path is not None
    admitted = [r for r in _lines(log.path) if r["event"]["action"] == "request"]
    assert [r["source"]["ip"] for r in admitted] == ["127.0.0.1"]
