"""Browser tests (docs/ui.md): Playwright drives Debian's Chromium (never a downloaded
browser) against a real network of node processes (``tests/e2e/conftest.py``) and the
national node's network console that ``network up`` serves beside it.

The console's certificate comes from the network's web CA; the test's Chromium trusts
exactly that certificate's key (``--ignore-certificate-errors-spki-list``), as an
operator's browser trusts the installed web CA. WebAuthn is Chromium's virtual
authenticator (CDP ``WebAuthn.addVirtualAuthenticator``); accessibility is axe-core
(``npm ci`` puts it under node_modules/), injected into each page.
"""

from __future__ import annotations

import base64
import hashlib
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import tomli_w
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from jukinet import config
from jukinet.network.layout import NetworkLayout
from jukinet.network.topology import free_port_block
from tests.e2e.conftest import Network, jukinet, running_network, small_topology_text

if TYPE_CHECKING:
    from tests.browser.window_kit import WindowNet

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "docs" / "ui"
CHROMIUM = "/usr/bin/chromium"
NATIONAL = "national:national"
REPORTED: list[str] = []  # the browser's console messages and page errors, all pages
# An assertion on the page waits up to 20 s (Playwright's default is 5 s): on two cores
# busy with a network of node processes, a page that is right can take longer to show it.
expect.set_options(timeout=20_000)


@dataclass
class Console:
    net: Network
    url: str
    spki: str  # base64 SHA-256 of the console certificate's public key

    def enrol(self, operator: str, password: str) -> str:
        """A one-time registration link for ``operator`` (``jukinet web enrol``)."""
        home = self.net.home(NATIONAL)
        said = jukinet("--home", str(home), "web", "enrol", operator, "--password", password)
        assert said.returncode == 0, said.stdout + said.stderr
        found = re.search(r"(https://\S+/enrol/\S+)", said.stdout.replace("\n", ""))
        assert found, said.stdout
        return found.group(1)


def _spki(cert_path: Path) -> str:
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    der = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def checkpoints_every_two_seconds(layout: NetworkLayout) -> None:
    """The national node signs an audit checkpoint, and has the prefecture cosign it,
    every 2 s instead of 5 minutes, so the console shows cosignatures within the test."""
    path = layout.node(NATIONAL) / "node.toml"
    cfg = tomllib.loads(path.read_text())
    cfg["network"]["audit_checkpoint_every"] = 2.0
    path.write_text(tomli_w.dumps(cfg))


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    root = tmp_path_factory.mktemp("browser") / "e2e-small"
    base = free_port_block(3)
    with running_network(root, small_topology_text(base), base, seed=False,
                         before_up=checkpoints_every_two_seconds) as net:  # fmt: skip
        home = net.home(NATIONAL)
        network = config.load(home).network
        assert network is not None and network.console_port is not None
        url = f"https://{network.console_host}:{network.console_port}"
        yield Console(net, url, _spki(home / "console.pem"))


@pytest.fixture(scope="module")
def browser(console: Console) -> Iterator[Browser]:
    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[f"--ignore-certificate-errors-spki-list={console.spki}"],
        )
        yield chromium
        chromium.close()


def new_operator_page(browser: Browser) -> tuple[BrowserContext, Page]:
    """A browser context of its own (an operator's browser) with a virtual operator card."""
    context = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    # Whatever the browser reports (a Content-Security-Policy violation among them).
    page.on("console", lambda message: REPORTED.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: REPORTED.append(f"pageerror: {error}"))
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {"options": {"protocol": "ctap2", "transport": "usb", "hasResidentKey": False,
                     "hasUserVerification": True, "isUserVerified": True,
                     "automaticPresenceSimulation": True}},
    )  # fmt: skip
    return context, page


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on ``page`` as it is now."""
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    found: list[dict[str, Any]] = page.evaluate(
        "async () => (await axe.run(document)).violations"
        ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
        ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target)}))"
    )
    return found


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.fixture(scope="package")
def window(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WindowNet]:
    """The window apps' network, shared by every test module of the window app
    (``window_kit.py``)."""
    from tests.browser.window_kit import CHIYODA, WindowNet
    from tests.e2e.conftest import clerk_session
    from tests.topologies import three_nodes

    root = tmp_path_factory.mktemp("browser-window") / "e2e-window"
    base = free_port_block(4)
    topology = three_nodes(base, "e2e-window", residents=6, shinjuku=3)
    with running_network(root, topology, base, seed=True) as net:
        clerk_session(net.home(CHIYODA))  # the demo clerk gets the password the tests know
        yield WindowNet(net)


@pytest.fixture(scope="module")
def window_browser(window: WindowNet) -> Iterator[Browser]:
    """Chromium trusting both window apps' certificates."""
    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM, args=[f"--ignore-certificate-errors-spki-list={window.spki}"]
        )
        yield chromium
        chromium.close()
