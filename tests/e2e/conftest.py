"""The e2e network: one whole network of real processes for the session (R22).

Started with ``jukinet network up`` (the supervisor and one process per node) on
free loopback ports, and stopped at the end of the session. Tests share it in any
order, so none may leave it changed: a test that must break something for good
(revoking a certificate) runs its own small network (``running_network``), and one
that kills a node uses ``restored_network``, which waits until the supervisor has it
back up and the network is consistent again (the fault tests, which count what arrived
themselves, use the cheaper ``revived_network``). The Tokyo prefecture's home is on a
filesystem of its own where it can be mounted, so that a fault test can fill its disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import date
from importlib.resources import files
from pathlib import Path

import pytest
import tomli_w

from jukinet.card.image import key_path, open_image, read_chip_key
from jukinet.card.pcsc import wait_for_card
from jukinet.card.reader import InProcessReader
from jukinet.card.vpcd import PORT as VPCD_PORT
from jukinet.card.vpcd import VirtualReaderCard
from jukinet.domain.access import Session
from jukinet.domain.codes import LocalGovernmentCode
from jukinet.domain.record import Address
from jukinet.network import monitor
from jukinet.network.client import NodeIdentity
from jukinet.network.layout import NetworkLayout
from jukinet.network.supervisor import running_pid
from jukinet.network.topology import NodeSpec, free_port_block, load_topology
from jukinet.nodes.identity.provision import LEGAL_TABLE_FILE
from jukinet.nodes.municipality import service, staff
from jukinet.nodes.municipality.setup import open_register
from jukinet.seed.places import Places
from tests.e2e.r3 import KEYLOG, Recorder
from tests.topologies import TOKYO_WELFARE, three_nodes

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
    return three_nodes(base, "e2e-small", agencies=[TOKYO_WELFARE])


def jukinet(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(EXE), *args], capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip


class Network:
    def __init__(self, root: Path, base: int, process: subprocess.Popen[str]) -> None:
        self.root, self.base, self.process = root, base, process
        self.layout = NetworkLayout(root)
        # Why SMALL_DISK's home is not on a filesystem of its own (None: it is).
        self.small_disk: str | None = "not asked for"
        self.recorder: Recorder | None = None  # what reaches its nodes (tests/e2e/r3.py)

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
def running_network(
    root: Path,
    topology: str,
    base: int,
    *,
    seed: bool,
    before_up: Callable[[NetworkLayout], None] = lambda _layout: None,
    env: dict[str, str] | None = None,
    init_args: tuple[str, ...] = (),
) -> Iterator[Network]:
    """``network init`` of ``topology`` in ``root``, seeded if asked, ``before_up`` (e.g. a
    node's own files), then ``network up`` (with ``env`` added to its environment, which
    the node processes inherit) until the block ends; every node is stopped afterwards.
    ``init_args`` are more options of ``network init`` (e.g. ``--directory-lifetime``)."""
    topo = root.parent / f"{root.name}.toml"
    topo.write_text(topology)
    made = jukinet("network", "init", "--topology", str(topo), "--dir", str(root), *init_args)
    assert made.returncode == 0, made.stderr
    if seed:
        from jukinet.deploy.seeding import seed_all

        with Places() as places:
            asyncio.run(seed_all(NetworkLayout(root), load_topology(topo, places), places))
    before_up(NetworkLayout(root))
    process = subprocess.Popen(
        [str(EXE), "network", "up", str(root)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True, env={**os.environ, **(env or {})},
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


SMALL_DISK = "prefecture:130001"


@pytest.fixture(scope="session")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    """The session's network. Its Tokyo prefecture has a legal table of its own
    (``tokyo_batch_affair``) and, where it can be mounted, a home on a 64 MB filesystem of
    its own (``own_filesystem``) that a fault test may fill up (``Network.small_disk``)."""
    root = tmp_path_factory.mktemp("net") / "e2e"
    base = free_port_block(6)
    mounted: list[str | None] = []
    with contextlib.ExitStack() as mounts:

        def before_up(layout: NetworkLayout) -> None:
            tokyo_batch_affair(layout)
            mounted.append(mounts.enter_context(own_filesystem(layout.node(SMALL_DISK), "64m")))

        with running_network(root, topology_text(base), base, seed=True,
                             before_up=before_up) as net:  # fmt: skip
            net.small_disk = mounted[0]
            wait_until_consistent(net)
            yield net


RECORDED = ("national:national", "prefecture:130001", "prefecture:270008")


@pytest.fixture(scope="module")
def recorded_network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    """A network of the session's topology whose prefecture and national
    nodes' requests are recorded from before it starts (``tests/e2e/r3.py``, R3):
    ``record_node_requests(recorded_network, nodes)``. Its own network, so that the
    capture holds the handshake of every connection and nothing of other tests."""
    root = tmp_path_factory.mktemp("r3") / "e2e"
    base = free_port_block(6)
    ports = {"national:national": base, "prefecture:130001": base + 1,
             "prefecture:270008": base + 2}  # fmt: skip
    recorder = Recorder(root, ports)
    env = {"SSLKEYLOGFILE": str(root / KEYLOG)}
    try:
        with running_network(root, topology_text(base), base, seed=True, env=env,
                             before_up=lambda _layout: recorder.start()) as net:  # fmt: skip
            net.recorder = recorder
            wait_until_consistent(net)
            yield net
    finally:
        recorder.stop()


TOKYO_BATCH_AFFAIR = "tokyo-allowance-status"


def tokyo_batch_affair(layout: NetworkLayout) -> None:
    """The Tokyo prefecture node's own legal table (``home/legal.toml``): the shipped one
    and one more affair of 東京都知事 with ``batch``, which the shipped table gives only
    to national bodies, so that a batch served by a prefecture can be tested."""
    table = tomllib.loads(files("jukinet.legal").joinpath("table.toml").read_text(encoding="utf-8"))
    tokyo = next(r for r in table["recipients"] if r["code"] == "tokyo")
    tokyo["affairs"].append({
        "code": TOKYO_BATCH_AFFAIR,
        "description": "児童扶養手当の現況確認 (a test network's own affair)",
        "basis": "住民基本台帳法 第30条の15・別表第五 (児童扶養手当法)",
        "functions": ["batch"],
        "fields": ["resident_code", "name", "status", "change_reason", "change_date"],
    })  # fmt: skip
    home = layout.node("prefecture:130001")
    (home / LEGAL_TABLE_FILE).write_text(tomli_w.dumps(table), encoding="utf-8")


@pytest.fixture
def restored_network(network: Network) -> Iterator[Network]:
    """The session network for a test that kills nodes: afterwards, whatever the test
    did, every node is up again (the supervisor restarts it) and the copies agree."""
    yield network
    wait_until_all_up(network)
    wait_until_consistent(network)


@pytest.fixture
def revived_network(network: Network) -> Iterator[Network]:
    """The session network for a fault test that counts what arrived itself: afterwards
    every node answers again and every outbox has drained (cheaper than
    ``restored_network``; the test module compares the copies once, at its end)."""
    yield network
    deadline = time.monotonic() + 90
    while not (all_healthy(network) and all_drained(network)):
        if time.monotonic() > deadline:
            pytest.fail("the network did not come back after the fault")
        time.sleep(0.2)


@functools.cache
def node_specs(net: Network) -> list[NodeSpec]:
    with Places() as places:
        return load_topology(net.layout.topology, places).nodes()


def all_healthy(net: Network) -> bool:
    async def check() -> list[bool]:
        specs = node_specs(net)
        return list(await asyncio.gather(*(monitor.healthy(net.layout, s) for s in specs)))

    return all(asyncio.run(check()))


def all_drained(net: Network) -> bool:
    """No update waits in any outbox (the municipalities' and the prefectures')."""
    for spec in node_specs(net):
        kind = spec.node_id.split(":")[0]
        if kind == "national":
            continue
        db = net.home(spec.node_id) / ("register.db" if kind == "municipality" else "identities.db")
        with closing(sqlite3.connect(db, timeout=30)) as conn:
            if conn.execute("SELECT 1 FROM outbox WHERE delivered_at IS NULL").fetchone():
                return False
    return True


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


@contextmanager
def own_filesystem(folder: Path, size: str) -> Iterator[str | None]:
    """``folder``, its files kept, on a tmpfs of its own of ``size`` (e.g. ``64m``) while
    the block runs: a real filesystem that fills up, so that a node whose home it is meets
    a full disk (ENOSPC) in every file it writes. Yields None, or why it could not be
    mounted (mounting needs root, CAP_SYS_ADMIN), and then ``folder`` is left as it was."""
    stash = folder.parent.parent / "stashed" / folder.name
    stash.parent.mkdir(exist_ok=True)
    folder.rename(stash)
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(folder)],
        capture_output=True, text=True,
    )  # fmt: skip
    if mounted.returncode != 0:
        folder.rmdir()
        stash.rename(folder)
        yield f"cannot mount a tmpfs: {mounted.stderr.strip() or mounted.returncode}"
        return
    try:
        for item in stash.iterdir():
            (shutil.copytree if item.is_dir() else shutil.copy2)(item, folder / item.name)
        yield None
    finally:
        subprocess.run(["umount", "--lazy", str(folder)], check=False)
