"""Disclosure is scoped to the calling municipality (R14), on real identity nodes and real
databases (SQLite and PostgreSQL): a municipality learns the provisions of its own
residents only, and a refusal looks the same whether the code exists or not.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from jukinet.domain.codes import generate_resident_code
from jukinet.errors import AccessDenied
from jukinet.keys import NodeKey
from jukinet.network.messages import (
    DisclosureRequest,
    IdentityUpdate,
    LookupRequest,
    UpdateBatch,
)
from jukinet.network.peer import Peer, caller, install_problem_handlers
from jukinet.nodes.identity import provision as pv
from jukinet.nodes.identity import provision_api
from jukinet.nodes.national import service as national_service
from jukinet.nodes.prefecture import service as prefecture_service
from tests.conftest import UrlFactory
from tests.integration.provision.nodes import CHIYODA, OSAKA, TABLE, TOKYO, Node, asgi_post

OSAKA_CITY = "271004"  # 大阪市
SHINJUKU = "131041"  # 新宿区, in Tokyo like Chiyoda


@pytest.fixture
def national(database: UrlFactory, tmp_path: Path) -> Iterator[Node]:
    home = tmp_path / "national"
    national_service.init_node(home, "national", "全国センター", database("n"), NodeKey.generate())
    store = national_service.open_node(home)
    yield Node(store)
    store.close()


@pytest.fixture
def tokyo(database: UrlFactory, tmp_path: Path) -> Iterator[Node]:
    home = tmp_path / "tokyo"
    prefecture_service.init_node(home, TOKYO, "東京都", database(TOKYO), NodeKey.generate())
    store = prefecture_service.open_node(home)
    yield Node(store)
    store.close()


def _ask(code: str) -> DisclosureRequest:
    return DisclosureRequest(resident_code=code, verified_by="clerk", clerk="window-3")


def _provided_once(node: Node, code: str) -> str:
    """One lookup of ``code`` at ``node`` by a body it serves; the affair."""
    agency, affair = (
        ("onkyu", "onkyu-entitlement") if node.store.kind == "national"
        else ("chiyoda-city", "chiyoda-national-health-insurance")
    )  # fmt: skip
    pv.lookup(node.store, TABLE, agency, LookupRequest(affair=affair, resident_code=code))
    return affair


@pytest.mark.parametrize("where", ["national", "prefecture"])
def test_a_municipality_learns_nothing_of_another_municipalitys_resident_r14(
    national: Node, tokyo: Node, where: str, caplog: pytest.LogCaptureFixture
) -> None:
    node, stranger = (national, OSAKA_CITY) if where == "national" else (tokyo, SHINJUKU)
    chiyoda_resident = node.person()
    affair = _provided_once(node, chiyoda_resident)
    refusals: list[str] = []
    for code in (chiyoda_resident, generate_resident_code()):  # existing, never issued
        before = node.counts()
        caplog.clear()
        with (
            caplog.at_level(logging.WARNING, logger="jukinet.security"),
            pytest.raises(AccessDenied) as refused,
        ):
            pv.disclosure(node.store, TABLE, _ask(code), stranger)
        refusals.append(f"{type(refused.value).__name__} {refused.value.code} {refused.value}")
        assert node.counts() == (before[0], before[1] + 1)  # one audit entry, no provision
        entry = node.audit()[-1]
        assert (entry.operation, entry.outcome) == ("disclosure", "refused")
        assert entry.actor == f"municipality:{stranger}"
        security = [r for r in caplog.records if r.name == "jukinet.security"]
        assert len(security) == 1 and stranger in security[0].getMessage()
    assert refusals[0] == refusals[1]  # the answer does not tell whether the code exists
    assert stranger in refusals[0] and chiyoda_resident not in refusals[0]
    # the resident's own municipality is answered
    got = pv.disclosure(node.store, TABLE, _ask(chiyoda_resident), CHIYODA)
    assert [e.affair for e in got.provisions] == [affair]


def _moved_to(node: Node, code: str, municipality: str) -> None:
    """The person moved: Chiyoda recorded the move-out, their new municipality the entry
    (the first update Osaka's prefecture sends)."""
    node.apply({"resident_code": code, "status": "removed", "change_reason": "move-out"})
    update = IdentityUpdate(
        seq=1, origin=municipality, resident_code=code, name="山田 太郎",
        date_of_birth=date(1950, 5, 5), sex="male", address="大阪府大阪市北区梅田一丁目1番1号",
        status="resident", change_reason="move-in", change_date=date(2026, 4, 1),
        recorded_at=datetime.now(UTC),
    )  # fmt: skip
    sender = Peer(f"prefecture:{OSAKA}", "prefecture", OSAKA)
    batch = UpdateBatch(sender=sender.node_id, updates=[update])
    node.store.apply_batch(sender, batch, authority=lambda s, u: None)


def test_only_the_current_municipality_of_the_resident_is_answered_r14(national: Node) -> None:
    moved, died = national.person(), national.person()
    _moved_to(national, moved, OSAKA_CITY)
    assert pv.disclosure(national.store, TABLE, _ask(moved), OSAKA_CITY).resident_code == moved
    with pytest.raises(AccessDenied):  # its former municipality
        pv.disclosure(national.store, TABLE, _ask(moved), CHIYODA)
    national.apply({"resident_code": died, "status": "removed", "change_reason": "death"})
    with pytest.raises(AccessDenied):  # no longer a resident anywhere
        pv.disclosure(national.store, TABLE, _ask(died), CHIYODA)


def test_the_disclosure_route_refuses_a_stranger_alike_for_existing_and_unknown_codes_r14(
    national: Node,
) -> None:
    code = national.person()
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(provision_api.router(national.store, TABLE))
    peer = {"now": Peer(f"municipality:{OSAKA_CITY}", "municipality", OSAKA_CITY)}
    app.dependency_overrides[caller] = lambda: peer["now"]

    def body(resident_code: str, verified_by: str = "clerk") -> bytes:
        ask = {"resident_code": resident_code, "verified_by": verified_by, "clerk": "w3"}
        return json.dumps(ask).encode()

    async def scenario() -> None:
        existing = await asgi_post(app, "/disclosure", body(code))
        unknown = await asgi_post(app, "/disclosure", body(generate_resident_code()))
        assert existing[0] == unknown[0] == 403
        assert existing[2] == unknown[2]  # byte for byte: existence does not leak
        problem = json.loads(existing[2])
        assert problem["type"] == "urn:jukinet:problem:disclosure-refused"
        assert "own residents" in problem["detail"]
        peer["now"] = Peer(f"municipality:{CHIYODA}", "municipality", CHIYODA)
        status, _, answer = await asgi_post(app, "/disclosure", body(code))
        assert status == 200
        got = json.loads(answer)
        assert (got["resident_code"], got["provisions"]) == (code, [])
        assert got["checkpoint"].startswith("jukinet/national/national/provisions\n")
        status, _, answer = await asgi_post(app, "/disclosure", body(code, "card"))
        assert status == 422 and "card" in json.loads(answer)["detail"]

    asyncio.run(scenario())


def test_verified_by_card_without_the_card_s_proof_is_refused_r14() -> None:
    with pytest.raises(ValidationError, match="resident card carries the card's proof") as refused:
        DisclosureRequest(resident_code=generate_resident_code(), verified_by="card", clerk="w")
    assert refused.value.error_count() == 1
