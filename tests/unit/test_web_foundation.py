"""The web interfaces' shared foundation (docs/ui.md), in process: security headers,
session cookies, CSRF, plain error pages, and sign-in that needs both factors (R11)."""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import APIRouter, Depends, FastAPI, Request, Response

from jukinet.errors import AuthenticationFailed
from jukinet.web.common.accounts import AccountFile, Credential
from jukinet.web.common.app import CSP, operator, page, web_app
from jukinet.web.common.i18n import COMMON, LANGS, Catalogue
from jukinet.web.common.sealed_key import seal, unseal
from jukinet.web.common.sessions import Sessions
from jukinet.web.common.site import Site
from jukinet.web.console.japan_map import TILES, japan_map
from jukinet.web.console.messages import CONSOLE
from tests.asgi import Answer, call

ORIGIN = "https://localhost:8443"


class Browser:
    """One browser: keeps the session cookie as a browser would."""

    def __init__(self, app: FastAPI) -> None:
        self.app, self.cookie = app, ""

    def go(self, method: str, target: str, form: dict[str, str] | None = None) -> Answer:
        headers = {"cookie": self.cookie} if self.cookie else {}
        body = b""
        if form is not None:
            headers["content-type"] = "application/x-www-form-urlencoded"
            body = urlencode(form).encode()
        answer = asyncio.run(call(self.app, method, target, body, headers, host="localhost"))
        if "set-cookie" in answer.headers and answer.headers["set-cookie"].startswith("jukinet_"):
            self.cookie = answer.headers["set-cookie"].split(";")[0]
        return answer

    def csrf(self, target: str = "/signin") -> str:
        found = re.search(r'name="csrf" value="([^"]+)"', self.go("GET", target).body.decode())
        assert found
        return found.group(1)


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    accounts = AccountFile(tmp_path / "accounts.json")
    accounts.create("operator-1", "a good password")
    with_card = accounts.create("operator-2", "another password")
    card = Credential(id="AAAA", public_key="AAAA")
    accounts.put(with_card.model_copy(update={"credentials": [card]}))
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "home.html").write_text(
        '{% extends "base.html" %}{% block main %}home{% endblock %}'
    )
    site = Site("console.title", Catalogue(COMMON, CONSOLE), templates, accounts, ORIGIN,
                "localhost")  # fmt: skip
    routes = APIRouter()

    @routes.get("/")
    async def home(request: Request, who: str = Depends(operator)) -> Response:
        return page(request, "home.html")

    @routes.get("/crash")
    async def crash() -> Response:
        raise RuntimeError("a secret detail of the server")

    return web_app(site, routes)


def test_every_page_has_the_security_headers_and_a_strict_session_cookie(app: FastAPI) -> None:
    answer = Browser(app).go("GET", "/signin")
    assert answer.status == 200
    assert answer.headers["content-security-policy"] == CSP
    assert "default-src 'self'" in CSP and "unsafe-inline" not in CSP
    cookie = answer.headers["set-cookie"].lower()
    assert "secure" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    assert answer.headers["cache-control"] == "no-store"
    body = answer.body.decode()
    assert '<html lang="ja">' in body and "サインイン" in body
    assert "<script>" not in body and " style=" not in body  # nothing inline


def test_an_unsafe_request_without_the_token_is_refused_and_changes_nothing(app: FastAPI) -> None:
    b = Browser(app)
    b.go("GET", "/signin")
    refused = b.go("POST", "/signin", {"username": "operator-1", "password": "a good password"})
    assert refused.status == 403
    assert "この操作は許可されていません" in refused.body.decode()
    assert b.go("GET", "/signin").status == 200  # not half signed in: still the form


def test_a_form_sent_from_another_site_is_refused_even_with_the_token(app: FastAPI) -> None:
    b = Browser(app)
    form = urlencode({"csrf": b.csrf(), "username": "operator-2", "password": "another password"})
    headers = {"cookie": b.cookie, "content-type": "application/x-www-form-urlencoded",
               "origin": "https://elsewhere.example"}  # fmt: skip
    answer = asyncio.run(call(app, "POST", "/signin", form.encode(), headers, host="localhost"))
    assert answer.status == 403
    headers["origin"] = ORIGIN
    answer = asyncio.run(call(app, "POST", "/signin", form.encode(), headers, host="localhost"))
    assert answer.status == 303


def test_errors_are_plain_words_without_a_traceback(app: FastAPI) -> None:
    b = Browser(app)
    crashed = b.go("GET", "/crash").body.decode()
    assert "処理中に問題が発生しました" in crashed
    assert "secret detail" not in crashed and "Traceback" not in crashed
    assert "見つかりません" in b.go("GET", "/no/such/page").body.decode()


def test_the_password_alone_opens_no_session(app: FastAPI) -> None:
    """R11: after the password the browser is sent to the card step; the app's pages
    still send it to sign in."""
    b = Browser(app)
    token = b.csrf()
    wrong = b.go("POST", "/signin", {"csrf": token, "username": "operator-2", "password": "x"})
    assert wrong.status == 401 and "利用者名またはパスワードが違います。" in wrong.body.decode()
    ok = b.go("POST", "/signin", {"csrf": token, "username": "operator-2",
                                   "password": "another password"})  # fmt: skip
    assert ok.status == 303 and ok.headers["location"] == "/signin/card"
    home = b.go("GET", "/")
    assert home.status == 303 and home.headers["location"] == "/signin"
    card = b.go("GET", "/signin/card").body.decode()
    assert 'id="card-signin"' in card and "challenge" in card


def test_an_account_without_a_card_is_told_to_ask_for_a_registration_link(app: FastAPI) -> None:
    b = Browser(app)
    answer = b.go("POST", "/signin", {"csrf": b.csrf(), "username": "operator-1",
                                      "password": "a good password"})  # fmt: skip
    assert answer.status == 401 and "登録用リンク" in answer.body.decode()


def test_english_is_kept_in_a_cookie(app: FastAPI) -> None:
    b = Browser(app)
    b.go("GET", "/signin")
    switched = b.go("GET", "/lang/en?back=/signin")
    assert switched.status == 303 and switched.headers["location"] == "/signin"
    assert "lang=en" in switched.headers["set-cookie"]
    outside = b.go("GET", "/lang/en?back=//elsewhere.example/")
    assert outside.headers["location"] == "/"  # never an open redirect
    b.cookie += "; lang=en"  # as the browser now sends it
    assert '<html lang="en">' in b.go("GET", "/signin").body.decode()


def test_an_idle_session_ends() -> None:
    sessions = Sessions(idle_timeout=0.01)
    s = sessions.new()
    assert sessions.get(s.id) is s
    time.sleep(0.05)
    assert sessions.get(s.id) is None


def test_a_registration_link_is_for_one_account_and_expires(tmp_path: Path) -> None:
    accounts = AccountFile(tmp_path / "a.json")
    accounts.create("operator-1", "pw")
    token = accounts.new_enrolment("operator-1")
    found = accounts.by_enrolment(token)
    assert found is not None and found.username == "operator-1"
    assert accounts.by_enrolment(token + "x") is None
    from datetime import UTC, datetime, timedelta

    assert accounts.by_enrolment(token, now=datetime.now(UTC) + timedelta(days=2)) is None
    with pytest.raises(AuthenticationFailed):
        accounts.check_password("operator-1", "not it")


def test_the_sealed_key_opens_with_its_password_only() -> None:
    key = Ed25519PrivateKey.generate()
    sealed = seal(key, "correct horse", "operator-1")
    again = unseal(sealed, "correct horse", "operator-1")
    assert again.public_key() == key.public_key()
    with pytest.raises(AuthenticationFailed, match="password is wrong"):
        unseal(sealed, "wrong horse", "operator-1")
    with pytest.raises(AuthenticationFailed):
        unseal(sealed, "correct horse", "operator-2")  # bound to its account


def test_both_languages_have_every_message() -> None:
    for part in (COMMON, CONSOLE):
        assert set(part["ja"]) == set(part["en"])
    assert LANGS == ("ja", "en")


def test_the_map_has_a_tile_for_each_of_the_47_prefectures() -> None:
    assert sorted(TILES) == [f"{n:02d}" for n in range(1, 48)]
    assert len(set(TILES.values())) == 47
    svg = str(japan_map({"13": "東京都"}, {"13": "down"}, "map"))
    assert svg.count("<rect") == 47 and 'class="tile node-down"' in svg
    assert "<title>東京都: down</title>" in svg


def test_an_account_locks_after_five_failures_until_a_new_link(app: FastAPI) -> None:
    """R11: as a municipality operator's, a console account locks after five failed
    sign-ins (the right password then opens nothing), and a new registration link by an
    administrator unlocks it."""
    b = Browser(app)
    token = b.csrf()
    for _ in range(5):
        b.go("POST", "/signin", {"csrf": token, "username": "operator-2", "password": "no"})
    right = {"csrf": token, "username": "operator-2", "password": "another password"}
    locked = b.go("POST", "/signin", right)
    assert locked.status == 401 and "ロックされています" in locked.body.decode()
    accounts: AccountFile = app.state.site.accounts
    accounts.new_enrolment("operator-2")
    again = b.go("POST", "/signin", right)
    assert again.headers.get("location") == "/signin/card", again.body.decode()[-600:]


def test_the_vendored_htmx_is_the_version_the_lock_file_pins() -> None:
    root = Path(__file__).resolve().parents[2]
    lock = json.loads((root / "package-lock.json").read_text(encoding="utf-8"))
    pinned = lock["packages"]["node_modules/htmx.org"]["version"]
    static = root / "src" / "jukinet" / "web" / "common" / "static"
    assert f'version:"{pinned}"' in (static / "htmx.min.js").read_text(encoding="utf-8")
    assert f"| htmx.org | {pinned} |" in (static / "VENDORED.md").read_text(encoding="utf-8")
