"""Disclosure on the card (R14, R15), through the whole national and prefecture apps of a
real ``network init`` with signed requests: the resident's card (in an in-process reader)
signs the request with its JPKI user-authentication key, and each node verifies the
proof itself (the prefecture asks the national node whom the certificate was issued
to). Every refusal is one sentence, audited, and the same whether the code exists.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from fastapi import FastAPI

from jukinet import config
from jukinet.audit import log as audit
from jukinet.card.jpki_ca import JpkiTestCA
from jukinet.card.machine import CardChip
from jukinet.card.reader import InProcessReader
from jukinet.domain.codes import generate_resident_code
from jukinet.errors import CardRefused, PeerUnreachable
from jukinet.jpki import issue_authentication, load_ca
from jukinet.keys import load_private_key
from jukinet.network.messages import DisclosureRequest, JpkiBinding, JpkiBindingRequest
from jukinet.network.signatures import sign_request
from jukinet.nodes.identity.card_proof import MAX_SKEW
from jukinet.nodes.municipality.disclosure import CardAtWindow, fetch_disclosure
from jukinet.nodes.municipality.disclosure_card import card_request, signed_ask
from jukinet.nodes.national import api as national_api
from jukinet.nodes.national import service as national_service
from jukinet.nodes.prefecture import api as prefecture_api
from jukinet.nodes.prefecture import card as prefecture_card
from jukinet.nodes.prefecture import service as prefecture_service
from tests import asgi
from tests.integration.test_jpki_national import (
    CHIYODA,
    CHUO,
    PREFECTURE,
    TOPOLOGY,
    Card,
    Net,
    _asgi,
)
from tests.unit.test_disclosure_card import PIN, jpki_card

NATIONAL = "national:national"
NODES = [PREFECTURE, NATIONAL]


async def _signed(
    app: FastAPI, host: str, who: str, key: Any, method: str, path: str, body: Any
) -> tuple[int, bytes]:
    raw = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
    headers = {"accept": "application/json"}
    if body is not None:
        headers |= {"content-type": "application/json", "content-length": str(len(raw))}
    headers |= sign_request(method, f"https://{host}{path}", headers, raw, key, who)
    return await _asgi(app, method, path, raw, headers)


@dataclass
class Cards:
    """The national app (``net``), the prefecture app beside it, and the resident's cards."""

    net: Net
    prefecture: FastAPI
    chips: dict[str, CardChip]
    seq: Iterator[int] = field(default_factory=lambda: itertools.count(1))  # Chiyoda's

    def ask(self, where: str, req: DisclosureRequest, who: str = CHIYODA) -> tuple[int, Any]:
        body = json.loads(req.model_dump_json())
        if where == "national":
            return self.net.call(who, "POST", "/disclosure", body)
        status, answer = asyncio.run(
            _signed(self.prefecture, "prefecture", who, self.net.keys[who], "POST",
                    "/disclosure", body)
        )  # fmt: skip
        return status, json.loads(answer)

    def signed(
        self, code: str, chip: str, asked: str | None = None, **ask: Any
    ) -> DisclosureRequest:
        """The card ``chip`` signs a request for ``asked`` (default: ``code``)."""
        payload = signed_ask(asked or code, CHIYODA.split(":")[1], NODES, **ask)
        return card_request(InProcessReader(self.chips[chip]), PIN, payload, code, "window-3")

    def resident(self, card: str | None = None) -> str:
        """A new resident of Chiyoda, known to the national node and the prefecture; with
        ``card``, their card's user-authentication certificate issued by the JPKI CA."""
        code = self.net.resident(CHIYODA)
        self.tell_prefecture(code)
        if card is not None:
            keys = Card()
            status, answer = self.net.certify(CHIYODA, code, keys, signing=False)
            assert status == 200, answer
            der = base64.b64decode(answer["authentication"])
            self.chips[card] = jpki_card(der, keys.auth, self.net.ca().public_bytes(Encoding.DER))
        return code

    def tell_prefecture(self, code: str) -> None:
        held = self.net.identity(code)
        assert held is not None
        update = {
            "seq": next(self.seq), "origin": "131016", "resident_code": code,
            "address": "東京都千代田区丸の内一丁目1番1号", "status": "resident",
            "change_reason": "move-in-abroad", "change_date": date.today().isoformat(),
            "recorded_at": datetime.now(UTC).isoformat(), **held,
        }  # fmt: skip
        status, ack = asyncio.run(
            _signed(self.prefecture, "prefecture", CHIYODA, self.net.keys[CHIYODA], "POST",
                    "/updates", {"sender": CHIYODA, "updates": [update]})
        )  # fmt: skip
        assert status == 200, ack

    def refresh_crl(self) -> None:
        """What ``jukinet jpki crl`` does at the prefecture: keep the CA's current CRL."""
        crl = self.net.crl(PREFECTURE)
        home = self.net.layout.node(PREFECTURE)
        (home / config.JPKI_CRL_FILE).write_bytes(crl.public_bytes(Encoding.DER))

    def audit(self, where: str) -> list[Any]:
        if where == "national":
            return self.net.audit()
        store = prefecture_service.open_node(self.net.layout.node(PREFECTURE))
        try:
            with store.engine.connect() as conn:
                return list(audit.entries(conn))
        finally:
            store.close()


@pytest.fixture(scope="module")
def cards(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cards]:
    root = tmp_path_factory.mktemp("card")
    layout = asgi.network_init(root, TOPOLOGY)
    national = national_api.create_app(layout.node(NATIONAL))
    national.state.authority = "national"
    keys = {n: load_private_key(layout.node(n) / "node.key") for n in (CHIYODA, CHUO, PREFECTURE)}
    store = national_service.open_node(layout.node(NATIONAL))
    net = Net(national, layout, keys, store)
    prefecture = prefecture_api.create_app(layout.node(PREFECTURE))
    prefecture.state.authority = "prefecture"

    async def ask_national(home: Path, req: JpkiBindingRequest) -> JpkiBinding:
        # The prefecture's signed request, answered by the national app itself.
        status, answer = await _signed(
            national, "national", PREFECTURE, keys[PREFECTURE], "POST", "/jpki/binding",
            json.loads(req.model_dump_json()),
        )  # fmt: skip
        assert status == 200, answer
        return JpkiBinding.model_validate_json(answer)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(prefecture_card, "ask_national", ask_national)
        world = Cards(net, prefecture, {})
        world.refresh_crl()
        yield world
    store.close()


WHERE = ["national", "prefecture"]


@pytest.mark.parametrize("where", WHERE)
def test_a_request_signed_with_the_resident_s_card_is_answered_r14(
    cards: Cards, where: str
) -> None:
    code = cards.resident(card="mine")
    status, answer = cards.ask(where, cards.signed(code, "mine"))
    assert status == 200, answer
    assert (answer["resident_code"], answer["provisions"]) == (code, [])
    assert answer["checkpoint"].startswith(f"jukinet/{where}/")  # its provision log (R14)
    entry = cards.audit(where)[-1]
    assert (entry.operation, entry.target, entry.outcome) == ("disclosure", code, "ok")
    assert "verified by the card, certificate" in entry.detail
    # the clerk-verified path for residents without a card stays
    clerk = DisclosureRequest(resident_code=code, verified_by="clerk", clerk="window-3")
    assert cards.ask(where, clerk)[0] == 200


def _refused(cards: Cards, where: str, req: DisclosureRequest, sentence: str) -> str:
    before = len(cards.audit(where))
    status, problem = cards.ask(where, req)
    assert status == 403, problem
    assert sentence in problem["detail"], problem
    entries = cards.audit(where)
    assert len(entries) == before + 1
    assert (entries[-1].operation, entries[-1].outcome) == ("disclosure", "refused")
    assert sentence in entries[-1].detail
    return str(problem["detail"])


@pytest.mark.parametrize("where", WHERE)
def test_a_replayed_stale_or_tampered_proof_is_refused_and_audited_r14(
    cards: Cards, where: str
) -> None:
    code = cards.resident(card="replay")
    once = cards.signed(code, "replay")
    assert cards.ask(where, once)[0] == 200
    _refused(cards, where, once, "used before")
    old = datetime.now(UTC) - MAX_SKEW - timedelta(minutes=1)
    _refused(cards, where, cards.signed(code, "replay", now=old), "more than 5 minutes")
    other = cards.resident()
    # signed for ``other``, sent for ``code``: the card signed another request
    _refused(cards, where, cards.signed(code, "replay", asked=other), "another request")
    fresh = cards.signed(code, "replay")
    assert fresh.card is not None
    signed = json.loads(base64.b64decode(fresh.card.payload))
    forged = json.dumps({**signed, "resident_code": other}).encode()
    card = fresh.card.model_copy(update={"payload": base64.b64encode(forged).decode()})
    tampered = fresh.model_copy(update={"resident_code": other, "card": card})
    _refused(cards, where, tampered, "The signature does not match the document.")


@pytest.mark.parametrize("where", WHERE)
def test_another_resident_s_certificate_is_refused_alike_for_unknown_codes_r14(
    cards: Cards, where: str
) -> None:
    cards.resident(card="a")
    b = cards.resident()
    sentence = "not one issued to this resident code"
    someone = _refused(cards, where, cards.signed(b, "a"), sentence)
    nobody = _refused(cards, where, cards.signed(generate_resident_code(), "a"), sentence)
    assert someone == nobody  # the refusal does not tell whether the code exists


@pytest.mark.parametrize("where", WHERE)
def test_a_revoked_expired_or_foreign_certificate_is_refused_r14(cards: Cards, where: str) -> None:
    code = cards.resident(card="lost")
    status, answer = cards.net.call(
        CHIYODA, "POST", "/jpki/revoke",
        {"resident_code": code, "reason": "card-lost", "kinds": ["authentication"]},
    )  # fmt: skip
    assert status == 200, answer
    cards.refresh_crl()
    _refused(cards, where, cards.signed(code, "lost"), "certificate was revoked on")
    # a certificate of this CA issued seven years ago (its five years are over)
    ca = load_ca(cards.net.layout.node(NATIONAL))
    keys = Card()
    long_ago = datetime.now(UTC) - timedelta(days=7 * 365)
    old = issue_authentication(ca, keys.auth.public_key(), date(1980, 5, 5), long_ago)
    cards.chips["old"] = jpki_card(old.public_bytes(Encoding.DER), keys.auth, b"")
    _refused(cards, where, cards.signed(code, "old"), "certificate expired on")
    foreign = JpkiTestCA.create()
    alien = foreign.auth.issue(keys.auth.public_key(), "JPKI user X", signing=False)
    cards.chips["alien"] = jpki_card(alien, keys.auth, foreign.auth.der)
    _refused(cards, where, cards.signed(code, "alien"), "not issued by this network's JPKI CA")


def test_the_scope_rule_holds_with_a_valid_card_r14(cards: Cards) -> None:
    code = cards.resident(card="scope")
    payload = signed_ask(code, "131024", NODES)  # Chuo asks about Chiyoda's resident
    req = card_request(InProcessReader(cards.chips["scope"]), PIN, payload, code, "w")
    status, problem = cards.ask("national", req, who=CHUO)
    assert status == 403 and "own residents" in problem["detail"]


def test_a_wrong_pin_stops_at_the_card_and_nothing_is_sent_r14(cards: Cards) -> None:
    code = cards.resident(card="pin")
    before = (len(cards.audit("national")), len(cards.audit("prefecture")))
    cfg = config.load(cards.net.layout.node(CHIYODA))
    at_window = CardAtWindow(InProcessReader(cards.chips["pin"]), "0000")
    with pytest.raises(CardRefused, match="Wrong PIN: 2 tries left"):
        asyncio.run(fetch_disclosure(cfg, code, "window-3", at_window))
    assert (len(cards.audit("national")), len(cards.audit("prefecture"))) == before


def test_a_prefecture_that_cannot_reach_the_national_node_refuses_the_card_r14(
    cards: Cards, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = cards.resident(card="offline")

    async def unreachable(home: Path, req: JpkiBindingRequest) -> JpkiBinding:
        raise PeerUnreachable("https://national/jpki/binding: connection refused")

    monkeypatch.setattr(prefecture_card, "ask_national", unreachable)
    req = cards.signed(code, "offline")
    _refused(cards, "prefecture", req, "could not be reached to check the card's certificate")
