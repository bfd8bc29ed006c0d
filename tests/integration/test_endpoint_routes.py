"""Every route of every node app has exactly one row of the endpoint table, and every
row its route (network/endpoints.py; DESIGN.md §9 "Endpoints as data")."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from fastapi import FastAPI

from jukinet.network.endpoints import ENDPOINTS
from jukinet.network.layout import NetworkLayout
from jukinet.nodes.municipality import api as municipality
from jukinet.nodes.national import api as national
from jukinet.nodes.prefecture import api as prefecture

EXE = Path(sys.executable).with_name("jukinet")
TOPOLOGY = """
[network]
name = "routes"
[national]
port = 7400
[[prefectures]]
code = "130001"
port = 7410
[[municipalities]]
code = "131016"
port = 7420
residents = 1
"""


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("routes")
    (root / "topology.toml").write_text(TOPOLOGY)
    made = subprocess.run(
        [str(EXE), "network", "init", "--topology", str(root / "topology.toml"),
         "--dir", str(root / "net")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    return root / "net"


def _app(network: Path, kind: str) -> FastAPI:
    layout = NetworkLayout(network)
    if kind == "national":
        return national.create_app(layout.node("national:national"))
    if kind == "prefecture":
        return prefecture.create_app(layout.node("prefecture:130001"))
    return municipality.create_app(layout.node("municipality:131016"))


@pytest.mark.parametrize("kind", ["national", "prefecture", "municipality"])
def test_every_route_of_the_node_has_exactly_one_row_and_every_row_a_route(
    network: Path, kind: str
) -> None:
    app = _app(network, kind)  # create_app refuses a route without a row
    # The app's own account of its routes, included routers too (FastAPI's OpenAPI).
    paths = app.openapi()["paths"]
    routes = [(method.upper(), path) for path, item in paths.items() for method in item]
    rows = [(row.method, row.path) for row in ENDPOINTS.of_kind(kind)]

    assert sorted(routes) == sorted(rows)
    assert len(set(rows)) == len(rows)


def _endpoints(app: FastAPI) -> list[tuple[str, object]]:
    """(path, endpoint function) of every route, included routers too."""
    from fastapi.routing import APIRoute

    found: list[tuple[str, object]] = []
    for route in app.routes:
        if isinstance(route, APIRoute):
            found.append((route.path, route.endpoint))
    return found


@pytest.mark.parametrize("kind", ["national", "prefecture", "municipality"])
def test_every_route_of_the_node_is_async(network: Path, kind: str) -> None:
    """One rule for every node (docs/architecture.md, "Routes and the event loop"): routes
    are coroutines that hand database work to a worker thread, so a plain ``def`` route,
    run by Starlette in its thread pool with its own rules, is a mistake."""
    import inspect

    endpoints = _endpoints(_app(network, kind))
    assert endpoints
    plain = [path for path, endpoint in endpoints if not inspect.iscoroutinefunction(endpoint)]
    assert plain == []
