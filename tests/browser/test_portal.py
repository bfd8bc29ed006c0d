"""The resident portal in a real browser (R14, R15; docs/ui.md, "The resident portal").

A network of real node processes (national, Tokyo, Chiyoda, the pension fund as an
agency) with Chiyoda's portal served by ``network up``; a resident arrives at the window
and is issued a card (the national JPKI CA certifies its keys); the pension fund looks
the resident up. The card sits in pcscd's virtual reader (vsmartcard), the card agent
runs as its own process for the portal's origin, and Chromium signs in with the card —
a wrong PIN first, with the tries left — then reads the identity information and the
disclosure listing the pension fund's lookup with its proof verified. Every page is
checked by axe-core in Japanese and English; the journey is done with the keyboard.
Run under ``flock /tmp/jukinet-card.lock`` (one virtual reader).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
import time
import tomllib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
import tomli_w
from playwright.sync_api import Browser, Page, expect, sync_playwright

from jukinet import config
from jukinet.card.builder import CardPins
from jukinet.card.image import key_path, open_image, read_chip_key
from jukinet.card.pcsc import wait_for_card
from jukinet.card.vpcd import PORT as VPCD_PORT
from jukinet.card.vpcd import VirtualReaderCard
from jukinet.documents.render import render_copy
from jukinet.documents.signing import DocumentSigner
from jukinet.domain.copies import CopyOptions
from jukinet.domain.identity import Sex
from jukinet.network.layout import NetworkLayout
from jukinet.network.topology import free_port_block
from jukinet.nodes.municipality import cards, moving_online, service
from jukinet.nodes.municipality.copies import issue_copy, issuer_of
from jukinet.nodes.municipality.setup import open_register
from tests.browser.conftest import (
    CHROMIUM,
    REPORTED,
    _spki,
    axe_violations,
    checkpoints_every_two_seconds,
    shot,
)
from tests.e2e.conftest import (
    EXE,
    Network,
    clerk_session,
    national_identity,
    running_network,
)
from tests.e2e.faults import wait_for
from tests.helpers import TODAY, arrival, person
from tests.integration.card.agent_kit import running_agent
from tests.integration.card.conftest import SLOT_READER, pcscd_or_fail
from tests.topologies import PENSION_FUND, three_nodes

CHIYODA = "municipality:131016"
PIN = "2580"
PINS = CardPins(jpki_auth=PIN, jpki_sign="SIGNPASS1", resident="5678", municipal="2468")


def topology(base: int) -> str:
    return three_nodes(base, "e2e-portal", residents=5, agencies=[PENSION_FUND])


@dataclass
class Portal:
    url: str
    spki: str
    code: str
    name: str
    copy: Path  # the PDF of a copy of the resident's record, issued at the window
    home: Path  # Chiyoda's home


def _portal_settings(layout: NetworkLayout, agent: str) -> str:
    """Chiyoda's portal calls the card agent at ``agent``; the portal's origin."""
    path = layout.node(CHIYODA) / "node.toml"
    cfg = tomllib.loads(path.read_text())
    cfg["network"]["portal_card_agent"] = agent
    path.write_text(tomli_w.dumps(cfg))
    net = cfg["network"]
    return f"https://{net['portal_host']}:{net['portal_port']}"


def _issue_card(net: Network, folder: Path) -> tuple[str, str, Path]:
    """A new resident of Chiyoda and their card (certified by the national JPKI CA)."""
    home = net.home(CHIYODA)
    clerk = clerk_session(home)
    store = open_register(home)
    try:
        new = person("花子", "ハナコ", family="佐藤", fk="サトウ", born=date(1980, 5, 5),
                     sex=Sex.FEMALE)  # fmt: skip
        record = service.record_event(store, clerk, arrival(new), TODAY).records[0]
        wait_for(lambda: national_identity(net, record.resident_code) is not None,
                 "the new resident never reached the national node")  # fmt: skip
        image = folder / "card.img"
        asyncio.run(cards.issue(store, clerk, home, record.resident_code, PINS, image, TODAY))
        return record.resident_code, record.name.full, image
    finally:
        store.close()


def _issue_copy(home: Path, code: str, out: Path) -> Path:
    """A copy of the resident's record, signed by Chiyoda (docs/copies.md)."""
    clerk = clerk_session(home)
    store = open_register(home)
    try:
        issued = issue_copy(
            store, clerk, DocumentSigner.load(home), issuer_of(config.load(home), store),
            code, CopyOptions(), TODAY, render_copy,
        )  # fmt: skip
    finally:
        store.close()
    out.write_bytes(issued.pdf)
    return out


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    pcscd_or_fail()
    root = tmp_path_factory.mktemp("portal") / "e2e-portal"
    base = free_port_block(3)
    with contextlib.ExitStack() as stack:
        origins: list[str] = []

        def before_up(layout: NetworkLayout) -> None:
            # The national node's provision log is cosigned by the prefecture every 2 s.
            checkpoints_every_two_seconds(layout)
            path = layout.node(CHIYODA) / "node.toml"
            net = tomllib.loads(path.read_text())["network"]
            origin = f"https://{net['portal_host']}:{net['portal_port']}"
            agent = stack.enter_context(running_agent(origin, reader=SLOT_READER[0]))
            origins.append(_portal_settings(layout, f"http://127.0.0.1:{agent.port}"))

        net = stack.enter_context(
            running_network(root, topology(base), base, seed=True, before_up=before_up)
        )
        home = net.home(CHIYODA)
        code, name, image = _issue_card(net, root.parent)
        copy = _issue_copy(home, code, root.parent / "copy.pdf")
        # The pension fund looks the resident up (R13): a provision the disclosure lists.
        asked = subprocess.run(
            [str(EXE), "agency", "lookup", code, "--affair", "national-pension-status",
             "--as", str(net.layout.client("agency:pension-fund"))],
            capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "200"},
        )  # fmt: skip
        assert asked.returncode == 0, asked.stdout + asked.stderr
        card = VirtualReaderCard(
            open_image(image, read_chip_key(key_path(image))), port=VPCD_PORT, retry=0.1
        )
        card.start()
        stack.callback(lambda: (card.stop(), wait_for_card(SLOT_READER[0], present=False)))
        assert wait_for_card(SLOT_READER[0]), "pcscd never saw the resident's card"
        yield Portal(origins[0], _spki(home / "portal.pem"), code, name, copy, home)


@pytest.fixture(scope="module")
def browser(portal: Portal) -> Iterator[Browser]:
    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[f"--ignore-certificate-errors-spki-list={portal.spki}"],
        )
        yield chromium
        chromium.close()


def accessible_in_both_languages(page: Page) -> None:
    """axe-core: no serious or critical violation, in Japanese and in English."""
    assert axe_violations(page) == [], page.url
    page.get_by_role("link", name="English").click()
    assert axe_violations(page) == [], page.url + " (en)"
    page.get_by_role("link", name="日本語").click()


def test_a_resident_signs_in_with_the_card_and_reads_the_disclosure(
    portal: Portal, browser: Browser
) -> None:
    """R15: the card's user-authentication key signs the portal's challenge after the PIN
    (a wrong one first: the tries left); R14: the disclosure lists the pension fund's
    lookup in plain words, its proof verified against the cosigned checkpoint."""
    context = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.on("pageerror", lambda error: REPORTED.append(f"pageerror: {error}"))
    csp: list[str] = []
    page.on("response", lambda r: csp.append(r.headers.get("content-security-policy", ""))
            if r.url.startswith(portal.url) else None)  # fmt: skip
    try:
        page.goto(portal.url + "/")
        page.wait_for_url(re.compile(r"/signin$"))
        expect(page.locator("h1")).to_have_text("マイナンバーカードでサインイン")
        expect(page.locator("#card-status")).to_have_text(
            "カードを読み取りました。暗証番号の残り回数: 3 回"
        )
        accessible_in_both_languages(page)
        shot(page, "portal-signin")

        # Keyboard only: the PIN field has the focus; Enter submits.
        page.locator("#pin").focus()
        page.keyboard.type("0000")
        page.keyboard.press("Enter")
        expect(page.get_by_role("alert")).to_have_text(
            "暗証番号が違います。あと 2 回間違えるとロックされます。"
        )
        expect(page.locator("#card-status")).to_have_text(
            "カードを読み取りました。暗証番号の残り回数: 2 回"
        )
        assert axe_violations(page) == []
        shot(page, "portal-wrong-pin")
        expect(page.locator("#pin")).to_be_focused()
        page.keyboard.type(PIN)
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/$"))

        expect(page.locator("h1")).to_have_text("本人確認情報")
        expect(page.get_by_role("row", name=re.compile("住民票コード"))).to_contain_text(
            portal.code
        )
        expect(page.get_by_role("row", name=re.compile("^氏名 "))).to_contain_text(portal.name)
        expect(page.get_by_text("この市区町村が保有する住民票の記録です。", exact=False))
        accessible_in_both_languages(page)
        shot(page, "portal-identity")

        # To the disclosure by the keyboard: Tab to the menu link, Enter.
        link = page.get_by_role("link", name="提供の記録")
        for _ in range(10):
            page.keyboard.press("Tab")
            if link.evaluate("el => el === document.activeElement"):
                break
        expect(link).to_be_focused()
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/disclosure$"))
        expect(page.locator("h1")).to_have_text("本人確認情報の提供の記録")
        today = TODAY.isoformat()
        line = page.locator("ol.provisions li").first
        expect(line).to_contain_text(f"{today}, 日本年金機構")
        expect(line).to_contain_text(
            "国民年金法・厚生年金保険法による年金たる給付の支給に関する事務"
        )
        expect(line).to_contain_text("照会: ")
        expect(line).to_contain_text("氏名・生年月日・性別・住所")
        expect(line).not_to_contain_text("field.")
        national = page.locator("ul.proof li").filter(has_text="national:national")
        expect(national).to_contain_text("1 件の提供が、サイズ")
        # Once the prefecture has cosigned a checkpoint covering the lookup, the answer
        # carries it: asked again (a reload) until then.
        for _ in range(30):
            if "チェックポイントの連署:" in national.inner_text():
                break
            time.sleep(1)
            page.reload()
        expect(national).to_contain_text(
            "チェックポイントの連署: jukinet/prefecture/130001/witness"
        )
        expect(page.get_by_text("検証できなかった回答があります")).to_have_count(0)
        accessible_in_both_languages(page)
        shot(page, "portal-disclosure")

        # A copy of the record, checked by its file: genuine, then altered.
        page.get_by_role("link", name="住民票の写しの確認").click()
        page.wait_for_url(re.compile(r"/copy$"))
        accessible_in_both_languages(page)
        page.get_by_label("住民票の写しの PDF ファイル").set_input_files(str(portal.copy))
        page.get_by_role("button", name="確認する").click()
        expect(page.get_by_role("status")).to_have_text("本物です。発行後に改ざんされていません。")
        expect(page.get_by_role("row", name=re.compile("記載されている人"))).to_contain_text(
            portal.name
        )
        assert axe_violations(page) == []
        shot(page, "portal-copy")
        altered = portal.copy.with_name("altered.pdf")
        data = bytearray(portal.copy.read_bytes())
        middle = len(data) // 2
        data[middle : middle + 8] = bytes(b ^ 0xFF for b in data[middle : middle + 8])
        altered.write_bytes(bytes(data))
        page.get_by_label("住民票の写しの PDF ファイル").set_input_files(str(altered))
        page.get_by_role("button", name="確認する").click()
        expect(page.get_by_role("alert")).to_contain_text("本物と確認できません")

        # The online move-out (R21), signed with the card's signing key: a wrong signing
        # password first (the tries left), then the right one.
        page.get_by_role("link", name="転出届（オンライン）").click()
        page.wait_for_url(re.compile(r"/move-out$"))
        accessible_in_both_languages(page)
        page.get_by_label("転入先の市区町村コード（6桁）").fill("131041")
        page.get_by_label("転入先の住所").fill("東京都新宿区西新宿二丁目8番1号")
        page.get_by_label("転出予定日").fill((TODAY + timedelta(days=7)).isoformat())
        page.get_by_label("署名用電子証明書の暗証番号").fill("WRONG123")
        page.get_by_role("button", name="カードで署名して届け出る").click()
        expect(page.locator("#moveout-error")).to_have_text(
            "署名用電子証明書の暗証番号が違います。あと 4 回間違えるとロックされます。"
        )
        assert axe_violations(page) == []
        assert not (portal.home / "online-move-outs").exists()
        page.get_by_label("署名用電子証明書の暗証番号").fill(PINS.jpki_sign or "")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/move-out\?filed=1$"))
        expect(page.locator("#moveout-filed")).to_have_text(
            "転出届を受け付けました。カードの署名を確認し、窓口で記録されます。"
        )
        shot(page, "portal-move-out")
        [filed] = (portal.home / "online-move-outs").iterdir()
        # The window records it as any online notification (`move-out receive FILE`).
        clerk = clerk_session(portal.home)
        store = open_register(portal.home)
        try:
            # In a thread of its own: Playwright's sync API holds this thread's event loop.
            with ThreadPoolExecutor(1) as pool:
                planned = pool.submit(asyncio.run, moving_online.receive(
                    store, clerk, portal.home, filed.read_text(), TODAY)).result()  # fmt: skip
        finally:
            store.close()
        assert (planned.holder, planned.persons) == (portal.code, (portal.code,))

        # Sign-out ends the session: the pages are behind the card again.
        page.get_by_role("button", name="サインアウト").click()
        page.wait_for_url(re.compile(r"/signin$"))
        page.goto(portal.url + "/disclosure")
        page.wait_for_url(re.compile(r"/signin$"))
    finally:
        context.close()
    agent_origin = re.search(r"http://127\.0\.0\.1:\d+", csp[0])
    assert agent_origin, csp[0]
    assert all(
        c.endswith(f"frame-ancestors 'none'; connect-src 'self' {agent_origin.group(0)}")
        for c in csp
    ), csp
    assert [r for r in REPORTED if r.startswith("pageerror")] == []
