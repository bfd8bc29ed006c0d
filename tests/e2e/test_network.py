"""A whole network of real processes on loopback, real mTLS (R1, R7, R8, R22)."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import sqlite3
import subprocess
import time
from contextlib import closing
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from jukinet.errors import PeerRefused, PeerUnreachable
from jukinet.network import pki
from jukinet.network.client import NodeClient, NodeIdentity
from jukinet.network.layout import MONITOR_ID
from jukinet.network.messages import IdentityUpdate, UpdateBatch
from jukinet.network.supervisor import running_pid
from jukinet.nodes.municipality import service
from jukinet.nodes.municipality.setup import open_register
from tests.e2e.conftest import (
    EXE,
    SHINJUKU,
    TODAY,
    Network,
    card_in_slot_1,
    clerk_session,
    free_port_block,
    jukinet,
    national_identity,
    running_network,
    small_topology_text,
    wait_until_consistent,
)
from tests.helpers import arrival, person


def test_an_event_at_a_window_reaches_the_national_node(network: Network) -> None:
    home = network.home("municipality:131016")
    clerk = clerk_session(home)
    store = open_register(home)
    try:
        r = service.record_event(store, clerk, arrival(person("一郎", "イチロウ")), TODAY)
    finally:
        store.close()
    code = r.records[0].resident_code
    deadline = time.monotonic() + 20
    while national_identity(network, code) is None:
        assert time.monotonic() < deadline, "the update never reached the national node"
        time.sleep(0.2)
    assert national_identity(network, code) == ("山田 一郎", "resident")


def test_a_killed_prefecture_loses_nothing_and_duplicates_nothing(
    restored_network: Network,
) -> None:
    """kill -9 of the prefecture during a stream of events; the supervisor restarts it."""
    network = restored_network
    home = network.home("municipality:131041")
    clerk = clerk_session(home)
    store = open_register(home)
    pid = running_pid(network.layout, "prefecture:130001")
    assert pid is not None
    try:
        for i in range(120):
            service.record_event(store, clerk, arrival(person(), address=SHINJUKU), TODAY)
            if i == 40:
                os.kill(pid, signal.SIGKILL)
            time.sleep(0.01)
    finally:
        store.close()
    out = wait_until_consistent(network)
    assert "Consistent" in out
    new_pid = running_pid(network.layout, "prefecture:130001")
    assert new_pid is not None and new_pid != pid
    for db, sender in (
        (network.home("prefecture:130001") / "identities.db", "municipality:131041"),
        (network.home("national:national") / "identities.db", "prefecture:130001"),
    ):
        with closing(sqlite3.connect(db)) as conn:
            dupes = conn.execute(
                "SELECT sender_seq, COUNT(*) FROM identity_history WHERE sender = ? "
                "GROUP BY sender_seq HAVING COUNT(*) > 1",
                (sender,),
            ).fetchall()
        assert dupes == [], f"{db.parent.name} applied updates twice: {dupes[:5]}"


def call(identity: NodeIdentity, url: str) -> object:
    async def go() -> object:
        try:
            async with NodeClient(identity, timeout=5) as client:
                return await client.get(url)
        finally:
            # aiohttp's graceful shutdown: let closed TLS transports finish closing
            # before asyncio.run ends the loop (else an unclosed-transport warning).
            await asyncio.sleep(0.25)

    return asyncio.run(go())


def test_a_member_of_the_directory_is_answered(network: Network) -> None:
    answer = call(network.identity("agency:pension-fund"), f"{network.url(0)}/health")
    assert isinstance(answer, dict) and answer["status"] == "ok"


def test_a_member_is_answered_only_where_the_endpoint_table_lets_it_call(
    network: Network,
) -> None:
    """R7: elsewhere than the national node, only the monitor asks a node's health."""
    with pytest.raises(PeerRefused) as refused:
        call(network.identity("agency:pension-fund"), f"{network.url(1)}/health")
    assert refused.value.status == 403
    assert refused.value.detail == "role agency may not call GET /health"
    answer = call(network.identity(MONITOR_ID), f"{network.url(1)}/health")
    assert isinstance(answer, dict) and answer["node"] == "prefecture:130001"


def _foreign_identity(tmp: Path, *, role: str, code: str) -> NodeIdentity:
    ca = pki.create_ca("elsewhere")
    key, cert = pki.issue_certificate(ca, role, code, [])
    pki.write_identity(tmp, key, cert, ca.cert)
    return NodeIdentity.in_folder(f"{role}:{code}", tmp)


def test_a_certificate_from_a_foreign_ca_gets_nothing(network: Network, tmp_path: Path) -> None:
    foreign = _foreign_identity(tmp_path, role="municipality", code="131016")
    # It trusts the real network CA, so only the client side is foreign.
    (tmp_path / "ca.pem").write_bytes((network.root / "ca" / "ca.pem").read_bytes())
    with pytest.raises(PeerUnreachable):
        call(foreign, f"{network.url(1)}/health")


def test_an_expired_certificate_gets_nothing(network: Network, tmp_path: Path) -> None:
    ca = pki.load_ca(network.root / "ca")
    now = datetime.now(UTC)
    key, cert = pki.issue_certificate(
        ca, "agency", "pension-fund", [], not_before=now - timedelta(days=10),
        not_after=now - timedelta(days=1),
    )  # fmt: skip
    pki.write_identity(tmp_path, key, cert, ca.cert)
    with pytest.raises(PeerUnreachable):
        call(NodeIdentity.in_folder("agency:pension-fund", tmp_path), f"{network.url(1)}/health")


def test_plain_http_gets_nothing(network: Network) -> None:
    async def go() -> None:
        async with aiohttp.ClientSession() as s:
            await s.get(f"http://127.0.0.1:{network.base + 1}/health")

    with pytest.raises(aiohttp.ClientError):
        asyncio.run(go())


def test_a_municipality_cannot_write_for_another_municipality(network: Network) -> None:
    shinjuku = network.identity("municipality:131041")
    update = IdentityUpdate(
        seq=1, origin="131016", resident_code="12345678903", name="偽 太郎",
        date_of_birth=date(1990, 1, 1), sex="male", address="東京都千代田区丸の内一丁目",
        status="removed", change_reason="death", change_date=TODAY,
        recorded_at=datetime.now(UTC),
    )  # fmt: skip

    async def go() -> None:
        async with NodeClient(shinjuku, timeout=5) as client:
            await client.post(
                f"{network.url(1)}/updates",
                UpdateBatch(sender="municipality:131041", updates=[update]),
            )

    with pytest.raises(PeerRefused) as refused:
        asyncio.run(go())
    assert refused.value.status == 403
    wait_until_consistent(network, timeout=10)


def test_a_municipality_may_not_push_to_another_prefecture(network: Network) -> None:
    with pytest.raises(PeerRefused) as refused:
        asyncio.run(_post_empty_batch(network.identity("municipality:131041"), network.url(2)))
    assert refused.value.status == 403


async def _post_empty_batch(identity: NodeIdentity, url: str) -> None:
    update = IdentityUpdate(
        seq=1, origin=identity.node_id.split(":")[1], resident_code="12345678903",
        name="偽 太郎", date_of_birth=date(1990, 1, 1), sex="male", address="どこか",
        status="resident", change_reason="birth", change_date=TODAY,
        recorded_at=datetime.now(UTC),
    )  # fmt: skip
    async with NodeClient(identity, timeout=5) as client:
        await client.post(f"{url}/updates", UpdateBatch(sender=identity.node_id, updates=[update]))


# The test's own aiohttp client, polling nodes that close connections after refusing
# them, sometimes leaves a closed connection's socket to the garbage collector, which
# warns while a later line of this test runs. The leak is the client's, in this test
# process, not the node's: the nodes' own socket use is checked by test_hostile_peers.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_revoked_peer_is_refused_after_the_next_directory_update(tmp_path: Path) -> None:
    """R8: revocation cannot be undone, so it happens on a network of the test's own."""
    base = free_port_block(3)
    with running_network(tmp_path / "small", small_topology_text(base), base, seed=False) as net:
        agency = net.identity("agency:tokyo-pref")
        assert call(agency, f"{net.url(0)}/health")
        revoked = jukinet("pki", "revoke", "agency:tokyo-pref", "--dir", str(net.root))
        assert revoked.returncode == 0, revoked.stderr
        deadline = time.monotonic() + 15
        refused_everywhere = False
        while time.monotonic() < deadline and not refused_everywhere:
            refused_everywhere = True
            for offset in range(3):
                try:
                    call(agency, f"{net.url(offset)}/health")
                    refused_everywhere = False
                except PeerRefused as exc:
                    assert exc.status == 403
                    # Before the revocation only its role was refused on the prefecture
                    # and municipality; now every node must refuse the member itself.
                    refused_everywhere &= "not an active member" in exc.detail
            time.sleep(0.5)
        assert refused_everywhere, "a node still answers a revoked peer"
        monitor = net.identity(MONITOR_ID)
        assert call(monitor, f"{net.url(0)}/health")  # the others still are
    # Collect such a socket here, under this test's filter: left to a later collection
    # it warned inside a later test (the 47-prefecture topology, in a full run).
    gc.collect()


def test_a_municipality_replenishes_its_pool_from_the_national_node(network: Network) -> None:
    """R6: codes come from the national registry over the network, never twice."""
    node = "municipality:271276"
    username, password = (network.layout.secrets / "municipality-271276.txt").read_text().split()
    db = network.home("national:national") / "identities.db"

    def issued() -> dict[str, int]:
        with closing(sqlite3.connect(db)) as conn:
            return dict(conn.execute("SELECT municipality, COUNT(*) FROM issued_codes GROUP BY 1"))

    before = issued()
    with card_in_slot_1(network.layout.operator_card(node)):
        r = subprocess.run(
            [str(EXE), "--home", str(network.home(node)), "pool", "replenish", "700",
             "-u", username],
            capture_output=True, text=True, timeout=60,
            env={**os.environ, "JUKINET_PASSWORD": password},
        )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "Added 700 codes" in r.stdout
    after = issued()
    assert after["271276"] == before["271276"] + 700
    assert {k: v for k, v in after.items() if k != "271276"} == {
        k: v for k, v in before.items() if k != "271276"
    }


def test_firewall_rules_admit_exactly_the_directorys_links(network: Network) -> None:
    """R7: one accept line per link of the protocol, everything else to the node ports dropped."""
    r = jukinet("network", "firewall", str(network.root))
    assert r.returncode == 0, r.stderr
    prefecture_port = network.base + 1
    assert (
        f'tcp dport {prefecture_port} accept comment "municipality:131016 -> prefecture:130001"'
        in r.stdout
    )
    assert "municipality:271276 -> prefecture:130001" not in r.stdout
    assert 'log prefix "jukinet refused: " drop' in r.stdout
    # Agencies have no URL: placed by --source, they get exactly the links the endpoint
    # table and the legal table's served_by give them (R2, R7).
    placed = jukinet(
        "network", "firewall", str(network.root),
        "--source", "agency:tokyo-pref=127.0.0.1", "--source", "agency:chiyoda-city=127.0.0.1",
    )  # fmt: skip
    assert placed.returncode == 0, placed.stderr
    for body in ("agency:tokyo-pref", "agency:chiyoda-city"):
        assert f'accept comment "{body} -> prefecture:130001"' in placed.stdout
        assert f'accept comment "{body} -> prefecture:270008"' not in placed.stdout


def test_a_topology_of_all_47_prefectures_is_generated_and_loads(tmp_path: Path) -> None:
    from jukinet.network.topology import load_topology
    from jukinet.seed.places import Places

    r = jukinet("network", "topology", "--prefectures", "47", "--per-prefecture", "3")
    assert r.returncode == 0, r.stderr
    path = tmp_path / "japan.toml"
    path.write_text(r.stdout)
    with Places() as places:
        topo = load_topology(path, places)
    assert len(topo.prefectures) == 47
    assert len(topo.municipalities) == 141
    assert {m.code[:2] for m in topo.municipalities} == {p.code[:2] for p in topo.prefectures}
