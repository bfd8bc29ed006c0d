"""The OpenAPI schema of every node kind, as ``docs/openapi/<kind>.json`` ships it.

A node builds its schema (``app.openapi()``, ``network/openapi.py``) but serves none;
this writes the schema of each kind from the real app of a throwaway ``network init``
(one node of each kind: the schema is the same for every node of a kind). Run from
the repository::

    .venv/bin/python -m jukinet.deploy.openapi          # writes docs/openapi/*.json

``tests/integration/test_openapi.py`` fails when a committed file differs.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI

from jukinet.deploy.network import init_network
from jukinet.network.layout import NetworkLayout
from jukinet.network.openapi import write_schema
from jukinet.network.topology import load_topology
from jukinet.nodes.municipality import api as municipality
from jukinet.nodes.national import api as national
from jukinet.nodes.prefecture import api as prefecture
from jukinet.seed.places import Places

__all__ = ["KINDS", "TOPOLOGY", "schemas", "write"]

# One node of each kind; the ports are never opened (the apps are only built).
TOPOLOGY = """
[network]
name = "openapi"
[national]
port = 7500
[[prefectures]]
code = "130001"
port = 7510
[[municipalities]]
code = "131016"
port = 7520
residents = 0
"""

# kind -> (the node of TOPOLOGY, its create_app)
KINDS: dict[str, tuple[str, Callable[[Path], FastAPI]]] = {
    "national": ("national:national", national.create_app),
    "prefecture": ("prefecture:130001", prefecture.create_app),
    "municipality": ("municipality:131016", municipality.create_app),
}


def schemas(layout: NetworkLayout) -> dict[str, str]:
    """Each kind's schema, as written to docs/openapi/, from the nodes of ``layout``."""
    out: dict[str, str] = {}
    for kind, (node, create_app) in KINDS.items():
        app = create_app(layout.node(node))
        out[kind] = write_schema(app)
    return out


def write(folder: Path) -> list[Path]:
    """Write ``<kind>.json`` for every kind into ``folder``; the paths written."""
    with tempfile.TemporaryDirectory(prefix="jukinet-openapi-") as tmp, Places() as places:
        root = Path(tmp)
        (root / "topology.toml").write_text(TOPOLOGY, encoding="utf-8")
        topology = load_topology(root / "topology.toml", places)
        layout = init_network(topology, places, root / "net", pool_size=1)
        written = []
        folder.mkdir(parents=True, exist_ok=True)
        for kind, text in schemas(layout).items():
            path = folder / f"{kind}.json"
            path.write_text(text, encoding="utf-8")
            written.append(path)
        return written


if __name__ == "__main__":  # pragma: no cover - the one-line regeneration command
    for path in write(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/openapi")):
        print(f"wrote {path}")
