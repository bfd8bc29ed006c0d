"""The e2e network: one whole network of real processes for the session (R22).

Started with ``jukinet network up`` (the supervisor and one process per node) on
free loopback ports, and stopped at the end of the session. Tests share it in any
order, so none may leave it changed: a test that must break something for good
(revoking a certificate) runs its own small network (``running_network``), and one
that kills a node uses ``restored_network``, which waits until the supervisor has it
back up and the network is consistent again.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import date
from pathlib import Path

import pytest

from jukinet.card.image import key_path, open_image, read_chip_key
from jukinet.card.pcsc import wait_for_card
from jukinet.card.reader import InProcessReader
from jukinet.card.vpcd import PORT as VPCD_PORT
from jukinet.card.vpcd import VirtualReaderCard
from jukinet.domain.access import Session
from jukinet.domain.codes import LocalGovernmentCode
from jukinet.domain.record import Address
from jukinet.network.client import NodeIdentity
from jukinet.network.layout import NetworkLayout
from jukinet.network.supervisor import running_pid
from jukinet.network.topology import free_port_block
from jukinet.nodes.municipality import service, staff
from jukinet.nodes.municipality.setup import open_register

TODAY = date.today()
SHINJUKU = Address(LocalGovernmentCode("131041"), "東京都新宿区", "西新宿", "二丁目8番1号")
EXE = Path(sys.executable).with_name("jukinet")


def topology_text(base: int) -> str:
    return f"""
[network]
name = "e2e"
[national]
port = {base}
[[prefectures]]
code = "130001"
port = {base + 1}
[[prefectures]]
code = "270008"
port = {base + 2}
[[municipalities]]
code = "131016"
port = {base + 3}
residents = 150
[[municipalities]]
code = "131041"
port = {base + 4}
residents = 100
[[municipalities]]
code = "271276"
port = {base + 5}
residents = 100
[[agencies]]
code = "pension-fund"
name = "日本年金機構"
[[agencies]]
code = "mofa-passport"
name = "外務省 旅券課"
[[agencies]]
code = "tokyo-pref"
name = "東京都 福祉局"
[[agencies]]
code = "chiyoda-city"
name = "千代田区 保険年金課"
"""


def small_topology_text(base: int) -> str:
    """Three nodes and one agency, no residents: a network a test may spoil."""
    return f"""
[network]
name = "e2e-small"
[national]
port = {base}
[[prefectures]]
code = "130001"
port = {base + 1}
[[municipalities]]
code = "131016"
port = {base + 2}
residents = 0
[[agencies]]
code = "tokyo-pref"
name = "東京都 福祉局"
"""


def jukinet(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(EXE), *args], capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip


class Network:
    def __init__(self, root: Path, base: int, process: subprocess.Popen[str]) -> None:
        self.root, self.base, self.process = root, base, process
        self.layout = NetworkLayout(root)

    def url(self, offset: int) -> str:
        return f"https://127.0.0.1:{self.base + offset}"

    def home(self, node: str) -> Path:
        return self.layout.node(node)

    def identity(self, node: str) -> NodeIdentity:
        folder = (
            self.layout.client(node) if node.startswith(("agency", "monitor")) else self.home(node)
        )
        return NodeIdentity.in_folder(node, folder)


@contextmanager
def running_network(root: Path, topology: str, base: int, *, seed: bool) -> Iterator[Network]:
    """``network init`` of ``topology`` in ``root``, seeded if asked, then ``network up``
    until the block ends; every node is stopped afterwards."""
    topo = root.parent / f"{root.name}.toml"
    topo.write_text(topology)
    made = jukinet("network", "init", "--topology", str(topo), "--dir", str(root))
    assert made.returncode == 0, made.stderr
    if seed:
        from jukinet.deploy.seeding import seed_all
        from jukinet.network.topology import load_topology
        from jukinet.seed.places import Places

        with Places() as places:
            asyncio.run(seed_all(NetworkLayout(root), load_topology(topo, places), places))
    process = subprocess.Popen(
        [str(EXE), "network", "up", str(root)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True,
    )  # fmt: skip
    net = Network(root, base, process)
    deadline = time.monotonic() + 120
    assert process.stdout is not None
    said: list[str] = []
    for line in process.stdout:
        said.append(line)
        if "is up; logs in" in line:
            break
        assert time.monotonic() < deadline, "network did not come up"
    else:
        pytest.fail(f"network up exited early with {process.wait()}:\n{''.join(said)}")
    # Keep reading what the supervisor says, so it never blocks on a full pipe.
    drain = threading.Thread(target=lambda: [None for _ in process.stdout or ()], daemon=True)
    drain.start()
    try:
        yield net
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
        finally:
            drain.join(timeout=5)
            process.stdout.close()
    for node in ("national:national", "prefecture:130001", "municipality:131016"):
        assert running_pid(net.layout, node) is None


@pytest.fixture(scope="session")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    root = tmp_path_factory.mktemp("net") / "e2e"
    base = free_port_block(6)
    with running_network(root, topology_text(base), base, seed=True) as net:
        wait_until_consistent(net)
        yield net


@pytest.fixture
def restored_network(network: Network) -> Iterator[Network]:
    """The session network for a test that kills nodes: afterwards, whatever the test
    did, every node is up again (the supervisor restarts it) and the copies agree."""
    yield network
    wait_until_all_up(network)
    wait_until_consistent(network)


def wait_until_all_up(net: Network, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        r = jukinet("network", "status", str(net.root))
        if r.returncode == 0:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"a node of the network stayed down:\n{(r.stdout + r.stderr)[-3000:]}")
        time.sleep(1)


def wait_until_consistent(net: Network, timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        r = jukinet("network", "reconcile", str(net.root))
        if r.returncode == 0:
            return r.stdout
        last = r.stdout + r.stderr
        time.sleep(1)
    pytest.fail(f"the network did not become consistent:\n{last[-3000:]}")


def card_reader(image: Path) -> InProcessReader:
    """An operator card image of the network's secrets folder, in an in-process reader."""
    return InProcessReader(open_image(image, read_chip_key(key_path(image))))


def node_id_of(home: Path) -> str:
    """``.../nodes/municipality-131016`` -> ``municipality:131016``."""
    kind, code = home.name.split("-", 1)
    return f"{kind}:{code}"


def clerk_session(home: Path) -> Session:
    """The demo clerk of the node at ``home``, signed in with a password the tests know
    and the clerk's operator card (from the secrets folder, in process)."""
    layout, node = NetworkLayout(home.parent.parent), node_id_of(home)
    username, password = (layout.secrets / f"{home.name}.txt").read_text().split()
    store = open_register(home)
    try:
        admin = service.login(store, username, password, card_reader(layout.operator_card(node)))
        # The demo seeding made a clerk with a random password: the tests know theirs.
        staff.set_password(store, admin, "clerk", "clerk-password-1")
        clerk_card = card_reader(layout.operator_card(node, "clerk"))
        return service.login(store, "clerk", "clerk-password-1", clerk_card)
    finally:
        store.close()


@contextmanager
def card_in_slot_1(image: Path) -> Iterator[None]:
    """The operator card ``image`` in pcscd's virtual reader of slot 1 (the installed
    command's default reader) until the block ends."""
    reader = "Virtual PCD 00 01"
    chip = open_image(image, read_chip_key(key_path(image)))
    card = VirtualReaderCard(chip, port=VPCD_PORT + 1, retry=0.1)
    card.start()
    try:
        assert wait_for_card(reader), f"pcscd never saw the operator card in {reader}"
        yield
    finally:
        card.stop()
        wait_for_card(reader, present=False)


def national_identity(net: Network, code: str) -> tuple[str, str] | None:
    db = net.home("national:national") / "identities.db"
    with closing(sqlite3.connect(db)) as conn:
        row = conn.execute(
            "SELECT name, status FROM identities WHERE resident_code = ?", (code,)
        ).fetchone()
    return tuple(row) if row else None
