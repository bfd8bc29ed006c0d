"""The national node's network console: the app (``create_console_app``) and how it is
served (``serve_console``) on its own HTTPS port, ``network.console_port``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI

from jukinet import config
from jukinet.errors import ConfigurationError
from jukinet.network.layout import NetworkLayout
from jukinet.network.topology import NodeSpec, load_topology
from jukinet.seed.places import Places
from jukinet.web.common.accounts import AccountFile
from jukinet.web.common.app import web_app
from jukinet.web.common.i18n import COMMON, Catalogue
from jukinet.web.common.serve import serve_web
from jukinet.web.common.site import Site
from jukinet.web.console.messages import CONSOLE
from jukinet.web.console.node_store import NodeStore

ACCOUNTS_FILE = "web-operators.json"  # in the national node's home, 0600
CERT_FILE, KEY_FILE = "console.pem", "console.key"
HERE = Path(__file__).parent


@dataclass(frozen=True)
class Console:
    home: Path
    node_id: str
    layout: NetworkLayout
    national_url: str
    specs: list[NodeSpec]
    prefecture_names: dict[str, str]
    store: NodeStore


def origin(cfg: config.NodeConfig) -> tuple[str, str]:
    """(origin, host) the browser uses for the console of the node ``cfg``."""
    net = cfg.network
    if net is None or net.console_port is None:
        raise ConfigurationError(f"The node in {cfg.home} has no console port (network init).")
    return f"https://{net.console_host}:{net.console_port}", net.console_host


def create_console_app(home: Path) -> FastAPI:
    cfg = config.load(home)
    if cfg.kind != "national" or cfg.network is None:
        raise ConfigurationError(
            f"{home} is not the national node of a network: only it serves the network console."
        )
    url, host = origin(cfg)
    layout = NetworkLayout(home.parent.parent)
    with Places() as places:
        topo = load_topology(layout.topology, places)
        names = {f"{n:02d}": places.prefecture_name(f"{n:02d}") for n in range(1, 48)}
    store = NodeStore(home)
    console = Console(
        home, cfg.network.node_id, layout, topo.national.url, topo.nodes(), names, store
    )
    site = Site(
        name="console.title",
        catalogue=Catalogue(COMMON, CONSOLE),
        templates=HERE / "templates",
        accounts=AccountFile(home / ACCOUNTS_FILE),
        origin=url,
        rp_id=host,
        nav=(
            ("/", "nav.network"),
            ("/ids", "nav.ids"),
            ("/orders", "nav.orders"),
            ("/audit", "nav.audit"),
        ),
        audit=store.audit,
    )
    from jukinet.web.console.routes import router

    app = web_app(site, router(console))
    return app


def serve_console(home: Path) -> None:
    app = create_console_app(home)  # ConfigurationError: not a national node, no console port
    cfg = config.load(home)
    assert cfg.network is not None and cfg.network.console_port is not None
    serve_web(app, host=cfg.network.host, port=cfg.network.console_port,
              cert_path=home / CERT_FILE, key_path=home / KEY_FILE)  # fmt: skip
