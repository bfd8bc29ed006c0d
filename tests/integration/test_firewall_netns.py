"""The firewall applied for real: nftables rules of ``jukinet network firewall`` (R7).

One network namespace per node host (``tests/netns.py``), all on one LAN (a bridge in
a namespace of its own), each node listening on its port. The ruleset that
``network/firewall.py`` generates from the directory and the endpoint table (what
``jukinet network firewall`` prints) is loaded with ``nft -f`` on every host; then a
member reaches each peer the endpoint table links it to, while a host outside the
directory, or a member on a link the table does not list, gets no TCP connection.
A node revoked in the next directory loses its links when that directory's rules
are loaded (an isolated node's, once isolation is a directory status, the same way:
only ``active`` entries get rules).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from jukinet.network import pki
from jukinet.network.endpoints import Member
from jukinet.network.firewall import nftables_rules, standard_links
from jukinet.network.messages import Directory, DirectoryEntry
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
# and the municipalities to each other (moving, R21). Nothing else.
LINKS = {
    ("tokyo", "national"), ("osaka", "national"), ("chiyoda", "national"),
    ("kita", "national"), ("chiyoda", "tokyo"), ("kita", "osaka"),
    ("chiyoda", "kita"), ("kita", "chiyoda"),
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
