"""The emergency stop over real node processes (R9, docs/emergency.md).

A network of its own (national, Tokyo, Chiyoda, Shinjuku). An operator isolates Chiyoda:
its peers refuse it, its window goes on and its updates are held while Shinjuku's flow.
Another halts the network: nothing moves. A resume signed by the same operator twice
is refused; two different operators resume the network, then Chiyoda: every outbox
drains, nothing lost or applied twice, and the copies reconcile. Every node audits
every order it obeyed.
"""

from __future__ import annotations

import asyncio
import re
import socket
import sqlite3
import ssl
import time
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from jukinet import config
from jukinet.errors import PeerRefused
from jukinet.keys import NodeKey
from jukinet.network.client import NodeClient
from jukinet.network.hotlist import alert_id
from jukinet.network.layout import NetworkLayout
from jukinet.network.monitor import monitor_identity
from jukinet.network.topology import free_port_block
from jukinet.nodes.ids_api import read_alerts
from tests.e2e.conftest import Network, jukinet, running_network, wait_until_consistent
from tests.e2e.faults import Window, backlog, delivery_figures, outbox_seq, wait_for
from tests.helpers import person

NATIONAL, PREFECTURE = "national:national", "prefecture:130001"
CHIYODA, SHINJUKU = "municipality:131016", "municipality:131041"
OFFSET = {NATIONAL: 0, PREFECTURE: 1, CHIYODA: 2, SHINJUKU: 3}


def topology(base: int) -> str:
    return f"""
[network]
name = "e2e-emergency"
[national]
port = {base}
[[prefectures]]
code = "130001"
port = {base + 1}
[[municipalities]]
code = "131016"
port = {base + 2}
residents = 5
[[municipalities]]
code = "131041"
port = {base + 3}
residents = 5
[[agencies]]
code = "tokyo-pref"
name = "東京都 福祉局"
"""


@pytest.fixture(scope="module")
def emergency_network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    root = tmp_path_factory.mktemp("emergency") / "e2e-emergency"
    base = free_port_block(4)
    with running_network(root, topology(base), base, seed=True, before_up=_firewalls) as net:
        yield net


def _firewalls(layout: NetworkLayout) -> None:
    """Tokyo's and Chiyoda's processes keep a firewall file (R7, R9), each ruleset checked
    by the real ``nft -c`` (nothing loaded on this machine)."""
    for node in (PREFECTURE, CHIYODA):
        cfg = config.load(layout.node(node))
        assert cfg.network is not None
        fw = {"firewall_file": "firewall.nft", "firewall_apply": ["nft", "-c", "-f"]}
        config.write(cfg.model_copy(update={"network": cfg.network.model_copy(update=fw)}))


def health(net: Network, node: str) -> dict[str, Any]:
    async def ask() -> dict[str, Any]:
        async with NodeClient(monitor_identity(net.layout), timeout=5.0) as client:
            answer: dict[str, Any] = await client.get(f"{net.url(OFFSET[node])}/health")
            return answer

    return asyncio.run(ask())


def stopped(net: Network, node: str) -> str:
    return str(health(net, node)["stopped"] or "")


def emergency(net: Network, *args: str, key: str | None = None) -> tuple[int, str]:
    keys = ("--key", str(net.layout.operators / f"{key}.key")) if key else ()
    r = jukinet("emergency", *args, "--dir", str(net.root), *keys)
    return r.returncode, r.stdout + r.stderr


def audited(net: Network, node: str, like: str = "emergency.%") -> list[str]:
    name = "register.db" if node.startswith("municipality:") else "identities.db"
    with closing(sqlite3.connect(net.home(node) / name, timeout=30)) as conn:
        sql = "SELECT operation, target FROM audit_log WHERE operation LIKE ? AND outcome = 'ok' "
        sql += "ORDER BY seq"
        return [f"{op} {target}" for op, target in conn.execute(sql, (like,)).fetchall()]


def firewall(net: Network, node: str) -> str:
    path = net.home(node) / "firewall.nft"
    return path.read_text() if path.exists() else ""


def refused_by_prefecture(net: Network, node: str) -> PeerRefused:
    # A GET: a refused POST closes the connection, its body unread (network/gate.py).
    async def get() -> None:
        async with NodeClient(net.identity(node)) as client:
            await client.get(f"{net.url(1)}/identities?municipality=131016")

    with pytest.raises(PeerRefused) as refused:
        asyncio.run(get())
    return refused.value


def test_isolate_halt_and_resume_with_two_operators(
    emergency_network: Network, tmp_path: Path
) -> None:
    net = emergency_network
    operators = net.layout.operators
    assert sorted(p.name for p in operators.glob("*.key")) == ["operator-1.key", "operator-2.key"]
    assert all(p.stat().st_mode & 0o077 == 0 for p in operators.glob("*.key"))
    first = {m: outbox_seq(net, m) for m in (CHIYODA, SHINJUKU)}

    # An unknown key is refused, with one line, and changes nothing.
    stranger = tmp_path / "stranger.key"
    NodeKey(Ed25519PrivateKey.generate()).save(stranger)
    r = jukinet("emergency", "halt", "--dir", str(net.root), "--key", str(stranger))
    assert r.returncode != 0 and "unknown key" in r.stderr and "Traceback" not in r.stderr

    # Isolate Chiyoda (one operator): its peers refuse it, its window goes on, held.
    code, said = emergency(net, "isolate", CHIYODA, key="operator-1")
    assert code == 0 and "accepted" in said and f"{CHIYODA} is isolated" in said, said
    wait_for(lambda: "isolated" in stopped(net, CHIYODA), "Chiyoda never saw its isolation")
    wait_for(lambda: health(net, PREFECTURE)["directory"] >= health(net, CHIYODA)["directory"],
             "Tokyo never took the isolation")  # fmt: skip
    refusal = refused_by_prefecture(net, CHIYODA)
    assert refusal.status == 503 and f"{CHIYODA} is isolated" in refusal.detail
    # The running nodes rewrote their firewall: Chiyoda's links are closed (R9).
    for node in (PREFECTURE, CHIYODA):
        wait_for(lambda node=node: f"# {CHIYODA}: links closed" in firewall(net, node),  # type: ignore[misc]
                 f"{node} did not close Chiyoda's firewall links")  # fmt: skip
    assert f'"{CHIYODA} -> ' not in firewall(net, PREFECTURE)
    assert f'"{SHINJUKU} -> {PREFECTURE}"' in firewall(net, PREFECTURE)
    with Window(net, CHIYODA) as window:
        [window.arrive(person()) for _ in range(3)]
    with Window(net, SHINJUKU) as window:
        [window.arrive(person()) for _ in range(2)]
    wait_for(lambda: backlog(net, SHINJUKU) == 0, "Shinjuku's updates did not flow")
    assert backlog(net, CHIYODA) == 3

    # Halt (one other operator): nothing moves anywhere.
    code, said = emergency(net, "halt", key="operator-2")
    assert code == 0 and "the network is halted" in said, said
    for node in (SHINJUKU, PREFECTURE, CHIYODA):  # each takes the directory on its own
        wait_for(lambda node=node: "halted" in stopped(net, node),  # type: ignore[misc]
                 f"{node} never saw the halt")  # fmt: skip
    with Window(net, SHINJUKU) as window:
        [window.arrive(person()) for _ in range(2)]
    time.sleep(3)
    assert backlog(net, SHINJUKU) == 2 and backlog(net, CHIYODA) == 3
    shown = jukinet("network", "status", str(net.root), timeout=60).stdout
    assert "halted by emergency order" in shown, shown

    # A resume needs two different operators: the same one twice is refused.
    code, said = emergency(net, "resume", "network", key="operator-1")
    assert code == 0, said
    match = re.search(r"order ([0-9a-f]{16})", said)
    assert match, said
    order = match.group(1)
    code, said = emergency(net, "approve", order, key="operator-1")
    assert code != 0 and "signed twice by operator-1" in said and "Traceback" not in said
    with closing(sqlite3.connect(net.home(NATIONAL) / "identities.db", timeout=30)) as conn:
        sql = "SELECT outcome, detail FROM audit_log WHERE operation = 'emergency'"
        refusals = conn.execute(sql).fetchall()
    assert [o for o, _ in refusals] == ["refused", "refused"]  # the stranger, then this one
    assert "signed twice by operator-1" in refusals[-1][1]
    assert "halted" in stopped(net, SHINJUKU)
    code, said = emergency(net, "approve", order, key="operator-2")
    assert code == 0 and "accepted" in said, said
    wait_for(lambda: backlog(net, SHINJUKU) == 0, "Shinjuku did not drain after the resume")
    wait_for(lambda: "isolated" in stopped(net, CHIYODA), "Chiyoda's isolation was lifted")
    assert backlog(net, CHIYODA) == 3

    code, said = emergency(net, "resume", CHIYODA, key="operator-2")
    order = re.search(r"order ([0-9a-f]{16})", said).group(1)  # type: ignore[union-attr]
    code, said = emergency(net, "approve", order, key="operator-1")
    assert code == 0, said
    for m, n in ((CHIYODA, 3), (SHINJUKU, 4)):
        figures = delivery_figures(net, m, first[m], first[m] + n)
        assert figures == {"updates": n, "at prefecture": n, "at national": n, "lost": 0,
                           "duplicated": 0, "out of order": 0}, (m, figures)  # fmt: skip
    wait_until_consistent(net)
    kept = (net.home(CHIYODA) / "directory.json").read_text()  # a restart starts from it
    assert '"action": "resume"' in kept and CHIYODA in kept
    code, said = emergency(net, "status")
    assert code == 0 and "No emergency order in force" in said, said

    wait_for(lambda: f'"{CHIYODA} -> {PREFECTURE}"' in firewall(net, PREFECTURE),
             "the resume did not reopen Chiyoda's firewall links")  # fmt: skip

    # Every node audited every order it obeyed, in order.
    expected = [f"emergency.isolate {CHIYODA}", "emergency.halt network",
                "emergency.resume network", f"emergency.resume {CHIYODA}"]  # fmt: skip
    for node in OFFSET:
        wait_for(lambda node=node: audited(net, node) == expected,  # type: ignore[misc]
                 f"{node} did not audit the orders: {audited(net, node)}")  # fmt: skip


STRANGER = "127.0.0.2"  # on loopback too, but no member's address: it may be blocked


def from_stranger(net: Network, node: str, cert: str | None = None) -> str:
    """What ``node`` answers a GET /health from 127.0.0.2 over TLS, with the client
    certificate of ``cert`` (a node id), or with none (a failed handshake: "")."""
    port = int(net.url(OFFSET[node]).rsplit(":", 1)[1])
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    if cert is not None:
        me = net.identity(cert)
        context.load_cert_chain(me.cert_path, me.key_path)
    ask = f"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    said = b""
    with socket.create_connection(("127.0.0.1", port), 5, (STRANGER, 0)) as raw:
        try:
            with context.wrap_socket(raw) as tls:
                tls.sendall(ask.encode())
                while chunk := tls.recv(65536):
                    said += chunk
        except (OSError, ssl.SSLError):
            pass
    return said.decode(errors="replace")


def national_health_as(net: Network, node: str) -> dict[str, Any]:
    async def ask() -> dict[str, Any]:
        async with NodeClient(net.identity(node), timeout=5.0) as client:
            answer: dict[str, Any] = await client.get(f"{net.url(0)}/health")
            return answer

    return asyncio.run(ask())


def ids(net: Network, *args: str, key: str | None = "operator-1") -> tuple[int, str]:
    keys = ("--key", str(net.layout.operators / f"{key}.key")) if key else ()
    r = jukinet("ids", *args, "--dir", str(net.root), *keys)
    return r.returncode, r.stdout + r.stderr


def test_operators_block_an_alerts_source_and_a_node_for_the_network(
    emergency_network: Network,
) -> None:
    """R7: five failed handshakes from 127.0.0.2 raise national's "auth-failures" alert; an
    operator confirms the block of its source (by the alert's id) for 30 s, and blocks
    Shinjuku's certificate. Both are in the next directory: Tokyo, which never saw the
    failures, refuses them; every node audits each change. Lifted, Shinjuku is admitted
    again; the address block ends by the clock."""
    net = emergency_network
    for _ in range(5):
        assert from_stranger(net, NATIONAL) == ""  # no certificate: no TLS, no answer
    wait_for(lambda: any(r["rule"] == "auth-failures" and r["value"] == STRANGER
                         for r in read_alerts(net.home(NATIONAL), NATIONAL)),
             "national raised no alert")  # fmt: skip
    [row] = [r for r in read_alerts(net.home(NATIONAL), NATIONAL)
             if r["rule"] == "auth-failures" and r["value"] == STRANGER]  # fmt: skip
    # A member's address is never blocked: one clear line, nothing changes.
    code, said = ids(net, "block", "confirm", "--source", "127.0.0.1", "--for", "10m",
                     "--reason", "scans")  # fmt: skip
    assert code != 0 and "blocked by its node id" in said and "Traceback" not in said, said
    assert "blocked by the network's hotlist" not in from_stranger(net, PREFECTURE, SHINJUKU)

    code, said = ids(net, "block", "confirm", alert_id(row), "--for", "30s", "--reason",
                     "failed handshakes")  # fmt: skip
    assert code == 0 and f"confirmed: address {STRANGER} until" in said, said
    ends = datetime.fromisoformat(re.search(r"until (\S+);", said).group(1))  # type: ignore[union-attr]
    code, said = ids(net, "block", "confirm", "--node", SHINJUKU, "--for", "1h", "--reason",
                     "bulk reads of residents")  # fmt: skip
    assert code == 0 and f"confirmed: node {SHINJUKU} until" in said, said
    block = re.search(r"Block ([0-9a-f]{16}) confirmed", said).group(1)  # type: ignore[union-attr]
    wait_for(lambda: health(net, PREFECTURE)["directory"] >= health(net, NATIONAL)["directory"],
             "Tokyo never took the blocks")  # fmt: skip
    answer = from_stranger(net, PREFECTURE, CHIYODA)
    assert " 403 " in answer.splitlines()[0] and f"{STRANGER} is blocked by the network's" in answer
    refusal = refused_by_prefecture(net, SHINJUKU)
    assert refusal.status == 403 and f"block {block}: bulk reads" in refusal.detail
    events = (net.home(PREFECTURE) / "log" / "security.jsonl").read_text().splitlines()
    assert any('"action":"blocked"' in e and block in e for e in events)
    shown = jukinet("network", "status", str(net.root), timeout=60).stdout
    assert f"node {SHINJUKU} is blocked by the hotlist" in shown, shown
    assert f"address {STRANGER} is blocked by the hotlist" in shown, shown

    code, said = ids(net, "block", "lift", block, "--reason", "explained")
    assert code == 0 and "lifted" in said, said
    wait_for(lambda: health(net, SHINJUKU)["directory"] >= health(net, NATIONAL)["directory"],
             "Shinjuku never took the lift")  # fmt: skip
    assert national_health_as(net, SHINJUKU)["node"] == NATIONAL  # admitted again
    code, listed = ids(net, "blocks", key=None)  # the history: who blocked, who lifted
    assert code == 0 and block in listed and "lifted" in listed, listed
    time.sleep(max(0.0, (ends - datetime.now(UTC)).total_seconds()) + 0.5)
    assert "blocked by the network's hotlist" not in from_stranger(net, PREFECTURE, CHIYODA)
    expected = [f"ids.block {STRANGER}", f"ids.block {SHINJUKU}", f"ids.lift {SHINJUKU}"]

    def hotlist_audited(node: str) -> list[str]:  # alerts are audited too (ids.alert)
        return [e for e in audited(net, node, "ids.%") if not e.startswith("ids.alert ")]

    for node in OFFSET:  # every node audited each change it obeyed, in order
        wait_for(lambda node=node: hotlist_audited(node) == expected,  # type: ignore[misc]
                 f"{node} did not audit the hotlist: {hotlist_audited(node)}")  # fmt: skip
