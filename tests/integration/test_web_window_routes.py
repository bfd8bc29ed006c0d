"""The window app's pages in process, on a municipality of a network made by
``network init`` (docs/ui.md, "The window app"): what the browser test does not reach —
a lock in the register ends a window session at the next click (R11), a refused or
forged form changes nothing (R12), a code that does not parse and a role that may not
read are each one sentence next to the field."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from fastapi import FastAPI

from jukinet.deploy.network import init_network
from jukinet.deploy.seeding import seed_all
from jukinet.network.topology import free_port_block, load_topology
from jukinet.nodes.municipality import operators, service
from jukinet.nodes.municipality.setup import open_register
from jukinet.seed.places import Places
from jukinet.web.common.sessions import COOKIE
from jukinet.web.window.app import create_window_app
from tests import asgi
from tests.helpers import MARUNOUCHI, TODAY, arrival, card_session, counts, person

CHIYODA = "municipality:131016"


@dataclass
class Counter:
    app: FastAPI
    home: Path

    def signed_in(self, username: str) -> str:
        """A session cookie of ``username`` as if both factors had passed (the browser
        test signs in for real)."""
        s = self.app.state.sessions.new()
        s.user = username
        return f"{COOKIE}={s.id}"

    def go(self, cookie: str, method: str, target: str, form: dict[str, str] | None = None,
           csrf: bool = True) -> asgi.Answer:  # fmt: skip
        headers = {"cookie": cookie}
        body = b""
        if form is not None:
            s = self.app.state.sessions.get(cookie.split("=", 1)[1])
            sent = {**form, "csrf": s.csrf} if csrf and s is not None else form
            headers["content-type"] = "application/x-www-form-urlencoded"
            body = urlencode(sent).encode()
        return asyncio.run(asgi.call(self.app, method, target, body, headers, host="localhost"))


@pytest.fixture
def counter(tmp_path: Path, places: Places) -> Iterator[Counter]:
    base = free_port_block(3)
    topology = tmp_path / "net.toml"
    topology.write_text(
        f'[network]\nname = "counter"\n[national]\nport = {base}\n'
        f'[[prefectures]]\ncode = "130001"\nport = {base + 1}\n'
        f'[[municipalities]]\ncode = "131016"\nport = {base + 2}\nresidents = 2\n'
    )
    topo = load_topology(topology, places)
    layout = init_network(topo, places, tmp_path / "net", pool_size=100)
    asyncio.run(seed_all(layout, topo, places))  # two residents and the demo clerk
    home = layout.node(CHIYODA)
    app = create_window_app(home)
    yield Counter(app, home)
    app.state.site.accounts.store.close()


def _text(answer: asgi.Answer) -> str:
    return answer.body.decode()


def test_a_lock_in_the_register_ends_the_window_session_at_the_next_click(
    counter: Counter,
) -> None:
    """R11: the administrator locks the clerk (``jukinet operator lock``): the session the
    clerk opened with both factors is gone at once."""
    cookie = counter.signed_in("clerk")
    assert counter.go(cookie, "GET", "/").status == 200
    store = open_register(counter.home)
    try:
        with store.transaction() as tx:
            operators.set_fields(tx.conn, "clerk", locked=True)
    finally:
        store.close()
    answer = counter.go(cookie, "GET", "/")
    assert answer.status == 303 and answer.headers["location"] == "/signin"
    assert counter.go(cookie, "GET", "/").status == 303  # the old session stays gone


def test_a_refused_or_forged_birth_changes_nothing(counter: Counter) -> None:
    """R12: an unknown parent is refused under the parent's field, audited; a form
    without the session's token is refused before anything is read."""
    cookie = counter.signed_in("clerk")
    store = open_register(counter.home)
    try:
        before = counts(store)
        form = {"parent": "12345678901", "family_name": "山田", "given_name": "花子",
                "family_kana": "ヤマダ", "given_kana": "ハナコ", "sex": "female",
                "born": "2026-01-05", "relationship": "子", "notified": ""}  # fmt: skip
        refused = counter.go(cookie, "POST", "/birth", form)
        assert refused.status == 422
        page = _text(refused)
        error = re.search(r'<p class="error field-error" id="parent-error"[^>]*>([^<]+)</p>', page)
        assert error, page
        assert "ハナコ" in page  # what was typed is kept
        forged = counter.go(cookie, "POST", "/birth", form, csrf=False)
        assert forged.status == 403
        after = counts(store)
    finally:
        store.close()
    assert {k: v for k, v in after.items() if k != "audit_log"} == {
        k: v for k, v in before.items() if k != "audit_log"
    }
    assert after["audit_log"] == before["audit_log"] + 1  # the refusal's entry only


def test_a_bad_code_and_a_role_that_may_not_read_are_one_sentence_each(
    counter: Counter,
) -> None:
    cookie = counter.signed_in("clerk")
    by_code = counter.go(cookie, "GET", "/?code=%2F%2Fexample.com")
    assert by_code.status == 303 and by_code.headers["location"] == "/resident/%2F%2Fexample.com"
    bad = counter.go(cookie, "GET", "/resident/12")
    assert bad.status == 404 and 'id="code-error"' in _text(bad)
    assert "Traceback" not in _text(bad)
    admin = counter.signed_in("admin")  # an administrator reads no record (R10)
    refused = counter.go(admin, "GET", "/?name=%E5%B1%B1%E7%94%B0&born=1980-01-01")
    assert refused.status == 422 and "may not read a resident record" in _text(refused)


def test_a_death_refused_under_its_field_then_recorded(counter: Counter) -> None:
    """R1, R12: the death form records through ``service.record_event``, as ``jukinet
    event death``; the record becomes 除票."""
    store = open_register(counter.home)
    try:
        clerk = card_session(store, "clerk")
        receipt = service.record_event(store, clerk, arrival(person(born=date(1950, 2, 3))), TODAY)
    finally:
        store.close()
    code = str(receipt.records[0].resident_code)
    cookie = counter.signed_in("clerk")
    assert 'id="died"' in _text(counter.go(cookie, "GET", f"/resident/{code}/death"))
    future = counter.go(cookie, "POST", f"/resident/{code}/death", {"died": "2999-01-01"})
    assert future.status == 422
    assert re.search(r'id="died-error"[^>]*>The date of death \(2999-01-01\) is in the future',
                     _text(future))  # fmt: skip
    done = counter.go(cookie, "POST", f"/resident/{code}/death", {"died": TODAY.isoformat()})
    assert done.status == 303
    assert done.headers["location"].startswith(f"/resident/{code}?died=")
    shown = _text(counter.go(cookie, "GET", f"/resident/{code}"))
    assert "除票" in shown and f"/resident/{code}/death" not in shown


def test_a_move_in_refused_under_its_field_then_recorded(counter: Counter) -> None:
    """R1, R12: the move-in form records through ``service.record_event``, as ``jukinet
    event move-in-abroad``; a town not of this municipality is refused under the town's
    field, audited, and changes nothing; the record is shown afterwards."""
    form = {"abroad": "1", "code": "", "family_name": "佐藤", "given_name": "次郎",
            "family_kana": "サトウ", "given_kana": "ジロウ", "sex": "male",
            "born": "1990-04-01", "relationship": "世帯主",
            "domicile": "東京都千代田区丸の内一丁目1番",
            "domicile_head": "佐藤次郎", "town": "どこにもない町", "block": "1-1",
            "building": "", "previous": "アメリカ合衆国", "issuer": "",
            "moved": (TODAY - timedelta(days=3)).isoformat(), "notified": ""}  # fmt: skip
    cookie = counter.signed_in("clerk")
    assert 'id="town"' in _text(counter.go(cookie, "GET", "/move-in"))
    store = open_register(counter.home)
    try:
        before = counts(store)
        refused = counter.go(cookie, "POST", "/move-in", form)
        assert refused.status == 422
        assert re.search(r'id="town-error"[^>]*>[^<]*is not a town', _text(refused)), _text(refused)
        after = counts(store)
        assert after["audit_log"] == before["audit_log"] + 1
        assert {k: v for k, v in after.items() if k != "audit_log"} == {
            k: v for k, v in before.items() if k != "audit_log"
        }
        done = counter.go(cookie, "POST", "/move-in", form | {"town": MARUNOUCHI.town})
        assert done.status == 303, _text(done)
        location = done.headers["location"]
        assert "?arrived=" in location
        shown = _text(counter.go(cookie, "GET", location))
        assert "佐藤 次郎" in shown or "佐藤次郎" in shown
        last = (
            store.engine.connect()
            .exec_driver_sql(
                "select outcome from audit_log where operation = 'event.move-in-abroad'"
                " order by seq"
            )
            .fetchall()
        )
    finally:
        store.close()
    assert [row[0] for row in last][-1] == "ok"  # the CLI's entry, after the refusal's
    assert len(last) == 2
