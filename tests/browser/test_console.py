"""The network console in a real browser (R9, R11; docs/ui.md): two operators, each
signing in with a password and their operator card (a virtual WebAuthn authenticator),
isolate a node of a running network and resume it, every page free of serious or
critical accessibility violations and the journey done with the keyboard alone."""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import REPORTED, Console, axe_violations, new_operator_page, shot
from tests.e2e.conftest import jukinet
from tests.e2e.faults import wait_for

CHIYODA, NATIONAL = "municipality:131016", "national:national"
WITNESS = "\u2014 jukinet/prefecture/130001/witness "  # its cosignature line's key name


def assert_accessible(page: Page) -> None:
    assert axe_violations(page) == [], page.url


def enrol_and_sign_in(console: Console, page: Page, operator: str, password: str) -> None:
    """Register the operator card through the administrator's link, then sign in with
    both factors, by keyboard only (R11)."""
    page.goto(console.enrol(operator, password))
    expect(page.locator("h1")).to_have_text("操作者カードの登録")
    assert_accessible(page)
    page.keyboard.type(password)  # the password field has the focus
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/signin\?enrolled=1$"))
    expect(page.get_by_role("status")).to_have_text(
        "カードを登録しました。サインインしてください。"
    )
    assert_accessible(page)
    page.keyboard.type(operator)  # the username field has the focus
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/signin/card$"))
    assert_accessible(page)
    page.keyboard.press("Enter")  # the card button has the focus
    page.wait_for_url(re.compile(r"/$"))


def test_password_alone_opens_no_session(console: Console, browser: Browser) -> None:
    """R11: the password alone leads to the card step, never to a page of the console;
    a wrong password is one plain sentence."""
    context, page = new_operator_page(browser)
    try:
        page.goto(console.url + "/")
        page.wait_for_url(re.compile(r"/signin$"))
        shot(page, "signin")
        page.get_by_label("利用者名").fill("operator-1")
        page.get_by_label("パスワード").fill("wrong password")
        page.get_by_role("button", name="次へ").click()
        expect(page.get_by_role("alert")).to_have_text("利用者名またはパスワードが違います。")
        assert "Traceback" not in page.content()
        page.goto(console.url + "/orders")
        page.wait_for_url(re.compile(r"/signin$"))
    finally:
        context.close()


def test_isolate_and_resume_with_two_operators(console: Console, browser: Browser) -> None:
    """R9: operator-1 isolates Chiyoda (confirmation, signed with their sealed key) and
    asks to resume; the same operator's approval is refused in plain words; operator-2,
    in a browser of their own, approves; the network status shows each effect."""
    net = console.net
    first, page = new_operator_page(browser)
    second, other = new_operator_page(browser)
    try:
        enrol_and_sign_in(console, page, "operator-1", "first-operator-pw")
        expect(page.locator("svg.map")).to_be_visible()
        page.keyboard.press("Tab")  # the first stop of a page: the skip link, then the menu
        assert page.evaluate("document.activeElement.textContent") == "本文へ移動"
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "ネットワーク"
        expect(page.locator(f'tr[data-node="{CHIYODA}"] td').nth(2)).to_have_text("稼働")
        expect(page.locator('g[data-prefecture="13"] rect')).to_have_class("tile node-up")
        assert_accessible(page)
        shot(page, "network")

        page.get_by_role("link", name="侵入検知").click()
        expect(page.locator("h1")).to_have_text("侵入検知の警告と遮断")
        assert_accessible(page)
        shot(page, "ids")

        page.get_by_role("link", name="緊急停止").click()
        assert_accessible(page)
        shot(page, "orders")
        page.get_by_label("対象ノード").select_option(CHIYODA)
        page.get_by_label("対象ノード").focus()
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")  # 確認へ進む
        expect(page.locator("#confirm-scope")).to_have_text(CHIYODA)
        assert_accessible(page)
        shot(page, "confirm")
        page.keyboard.type("first-operator-pw")
        page.keyboard.press("Enter")
        expect(page.get_by_role("status")).to_contain_text("命令を受け付けました")
        wait_for(lambda: "isolated" in jukinet("network", "status", str(net.root)).stdout,
                 "network status never showed the isolation")  # fmt: skip
        page.get_by_role("link", name="ネットワーク").click()
        expect(page.get_by_role("alert")).to_contain_text(CHIYODA)
        assert_accessible(page)
        shot(page, "network-isolated")
        page.get_by_role("link", name="緊急停止").click()

        page.get_by_label("再開する範囲").select_option(CHIYODA)
        page.locator("form:has(#resume-scope) button").click()
        page.get_by_label("署名のためのパスワード").fill("first-operator-pw")
        page.get_by_role("button", name="署名して送信").click()
        expect(page.get_by_role("status")).to_contain_text("再開を申請しました")
        order = page.locator("tr[data-order]").first.get_attribute("data-order")
        assert order

        # The same operator cannot be the second signature.
        page.get_by_role("button", name=f"承認する {order}").click()
        page.get_by_label("署名のためのパスワード").fill("first-operator-pw")
        page.get_by_role("button", name="署名して送信").click()
        expect(page.get_by_role("alert")).to_contain_text("signed twice by operator-1")
        assert "isolated" in jukinet("network", "status", str(net.root)).stdout

        enrol_and_sign_in(console, other, "operator-2", "second-operator-pw")
        other.get_by_role("link", name="緊急停止").click()
        other.get_by_role("button", name=f"承認する {order}").click()
        other.get_by_label("署名のためのパスワード").fill("second-operator-pw")
        other.get_by_role("button", name="署名して送信").click()
        expect(other.get_by_role("status")).to_contain_text("命令を受け付けました")
        wait_for(lambda: "isolated" not in jukinet("network", "status", str(net.root)).stdout,
                 "network status still shows the isolation after the resume")  # fmt: skip
        other.get_by_role("link", name="ネットワーク").click()
        expect(other.locator(f'tr[data-node="{CHIYODA}"] td').nth(2)).to_have_text("稼働")

        other.get_by_role("link", name="監査").click()
        expect(other.locator("h1")).to_have_text("監査ログのチェックポイント")

        def cosigned() -> bool:
            """The newest checkpoint shown carries the prefecture's cosignature (R25)."""
            other.reload()
            notes = other.locator("pre.note")
            return notes.count() > 0 and WITNESS in notes.first.inner_text()

        wait_for(cosigned, "the console never showed a checkpoint cosigned by the prefecture")
        newest = other.locator("pre.note").first.inner_text()
        assert newest.startswith("jukinet/national/national/audit\n")  # its origin line
        assert "\u2014 jukinet/national/national/audit " in newest  # the node's own signature
        assert_accessible(other)
        shot(other, "audit")

        other.get_by_role("link", name="English").click()
        expect(other.locator("h1")).to_have_text("Audit log checkpoints")  # the same page
        assert_accessible(other)  # in English too
        other.get_by_role("button", name="Sign out").click()
        other.wait_for_url(re.compile(r"/signin$"))
        other.goto(console.url + "/")
        other.wait_for_url(re.compile(r"/signin$"))
    finally:
        first.close()
        second.close()
    # No page broke its Content-Security-Policy or threw (htmx and webauthn.js included).
    assert not [m for m in REPORTED if "Content Security Policy" in m or "pageerror" in m], REPORTED
    # The national node's audit log has the web operators' sign-ins and each order (R12).
    with closing(sqlite3.connect(net.home(NATIONAL) / "identities.db", timeout=30)) as conn:
        rows = conn.execute("SELECT actor, operation, outcome FROM audit_log").fetchall()
    assert ("web:operator-1", "web.signin", "ok") in rows
    assert ("web:operator-2", "web.signin", "ok") in rows
    assert ("web:operator-1", "emergency.isolate", "ok") in rows
    assert ("web:operator-1", "emergency.approve", "refused") in rows
    assert ("web:operator-2", "emergency.approve", "ok") in rows
