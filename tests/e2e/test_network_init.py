"""``network init`` gives every agency the node that serves it (R2): a topology's agency
must be a recipient of the legal table, served by a node of that network."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

from jukinet.deploy.network import init_network
from jukinet.network.topology import load_topology
from jukinet.seed.places import Places
from tests.e2e.conftest import jukinet, small_topology_text

DEMO = Path(str(resources.files("jukinet") / "topologies" / "demo.toml"))  # what `demo` runs


def _init(tmp_path: Path, topology: str) -> tuple[int, str, Path]:
    source = tmp_path / "net.toml"
    source.write_text(topology)
    r = jukinet("network", "init", "--topology", str(source), "--dir", str(tmp_path / "net"))
    return r.returncode, r.stderr, tmp_path / "net"


def test_an_agency_outside_the_legal_table_is_refused_and_nothing_is_made(
    tmp_path: Path,
) -> None:
    """R2: no node would serve it, so the network does not give it a certificate."""
    topology = small_topology_text(21000) + '[[agencies]]\ncode = "spare-agency"\nname = "予備"\n'
    status, stderr, root = _init(tmp_path, topology)
    assert status == 1
    assert "spare-agency" in stderr and "legal table" in stderr
    assert not root.exists()


def test_an_agency_whose_prefecture_is_not_in_the_network_is_refused(tmp_path: Path) -> None:
    topology = small_topology_text(21000) + '[[agencies]]\ncode = "osaka-pref"\nname = "大阪府"\n'
    status, stderr, root = _init(tmp_path, topology)
    assert status == 1
    assert "osaka-pref" in stderr and "prefecture:270008" in stderr
    assert not root.exists()


def test_the_demo_gives_prefectural_and_municipal_bodies_the_tokyo_prefecture(
    tmp_path: Path,
) -> None:
    """R2: the demo's Tokyo body and 千代田区長 call the Tokyo prefecture node; national
    bodies (and the monitor) the national node."""
    with Places() as places:
        topology = load_topology(DEMO, places)
        layout = init_network(topology, places, tmp_path / "demo", pool_size=1)
    tokyo = next(p for p in topology.prefectures if p.code == "130001").url
    national = topology.national.url
    served = {}
    for folder in (layout.root / "clients").iterdir():
        settings = tomllib.loads((folder / "agency.toml").read_text())
        assert settings["national_url"] == national
        served[settings["node_id"]] = settings["node_url"]
    assert served == {
        "agency:mofa-passport": national,
        "agency:pension-fund": national,
        "agency:tokyo-pref": tokyo,
        "agency:chiyoda-city": tokyo,
        "monitor:operations": national,
    }
