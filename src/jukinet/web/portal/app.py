"""A municipality's resident portal: the app (``create_portal_app``) and how it is served
(``serve_portal``) on its own HTTPS port, ``network.portal_port`` (docs/ui.md)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Request, Response

from jukinet import config
from jukinet.audit import log as audit
from jukinet.errors import ConfigurationError
from jukinet.nodes.municipality.setup import open_register
from jukinet.nodes.municipality.store import RegisterStore
from jukinet.web.common.accounts import AccountFile
from jukinet.web.common.app import CSP, web_app
from jukinet.web.common.i18n import COMMON, Catalogue
from jukinet.web.common.serve import serve_web
from jukinet.web.common.site import Audit, Site
from jukinet.web.portal.messages import PORTAL

CERT_FILE, KEY_FILE = "portal.pem", "portal.key"
# Residents sign in with the card, never with a password: the portal keeps no accounts
# and never writes this file (Site asks for an account store).
NO_ACCOUNTS = "portal-no-accounts.json"
HERE = Path(__file__).parent
AGENT_JS = HERE.parent.parent / "cardagent" / "browser"


@dataclass(frozen=True)
class Portal:
    home: Path
    store: RegisterStore
    origin: str
    agent: str  # the card agent's origin, e.g. http://127.0.0.1:47315


def origin(cfg: config.NodeConfig) -> tuple[str, str, str]:
    """(origin, host, card agent) of the portal of the node ``cfg``."""
    net = cfg.network
    if cfg.kind != "municipality" or net is None or net.portal_port is None:
        raise ConfigurationError(
            f"The node in {cfg.home} has no resident portal: only a municipality of a "
            "network has one (network init gives it a port)."
        )
    return f"https://{net.portal_host}:{net.portal_port}", net.portal_host, net.portal_card_agent


def portal_csp(agent: str) -> str:
    """The foundation's policy with one more source: the card agent, for ``fetch``."""
    return f"{CSP}; connect-src 'self' {agent}"


def _audit(store: RegisterStore) -> Audit:
    def write(actor: str, action: str, target: str, outcome: str, detail: str) -> None:
        with store.transaction() as tx:
            tx.audit(audit.Draft(actor, action, target, outcome, detail))

    return write


def create_portal_app(home: Path, store: RegisterStore | None = None) -> FastAPI:
    cfg = config.load(home)
    url, host, agent = origin(cfg)
    store = store or open_register(home)
    portal = Portal(home, store, url, agent)
    site = Site(
        name="portal.title",
        catalogue=Catalogue(COMMON, PORTAL),
        templates=HERE / "templates",
        accounts=AccountFile(home / NO_ACCOUNTS),
        origin=url,
        rp_id=host,
        nav=(
            ("/", "nav.identity"),
            ("/disclosure", "nav.disclosure"),
            ("/copy", "nav.copy"),
            ("/move-out", "nav.moveout"),
        ),
        audit=_audit(store),
    )
    from jukinet.web.portal.routes import router
    from jukinet.web.portal.signin import router as signin_router

    app = web_app(site, router(portal), signin=signin_router(portal))
    from fastapi.staticfiles import StaticFiles

    app.mount("/portal-static", StaticFiles(directory=HERE / "static"), name="portal-static")
    app.mount("/agent", StaticFiles(directory=AGENT_JS), name="agent")
    policy = portal_csp(agent)

    @app.middleware("http")
    async def card_agent_csp(request: Request, call_next):  # type: ignore[no-untyped-def]
        # Outside the foundation's middleware: its policy, plus the agent for fetch().
        response: Response = await call_next(request)
        response.headers["Content-Security-Policy"] = policy
        return response

    return app


def serve_portal(home: Path) -> None:
    app = create_portal_app(home)  # ConfigurationError: not a municipality, no portal port
    cfg = config.load(home)
    assert cfg.network is not None and cfg.network.portal_port is not None
    serve_web(app, host=cfg.network.host, port=cfg.network.portal_port,
              cert_path=home / CERT_FILE, key_path=home / KEY_FILE)  # fmt: skip
