"""The identity nodes of the provision tests: the national node, Tokyo and Osaka, each
on a fresh database (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from jukinet.keys import NodeKey
from jukinet.nodes.national import service as national_service
from tests.conftest import UrlFactory
from tests.integration.provision.nodes import OSAKA, TOKYO, Node, prefecture_store


@pytest.fixture
def national(database: UrlFactory, tmp_path: Path) -> Iterator[Node]:
    home = tmp_path / "national"
    national_service.init_node(home, "national", "全国センター", database("n"), NodeKey.generate())
    store = national_service.open_node(home)
    yield Node(store)
    store.close()


@pytest.fixture
def tokyo(database: UrlFactory, tmp_path: Path) -> Iterator[Node]:
    store = prefecture_store(database, tmp_path / "tokyo", TOKYO, "東京都")
    yield Node(store)
    store.close()


@pytest.fixture
def osaka(database: UrlFactory, tmp_path: Path) -> Iterator[Node]:
    store = prefecture_store(database, tmp_path / "osaka", OSAKA, "大阪府")
    yield Node(store)
    store.close()
