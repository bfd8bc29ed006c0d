"""A municipality's window app: the app (``create_window_app``) and how it is served
(``serve_window``) on its own HTTPS port for the municipality's terminals,
``network.window_port``, apart from the inter-node API (docs/ui.md, "The window app")."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request

from jukinet import config
from jukinet.audit import log as audit
from jukinet.domain.access import Session
from jukinet.domain.copies import Issuer
from jukinet.errors import ConfigurationError
from jukinet.nodes.municipality.copies import issuer_of
from jukinet.nodes.municipality.setup import open_register
from jukinet.nodes.municipality.store import RegisterStore
from jukinet.web.common.app import SignInNeeded, operator, session_of, web_app
from jukinet.web.common.i18n import COMMON, Catalogue
from jukinet.web.common.serve import serve_web
from jukinet.web.common.sessions import Sessions, WebSession
from jukinet.web.common.site import Site
from jukinet.web.window.accounts import WindowAccounts
from jukinet.web.window.messages import WINDOW

if TYPE_CHECKING:
    from jukinet.documents.signing import DocumentSigner

CERT_FILE, KEY_FILE = "window.pem", "window.key"
HERE = Path(__file__).parent


@dataclass
class Window:
    home: Path
    store: RegisterStore
    accounts: WindowAccounts
    issuer: Issuer
    _signer: DocumentSigner | None = None

    def signer(self) -> DocumentSigner:
        """The municipality's document signer, loaded at the first copy: pyHanko and
        the signing key stay out of a window process that issues none (≈20 MB)."""
        if self._signer is None:
            from jukinet.documents import signing  # here, not at start: see above

            self._signer = signing.DocumentSigner.load(self.home)
        return self._signer


class BrowserSession:
    """The operator card of a window session (R11): present while the browser's session,
    opened with the password and the card, is alive — it ends on sign-out and after the
    idle timeout, and then nothing more is committed in the operator's name."""

    def __init__(self, sessions: Sessions, session: WebSession, username: str) -> None:
        self.sessions, self.session, self.username = sessions, session, username

    def still_present(self) -> bool:
        live = self.sessions.get(self.session.id)
        return live is self.session and live.user == self.username


def origin(cfg: config.NodeConfig) -> tuple[str, str]:
    """(origin, host) the terminals' browsers use for the window app of ``cfg``'s node."""
    net = cfg.network
    if net is None or net.window_port is None:
        raise ConfigurationError(f"The node in {cfg.home} has no window port (network init).")
    return f"https://{net.window_host}:{net.window_port}", net.window_host


def clerk_of(window: Window, request: Request) -> Session:
    """The signed-in operator as a register session, for the service calls: the
    register's own account (still usable: not locked meanwhile) and this browser
    session as the card."""
    who = operator(request)
    op = window.accounts.operator(who)
    if op is None or op.locked:
        request.app.state.sessions.end(session_of(request))
        request.state.session = request.app.state.sessions.new()
        raise SignInNeeded
    return Session(op, BrowserSession(request.app.state.sessions, session_of(request), who))


def create_window_app(home: Path) -> FastAPI:
    cfg = config.load(home)
    if cfg.kind != "municipality":
        raise ConfigurationError(f"{home} is not a municipality node: only one serves a window.")
    url, host = origin(cfg)
    store = open_register(home)
    accounts = WindowAccounts(home, store)

    def audit_entry(actor: str, action: str, target: str, outcome: str, detail: str) -> None:
        store.audit_alone(audit.Draft(actor, action, target, outcome, detail))

    window = Window(home, store, accounts, issuer_of(cfg, store))
    site = Site(
        name="window.title",
        catalogue=Catalogue(COMMON, WINDOW),
        templates=HERE / "templates",
        accounts=accounts,
        origin=url,
        rp_id=host,
        nav=(("/", "nav.find"), ("/move-in", "nav.move_in"), ("/audit", "nav.audit")),
        audit=audit_entry,
    )
    # Each screen's routes, a module each (``router(window)``); here, not at the top:
    # they import this module's ``Window`` and ``clerk_of``.
    from jukinet.web.window import routes

    screens = (routes,)
    return web_app(site, *(screen.router(window) for screen in screens))


def serve_window(home: Path) -> None:
    app = create_window_app(home)  # ConfigurationError: not a municipality, no window port
    cfg = config.load(home)
    assert cfg.network is not None and cfg.network.window_port is not None
    serve_web(app, host=cfg.network.host, port=cfg.network.window_port,
              cert_path=home / CERT_FILE, key_path=home / KEY_FILE)  # fmt: skip
