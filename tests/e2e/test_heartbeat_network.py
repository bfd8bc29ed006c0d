"""The directory as the network's heartbeat, over real node processes (R9, docs/emergency.md).

A small network of its own whose directories live 10 s (``network init
--directory-lifetime 10``): the national node signs a fresh version every few seconds and
every node takes it; when the national node stops (SIGSTOP) no fresh directory comes, the
directories expire and all traffic stops both ways while the window goes on; once the
national node runs again the outboxes drain, nothing lost or applied twice. An older
directory put in the national node's file is refused as a rollback, logged and audited.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from jukinet.network.client import NodeClient
from jukinet.network.messages import SignedDirectory
from jukinet.network.monitor import monitor_identity
from jukinet.network.supervisor import running_pid
from jukinet.network.topology import free_port_block
from tests.e2e.conftest import (
    Network,
    jukinet,
    running_network,
    small_topology_text,
    wait_until_consistent,
)
from tests.e2e.faults import Window, backlog, delivery_figures, outbox_seq, wait_for
from tests.helpers import person

NATIONAL = "national:national"
PREFECTURE = "prefecture:130001"
CHIYODA = "municipality:131016"
LIFETIME = 10  # seconds a directory of this network is valid


@pytest.fixture(scope="module")
def heartbeat_network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    root = tmp_path_factory.mktemp("heartbeat") / "e2e-small"
    base = free_port_block(3)
    init = ("--directory-lifetime", str(LIFETIME))
    topology = small_topology_text(base).replace("residents = 0", "residents = 5")
    with running_network(root, topology, base, seed=True, init_args=init) as net:
        yield net


def health(net: Network, node: str) -> dict[str, Any]:
    """The node's ``GET /health``, asked by the operations monitor (always answered)."""
    offset = {NATIONAL: 0, PREFECTURE: 1, CHIYODA: 2}[node]

    async def ask() -> dict[str, Any]:
        async with NodeClient(monitor_identity(net.layout), timeout=5.0) as client:
            answer: dict[str, Any] = await client.get(f"{net.url(offset)}/health")
            return answer

    return asyncio.run(ask())


def test_the_national_node_signs_a_fresh_directory_before_expiry_and_status_shows_it(
    heartbeat_network: Network,
) -> None:
    net = heartbeat_network
    first = health(net, CHIYODA)["directory"]
    wait_for(lambda: health(net, CHIYODA)["directory"] >= first + 2,
             "the municipality never took a renewed directory", timeout=4 * LIFETIME)  # fmt: skip
    assert health(net, CHIYODA)["stopped"] is None
    shown = jukinet("network", "status", str(net.root))
    assert shown.returncode == 0, shown.stdout + shown.stderr
    rows = [line for line in shown.stdout.splitlines() if CHIYODA in line]
    assert rows and "(0m" in rows[0], shown.stdout  # version and the seconds left (R9)


def test_an_expired_directory_stops_all_traffic_until_a_fresh_one_arrives(
    heartbeat_network: Network,
) -> None:
    net = heartbeat_network
    pid = running_pid(net.layout, NATIONAL)
    assert pid is not None
    first = outbox_seq(net, CHIYODA)
    log = net.layout.log(CHIYODA)
    logged_before = len(log.read_text(errors="replace"))
    os.kill(pid, signal.SIGSTOP)  # the heartbeat stops: no fresh directory is signed
    try:
        wait_for(lambda: health(net, CHIYODA)["stopped"] is not None,
                 "the municipality's directory never expired", timeout=3 * LIFETIME)  # fmt: skip
        assert "expired" in health(net, PREFECTURE)["stopped"]
        with Window(net, CHIYODA) as window:  # the window goes on
            recorded = [window.arrive(person()) for _ in range(5)]
        time.sleep(3)
        held = backlog(net, CHIYODA)
        said = log.read_text(errors="replace")[logged_before:]
        shown = jukinet("network", "status", str(net.root), timeout=60)
    finally:
        os.kill(pid, signal.SIGCONT)
    assert len(recorded) == 5 and held == 5
    assert "NetworkStopped" in said and "expired at" in said, said[-2000:]
    stopped = [line for line in shown.stdout.splitlines() if "stopped" in line]
    assert any(PREFECTURE in line for line in stopped), shown.stdout
    figures = delivery_figures(net, CHIYODA, first, first + 5)
    assert figures == {"updates": 5, "at prefecture": 5, "at national": 5, "lost": 0,
                       "duplicated": 0, "out of order": 0}  # fmt: skip
    assert health(net, CHIYODA)["stopped"] is None
    wait_until_consistent(net)


def _audited(home: Path, operation: str) -> list[tuple[str, str]]:
    with closing(sqlite3.connect(home / "identities.db", timeout=30)) as conn:
        sql = "SELECT outcome, detail FROM audit_log WHERE operation = ?"
        return [(str(o), str(d)) for o, d in conn.execute(sql, (operation,)).fetchall()]


def test_a_rolled_back_directory_is_refused_logged_and_audited(
    heartbeat_network: Network,
) -> None:
    net = heartbeat_network
    home = net.home(NATIONAL)
    path = home / "directory.json"
    held = SignedDirectory.model_validate_json(path.read_bytes())
    wait_for(lambda: health(net, NATIONAL)["directory"] > held.directory.version,
             "the national node never renewed its directory", timeout=2 * LIFETIME)  # fmt: skip
    served = health(net, NATIONAL)["directory"]
    tmp = path.with_suffix(".old")
    tmp.write_text(held.model_dump_json())
    os.replace(tmp, path)  # an older, correctly signed directory: a restored backup
    wait_for(lambda: _audited(home, "directory.rollback"),
             "the rollback was never audited", timeout=2 * LIFETIME)  # fmt: skip
    ((outcome, detail),) = _audited(home, "directory.rollback")
    assert outcome == "refused"
    assert f"version {held.directory.version} is older than version" in detail
    said = net.layout.log(NATIONAL).read_text(errors="replace")
    assert "directory refused: The directory version" in said
    wait_for(lambda: health(net, CHIYODA)["directory"] > served,
             "the network did not go on with newer directories", timeout=2 * LIFETIME)  # fmt: skip
    assert health(net, CHIYODA)["stopped"] is None
