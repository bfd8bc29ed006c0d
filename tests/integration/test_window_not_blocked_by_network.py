"""The window keeps working while a request waits on another node (R12, R14, R6).

A disclosure (R14) asks the prefecture and the national node; a pool replenish (R6)
asks the national node. Neither may hold the register's write transaction while it
waits: a clerk's event at the next window is recorded at once.

The other nodes are real HTTPS servers on loopback (the project's mTLS transport,
certificates from ``init_network``) that hold the request open, as a slow or
overloaded node would. The municipality's register runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from jukinet import config
from jukinet.audit import merkle, provision_log
from jukinet.audit.note import Checkpoint, signed_note, verifier_key
from jukinet.deploy.network import init_network
from jukinet.domain import events as ev
from jukinet.domain.access import Role, Session
from jukinet.domain.codes import generate_resident_code
from jukinet.domain.record import ResidentRecord
from jukinet.errors import RoleNotAllowed
from jukinet.keys import NodeKey
from jukinet.network.layout import NetworkLayout
from jukinet.network.messages import (
    DisclosureRequest,
    PoolGrant,
    PoolRequest,
)
from jukinet.network.messages_disclosure import ProvenDisclosure
from jukinet.network.peer import Caller
from jukinet.network.server import serve_async
from jukinet.network.topology import free_port_block, load_topology
from jukinet.nodes.municipality import pool, service, staff
from jukinet.nodes.municipality.codes_source import code_source_for
from jukinet.nodes.municipality.disclosure import disclose
from jukinet.nodes.municipality.setup import open_register
from jukinet.nodes.municipality.store import RegisterStore
from jukinet.nodes.runtime import install, load_runtime
from jukinet.seed.places import Places
from tests.conftest import PASSWORD, UrlFactory
from tests.helpers import TODAY, arrival, card_session, last_audit

NATIONAL, PREFECTURE, CHIYODA = "national:national", "prefecture:130001", "municipality:131016"
HOLD = 10.0  # how long the slow node keeps a request open (s)
PROMPT = 2.0  # a clerk's event is recorded within this (s)


class SlowNode:
    """Holds each request until released (at most ``HOLD`` s); says when one arrived."""

    def __init__(self) -> None:
        self.asked = threading.Event()
        self.requests: list[str] = []  # the paths asked, on any node
        self.release: asyncio.Event | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    async def hold(self) -> None:
        assert self.release is not None
        self.asked.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.release.wait(), HOLD)

    def let_go(self) -> None:
        if self.loop is not None and self.release is not None:
            self.loop.call_soon_threadsafe(self.release.set)


def _empty_answer(code: str) -> ProvenDisclosure:
    """A node's answer with no provision: an empty provision log, signed (R14)."""
    name, key = provision_log.origin("prefecture", "130001"), NodeKey.generate()
    return ProvenDisclosure(
        resident_code=code, provisions=[], node="prefecture:130001", resident_key="0" * 64,
        checkpoint=signed_note(Checkpoint(name, 0, merkle.EMPTY_ROOT), name, key),
        verifier_key=verifier_key(name, key.public),
    )  # fmt: skip


def _app(home: Path, slow: SlowNode, *, slow_disclosure: bool, slow_pools: bool) -> FastAPI:
    app = FastAPI()
    install(app, load_runtime(config.load(home)))

    @app.post("/disclosure")
    async def disclosure(request: DisclosureRequest, peer: Caller) -> ProvenDisclosure:
        slow.requests.append("/disclosure")
        if slow_disclosure:
            await slow.hold()
        return _empty_answer(request.resident_code)

    @app.post("/pools")
    async def pools(request: PoolRequest, peer: Caller) -> PoolGrant:
        slow.requests.append("/pools")
        if slow_pools:
            await slow.hold()
        return PoolGrant(codes=[generate_resident_code() for _ in range(request.count)])

    return app


@dataclass
class Net:
    layout: NetworkLayout
    port: dict[str, int]

    def home(self, node: str) -> Path:
        return self.layout.node(node)


@pytest.fixture
def net(tmp_path: Path, places: Places, database: UrlFactory) -> Net:
    """A network of one national node, Tokyo and Chiyoda; Chiyoda's register on ``database``."""
    base = free_port_block(3)
    topology = tmp_path / "net.toml"
    topology.write_text(
        f'[network]\nname = "slow"\n[national]\nport = {base}\n'
        f'[[prefectures]]\ncode = "130001"\nport = {base + 1}\n'
        f'[[municipalities]]\ncode = "131016"\nport = {base + 2}\nresidents = 10\n'
    )
    layout = init_network(
        load_topology(topology, places),
        places,
        tmp_path / "net",
        database_url_for=lambda node: database("chiyoda") if node == CHIYODA else None,
        pool_size=200,
    )
    return Net(layout, {NATIONAL: base, PREFECTURE: base + 1})


@pytest.fixture
def register(net: Net) -> Iterator[RegisterStore]:
    store = open_register(net.home(CHIYODA))
    yield store
    store.close()


def _session(store: RegisterStore, username: str) -> Session:
    return card_session(store, username)


@pytest.fixture
def clerk(register: RegisterStore) -> Session:
    staff.add(
        register, _session(register, "admin"), username="clerk", full_name="Clerk",
        role=Role.CLERK, password=PASSWORD, trained_on=TODAY, pledge_signed_on=TODAY,
    )  # fmt: skip
    return _session(register, "clerk")


@pytest.fixture
def admin(register: RegisterStore) -> Session:
    return _session(register, "admin")


class Serving:
    """The national node and the prefecture, served in a thread of their own."""

    def __init__(self, net: Net, slow: SlowNode, **slowness: bool) -> None:
        self.net, self.slow, self.slowness = net, slow, slowness
        self.ready = threading.Event()
        self.stop: asyncio.Event | None = None
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        self.slow.loop, self.slow.release = asyncio.get_running_loop(), asyncio.Event()
        self.stop = asyncio.Event()
        servers = []
        for node in (NATIONAL, PREFECTURE):
            home = self.net.home(node)
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", self.net.port[node]))
            sock.listen()
            slowness = {
                "slow_disclosure": self.slowness.get(f"{node}.disclosure", False),
                "slow_pools": self.slowness.get(f"{node}.pools", False),
            }
            servers.append(
                serve_async(
                    _app(home, self.slow, **slowness),
                    host="127.0.0.1",
                    port=self.net.port[node],
                    cert_path=home / config.CERT_FILE,
                    key_path=home / config.KEY_FILE,
                    ca_path=home / config.CA_FILE,
                    sockets=[sock],
                    stop=self.stop,
                )
            )
        tasks = [asyncio.create_task(s) for s in servers]
        self.ready.set()
        await asyncio.gather(*tasks)

    def __enter__(self) -> Serving:
        self.thread.start()
        assert self.ready.wait(10), "the other nodes did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        self.slow.let_go()
        loop, stop = self.slow.loop, self.stop
        if loop is not None and stop is not None:
            loop.call_soon_threadsafe(stop.set)
        self.thread.join(30)


def _in_thread(call: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def go() -> None:
        try:
            out["result"] = call()
        except BaseException as exc:  # reported by the test that waits for it
            out["error"] = exc

    thread = threading.Thread(target=go, daemon=True)
    thread.start()
    return thread, out


def _birth_takes(store: RegisterStore, clerk: Session, parent: ResidentRecord) -> float:
    """Seconds a clerk waits to record a birth to ``parent``."""
    started = time.monotonic()
    receipt = service.record_event(
        store, clerk, ev.Birth(parent.resident_code, parent.name, parent.sex, TODAY, TODAY), TODAY
    )
    took = time.monotonic() - started
    assert receipt.kind == "birth"
    return took


def test_r14_a_clerk_records_a_birth_while_a_disclosure_waits_on_a_slow_prefecture(
    net: Net, register: RegisterStore, clerk: Session
) -> None:
    resident = service.record_event(register, clerk, arrival(), TODAY).records[0]
    slow = SlowNode()
    with Serving(net, slow, **{f"{PREFECTURE}.disclosure": True}):
        waiting, out = _in_thread(
            lambda: asyncio.run(
                disclose(register, clerk, net.home(CHIYODA), resident.resident_code)
            )
        )
        assert slow.asked.wait(10), f"the prefecture was never asked: {out}"
        took = _birth_takes(register, clerk, resident)
        slow.let_go()
        waiting.join(30)
    assert took < PROMPT, f"the clerk waited {took:.1f} s for the disclosure to finish"
    assert out == {"result": []}
    entries = [(e.operation, e.target, e.outcome) for e in last_audit(register, 2)]
    assert ("resident.disclosure", resident.resident_code, "ok") in entries
    assert [e.operation for e in last_audit(register, 10)].count("resident.disclosure") == 1


def test_r6_a_clerk_records_a_birth_while_a_replenish_waits_on_a_slow_national_node(
    net: Net, register: RegisterStore, clerk: Session, admin: Session
) -> None:
    resident = service.record_event(register, clerk, arrival(), TODAY).records[0]
    before = pool.remaining(register)
    slow = SlowNode()
    with Serving(net, slow, **{f"{NATIONAL}.pools": True}):
        source = code_source_for(net.home(CHIYODA))
        waiting, out = _in_thread(lambda: asyncio.run(pool.replenish(register, admin, source, 300)))
        assert slow.asked.wait(10), f"the national node was never asked: {out}"
        took = _birth_takes(register, clerk, resident)
        slow.let_go()
        waiting.join(30)
    assert took < PROMPT, f"the clerk waited {took:.1f} s for the replenish to finish"
    assert out == {"result": 300}
    assert pool.remaining(register) == before - 1 + 300
    replenished = [
        e
        for e in last_audit(register, 10)
        if (e.operation, e.actor) == ("pool.replenish", admin.actor)
    ]
    assert [(e.target, e.outcome) for e in replenished] == [("code pool", "ok")]


def test_r14_a_disclosure_asked_from_async_code_leaves_the_register_free(
    net: Net, register: RegisterStore, clerk: Session
) -> None:
    """As a route of the node would: the disclosure awaited on a running event loop."""
    resident = service.record_event(register, clerk, arrival(), TODAY).records[0]
    slow = SlowNode()

    async def window() -> tuple[list[Any], float]:
        asking = asyncio.create_task(
            disclose(register, clerk, net.home(CHIYODA), resident.resident_code)
        )
        assert await asyncio.to_thread(slow.asked.wait, 10), "the prefecture was never asked"
        took = await asyncio.to_thread(_birth_takes, register, clerk, resident)
        slow.let_go()
        return await asking, took

    with Serving(net, slow, **{f"{PREFECTURE}.disclosure": True}):
        entries, took = asyncio.run(window())
    assert took < PROMPT, f"the clerk waited {took:.1f} s for the disclosure to finish"
    assert entries == []
    assert slow.requests == ["/disclosure", "/disclosure"]  # the prefecture, then the national node


def _entries_after(store: RegisterStore, seq: int) -> list[tuple[str, str, str]]:
    return [(e.operation, e.target, e.outcome) for e in last_audit(store, 20) if e.seq > seq]


def test_r12_a_refused_disclosure_asks_no_node_and_leaves_one_refusal(
    net: Net, register: RegisterStore, clerk: Session, admin: Session
) -> None:
    """An administrator may not read records: refused before any request leaves the node."""
    resident = service.record_event(register, clerk, arrival(), TODAY).records[0]
    seq = last_audit(register)[0].seq
    slow = SlowNode()
    with Serving(net, slow), pytest.raises(RoleNotAllowed):
        asyncio.run(disclose(register, admin, net.home(CHIYODA), resident.resident_code))
    assert slow.requests == []
    assert _entries_after(register, seq) == [
        ("resident.disclosure", resident.resident_code, "refused")
    ]


def test_r12_a_refused_replenish_asks_no_node_and_leaves_one_refusal(
    net: Net, register: RegisterStore, clerk: Session
) -> None:
    """A clerk may not replenish the pool: refused before the national node is asked."""
    before = pool.remaining(register)
    seq = last_audit(register)[0].seq
    slow = SlowNode()
    with Serving(net, slow), pytest.raises(RoleNotAllowed):
        asyncio.run(pool.replenish(register, clerk, code_source_for(net.home(CHIYODA)), 300))
    assert slow.requests == []
    assert pool.remaining(register) == before
    assert _entries_after(register, seq) == [("pool.replenish", "code pool", "refused")]


NODES = Path(__file__).parents[2] / "src" / "jukinet" / "nodes"


def test_no_module_of_the_nodes_runs_its_own_event_loop() -> None:
    """Network calls under nodes/ are awaited; only entry points (cli/) call asyncio.run."""
    offenders = []
    for path in sorted(NODES.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in ("run", "run_until_complete")
                and isinstance(node.value, ast.Name)
                and node.value.id in ("asyncio", "loop")
            ) or (
                isinstance(node, ast.ImportFrom)
                and node.module == "asyncio"
                and any(a.name == "run" for a in node.names)
            ):
                offenders.append(f"{path.relative_to(NODES)}:{node.lineno}")
    assert NODES.is_dir()
    assert offenders == []
