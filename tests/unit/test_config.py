"""node.toml and agency.toml: written by tomli-w, read back exactly, bad files refused clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from jukinet import config
from jukinet.agency.client import SETTINGS_FILE, AgencyClient, AgencySettings, write_settings
from jukinet.errors import ConfigurationError

AWKWARD = 'say "hi" \\ 髙橋\ttab'


def network() -> config.NetworkSettings:
    return config.NetworkSettings(
        node_id="municipality:131016",
        host="127.0.0.1",
        port=20001,
        national_url="https://127.0.0.1:20000",
        upstream_url="https://127.0.0.1:20002",
        directory_refresh=0.5,
    )


FIREWALL = network().model_copy(
    update={"firewall_file": "firewall.nft", "firewall_apply": ["nft", "-f"],
            "firewall_sources": {"agency:mofa-passport": "10.0.0.7"}}
)  # fmt: skip


@pytest.mark.parametrize(
    "settings", [None, network(), FIREWALL], ids=["stand-alone", "networked", "firewall"]
)
def test_a_node_configuration_reads_back_exactly_what_was_written(
    tmp_path: Path, settings: config.NetworkSettings | None
) -> None:
    written = config.NodeConfig(
        home=tmp_path,
        kind="municipality",
        code="131016",
        name=AWKWARD,
        database_url=f"sqlite:///{tmp_path}/with space/register.db",
        network=settings,
    )
    config.write(written)
    assert config.load(tmp_path) == written


def test_an_unknown_key_is_refused_with_its_name(tmp_path: Path) -> None:
    (tmp_path / config.CONFIG_FILE).write_text(
        '[node]\nkind = "national"\ncode = "national"\nname = "x"\ndatabase = "sqlite://"\n'
        'databse_url = "typo"\n'
    )
    with pytest.raises(ConfigurationError, match=r"node\.databse_url"):
        config.load(tmp_path)


def test_a_port_of_the_wrong_type_is_refused(tmp_path: Path) -> None:
    config.write(
        config.NodeConfig(
            home=tmp_path, kind="national", code="national", name="n", database_url="sqlite://",
            network=network(),
        )
    )  # fmt: skip
    path = tmp_path / config.CONFIG_FILE
    path.write_text(path.read_text().replace("port = 20001", 'port = "20001"'))
    with pytest.raises(ConfigurationError, match=r"network\.port"):
        config.load(tmp_path)


def test_a_missing_configuration_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="jukinet register init"):
        config.load(tmp_path)


def test_agency_settings_read_back_what_network_init_wrote(tmp_path: Path) -> None:
    national, tokyo = 'https://127.0.0.1:20000/"quoted"', "https://127.0.0.1:20001"
    write_settings(tmp_path, "agency:tokyo-pref", national, node_url=tokyo)
    settings = AgencySettings.from_folder(tmp_path)
    assert (settings.identity.node_id, settings.national_url, settings.node_url) == (
        "agency:tokyo-pref", national, tokyo,
    )  # fmt: skip
    assert (tmp_path / SETTINGS_FILE).read_text().count("\n") == 3


def test_an_agency_calls_the_node_its_folder_names_unless_told_another(tmp_path: Path) -> None:
    """R2: a prefectural or municipal body reaches the prefecture serving it by default."""
    write_settings(
        tmp_path,
        "agency:chiyoda-city",
        "https://127.0.0.1:20000",
        node_url="https://127.0.0.1:20001/",
    )
    assert AgencyClient.from_folder(tmp_path).url == "https://127.0.0.1:20001"
    explicit = AgencyClient.from_folder(tmp_path, "https://127.0.0.1:20000")
    assert explicit.url == "https://127.0.0.1:20000"


def test_an_agency_folder_without_a_node_url_calls_the_national_node(tmp_path: Path) -> None:
    """A folder written before agency.toml named the serving node: national, as then."""
    (tmp_path / SETTINGS_FILE).write_text(
        'node_id = "agency:mofa-passport"\nnational_url = "https://127.0.0.1:20000"\n'
    )
    assert AgencyClient.from_folder(tmp_path).url == "https://127.0.0.1:20000"


def test_an_agency_file_with_a_node_url_that_is_no_url_is_refused(tmp_path: Path) -> None:
    (tmp_path / SETTINGS_FILE).write_text(
        'node_id = "agency:tokyo-pref"\nnational_url = "https://127.0.0.1:20000"\nnode_url = 7\n'
    )
    with pytest.raises(ConfigurationError, match="node_url"):
        AgencySettings.from_folder(tmp_path)
