"""The agency console's pages in process (docs/ui.md, "The agency console"): exactly
the affairs and functions the legal table gives the agency, the table's refusal for any
other, the node's refusal in its own words beside the form (R2, R5, R23)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar
from urllib.parse import urlencode

import pytest
from fastapi import FastAPI

from jukinet.agency.client import write_settings
from jukinet.errors import ConfigurationError, InvalidInput, PeerRefused
from jukinet.network.messages import (
    LookupResponse,
    ProvidedRecord,
    SearchResponse,
    VerifyResponse,
)
from jukinet.web.agency.app import create_agency_app, enrol_staff, open_console
from jukinet.web.agency.messages import AGENCY
from jukinet.web.common.accounts import AccountFile
from jukinet.web.common.i18n import COMMON, LANGS
from tests.asgi import Answer, call

CODE = "12345678901"


class FakeAgency:
    """Stands for ``AgencyClient``: answers, or refuses as the node would."""

    refuse: ClassVar[str | None] = None
    calls: ClassVar[list[tuple[str, ...]]] = []

    async def __aenter__(self) -> FakeAgency:
        return self

    async def __aexit__(self, t: type[BaseException] | None, e: BaseException | None,
                        tb: TracebackType | None) -> None:  # fmt: skip
        return None

    def _maybe_refuse(self) -> None:
        if self.refuse:
            raise PeerRefused(403, self.refuse, "https://p.invalid/provision")

    async def lookup(self, affair: str, code: str) -> LookupResponse:
        self.calls.append(("lookup", affair, code))
        self._maybe_refuse()
        record = ProvidedRecord(fields={"name": "山田 太郎", "address": "東京都千代田区"})  # type: ignore[dict-item]
        return LookupResponse(found=True, record=record)

    async def verify(self, affair: str, code: str, *args: Any) -> VerifyResponse:
        self.calls.append(("verify", affair, code))
        self._maybe_refuse()
        return VerifyResponse(found=True, matches={"name": True, "date_of_birth": False,
                                                   "sex": True, "address": True})  # fmt: skip

    async def search(self, affair: str, name: str, **kw: Any) -> SearchResponse:
        self.calls.append(("search", affair, name))
        self._maybe_refuse()
        return SearchResponse(candidates=[])


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "tokyo"
    path.mkdir()
    write_settings(path, "agency:tokyo-pref", "https://n.invalid", node_url="https://p.invalid")
    return path


@pytest.fixture
def app(folder: Path) -> Iterator[FastAPI]:
    console = open_console(folder)
    FakeAgency.refuse, FakeAgency.calls = None, []
    console.client = FakeAgency  # type: ignore[method-assign,assignment]
    made = create_agency_app(folder, port=8443, console=console)
    yield made
    console.runner.stop()


class Staff:
    """A browser of a signed-in staff member (both factors passed: the session's user)."""

    def __init__(self, app: FastAPI, user: str | None = "tanaka") -> None:
        self.app = app
        s = app.state.sessions.new()
        s.user = user
        self.cookie, self.csrf = f"jukinet_session={s.id}", s.csrf

    def go(self, method: str, target: str, form: dict[str, str] | None = None) -> Answer:
        headers = {"cookie": self.cookie}
        body = b""
        if form is not None:
            headers["content-type"] = "application/x-www-form-urlencoded"
            body = urlencode({"csrf": self.csrf, **form}).encode()
        return asyncio.run(call(self.app, method, target, body, headers, host="localhost"))


def links(html: str) -> list[str]:
    return re.findall(r'href="(/affairs/[^"]+)"', html)


def test_the_affairs_page_offers_exactly_the_legal_tables_rows(app: FastAPI) -> None:
    """R2, R5: Tokyo's governor has three affairs; each offers only its functions."""
    seen = Staff(app).go("GET", "/")
    assert seen.status == 200
    html = seen.body.decode()
    assert links(html) == [
        "/affairs/tokyo-passport-issuance/verify",
        "/affairs/tokyo-child-rearing-allowance/lookup",
        "/affairs/tokyo-child-rearing-allowance/search",
        "/affairs/tokyo-public-housing/lookup",
    ]
    assert "東京都知事" in html and "住民基本台帳法 第30条の15・別表第五 (公営住宅法)" in html


def test_a_function_the_table_does_not_give_is_refused_in_its_words(app: FastAPI) -> None:
    staff = Staff(app)
    seen = staff.go("GET", "/affairs/tokyo-public-housing/search")
    assert seen.status == 403
    assert "Function &#39;search&#39; is not allowed to 東京都知事" in seen.body.decode()
    assert "(allowed: lookup); provision is refused (R2, R5)." in seen.body.decode()
    other = staff.go("GET", "/affairs/osaka-public-housing/lookup")
    assert other.status == 403
    assert "is not listed for 東京都知事" in other.body.decode()
    posted = staff.go("POST", "/affairs/tokyo-public-housing/search", {"name": "山田"})
    assert posted.status == 403 and FakeAgency.calls == []  # nothing was sent to the node
    audit = (app.state.agency.folder / "console-audit.jsonl").read_text(encoding="utf-8")
    assert audit.count('"actor": "web:tanaka", "action": "agency.search"') == 2
    assert audit.count('"outcome": "refused"') == 3
    assert staff.go("GET", "/affairs/tokyo-public-housing/delete").status == 404


def test_a_lookup_shows_the_answer_and_a_refusal_the_nodes_own_words(app: FastAPI) -> None:
    staff = Staff(app)
    form = staff.go("GET", "/affairs/tokyo-public-housing/lookup")
    assert form.status == 200 and 'for="resident_code"' in form.body.decode()
    seen = staff.go("POST", "/affairs/tokyo-public-housing/lookup", {"resident_code": CODE})
    assert seen.status == 200 and "山田 太郎" in seen.body.decode()
    assert FakeAgency.calls == [("lookup", "tokyo-public-housing", CODE)]
    FakeAgency.refuse = "The directory has no such agency certificate (R2)."
    refused = staff.go("POST", "/affairs/tokyo-public-housing/lookup", {"resident_code": CODE})
    assert refused.status == 422
    html = refused.body.decode()
    assert (
        'role="alert" id="refusal">拒否: The directory has no such agency certificate (R2).' in html
    )
    assert f'value="{CODE}"' in html  # what was typed stays in the field
    assert "Traceback" not in html


def test_verify_shows_match_or_not_per_item_and_bad_input_sends_nothing(app: FastAPI) -> None:
    """R23: a verify answers match / no match per item, no data."""
    staff = Staff(app)
    person = {"resident_code": CODE, "name": "山田 太郎", "date_of_birth": "1980-01-02",
              "sex": "male", "address": "東京都千代田区"}  # fmt: skip
    seen = staff.go("POST", "/affairs/tokyo-passport-issuance/verify", person)
    html = seen.body.decode()
    assert seen.status == 200 and html.count(">一致<") == 3 and html.count(">不一致<") == 1
    bad = staff.go("POST", "/affairs/tokyo-passport-issuance/verify",
                   {**person, "date_of_birth": "1980-13-40"})  # fmt: skip
    assert bad.status == 422 and "Give a date of birth (YYYY-MM-DD)" in bad.body.decode()
    assert len(FakeAgency.calls) == 1


def test_no_page_without_both_factors(app: FastAPI) -> None:
    for target in ("/", "/affairs/tokyo-public-housing/lookup", "/jobs", "/history"):
        seen = Staff(app, user=None).go("GET", target)
        assert seen.status == 303 and seen.headers["location"] == "/signin", target


def test_both_languages_have_every_message() -> None:
    assert set(AGENCY["ja"]) == set(AGENCY["en"])
    assert not set(AGENCY["ja"]) & set(COMMON["ja"])
    assert LANGS == ("ja", "en")


def test_a_staff_account_gets_a_link_on_the_consoles_port(folder: Path) -> None:
    password, link = enrol_staff(folder, "tanaka", None, port=9443)
    assert link.startswith("https://localhost:9443/enrol/")
    assert AccountFile(folder / "web-staff.json").check_password("tanaka", password)
    again, link2 = enrol_staff(folder, "tanaka", None)  # the port is kept
    assert again == "(unchanged)" and link2.startswith("https://localhost:9443/enrol/")
    with pytest.raises(InvalidInput):
        enrol_staff(folder, "../x", None)
    with pytest.raises(ConfigurationError):
        enrol_staff(folder.parent, "tanaka", None)  # not an agency's folder


def test_a_batch_job_runs_in_the_jobs_own_thread_not_the_pages_loop() -> None:
    """batch_job writes its files synchronously: the console runs it off the page loop."""
    import threading

    from jukinet.web.agency.runner import JobRunner

    seen: list[str] = []

    class Jobs:
        async def run(self, job_id: str) -> str:
            seen.append(threading.current_thread().name)
            return job_id

    runner = JobRunner(Jobs())  # type: ignore[arg-type]
    try:
        assert runner.start("a" * 32).result(timeout=10) == "a" * 32
    finally:
        runner.stop()
    assert seen == ["batch-jobs"] and threading.current_thread().name != "batch-jobs"
    assert not runner.thread.is_alive()
