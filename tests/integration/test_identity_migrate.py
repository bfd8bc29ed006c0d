"""``jukinet identity migrate``: a prefecture or national node's schema brought up to date
after an upgrade (docs/operations.md, "Upgrading a node"), on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from typer.testing import CliRunner

from jukinet.cli import app as cli
from jukinet.errors import ConfigurationError
from jukinet.keys import NodeKey
from jukinet.nodes.identity.schema import SHARED_VERSIONS
from jukinet.nodes.national import service as national
from jukinet.nodes.national.store import MIGRATIONS
from jukinet.storage.database import make_engine
from jukinet.storage.migrations import alembic_config
from tests.conftest import UrlFactory


def test_a_node_behind_the_schema_says_how_and_is_migrated_by_the_command(
    database: UrlFactory, tmp_path: Path
) -> None:
    home = tmp_path / "national"
    url = database("upgrade")
    national.init_node(home, "national", "全国センター", url, NodeKey.generate())
    engine = make_engine(url)
    try:  # as a node made by the release before: one identity migration behind
        command.downgrade(alembic_config(engine, MIGRATIONS, [SHARED_VERSIONS]), "0009")
    finally:
        engine.dispose()
    with pytest.raises(ConfigurationError) as behind:
        national.open_node(home)
    assert "identity migrate" in behind.value.message
    result = CliRunner().invoke(cli, ["--home", str(home), "identity", "migrate"])
    assert result.exit_code == 0, result.output
    assert "Schema is up to date." in result.output
    national.open_node(home).close()  # opens again


def test_a_municipality_is_pointed_to_its_own_command(home: Path) -> None:
    result = CliRunner().invoke(cli, ["--home", str(home), "identity", "migrate"])
    assert result.exit_code != 0
    assert "jukinet register migrate" in result.output
    assert "Traceback" not in result.output
