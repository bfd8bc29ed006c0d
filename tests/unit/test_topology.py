"""Topology files: real places only, every municipality with its prefecture, no clashes."""

from __future__ import annotations

from pathlib import Path

import pytest

from jukinet.errors import (
    ConfigurationError,
    InvalidInput,
    InvalidLocalGovernmentCode,
    UnknownMunicipality,
)
from jukinet.network.topology import Topology, generate_topology, load_topology
from jukinet.seed.places import Places

DEMO = Path(__file__).parents[2] / "topologies" / "demo.toml"

BASE = """
[network]
name = "t"
[national]
port = 7400
[[prefectures]]
code = "130001"
port = 7410
[[municipalities]]
code = "131016"
port = 7420
"""


def _load(tmp_path: Path, places: Places, text: str) -> Topology:
    path = tmp_path / "topology.toml"
    path.write_text(text, encoding="utf-8")
    return load_topology(path, places)


def test_the_demo_network_has_two_prefectures_four_municipalities_four_agencies(
    places: Places,
) -> None:
    topology = load_topology(DEMO, places)

    assert topology.name == "demo"
    assert topology.national.node_id == "national:national"
    assert topology.national.url == "https://127.0.0.1:7400"
    assert [p.name for p in topology.prefectures] == ["東京都", "大阪府"]
    assert [m.name for m in topology.municipalities] == [
        "東京都千代田区",
        "東京都新宿区",
        "大阪府大阪市北区",
        "大阪府堺市堺区",
    ]
    assert [a.node_id for a in topology.agencies] == [
        "agency:mofa-passport", "agency:pension-fund", "agency:tokyo-pref", "agency:chiyoda-city",
    ]  # fmt: skip
    assert topology.prefecture_of("271411").code == "270008"
    assert len(topology.nodes()) == 7
    assert topology.municipalities[0].residents == 2000


def test_hosts_and_residents_have_defaults(tmp_path: Path, places: Places) -> None:
    topology = _load(tmp_path, places, BASE)
    municipality = topology.municipalities[0]
    assert municipality.host == "127.0.0.1"
    assert municipality.residents == 1000
    assert municipality.url == "https://127.0.0.1:7420"


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (('code = "131016"', 'code = "131017"'), InvalidLocalGovernmentCode, "entry 1"),
        (('code = "131016"', 'code = "139998"'), UnknownMunicipality, "entry 1"),
        (('code = "130001"', 'code = "131016"'), InvalidInput, "ends in 000"),
        (('code = "130001"', 'code = "270008"'), ConfigurationError, "130001"),
        (("port = 7420", "port = 7410"), ConfigurationError, "127.0.0.1:7410"),
        (("port = 7420", "port = 80"), ConfigurationError, "1024"),
        (("port = 7420", 'port = "7420"'), ConfigurationError, "whole number"),
        (("port = 7420", "prot = 7420"), ConfigurationError, "unknown key"),
        (('name = "t"', ""), ConfigurationError, "name"),
    ],
)
def test_a_faulty_topology_is_refused_naming_the_entry(
    tmp_path: Path,
    places: Places,
    change: tuple[str, str],
    error: type[Exception],
    message: str,
) -> None:
    with pytest.raises(error, match=message):
        _load(tmp_path, places, BASE.replace(*change))


def test_a_municipality_listed_twice_is_refused(tmp_path: Path, places: Places) -> None:
    twice = BASE + '[[municipalities]]\ncode = "131016"\nport = 7421\n'
    with pytest.raises(ConfigurationError, match="already used by municipality:131016"):
        _load(tmp_path, places, twice)


def test_a_file_that_is_not_toml_is_a_configuration_error(tmp_path: Path, places: Places) -> None:
    with pytest.raises(ConfigurationError, match="not valid TOML"):
        _load(tmp_path, places, "[network\n")


def test_a_generated_topology_of_all_japan_loads(tmp_path: Path, places: Places) -> None:
    text = generate_topology(places, municipalities_per_prefecture=2)
    topology = _load(tmp_path, places, text)

    assert len(topology.prefectures) == 47
    assert len(topology.municipalities) == 94
    assert len(topology.agencies) == 2
    assert topology.municipalities[0].residents == 200


def test_a_generated_topology_can_be_small(tmp_path: Path, places: Places) -> None:
    text = generate_topology(
        places, municipalities_per_prefecture=1, prefectures=2, base_port=30000
    )
    topology = _load(tmp_path, places, text)
    assert [p.node_id for p in topology.prefectures] == [
        "prefecture:010006",
        "prefecture:020001",
    ]
    assert topology.national.port == 30000


def test_a_generated_topology_must_fit_the_port_range(places: Places) -> None:
    with pytest.raises(InvalidInput, match="65536"):
        generate_topology(places, municipalities_per_prefecture=100, base_port=65000)
