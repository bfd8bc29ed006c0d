"""The firewall applied for real: nftables rules of ``jukinet network firewall`` (R7).

One network namespace per node host (``tests/netns.py``), all on one LAN (a bridge in
a namespace of its own), each node listening on its port. The ruleset that
``network/firewall.py`` generates from the directory and the endpoint table (what
``jukinet network firewall`` prints) is loaded with ``nft -f`` on every host; then a
member reaches each peer the endpoint table links it to, while a host outside the
directory, or a member on a link the table does not list, gets no TCP connection.
A node revoked in the next directory loses its links when that directory's rules
are loaded. An isolated node (an emergency order the directory carries, R9) or a node
the hotlist blocks (R7) loses its links the same way, loaded by each host's running job.
A web port (here the window) admits its source network only, no peer node.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from jukinet.network import pki
from jukinet.network.directory import DirectoryView, sign_directory
from jukinet.network.emergency import cosign, new_order
from jukinet.network.endpoints import Member
from jukinet.network.firewall import WebPort, nftables_rules, standard_links
from jukinet.network.messages import Directory, DirectoryEntry, SignedDirectory
from jukinet.network.messages_emergency import CarriedOrder
from jukinet.network.messages_hotlist import HotlistEntry
from jukinet.nodes.firewall_job import keep_firewall
from tests.netns import Hosts, free_port, namespaces, run

JUKINET = Path(sys.executable).parent / "jukinet"
NODES = [  # (host, role, code)
    ("national", "national", "000000"),
    ("tokyo", "prefecture", "130001"),
    ("chiyoda", "municipality", "131016"),
    ("osaka", "prefecture", "270008"),
    ("kita", "municipality", "271276"),
]
LISTEN = (
    "import socket,sys\n"
    "s=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
    "s.bind((sys.argv[1],int(sys.argv[2])))\ns.listen()\nprint('ready',flush=True)\n"
    "while True:\n    c,_=s.accept()\n    c.close()\n"
)


def _no_agency(agency: Member, node: Member) -> bool:
    return False


@contextmanager
def _lan(hosts: Hosts, names: list[str]) -> Iterator[dict[str, str]]:
    """Every host on one bridge (in the ``lan`` namespace): each host's address."""
    lan = hosts.ns("lan")
    run("ip", "-n", lan, "link", "add", "br0", "type", "bridge")
    run("ip", "-n", lan, "link", "set", "br0", "up")
    addresses = {}
    for n, host in enumerate(names, start=1):
        outer, inner = f"{hosts.prefix}l{n}", f"{hosts.prefix}h{n}"
        run("ip", "link", "add", outer, "netns", lan, "type", "veth",
            "peer", "name", inner, "netns", hosts.ns(host))  # fmt: skip
        run("ip", "-n", lan, "link", "set", outer, "master", "br0", "up")
        address = f"10.77.0.{n}"
        run("ip", "-n", hosts.ns(host), "addr", "add", f"{address}/24", "dev", inner)
        run("ip", "-n", hosts.ns(host), "link", "set", inner, "up")
        addresses[host] = address
    yield addresses


def _directory(addresses: dict[str, str], ports: dict[str, int], version: int,
               revoked: frozenset[str] = frozenset()) -> Directory:  # fmt: skip
    ca = pki.create_ca("demo")
    entries = []
    for host, role, code in NODES:
        _, cert = pki.issue_certificate(ca, role, code, [addresses[host]])
        entries.append(
            DirectoryEntry(
                node_id=f"{role}:{code}", role=role, code=code, name=host,  # type: ignore[arg-type]
                url=f"https://{addresses[host]}:{ports[host]}", cert_pem=pki.cert_pem(cert),
                fingerprint=pki.fingerprint(cert),
                status="revoked" if f"{role}:{code}" in revoked else "active",
            )
        )  # fmt: skip
    issued = datetime.now(UTC)
    return Directory(network="demo", version=version, issued_at=issued,
                     expires_at=issued + timedelta(minutes=10), entries=entries)  # fmt: skip


def _load(hosts: Hosts, names: list[str], ruleset: str) -> None:
    for host in names:
        subprocess.run(hosts.exec(host, "nft", "-f", "-"), input=ruleset, text=True,
                       check=True, capture_output=True, timeout=30)  # fmt: skip


def _reach(hosts: Hosts, addresses: dict[str, str], ports: dict[str, int]) -> set[tuple[str, str]]:
    """Every (caller host, callee host) pair that gets a TCP connection."""
    names = [host for host, _, _ in NODES]
    reached = set()
    for a in [*names, "outsider"]:
        others = {(addresses[b], ports[b]): b for b in names if b != a}
        reached |= {(a, others[t]) for t in hosts.reachable(a, list(others), timeout=0.5)}
    return reached


@contextmanager
def _network() -> Iterator[tuple[Hosts, dict[str, str], dict[str, int]]]:
    """The hosts (namespaces on one LAN), each node host listening on its port."""
    names = [host for host, _, _ in NODES]
    with namespaces(["lan", *names, "outsider"]) as hosts, _lan(hosts, [*names, "outsider"]) as ip:
        ports = {host: free_port() + n for n, host in enumerate(names)}
        listeners = [
            subprocess.Popen(
                hosts.exec(h, "python3", "-c", LISTEN, ip[h], str(ports[h])),
                stdout=subprocess.PIPE,
                text=True,
            )
            for h in names
        ]
        try:
            for listener in listeners:
                assert listener.stdout is not None and listener.stdout.readline() == "ready\n"
            everyone = {(a, b) for a in [*names, "outsider"] for b in names if a != b}
            assert _reach(hosts, ip, ports) == everyone  # without rules: all get through
            yield hosts, ip, ports
        finally:
            for listener in listeners:
                listener.kill()
                listener.wait()
                if listener.stdout is not None:
                    listener.stdout.close()


def test_the_generated_rules_admit_exactly_the_directorys_links() -> None:
    names = [host for host, _, _ in NODES]
    host_of = {f"{role}:{code}": host for host, role, code in NODES}
    with _network() as (hosts, ip, ports):
        directory = _directory(ip, ports, 1)
        links = {(host_of[a], host_of[b]) for a, b in standard_links(directory, _no_agency)}
        assert ("chiyoda", "tokyo") in links and ("kita", "tokyo") not in links
        _load(hosts, names, nftables_rules(directory, standard_links(directory, _no_agency)))
        assert _reach(hosts, ip, ports) == links

        revoked = _directory(ip, ports, 2, frozenset({"municipality:131016"}))
        _load(hosts, names, nftables_rules(revoked, standard_links(revoked, _no_agency)))
        assert _reach(hosts, ip, ports) == {(a, b) for a, b in links if "chiyoda" not in (a, b)}


# What the endpoint table links in this network (no agencies): every node to national
# (the directory, pools, updates), each municipality to its own prefecture (updates),
# the municipalities to each other (moving, R21), and national to each prefecture (it
# witnesses their logs, they witness national's: R14, R25). Nothing else.
LINKS = {
    ("tokyo", "national"), ("osaka", "national"), ("chiyoda", "national"),
    ("kita", "national"), ("chiyoda", "tokyo"), ("kita", "osaka"),
    ("chiyoda", "kita"), ("kita", "chiyoda"), ("national", "tokyo"), ("national", "osaka"),
}  # fmt: skip


def _jukinet(*args: str) -> str:
    done = subprocess.run([str(JUKINET), *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


def test_jukinet_network_firewall_output_loaded_in_namespaces(tmp_path: Path) -> None:
    """The command itself, on a network made by ``jukinet network init`` (R7)."""
    names = [host for host, _, _ in NODES]
    with _network() as (hosts, ip, ports):
        lines = ["[network]", 'name = "fw"']
        for host, role, code in NODES:
            table = {"prefecture": "[[prefectures]]", "municipality": "[[municipalities]]"}
            lines += [table.get(role, "[national]")]
            lines += [f'code = "{code}"'] if role != "national" else []
            lines += [f'host = "{ip[host]}"', f"port = {ports[host]}"]
            lines += ["residents = 0"] if role == "municipality" else []
        (tmp_path / "fw.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
        net = tmp_path / "net"
        _jukinet("network", "init", "--topology", str(tmp_path / "fw.toml"), "--dir", str(net))
        ruleset = _jukinet("network", "firewall", str(net))
        assert "table inet jukinet {" in ruleset
        _load(hosts, names, ruleset)
        assert _reach(hosts, ip, ports) == LINKS

        _jukinet("pki", "revoke", "municipality:131016", "--dir", str(net))
        _load(hosts, names, _jukinet("network", "firewall", str(net)))
        assert _reach(hosts, ip, ports) == {(a, b) for a, b in LINKS if "chiyoda" not in (a, b)}


def _view_of(directory: Directory, orders: list[CarriedOrder], hotlist: list[HotlistEntry],
             version: int) -> SignedDirectory:  # fmt: skip
    changed = directory.model_copy(update={"version": version, "orders": orders,
                                           "hotlist": hotlist})  # fmt: skip
    return sign_directory(changed, NATIONAL_KEY)


def _carried(action: str, scope: str, *signers: str) -> CarriedOrder:
    signed: Any = new_order(action, scope)  # type: ignore[arg-type]
    for name in signers:
        signed = cosign(signed, name, OPERATOR_KEYS[name])
    return CarriedOrder(order=signed.order, signatures=signed.signatures,
                        accepted_at=datetime.now(UTC))  # fmt: skip


NATIONAL_KEY = Ed25519PrivateKey.generate()
OPERATOR_KEYS = {f"operator-{n}": Ed25519PrivateKey.generate() for n in (1, 2)}


def test_a_running_node_reapplies_its_firewall_and_isolation_closes_the_links(
    tmp_path: Path,
) -> None:
    """R9, R7: each host's node job (``nodes/firewall_job.py``) loads the ruleset of every
    new directory with ``nft -f``: an isolated node gets no TCP connection, to or from any
    peer, until the resume; a node the hotlist blocks loses its links until the block
    ends by the clock, with no new directory; a blocked address is a set element with
    the block's time left as its timeout."""
    names = [host for host, _, _ in NODES]
    host_of = {f"{role}:{code}": host for host, role, code in NODES}
    operators = {name: key.public_key() for name, key in OPERATOR_KEYS.items()}
    with _network() as (hosts, ip, ports):
        first = _directory(ip, ports, 1)
        links = {(host_of[a], host_of[b]) for a, b in standard_links(first, _no_agency)}
        view = DirectoryView(sign_directory(first, NATIONAL_KEY), NATIONAL_KEY.public_key(),
                             operators)  # fmt: skip

        def settled(expected: set[tuple[str, str]]) -> set[tuple[str, str]]:
            deadline = time.monotonic() + 30
            while True:
                reached = _reach(hosts, ip, ports)
                if reached == expected or time.monotonic() > deadline:
                    return reached

        async def main() -> None:
            jobs = [
                asyncio.create_task(keep_firewall(view, _no_agency, tmp_path / f"{host}.nft",
                                                  hosts.exec(host, "nft", "-f"), every=0.2))
                for host in names
            ]  # fmt: skip
            try:
                assert await asyncio.to_thread(settled, links) == links
                isolate = _carried("isolate", "municipality:131016", "operator-1")
                assert view.update(_view_of(first, [isolate], [], 2))
                without = {(a, b) for a, b in links if "chiyoda" not in (a, b)}
                assert await asyncio.to_thread(settled, without) == without
                assert "# municipality:131016: links closed, isolated by order" in (
                    (tmp_path / "tokyo.nft").read_text()
                )
                resume = _carried("resume", "municipality:131016", "operator-1", "operator-2")
                assert view.update(_view_of(first, [isolate, resume], [], 3))
                assert await asyncio.to_thread(settled, links) == links

                now = datetime.now(UTC)
                blocks = [
                    HotlistEntry(id="b1" * 8, kind="node", subject="municipality:271276",
                                 reason="test", since=now, until=now + timedelta(seconds=8),
                                 confirmed_by="operator-1",
                                 fingerprint=next(e.fingerprint for e in first.entries
                                                  if e.node_id == "municipality:271276")),
                    HotlistEntry(id="b2" * 8, kind="address", subject=ip["outsider"],
                                 reason="test", since=now, until=now + timedelta(hours=1),
                                 confirmed_by="operator-1"),
                ]  # fmt: skip
                assert view.update(_view_of(first, [isolate, resume], blocks, 4))
                no_kita = {(a, b) for a, b in links if "kita" not in (a, b)}
                assert await asyncio.to_thread(settled, no_kita) == no_kita
                shown = run(*hosts.exec("tokyo", "nft", "list", "set", "inet", "jukinet",
                                        "blocked4")).stdout  # fmt: skip
                # The kernel holds the block's end: the element expires on its own.
                element = f"{ip['outsider']} timeout "
                assert element in shown and "expires" in shown.split(element, 1)[1], shown
                # The node block ends by the clock: the links come back, version 4 still.
                assert await asyncio.to_thread(settled, links) == links
                assert view.version == 4
            finally:
                for job in jobs:
                    job.cancel()
                await asyncio.gather(*jobs, return_exceptions=True)

        asyncio.run(main())


def test_the_window_port_admits_its_terminal_network_only() -> None:
    """A terminal inside ``window_sources`` connects to the window port; a host outside
    it, and a peer node, get no TCP connection (R7, docs/ui.md)."""
    names = [host for host, _, _ in NODES]
    with _network() as (hosts, ip, ports):
        window = free_port() + 100
        listener = subprocess.Popen(
            hosts.exec("chiyoda", "python3", "-c", LISTEN, ip["chiyoda"], str(window)),
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert listener.stdout is not None and listener.stdout.readline() == "ready\n"
            target = [(ip["chiyoda"], window)]
            assert hosts.reachable("outsider", target, timeout=0.5) == set(target)
            directory = _directory(ip, ports, 1)
            terminals = (f"{ip['outsider']}/32",)  # the terminal LAN: this one host
            web = [WebPort("window", window, terminals)]
            _load(hosts, names, nftables_rules(directory, standard_links(directory, _no_agency),
                                               web=web))  # fmt: skip
            assert hosts.reachable("outsider", target, timeout=0.5) == set(target)
            for peer in ("tokyo", "kita", "national"):
                assert hosts.reachable(peer, target, timeout=0.5) == set()
        finally:
            listener.kill()
            listener.wait()
            if listener.stdout is not None:
                listener.stdout.close()
