"""Network namespaces for the tests that apply firewall rules for real (R7).

``namespaces`` makes one namespace per host (``ip netns add``), joined by veth pairs
on their own small subnets, and deletes them all again in ``finally`` -- with them
every interface and every nftables rule made inside, so nothing is left behind.
Needs root (CAP_NET_ADMIN), ``ip`` (iproute2) and ``nft`` (nftables).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest


def run(*command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, check=check, capture_output=True, text=True, timeout=60)


def require_netns() -> None:
    """Fail (never skip) when the machine cannot make namespaces: the test is the check."""
    if os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("nft") is None:
        pytest.fail("These tests need root, iproute2 and nftables (apt-get install nftables).")


@dataclass
class Hosts:
    """The namespaces made, by host name, and each host's addresses."""

    prefix: str
    names: dict[str, str] = field(default_factory=dict)
    addresses: dict[str, list[str]] = field(default_factory=dict)
    _links: int = 0

    def ns(self, host: str) -> str:
        return self.names[host]

    def link(self, a: str, b: str) -> tuple[str, str]:
        """A veth pair between hosts ``a`` and ``b`` on 10.<n>.<k>.0/30: their addresses."""
        self._links += 1
        k = self._links
        base = f"10.{200 + os.getpid() % 50}.{k}"
        here, there = f"{base}.1", f"{base}.2"
        va, vb = f"{self.prefix}{k}a", f"{self.prefix}{k}b"
        run("ip", "link", "add", va, "netns", self.ns(a), "type", "veth",
            "peer", "name", vb, "netns", self.ns(b))  # fmt: skip
        for host, dev, address in ((a, va, here), (b, vb, there)):
            run("ip", "-n", self.ns(host), "addr", "add", f"{address}/30", "dev", dev)
            run("ip", "-n", self.ns(host), "link", "set", dev, "up")
            self.addresses.setdefault(host, []).append(address)
        return here, there

    def exec(self, host: str, *command: str) -> list[str]:
        return ["ip", "netns", "exec", self.ns(host), *command]

    def connects(self, host: str, address: str, port: int, source: str | None = None) -> bool:
        """Whether ``host`` gets a TCP connection to ``address:port`` (within 2 s)."""
        code = (
            "import socket,sys\n"
            "s=socket.socket()\ns.settimeout(2)\n"
            f"s.bind(({source!r} or '', 0))\n"
            f"sys.exit(0 if s.connect_ex(({address!r},{port}))==0 else 1)\n"
        )
        done = subprocess.run(self.exec(host, "python3", "-c", code), timeout=30, check=False)
        return done.returncode == 0

    def reachable(
        self, host: str, targets: Sequence[tuple[str, int]], timeout: float = 1.0
    ) -> set[tuple[str, int]]:
        """The targets ``host`` gets a TCP connection to, all tried at once (one process)."""
        code = (
            "import socket,sys,json\n"
            "from concurrent.futures import ThreadPoolExecutor\n"
            "targets=[tuple(t) for t in json.loads(sys.argv[1])]\n"
            "def ok(t):\n"
            "    with socket.socket() as s:\n"
            f"        s.settimeout({timeout})\n"
            "        return s.connect_ex(t)==0\n"
            "with ThreadPoolExecutor(len(targets) or 1) as pool:\n"
            "    up=[list(t) for t, y in zip(targets, pool.map(ok, targets)) if y]\n"
            "print(json.dumps(up))\n"
        )
        done = subprocess.run(
            self.exec(host, "python3", "-c", code, json.dumps([list(t) for t in targets])),
            capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        return {(str(a), int(p)) for a, p in json.loads(done.stdout)}


@contextmanager
def namespaces(hosts: Sequence[str]) -> Iterator[Hosts]:
    require_netns()
    prefix = f"jk{os.getpid() % 100000}"
    made = Hosts(prefix)
    try:
        for host in hosts:
            name = f"{prefix}-{host}"
            run("ip", "netns", "add", name)
            made.names[host] = name
            run("ip", "-n", name, "link", "set", "lo", "up")
        yield made
    finally:
        for name in made.names.values():
            run("ip", "netns", "del", name, check=False)


def free_port() -> int:
    """A port below the ephemeral range (the namespaces are empty: any is free there)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return 20000 + probe.getsockname()[1] % 10000
