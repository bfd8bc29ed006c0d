"""fail2ban, an independent consumer of the security log, bans what our rules count (R7).

In two network namespaces joined by a veth pair (``tests/netns.py``): a node's TLS
front (``tests/ids_node.py``) with its security log, and a host outside the network.
The project's filter (``deploy/fail2ban/filter.d/jukinet.conf``) read by
``fail2ban-regex`` counts the same failures as the node's own ``auth-failures`` rule,
and a real ``fail2ban-server`` (its own socket, pid and database in a temporary
folder, run inside the node's namespace so its nftables rules land there) bans the
source: the outside host then gets no TCP connection, until the ban's time is over.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from jukinet.network import pki
from tests.netns import free_port, namespaces, run

ROOT = Path(__file__).resolve().parents[2]
FILTER = ROOT / "deploy" / "fail2ban" / "filter.d" / "jukinet.conf"
JAIL = ROOT / "deploy" / "fail2ban" / "jail.d" / "jukinet.conf"
BANTIME = 6

# A client without a certificate: the node refuses its TLS handshake (a failure).
NO_CERT = """
import socket, ssl, sys
context = ssl.create_default_context()
context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5) as raw:
    try:
        with context.wrap_socket(raw) as tls:
            tls.recv(1)
    except (OSError, ssl.SSLError):
        pass
"""


def _until(what: str, check: Callable[[], bool], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {seconds:g} s")
        time.sleep(0.25)


def _config(folder: Path, log: Path) -> Path:
    """fail2ban's configuration: Debian's, with only the project's jail and filter."""
    conf = folder / "conf"
    shutil.copytree("/etc/fail2ban", conf, ignore=shutil.ignore_patterns("jail.d", "*.local"))
    (conf / "jail.d").mkdir()
    shutil.copy(FILTER, conf / "filter.d" / "jukinet.conf")
    jail = JAIL.read_text(encoding="utf-8")
    jail = re.sub(r"(?m)^logpath\s*=.*$", f"logpath = {log}", jail)
    jail = re.sub(r"(?m)^bantime\s*=.*$", f"bantime = {BANTIME}", jail)
    (conf / "jail.d" / "jukinet.local").write_text(jail, encoding="utf-8")
    (conf / "fail2ban.local").write_text(
        "[Definition]\n"
        f"logtarget = {folder / 'fail2ban.log'}\n"
        f"socket = {folder / 'fail2ban.sock'}\n"
        f"pidfile = {folder / 'fail2ban.pid'}\n"
        f"dbfile = {folder / 'fail2ban.sqlite3'}\n",
        encoding="utf-8",
    )
    return conf


def _client(conf: Path, folder: Path, *args: str) -> str:
    done = run("fail2ban-client", "-c", str(conf), "-s", str(folder / "fail2ban.sock"),
               *args, check=False)  # fmt: skip
    return done.stdout


def _regex_matches(log: Path) -> int:
    out = run("fail2ban-regex", str(log), str(FILTER)).stdout
    found = re.search(r"Lines: \d+ lines, \d+ ignored, (\d+) matched", out)
    assert found, out
    return int(found.group(1))


def test_fail2ban_counts_our_failures_and_bans_the_source_through_nftables(
    tmp_path: Path,
) -> None:
    with namespaces(["node", "outside"]) as hosts:
        node_ip, outside_ip = hosts.link("node", "outside")
        ca = pki.create_ca("demo")
        key, cert = pki.issue_certificate(ca, "prefecture", "130001", [node_ip])
        pki.write_identity(tmp_path / "node", key, cert, ca.cert)
        log = tmp_path / "node" / "log" / "security.jsonl"
        log.parent.mkdir()
        log.touch()
        port = free_port()
        (tmp_path / "f2b").mkdir()
        conf = _config(tmp_path / "f2b", log)
        server = subprocess.Popen(
            hosts.exec("node", sys.executable, "-m", "tests.ids_node",
                       str(tmp_path / "node"), node_ip, str(port), str(log)),
            cwd=ROOT, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        jail = subprocess.Popen(
            hosts.exec("node", "fail2ban-server", "-f", "-x", "-c", str(conf),
                       "-s", str(tmp_path / "f2b" / "fail2ban.sock"),
                       "-p", str(tmp_path / "f2b" / "fail2ban.pid")),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            assert server.stdout is not None and server.stdout.readline().strip() == "ready"
            _until("the jail starting", lambda: "jukinet" in _client(conf, tmp_path / "f2b",
                                                                      "status"))  # fmt: skip
            assert hosts.connects("outside", node_ip, port)  # before: a connection

            for _ in range(5):
                subprocess.run(hosts.exec("outside", "python3", "-c", NO_CERT, node_ip, str(port)),
                               check=True, timeout=30)  # fmt: skip
            _until("the ban", lambda: outside_ip in _banned(conf, tmp_path / "f2b"))
            _check_counts(log, outside_ip, conf, tmp_path / "f2b")
            elements = run(*hosts.exec("node", "nft", "list", "table", "inet", "f2b-table")).stdout
            assert outside_ip in elements
            assert not hosts.connects("outside", node_ip, port)  # banned: no TCP connection

            _until("the ban lifting", lambda: outside_ip not in _banned(conf, tmp_path / "f2b"),
                   seconds=BANTIME + 15)  # fmt: skip
            assert hosts.connects("outside", node_ip, port)
        finally:
            _client(conf, tmp_path / "f2b", "stop")
            for process in (jail, server):
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            if server.stdout is not None:
                server.stdout.close()


def _banned(conf: Path, folder: Path) -> str:
    out = _client(conf, folder, "status", "jukinet")
    found = re.search(r"Banned IP list:\s*(.*)", out)
    return found.group(1) if found else ""


def _check_counts(log: Path, source: str, conf: Path, folder: Path) -> None:
    """The same five failures: our lines, our rule's alert, fail2ban-regex, the jail."""
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    failures = [
        r
        for r in records
        if r["event"]["kind"] == "event"
        and r["event"]["action"] == "tls-handshake"
        and r["source"]["ip"] == source
    ]
    [alert] = [r for r in records if r["event"]["kind"] == "alert"]
    assert alert["rule"]["name"] == "auth-failures"
    assert alert["jukinet"]["value"] == source
    assert len(failures) == alert["jukinet"]["count"] == 5
    assert _regex_matches(log) == 5
    total = re.search(r"Total failed:\s*(\d+)", _client(conf, folder, "status", "jukinet"))
    assert total and int(total.group(1)) == 5
