"""Wide-area copies (R20, 第12条の4; R3, R4, R12) between two real municipality apps.

Municipality A (千代田区) and the person's home B (新宿区) come from a real ``network
init``; B's whole node app is served over mutual TLS on its directory port, and A's
window service calls it with the network's signing client, as in production. Both
registers run on SQLite and on PostgreSQL. B's answer is recorded as the bytes it
sent: no domicile (本籍・筆頭者) is ever among them, whatever A asked.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import func, insert, select

from jukinet import config
from jukinet.audit import log as audit
from jukinet.card.machine import CardChip
from jukinet.card.reader import InProcessReader
from jukinet.deploy.network import init_network
from jukinet.domain.access import Role, Session
from jukinet.errors import CopyRefused, JukinetError, PeerRefused
from jukinet.jpki import build_crl, issue_authentication, load_ca
from jukinet.keys import load_private_key
from jukinet.network.layout import NetworkLayout
from jukinet.network.server import serve_async
from jukinet.network.signatures import sign_request
from jukinet.network.topology import free_port_block, load_topology
from jukinet.nodes.municipality import api as municipality_api
from jukinet.nodes.municipality import seeding, service, staff
from jukinet.nodes.municipality.pool import LocalCodeSource
from jukinet.nodes.municipality.setup import open_register
from jukinet.nodes.municipality.store import RegisterStore
from jukinet.nodes.municipality.tables import audit_log, cards, persons
from jukinet.nodes.municipality.wide_area import (
    WideAreaCard,
    WindowAsk,
    build_request,
    issue_wide_area,
    issue_wide_area_then,
)
from jukinet.nodes.runtime import load_runtime
from jukinet.seed.places import Places
from tests import asgi
from tests.conftest import PASSWORD, UrlFactory
from tests.helpers import TODAY, arrival, card_session
from tests.unit.test_disclosure_card import PIN, jpki_card

NATIONAL = "national:national"
A, B = "municipality:131016", "municipality:131041"
LICENCE = "301234567890"
PROMPT = 5.0  # s: a clerk's event at A is recorded within this while A waits on B


class Wire:
    """B's app, with every response body it sends kept as bytes (what crossed the wire)."""

    def __init__(self, app: Any) -> None:
        self.app, self.sent = app, bytearray()
        # Run (in a worker thread) before B answers a wide-area request, with its outcome.
        self.meanwhile: Callable[[], object] | None = None
        self.outcome: list[object] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self.meanwhile is not None and scope.get("path") == "/wide-area/records":
            started = time.monotonic()
            try:
                done = await asyncio.wait_for(asyncio.to_thread(self.meanwhile), PROMPT)
                self.outcome.append((done, time.monotonic() - started))
            except Exception as exc:  # reported by the test that set it
                self.outcome.append(exc)

        async def keep(message: Any) -> None:
            if message["type"] == "http.response.body":
                self.sent += message.get("body", b"")
            await send(message)

        await self.app(scope, receive, keep)


class ServeB:
    """B's real node app over mTLS, in a thread of its own, on its directory port."""

    def __init__(self, home: Path, port: int) -> None:
        self.wire = Wire(municipality_api.create_app(home))
        self.home, self.port = home, port
        self.ready = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stop: asyncio.Event | None = None
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        self.loop, self.stop = asyncio.get_running_loop(), asyncio.Event()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen()
        task = asyncio.create_task(
            serve_async(
                self.wire, host="127.0.0.1", port=self.port,
                cert_path=self.home / config.CERT_FILE, key_path=self.home / config.KEY_FILE,
                ca_path=self.home / config.CA_FILE, sockets=[sock], stop=self.stop,
            )
        )  # fmt: skip
        self.ready.set()
        await task

    def __enter__(self) -> ServeB:
        self.thread.start()
        assert self.ready.wait(20), "B did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        if self.loop is not None and self.stop is not None:
            self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(30)


@dataclass
class Pair:
    """The two municipalities, A's clerk, and B's register."""

    layout: NetworkLayout
    a: RegisterStore
    b: RegisterStore
    clerk: Session
    port_b: int
    chips: dict[str, CardChip] = field(default_factory=dict)

    def home(self, node: str) -> Path:
        return self.layout.node(node)

    def household(self, size: int = 2) -> list[str]:
        """Codes of a household of B with at least ``size`` members, head first."""
        with self.b.engine.connect() as conn:
            hid = conn.execute(
                select(persons.c.household_id)
                .group_by(persons.c.household_id)
                .having(func.count() >= size)
                .order_by(persons.c.household_id)
            ).scalar()
        assert hid is not None
        with self.b.transaction() as tx:
            return [str(m.resident_code) for m in tx.members(hid)]

    def alone(self, besides: list[str] | None = None) -> str:
        """A resident of B outside the household of ``besides``."""
        with self.b.engine.connect() as conn:
            rows = conn.execute(select(persons.c.resident_code, persons.c.household_id)).all()
        theirs = {hid for code, hid in rows if code in (besides or [])}
        return next(str(code) for code, hid in rows if hid not in theirs)

    def domiciles(self) -> set[str]:
        """Every 本籍 of B (the 筆頭者 is often a name the copy prints anyway: that it is
        never sent, the keys and the answer's schema show)."""
        with self.b.engine.connect() as conn:
            return {d for d in conn.execute(select(persons.c.domicile)).scalars() if d}

    def give_card(self, code: str) -> InProcessReader:
        """B issued ``code`` a card: its JPKI user-authentication certificate by the
        network's JPKI CA, and B's cards row; the card in an in-process reader."""
        ca = load_ca(self.home(NATIONAL))
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        cert = issue_authentication(ca, key.public_key(), date(1980, 1, 1))
        with self.b.transaction() as tx:
            tx.conn.execute(
                insert(cards).values(
                    card_number=f"{len(self.chips) + 1:012d}", resident_code=code,
                    state="active", issued_on=TODAY, valid_until=TODAY + timedelta(days=3650),
                    auth_serial=f"{cert.serial_number:040x}", sign_serial=None,
                    changed_on=TODAY, reason="issued",
                )
            )  # fmt: skip
        chip = jpki_card(cert.public_bytes(Encoding.DER), key, ca.cert.public_bytes(Encoding.DER))
        self.chips[code] = chip
        return InProcessReader(chip)

    def b_audit(self) -> list[audit.Entry]:
        with self.b.engine.connect() as conn:
            return [audit.Entry(**r._mapping) for r in conn.execute(select(audit_log)).all()]

    def a_audit(self) -> list[audit.Entry]:
        with self.a.engine.connect() as conn:
            return [audit.Entry(**r._mapping) for r in conn.execute(select(audit_log)).all()]

    def issue(self, ask: WindowAsk, card: WideAreaCard | None = None) -> Any:
        return asyncio.run(issue_wide_area(self.a, self.clerk, self.home(A), ask, card))


@pytest.fixture
def pair(tmp_path: Path, places: Places, database: UrlFactory) -> Iterator[Pair]:
    base = free_port_block(4)
    topology = tmp_path / "net.toml"
    topology.write_text(
        f'[network]\nname = "wide"\n[national]\nport = {base}\n'
        f'[[prefectures]]\ncode = "130001"\nport = {base + 1}\n'
        f'[[municipalities]]\ncode = "131016"\nport = {base + 2}\nresidents = 1\n'
        f'[[municipalities]]\ncode = "131041"\nport = {base + 3}\nresidents = 1\n'
    )
    names = {A: "chiyoda", B: "shinjuku"}
    layout = init_network(
        load_topology(topology, places), places, tmp_path / "net",
        database_url_for=lambda node: database(names[node]) if node in names else None,
        pool_size=200,
    )  # fmt: skip
    home_b = layout.node(B)
    national = load_ca(layout.node(NATIONAL))
    crl = build_crl(national, [], 1, datetime.now(UTC))  # what `jpki crl` fetched at B
    (home_b / config.JPKI_CRL_FILE).write_bytes(crl.public_bytes(Encoding.DER))
    a = open_register(layout.node(A))
    b = open_register(home_b)
    asyncio.run(
        seeding.seed(b, card_session(b, "admin"), places, LocalCodeSource(), 30, today=TODAY)
    )
    asyncio.run(
        seeding.seed(a, card_session(a, "admin"), places, LocalCodeSource(), 3, today=TODAY)
    )
    staff.add(
        a, card_session(a, "admin"), username="clerk", full_name="Clerk", role=Role.CLERK,
        password=PASSWORD, trained_on=TODAY, pledge_signed_on=TODAY,
    )  # fmt: skip
    try:
        yield Pair(layout, a, b, card_session(a, "clerk"), base + 3)
    finally:
        a.close()
        b.close()


def _no_domicile(pair: Pair, wire: bytes) -> None:
    text = wire.decode("utf-8")
    assert "domicile" not in text and "本籍" not in text and "筆頭者" not in text
    assert not {d for d in pair.domiciles() if d in text}


def test_r20_a_copy_of_one_s_own_record_verified_by_licence(pair: Pair) -> None:
    code = pair.alone()
    ask = WindowAsk(
        home="131041", applicant=code, verified_by="licence", licence=LICENCE,
        with_code=True, with_relationship=True, with_domicile=True,
    )  # fmt: skip
    with ServeB(pair.home(B), pair.port_b) as served:
        copy = pair.issue(ask)
    assert copy.wide_area and copy.issuer_code == "131016" and copy.home_code == "131041"
    assert copy.mayor_title == "千代田区長"
    assert [p.resident_code for p in copy.persons] == [code]
    assert all(p.domicile is None and p.domicile_head is None for p in copy.persons)
    assert "本籍" not in json.dumps(copy.printed_items(), ensure_ascii=False)
    assert copy.persons[0].relationship is not None  # asked, and given
    _no_domicile(pair, bytes(served.wire.sent))

    answered = pair.b_audit()[-1]
    assert (answered.operation, answered.target, answered.outcome) == (
        "wide-area.answer", code, "ok",
    )  # fmt: skip
    assert answered.actor == A
    assert f"driving licence {LICENCE}" in answered.detail and "clerk clerk" in answered.detail
    assert "本籍・筆頭者 asked, not given" in answered.detail
    issued = pair.a_audit()[-1]
    assert (issued.operation, issued.target, issued.outcome) == ("copy.wide-area", code, "ok")
    assert "from municipality 131041" in issued.detail and LICENCE in issued.detail


def test_r20_a_household_copy_proved_by_the_card_of_a_member(pair: Pair) -> None:
    members = pair.household(2)
    applicant, subject = members[-1], members[0]
    reader = pair.give_card(applicant)
    ask = WindowAsk(
        home="131041", applicant=applicant, subject=subject, whose="household",
        household=True, verified_by="card", with_relationship=True,
    )  # fmt: skip
    with ServeB(pair.home(B), pair.port_b) as served:
        copy = pair.issue(ask, WideAreaCard(reader, PIN))
    assert len(copy.persons) == len(members)
    assert copy.head_name is not None
    assert all(p.resident_code is None for p in copy.persons)  # not asked (第12条 第5項)
    _no_domicile(pair, bytes(served.wire.sent))
    answered = pair.b_audit()[-1]
    assert (answered.operation, answered.target, answered.outcome) == (
        "wide-area.answer", subject, "ok",
    )  # fmt: skip
    assert "verified by the card 000000000001" in answered.detail
    assert f"{len(members)} person(s)" in answered.detail
    assert pair.a_audit()[-1].outcome == "ok"


def _refused_at_b(pair: Pair, request: Any, sentence: str) -> None:
    """Send ``request`` as A's node would; B refuses it with ``sentence``, audited."""
    before = len(pair.b_audit())

    async def send() -> dict[str, Any]:
        runtime = load_runtime(config.load(pair.home(A)))
        async with runtime.client() as client:
            url = f"https://127.0.0.1:{pair.port_b}/wide-area/records"
            return await client.post(url, request)

    with pytest.raises(PeerRefused) as refused:
        asyncio.run(send())
    assert refused.value.status == 403 and sentence in refused.value.detail
    entries = pair.b_audit()
    assert len(entries) == before + 1
    assert (entries[-1].operation, entries[-1].outcome) == ("wide-area.answer", "refused")
    assert sentence in entries[-1].detail


def test_r20_refusals_are_one_sentence_audited_at_both_and_change_nothing(pair: Pair) -> None:
    members = pair.household(2)
    stranger = pair.alone(members)
    assert stranger not in members
    reader = pair.give_card(members[0])
    refusals: list[tuple[WindowAsk, WideAreaCard | None, str]] = [
        # someone else's record: not a member of the subject's household
        (WindowAsk("131041", stranger, "licence", members[0], "household", licence=LICENCE),
         None, "is not a member of the household"),
        # someone else's record asked as one's own
        (WindowAsk("131041", stranger, "licence", members[0], licence=LICENCE),
         None, "household copy, asked by a member"),
        # no recorded verification
        (WindowAsk("131041", members[0], None), None, "how the person's identity was verified"),
        # a licence without its number
        (WindowAsk("131041", members[0], "licence", licence="12ab"), None, "12 digits"),
        # not a resident of B (a code of nobody there)
        (WindowAsk("131041", _not_here(pair), "licence", licence=LICENCE),
         None, "is not a resident of this municipality"),
        # the card of another person
        (WindowAsk("131041", members[1], "card"), WideAreaCard(reader, PIN),
         "not a valid card this municipality issued"),
    ]  # fmt: skip
    with ServeB(pair.home(B), pair.port_b):
        for ask, card, sentence in refusals:
            before_a, before_b = len(pair.a_audit()), len(pair.b_audit())
            with pytest.raises(JukinetError) as exc:
                pair.issue(ask, card)
            assert sentence in str(exc.value)
            a_entries = pair.a_audit()
            assert len(a_entries) == before_a + 1, ask
            assert (a_entries[-1].operation, a_entries[-1].outcome) == (
                "copy.wide-area", "refused",
            )  # fmt: skip
            assert len(pair.b_audit()) <= before_b + 1

        # At B itself: a request without verification, for a non-resident, replayed,
        # and with a card proof of another request (forged) are refused, audited at B.
        own = WindowAsk("131041", members[0], "licence", licence=LICENCE)
        bare = build_request(own, "131016", "clerk").model_copy(
            update={"verified_by": None, "licence": None}
        )
        _refused_at_b(pair, bare, "records no verification")
        elsewhere = WindowAsk("131041", _not_here(pair), "licence", licence=LICENCE)
        nobody = build_request(elsewhere, "131016", "clerk")
        _refused_at_b(pair, nobody, "is not a resident of this municipality")
        once = build_request(own, "131016", "clerk")
        asyncio.run(_send(pair, once))  # answered; the same request again is not
        _refused_at_b(pair, once, "was answered before")
        carded = WindowAsk("131041", members[0], "card")
        signed = build_request(carded, "131016", "clerk", WideAreaCard(reader, PIN))
        forged = signed.model_copy(update={"subject": members[1], "whose": "household"})
        _refused_at_b(pair, forged, "The card signed another request")
        assert "wide-area.answer" not in {e.operation for e in pair.a_audit()}


def _not_here(pair: Pair) -> str:
    """A valid resident code that B holds no record for (A's resident)."""
    with pair.a.engine.connect() as conn:
        return str(conn.execute(select(persons.c.resident_code)).scalar())


async def _send(pair: Pair, request: Any) -> dict[str, Any]:
    runtime = load_runtime(config.load(pair.home(A)))
    async with runtime.client() as client:
        return await client.post(f"https://127.0.0.1:{pair.port_b}/wide-area/records", request)


def test_r20_a_waits_on_b_with_no_transaction_open(pair: Pair) -> None:
    """docs/architecture.md: while A waits for B's answer, A's other clerks write at once."""
    code = pair.alone()
    with ServeB(pair.home(B), pair.port_b) as served:
        served.wire.meanwhile = lambda: (
            service.record_event(pair.a, pair.clerk, arrival(), TODAY).event_id
        )
        pair.issue(WindowAsk("131041", code, "licence", licence=LICENCE))
    (result,) = served.wire.outcome
    assert not isinstance(result, Exception), f"A's clerk waited on B's answer: {result!r}"
    event_id, took = result  # type: ignore[misc]
    assert isinstance(event_id, int) and took < PROMPT
    assert [e.operation for e in pair.a_audit()[-2:]] == ["event.move-in-abroad", "copy.wide-area"]


def test_r20_the_same_signed_request_sent_twice_is_refused_at_the_gate(pair: Pair) -> None:
    """The exact bytes and signature of an answered request, sent again, are refused
    before B reads them (RFC 9421 nonce, network/signatures.py); nothing is audited
    twice and nothing is answered twice."""
    app = municipality_api.create_app(pair.home(B))
    app.state.authority = "b.example"
    request = build_request(
        WindowAsk("131041", pair.alone(), "licence", licence=LICENCE), "131016", "clerk"
    )
    body = request.model_dump_json().encode()
    headers = {"content-type": "application/json", "content-length": str(len(body))}
    headers |= sign_request(
        "POST", "https://b.example/wide-area/records", headers, body,
        load_private_key(pair.home(A) / config.KEY_FILE), A,
    )  # fmt: skip
    before = len(pair.b_audit())
    first = asyncio.run(asgi.call(app, "POST", "/wide-area/records", body, headers, "b.example"))
    again = asyncio.run(asgi.call(app, "POST", "/wide-area/records", body, headers, "b.example"))
    assert first.status == 200, first.body
    assert again.status == 401 and b"replay" in again.body.lower(), again.body
    assert len(pair.b_audit()) == before + 1


def test_r20_the_document_signer_finishes_the_copy_inside_the_audited_transaction(
    pair: Pair,
) -> None:
    """The seam the signer joins: ``finish`` runs in the transaction that audits the
    issue, ``serial`` numbers the copy there; a refusal in it leaves one refused entry."""
    ask = WindowAsk("131041", pair.alone(), "licence", licence=LICENCE)

    def signed(tx: Any, copy: Any) -> tuple[str, bool]:
        return copy.serial, copy.wide_area

    def glyph(tx: Any, copy: Any) -> None:
        raise CopyRefused("A printed character is not in the copy's font.")

    with ServeB(pair.home(B), pair.port_b):
        got = asyncio.run(
            issue_wide_area_then(
                pair.a, pair.clerk, pair.home(A), ask, signed, serial=lambda tx: "2026-000001"
            )
        )
        assert got == ("2026-000001", True)
        assert "copy 2026-000001 from municipality 131041" in pair.a_audit()[-1].detail
        with pytest.raises(CopyRefused):
            asyncio.run(issue_wide_area_then(pair.a, pair.clerk, pair.home(A), ask, glyph))
    last = pair.a_audit()[-1]
    assert (last.operation, last.outcome) == ("copy.wide-area", "refused")
    assert "not in the copy's font" in last.detail
