"""The agency console in a real browser (R2, R5, R11, R14, R24; docs/ui.md, "The agency
console"): a member of the mutual-aid association's staff, signing in with a password
and their card (a virtual WebAuthn authenticator), sees only the affair the legal table
gives the association, looks a resident up, uploads a CSV of 10,000 codes with three
malformed rows, watches the progress reach done, downloads the answers and the row
errors, and reads the association's own provision history — against a real national
node process holding 10,000 residents, the console a process of its own
(``jukinet agency console``) on the association's folder. Every page is checked by
axe-core in Japanese and English; the journey is done with the keyboard.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from jukinet.agency.client import write_settings
from jukinet.domain.codes import generate_resident_code
from tests.browser.conftest import (
    CHROMIUM,
    REPORTED,
    _spki,
    axe_violations,
    new_operator_page,
    shot,
)
from tests.integration.test_agency_console import EXE, KKR, Net, net  # noqa: F401 (a fixture)

AFFAIR = "mutual-aid-pension-status"
PASSWORD = "staff-password-1"
MALFORMED = {2001: "12345", 5003: "ABCDEFGHIJK", 9999: "1234567890123"}  # line: cell


@dataclass
class AgencyConsole:
    url: str
    folder: Path
    spki: str

    def staff(self, name: str, password: str) -> str:
        """A one-time registration link for a new staff member (``jukinet agency staff``)."""
        said = subprocess.run(
            [str(EXE), "agency", "staff", name, "--as", str(self.folder), "--password", password],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert said.returncode == 0, said.stdout + said.stderr
        found = re.search(r"(https://\S+/enrol/\S+)", said.stdout.replace("\n", ""))
        assert found, said.stdout
        return found.group(1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def _serving(folder: Path, log: Path) -> Iterator[AgencyConsole]:
    """``jukinet agency console`` on ``folder``, a process of its own, until the block ends."""
    port = _free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(EXE), "agency", "console", "--as", str(folder), "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None, log.read_text()[-2000:]
                assert time.monotonic() < deadline, "the agency console did not come up"
                time.sleep(0.3)
        yield AgencyConsole(f"https://localhost:{port}", folder, _spki(folder / "console.pem"))
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def agency(net: Net, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgencyConsole]:  # noqa: F811
    with _serving(net.folder(KKR), tmp_path_factory.mktemp("agency-console") / "log") as served:
        yield served


@pytest.fixture(scope="module")
def impostor(net: Net, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgencyConsole]:  # noqa: F811
    """A console whose folder claims to be Tokyo's governor (verify and search in its
    table rows) while it holds the mutual-aid association's key: its forms are Tokyo's,
    and the node refuses every call in its own words."""
    folder = tmp_path_factory.mktemp("impostor") / "tokyo"
    shutil.copytree(net.folder(KKR), folder, ignore=shutil.ignore_patterns("console*", "web-*",
                                                                           "jobs"))  # fmt: skip
    write_settings(folder, "agency:tokyo-pref", net.url, node_url=net.url)
    with _serving(folder, folder.parent / "log") as served:
        yield served


@pytest.fixture(scope="module")
def browser(agency: AgencyConsole, impostor: AgencyConsole) -> Iterator[Browser]:
    with sync_playwright() as p:
        trusted = f"{agency.spki},{impostor.spki}"
        chromium = p.chromium.launch(
            executable_path=CHROMIUM, args=[f"--ignore-certificate-errors-spki-list={trusted}"]
        )
        yield chromium
        chromium.close()


def assert_accessible(page: Page) -> None:
    assert axe_violations(page) == [], page.url


def tab_to(page: Page, text: str) -> None:
    """Move the focus with Tab alone to the link or button whose text starts with ``text``."""
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()").startswith(text):
            return
    raise AssertionError(f"Tab never reached {text!r} on {page.url}")


def sign_in(agency: AgencyConsole, page: Page, name: str) -> None:
    """Register the card through the link, then sign in with both factors, by keyboard (R11)."""
    page.goto(agency.staff(name, PASSWORD))
    expect(page.locator("h1")).to_have_text("操作者カードの登録")
    assert_accessible(page)
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/signin\?enrolled=1$"))
    assert_accessible(page)
    shot(page, "agency-signin")
    page.keyboard.type(name)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/signin/card$"))
    assert_accessible(page)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/$"))


def _upload(net: Net, path: Path) -> None:  # noqa: F811
    """10,000 good codes, and three malformed rows among them (``MALFORMED``, by line)."""
    lines, codes = ["resident_code"], iter(net.codes)
    while len(lines) < len(net.codes) + len(MALFORMED) + 1:
        lines.append(MALFORMED.get(len(lines) + 1) or next(codes))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _csv(raw: bytes) -> list[list[str]]:
    assert raw.startswith("\ufeff".encode())  # for Excel
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def test_password_alone_opens_no_page(agency: AgencyConsole, browser: Browser) -> None:
    context, page = new_operator_page(browser)
    try:
        page.goto(agency.url + "/affairs/mutual-aid-pension-status/lookup")
        page.wait_for_url(re.compile(r"/signin$"))
        page.get_by_label("利用者名").fill("nobody")
        page.get_by_label("パスワード").fill("wrong")
        page.get_by_role("button", name="次へ").click()
        expect(page.get_by_role("alert")).to_have_text("利用者名またはパスワードが違います。")
    finally:
        context.close()


def test_staff_look_up_run_a_batch_and_read_their_history(
    agency: AgencyConsole, browser: Browser, net: Net, tmp_path: Path,  # noqa: F811
) -> None:  # fmt: skip
    context, page = new_operator_page(browser)
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if r.url.endswith("/progress") else None)
    visited: list[str] = []
    try:
        sign_in(agency, page, "tanaka")
        # The affairs page: the one row of the legal table, its two functions, nothing else.
        expect(page.locator("h1")).to_have_text("この機関が行える事務")
        expect(page.locator("section.affair")).to_have_count(1)
        expect(page.locator(f'section[data-affair="{AFFAIR}"] li')).to_have_count(2)
        offered = page.locator("main a[href^='/affairs/']").evaluate_all(
            "links => links.map(a => a.getAttribute('href'))"
        )
        assert offered == [f"/affairs/{AFFAIR}/lookup", f"/affairs/{AFFAIR}/batch"]
        assert_accessible(page)
        shot(page, "agency-affairs")
        visited.append(page.url)

        # A function the table does not give: its refusal in the table's words (R2, R5).
        page.goto(f"{agency.url}/affairs/{AFFAIR}/search")
        expect(page.get_by_role("alert")).to_contain_text(
            "Function 'search' is not allowed to 国家公務員共済組合連合会"
        )
        assert_accessible(page)
        shot(page, "agency-refused")
        visited.append(page.url)
        page.goto(agency.url + "/")

        # A lookup, by keyboard: the code's field has the focus on its page.
        tab_to(page, "照会")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/lookup$"))
        page.keyboard.type(net.codes[0])
        page.keyboard.press("Enter")
        expect(page.get_by_role("status")).to_have_text("該当あり")
        expect(page.locator('tr[data-item="resident_code"] td')).to_have_text(net.codes[0])
        assert_accessible(page)
        shot(page, "agency-lookup")
        visited.append(page.url)
        page.get_by_label("住民票コード（11桁）").fill("1234")
        page.keyboard.press("Enter")
        refusal = page.locator("#refusal")
        expect(refusal).to_contain_text("A resident code has exactly 11 digits")
        assert "Traceback" not in page.content()
        assert_accessible(page)

        # The batch: upload, progress by htmx polling, then the two files.
        source = tmp_path / "codes.csv"
        _upload(net, source)
        page.goto(agency.url + "/")
        tab_to(page, "一括照会 —")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/batch$"))
        assert_accessible(page)
        shot(page, "agency-batch")
        visited.append(page.url)
        page.get_by_label("CSV ファイル").set_input_files(str(source))
        page.get_by_label("CSV ファイル").focus()
        tab_to(page, "アップロードして開始")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/jobs/[0-9a-f]{32}$"))
        bar = page.locator("progress#bar")
        expect(bar).to_have_attribute("max", "10003")
        assert_accessible(page)
        shot(page, "agency-job-running")
        expect(page.locator("#progress")).to_have_attribute("data-state", "done", timeout=180_000)
        expect(bar).to_have_attribute("value", "10003")
        expect(page.get_by_role("status")).to_have_text("処理が終わりました。")
        expect(page.locator("#counts")).to_contain_text("該当あり 10,000")
        expect(page.locator("#counts")).to_contain_text("エラー行 3")
        assert polls, "the page never polled the job's progress"
        assert_accessible(page)
        shot(page, "agency-job-done")
        visited.append(page.url)

        tab_to(page, "回答をダウンロード")
        with page.expect_download() as got:
            page.keyboard.press("Enter")
        answers = _csv(Path(got.value.path()).read_bytes())
        assert answers[0][:4] == ["row", "resident_code", "found", "status"]
        assert len(answers) == 1 + 10_000
        assert {r[1] for r in answers[1:]} == set(net.codes)
        assert all(r[2] == "true" for r in answers[1:])
        with page.expect_download() as got:
            page.get_by_role("link", name="エラー行をダウンロード（CSV）").click()
        errors = _csv(Path(got.value.path()).read_bytes())
        assert errors[0] == ["row", "error"]
        assert [int(r[0]) for r in errors[1:]] == sorted(MALFORMED)

        page.get_by_role("link", name="一括照会").first.click()
        expect(page.locator("tr[data-job]")).to_have_count(1)
        assert_accessible(page)
        visited.append(page.url)

        # The association's own history: the lookup, then the batch, page after page (R14).
        tab_to(page, "提供履歴")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/history$"))
        first = page.locator("tbody tr").first
        expect(first).to_have_attribute("data-function", "lookup")
        assert_accessible(page)
        shot(page, "agency-history")
        visited.append(page.url)
        batched = 0
        for _ in range(30):
            for cells in page.locator('tbody tr[data-function="batch"] td:nth-child(4)').all():
                batched += int(cells.inner_text().replace(",", ""))
            following = page.get_by_role("link", name="次のページ")
            if following.count() == 0:
                break
            following.click()
            page.wait_for_load_state()
        assert batched == 10_000  # the rows of a call split over two pages count once each

        # Every page again in English.
        page.get_by_role("link", name="English").click()
        for url in visited:
            page.goto(url)
            expect(page.locator("html")).to_have_attribute("lang", "en")
            assert_accessible(page)
        page.goto(agency.url + "/")
        expect(page.locator("h1")).to_have_text("What this agency may do")
        shot(page, "agency-affairs-en")
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url(re.compile(r"/signin$"))
    finally:
        context.close()
    assert not [m for m in REPORTED if "Content Security Policy" in m or "pageerror" in m], REPORTED
    audit = (agency.folder / "console-audit.jsonl").read_text(encoding="utf-8")
    entries = [json.loads(line) for line in audit.splitlines()]
    done = {(e["actor"], e["action"], e["outcome"]) for e in entries}
    assert ("web:tanaka", "web.signin", "ok") in done
    assert ("web:tanaka", "agency.lookup", "ok") in done
    assert ("web:tanaka", "agency.batch", "ok") in done
    assert ("web:tanaka", "agency.search", "refused") in done


def test_verify_and_search_forms_show_the_nodes_refusal_in_its_words(
    impostor: AgencyConsole, browser: Browser
) -> None:
    """R2, R23: Tokyo's rows give verify and search; the forms are labelled and
    accessible in both languages, and the node's refusal (this key is not Tokyo's) is
    shown next to the form in the node's own words, what was typed kept."""
    context, page = new_operator_page(browser)
    try:
        sign_in(impostor, page, "suzuki")
        offered = page.locator("main a[href^='/affairs/']").evaluate_all(
            "links => links.map(a => a.getAttribute('href'))"
        )
        assert offered == [
            "/affairs/tokyo-passport-issuance/verify",
            "/affairs/tokyo-child-rearing-allowance/lookup",
            "/affairs/tokyo-child-rearing-allowance/search",
            "/affairs/tokyo-public-housing/lookup",
        ]
        page.goto(impostor.url + "/affairs/tokyo-passport-issuance/verify")
        assert_accessible(page)
        page.get_by_label("住民票コード（11桁）").fill(generate_resident_code())
        page.get_by_label("氏名").fill("山田 太郎")
        page.get_by_label("生年月日").fill("1980-01-02")
        page.get_by_label("性別").select_option("male")
        page.get_by_label("住所").fill("東京都千代田区")
        page.get_by_role("button", name="送信").click()
        refusal = page.locator("#refusal")
        expect(refusal).to_be_visible()
        said = "拒否: agency:tokyo-pref is not an active member of the network directory."
        expect(refusal).to_have_text(said)  # the node's sentence, without URL or status
        expect(page.get_by_label("氏名")).to_have_value("山田 太郎")
        assert_accessible(page)
        shot(page, "agency-verify-refused")
        page.goto(impostor.url + "/affairs/tokyo-child-rearing-allowance/search")
        assert_accessible(page)
        page.get_by_label("氏名").fill("山田")
        page.get_by_role("button", name="送信").click()
        expect(page.locator("#refusal")).to_have_text(said)  # the same words of the node
        assert_accessible(page)
        page.get_by_role("link", name="English").click()
        expect(page.get_by_label("Name")).to_be_visible()
        assert_accessible(page)
    finally:
        context.close()
