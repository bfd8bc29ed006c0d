"""The window app of a municipality in a real browser (R1, R4, R11, R12; docs/ui.md,
"The window app"): the register's clerk signs in with the register's password and
their operator card (a virtual WebAuthn authenticator registered through the
administrator's link), finds a resident by the reading in hiragana (folded), records a
birth — refused first, the domain's sentence next to the field, then accepted — sees
the child in the household, and issues a copy whose PDF poppler's ``pdfsig`` trusts.
Every page is free of serious or critical accessibility violations, in Japanese and in
English; the sign-in and the birth form are done with the keyboard alone."""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from jukinet.domain.access import Role
from tests.browser.conftest import REPORTED, axe_violations, new_operator_page, shot
from tests.browser.window_kit import WindowNet, accessible_in_both_languages, add_operator
from tests.documents_kit import nss_database, pdfsig

CLERK_PW = "clerk-password-1"  # what ``clerk_session`` sets
AUDITOR_PW = "auditor-password-1"


@pytest.fixture(scope="module")
def browser(window_browser: Browser) -> Browser:
    return window_browser


def a_head_of_household(home: Path) -> tuple[str, str, str, str]:
    """(code, full name, reading in hiragana, date of birth) of a resident head."""
    with closing(sqlite3.connect(home / "register.db", timeout=30)) as db:
        code, family, given, fkana, gkana, born = db.execute(
            "SELECT resident_code, family_name, given_name, family_kana, given_kana, "
            "date_of_birth FROM persons WHERE removal_reason IS NULL AND relationship = '世帯主' "
            "ORDER BY date_of_birth LIMIT 1"
        ).fetchone()
    hiragana = "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in fkana + gkana)
    return code, f"{family} {given}", hiragana, str(born)


def test_password_alone_opens_no_window_page(window: WindowNet, browser: Browser) -> None:
    """R11: the register's password alone leads to the card step, never to a record."""
    context, page = new_operator_page(browser)
    try:
        page.goto(window.url + "/resident/00000000000")
        page.wait_for_url(re.compile(r"/signin$"))
        page.get_by_label("利用者名").fill("clerk")
        page.get_by_label("パスワード").fill(CLERK_PW)
        page.get_by_role("button", name="次へ").click()
        # No card is registered yet: the sentence says so; still no session.
        expect(page.get_by_role("alert")).to_contain_text("操作者カードが登録されていません")
        page.goto(window.url + "/")
        page.wait_for_url(re.compile(r"/signin$"))
    finally:
        context.close()


def test_a_clerk_records_a_birth_and_issues_a_copy(
    window: WindowNet, browser: Browser, tmp_path: Path
) -> None:
    """R1, R4, R11, R12: the clerk's journey at the window, end to end."""
    code, full_name, hiragana, born = a_head_of_household(window.home)
    context, page = new_operator_page(browser)
    try:
        # Registering the card and signing in, by keyboard only.
        page.goto(window.enrol("clerk"))
        expect(page.locator("h1")).to_have_text("操作者カードの登録")
        accessible_in_both_languages(page)
        assert page.evaluate("document.activeElement.id") == "password"  # autofocus
        page.keyboard.type(CLERK_PW)
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/signin\?enrolled=1$"))
        accessible_in_both_languages(page)
        assert page.evaluate("document.activeElement.id") == "username"  # autofocus
        page.keyboard.type("clerk")
        page.keyboard.press("Tab")
        page.keyboard.type(CLERK_PW)
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/signin/card$"))
        accessible_in_both_languages(page)
        shot(page, "window-signin-card")
        assert page.evaluate("document.activeElement.id") == "card-signin"  # autofocus
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/$"))

        # Find: by the reading typed in hiragana, folded to the register's katakana.
        expect(page.locator("h1")).to_have_text("住民の検索")
        accessible_in_both_languages(page)
        page.get_by_label("氏名（漢字またはふりがな。異体字はまとめて検索します）").fill(hiragana)
        page.get_by_label("生年月日（YYYY-MM-DD）").fill(born)
        page.locator("form[aria-labelledby=by-name] button").click()
        expect(page.locator("#results")).to_contain_text(code)
        accessible_in_both_languages(page)
        shot(page, "window-find")
        page.get_by_role("link", name=code).click()
        expect(page.locator("h1")).to_have_text(f"住民票: {full_name}")
        expect(page.locator("#history")).to_contain_text("v1")
        accessible_in_both_languages(page)
        shot(page, "window-resident")

        # The birth: keyboard only; a reading in hiragana is refused next to its field.
        page.get_by_role("link", name="出生届を記録する（この住民の子）").click()
        expect(page.get_by_label("親の住民票コード")).to_have_value(code)
        accessible_in_both_languages(page)
        assert page.evaluate("document.activeElement.id") == "family_name"  # autofocus
        child_born = date.today().replace(day=1).isoformat()
        for text in (full_name.split()[0], "陽菜", "やまだ", "ヒナ"):
            page.keyboard.type(text)
            page.keyboard.press("Tab")
        page.keyboard.press("ArrowDown")  # 性別: 女
        page.keyboard.press("Tab")
        page.keyboard.type(child_born)
        page.keyboard.press("Enter")
        refusal = page.locator("#family_kana-error")
        expect(refusal).to_have_text(
            "The reading of the family name must be written in full-width katakana; got 'やまだ'."
        )
        expect(page.get_by_label("氏のふりがな（全角カタカナ）")).to_have_attribute(
            "aria-describedby", "family_kana-error"
        )
        expect(page.get_by_label("子の名")).to_have_value("陽菜")  # what was typed is kept
        assert axe_violations(page) == [], page.url
        shot(page, "window-birth-refused")
        assert page.evaluate("document.activeElement.id") == "family_kana"
        page.keyboard.press("Control+A")
        page.keyboard.type("ヤマダ")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(rf"/resident/{code}\?born=\d+"))
        expect(page.get_by_role("status")).to_contain_text("出生を記録しました")
        child = page.locator("#household tr", has_text="陽菜")
        expect(child).to_contain_text("子")
        expect(child).to_contain_text(child_born)
        accessible_in_both_languages(page)
        shot(page, "window-household")

        # The copy: the preview, then the signed PDF.
        page.get_by_role("link", name="住民票の写しを交付する").click()
        page.get_by_label("世帯全員").check()
        page.get_by_label("世帯主の氏名及び続柄").check()
        page.get_by_role("button", name="プレビューを更新").click()
        expect(page.locator("section.preview")).to_contain_text("陽菜")
        expect(page.locator("section.preview")).to_contain_text(full_name)
        accessible_in_both_languages(page)
        shot(page, "window-copy-preview")
        with page.expect_download() as download:
            page.get_by_role("button", name="署名して交付（PDF をダウンロード）").click()
        pdf = tmp_path / "copy.pdf"
        download.value.save_as(pdf)
        assert pdf.read_bytes().startswith(b"%PDF")
        report = pdfsig(nss_database(tmp_path, window.net.layout.ca / "document-ca.pem"), pdf)
        assert "Signature is Valid." in report and "Certificate is Trusted." in report, report

        # The head moves out while others stay: refused until a new head is chosen.
        page.goto(window.url + f"/resident/{code}")
        page.get_by_role("link", name="転出届を記録する").click()
        expect(page.get_by_label(re.compile(full_name))).to_be_checked()
        accessible_in_both_languages(page)
        page.get_by_label("転出先").fill("大阪府大阪市北区梅田一丁目1番")
        page.get_by_label("転出（予定）日（YYYY-MM-DD）").fill(date.today().isoformat())
        page.get_by_role("button", name="記録する").click()
        expect(page.locator("#new_head-error")).to_have_text(
            "The head of household leaves while others stay: name the new head of household."
        )
        expect(page.get_by_label("転出先")).to_have_value("大阪府大阪市北区梅田一丁目1番")
        assert axe_violations(page) == [], page.url
        shot(page, "window-move-out-refused")
        heir = page.locator("#new_head option", has_text="陽菜").get_attribute("value")
        assert heir
        page.get_by_label("新しい世帯主（世帯主が転出するとき）").select_option(heir)
        page.get_by_role("button", name="記録する").click()
        page.wait_for_url(re.compile(rf"/resident/{code}\?moved=\d+"))
        expect(page.get_by_role("status")).to_contain_text("転出を記録しました")
        expect(page.locator("#record")).to_contain_text("除票")
        expect(page.locator("#household tr", has_text="陽菜")).to_contain_text("世帯主")

        # The death form of the new head: a date in the future is refused under its field.
        page.locator("#household tr", has_text="陽菜").get_by_role("link").click()
        page.get_by_role("link", name="死亡届を記録する").click()
        accessible_in_both_languages(page)
        assert page.evaluate("document.activeElement.id") == "died"  # autofocus
        page.keyboard.type("2999-01-01")
        page.keyboard.press("Enter")
        expect(page.locator("#died-error")).to_have_text(
            "The date of death (2999-01-01) is in the future."
        )
        assert axe_violations(page) == [], page.url
        shot(page, "window-death-refused")

        # A move-in from abroad at a town that is not the municipality's: refused under the
        # town's field, what was typed kept (recorded once right: test_web_window_routes).
        page.get_by_role("link", name="転入届").click()
        accessible_in_both_languages(page)
        page.get_by_label("国外からの転入（転出証明書なし）").check()
        for label, value in (
            ("氏", "佐藤"),
            ("名", "次郎"),
            ("氏のふりがな（全角カタカナ）", "サトウ"),
            ("名のふりがな（全角カタカナ）", "ジロウ"),
            ("生年月日（YYYY-MM-DD）", "1990-04-01"),
            ("世帯主との続柄", "世帯主"),
            ("転入日（YYYY-MM-DD）", date.today().isoformat()),
            ("本籍", "東京都千代田区丸の内一丁目1番"),
            ("筆頭者", "佐藤次郎"),
            ("町字（新しい住所）", "どこにもない町"),
            ("番地・号", "1-1"),
            ("前住所（国外からは国名・地名）", "アメリカ合衆国"),
        ):
            page.get_by_label(label, exact=True).fill(value)
        page.get_by_role("button", name="記録する").click()
        expect(page.locator("#town-error")).to_contain_text("is not a town")
        expect(page.get_by_label("町字（新しい住所）")).to_have_value("どこにもない町")
        assert axe_violations(page) == [], page.url
        shot(page, "window-move-in-refused")

        # The audit trail is for auditors: a clerk is refused in the register's words.
        page.get_by_role("link", name="操作記録").click()
        page.get_by_label("操作者の利用者名").fill("clerk")
        page.get_by_role("button", name="表示").click()
        expect(page.locator("#operator-error")).to_contain_text("may not read the audit log")

        page.get_by_role("button", name="サインアウト").click()
        page.wait_for_url(re.compile(r"/signin$"))
        page.goto(window.url + f"/resident/{code}")
        page.wait_for_url(re.compile(r"/signin$"))
    finally:
        context.close()
    assert not [m for m in REPORTED if "Content Security Policy" in m or "pageerror" in m], REPORTED
    # The register's audit log has the CLI's entries for each read and write (R12).
    with closing(sqlite3.connect(window.home / "register.db", timeout=30)) as db:
        rows = db.execute("SELECT actor, operation, outcome FROM audit_log").fetchall()
    for entry in (
        ("web:clerk", "web.enrol", "ok"), ("web:clerk", "web.signin", "ok"),
        ("operator:clerk", "resident.search", "ok"), ("operator:clerk", "resident.show", "ok"),
        ("operator:clerk", "resident.history", "ok"), ("operator:clerk", "household.show", "ok"),
        ("operator:clerk", "event.birth", "refused"), ("operator:clerk", "event.birth", "ok"),
        ("operator:clerk", "copy.preview", "ok"), ("operator:clerk", "copy.issue", "ok"),
        ("operator:clerk", "event.move-out", "refused"), ("operator:clerk", "event.move-out", "ok"),
        ("operator:clerk", "event.move-in-abroad", "refused"), ("web:clerk", "web.signout", "ok"),
    ):  # fmt: skip
        assert entry in rows, entry


def test_an_auditor_reads_the_clerks_audit_trail(window: WindowNet, browser: Browser) -> None:
    """R12, R13: an auditor of the register signs in with both factors and reads the
    clerk's own entries, newest first."""
    add_operator(window.home, "auditor", AUDITOR_PW, Role.AUDITOR)
    context, page = new_operator_page(browser)
    try:
        page.goto(window.enrol("auditor"))
        page.get_by_label("パスワード").fill(AUDITOR_PW)
        page.get_by_role("button", name="カードを登録").click()
        page.wait_for_url(re.compile(r"/signin\?enrolled=1$"))
        page.get_by_label("利用者名").fill("auditor")
        page.get_by_label("パスワード").fill(AUDITOR_PW)
        page.get_by_role("button", name="次へ").click()
        page.get_by_role("button", name="カードで確認").click()
        page.wait_for_url(re.compile(r"/$"))
        page.get_by_role("link", name="操作記録").click()
        accessible_in_both_languages(page)
        page.get_by_label("操作者の利用者名").fill("clerk")
        page.get_by_role("button", name="表示").click()
        trail = page.locator("#trail")
        expect(trail).to_contain_text("web.signin")
        expect(trail.locator("tbody tr").first).not_to_contain_text("auditor")
        accessible_in_both_languages(page)
        shot(page, "window-audit-trail")
    finally:
        context.close()
