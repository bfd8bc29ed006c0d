"""The network the window app's browser tests share (docs/ui.md, "The window app"):
national, Tokyo, Chiyoda (6 residents) and Shinjuku (3 residents), each municipality
with its window app, started once for the package (``window`` in conftest.py) — a
network costs about a minute to start on two cores.

Each test module signs in operators of its own (``signed_in``: a register operator
with a password the test knows, their operator card a virtual WebAuthn authenticator
registered through ``window enrol``) and works on residents it makes or picks itself:
``test_window.py`` moves out Chiyoda's oldest head of household and uses the demo
``clerk`` and ``auditor``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Page, expect

from jukinet import config
from jukinet.domain.access import Role
from jukinet.network.layout import NetworkLayout
from jukinet.nodes.municipality import service, staff
from jukinet.nodes.municipality.setup import open_register
from tests.browser.conftest import _spki, axe_violations, new_operator_page
from tests.e2e.conftest import Network, card_reader, jukinet, node_id_of

CHIYODA = "municipality:131016"
SHINJUKU = "municipality:131041"


@dataclass
class WindowNet:
    net: Network

    def home_of(self, node: str = CHIYODA) -> Path:
        return self.net.home(node)

    @property
    def home(self) -> Path:
        """Chiyoda's home."""
        return self.home_of(CHIYODA)

    def url_of(self, node: str = CHIYODA) -> str:
        network = config.load(self.home_of(node)).network
        assert network is not None and network.window_port is not None
        return f"https://{network.window_host}:{network.window_port}"

    @property
    def url(self) -> str:
        """Chiyoda's window app."""
        return self.url_of(CHIYODA)

    @property
    def spki(self) -> str:
        """The keys of both window apps' certificates, as Chromium's
        ``--ignore-certificate-errors-spki-list`` takes them."""
        return ",".join(_spki(self.home_of(node) / "window.pem") for node in (CHIYODA, SHINJUKU))

    def enrol(self, operator: str, node: str = CHIYODA) -> str:
        """A one-time registration link for the register's ``operator`` (``window enrol``)."""
        said = jukinet("--home", str(self.home_of(node)), "window", "enrol", operator)
        assert said.returncode == 0, said.stdout + said.stderr
        found = re.search(r"(https://\S+/enrol/\S+)", said.stdout.replace("\n", ""))
        assert found, said.stdout
        return found.group(1)


def add_operator(home: Path, username: str, password: str, role: Role = Role.CLERK) -> None:
    """An operator of the register at ``home`` (``jukinet operator add``), made by its
    administrator."""
    layout, node = NetworkLayout(home.parent.parent), node_id_of(home)
    admin_name, admin_password = (layout.secrets / f"{home.name}.txt").read_text().split()
    store = open_register(home)
    try:
        admin = service.login(
            store, admin_name, admin_password, card_reader(layout.operator_card(node))
        )
        staff.add(store, admin, username=username, full_name=f"{username} 担当", role=role,
                  password=password, trained_on=date.today(),
                  pledge_signed_on=date.today())  # fmt: skip
    finally:
        store.close()


def signed_in(
    window: WindowNet, browser: Browser, username: str, node: str = CHIYODA,
    role: Role = Role.CLERK,
) -> tuple[BrowserContext, Page]:  # fmt: skip
    """A browser of its own where the new operator ``username`` of ``node`` has
    registered their card and signed in with both factors; the page is at 住民の検索."""
    password = f"{username}-password-1"
    add_operator(window.home_of(node), username, password, role)
    context, page = new_operator_page(browser)
    page.goto(window.enrol(username, node))
    page.get_by_label("パスワード").fill(password)
    page.get_by_role("button", name="カードを登録").click()
    page.wait_for_url(re.compile(r"/signin\?enrolled=1$"))
    page.get_by_label("利用者名").fill(username)
    page.get_by_label("パスワード").fill(password)
    page.get_by_role("button", name="次へ").click()
    page.get_by_role("button", name="カードで確認").click()
    page.wait_for_url(re.compile(r"/$"))
    return context, page


def accessible_in_both_languages(page: Page) -> None:
    """No serious or critical axe-core violation, in Japanese, then in English (and back
    to the same address: the language switch keeps the path, not the query)."""
    assert axe_violations(page) == [], page.url
    here = page.url
    page.get_by_role("link", name="English", exact=True).click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert axe_violations(page) == [], page.url + " (English)"
    page.get_by_role("link", name="日本語", exact=True).click()
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    if page.url != here:
        page.goto(here)
