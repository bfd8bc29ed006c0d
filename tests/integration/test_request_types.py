"""The national node's routes refuse lax types (issue 8, defect 7): ``POST /pools`` issues
codes for an integer count only, and lookup and verify refuse a resident code with a
wrong check digit as a 422 problem with a sentence, as batch does per row (R6, R23).

The app is the real national node of a ``network init``; the caller is fixed (the
signatures are tested in test_transport).
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from jukinet.domain.codes import generate_resident_code
from jukinet.keys import load_private_key
from jukinet.network.peer import Peer
from jukinet.network.signatures import sign_request
from jukinet.nodes.national import api as national
from tests import asgi

EXE = Path(sys.executable).with_name("jukinet")
TOPOLOGY = """
[network]
name = "types"
[national]
port = 7500
[[prefectures]]
code = "130001"
port = 7510
[[municipalities]]
code = "131016"
port = 7520
residents = 0
[[agencies]]
code = "onkyu"
name = "総務省 恩給"
[[agencies]]
code = "mofa-passport"
name = "外務省 旅券課"
"""
CODE = generate_resident_code()
WRONG_CHECK = CODE[:10] + str((int(CODE[10]) + 1) % 10)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    root = tmp_path_factory.mktemp("types")
    layout = asgi.network_init(root, TOPOLOGY)
    app = national.create_app(layout.node("national:national"))
    app.state.authority = "national"  # what the signed URL names (no real socket here)
    app.state.keys = {
        "municipality:131016": load_private_key(layout.node("municipality:131016") / "node.key"),
        "agency:onkyu": load_private_key(layout.client("agency:onkyu") / "node.key"),
        "agency:mofa-passport": load_private_key(
            layout.client("agency:mofa-passport") / "node.key"
        ),
    }
    return app


def post(app: FastAPI, peer: Peer, path: str, body: Any) -> tuple[int, Any]:
    """``body`` as JSON, signed by ``peer`` with its own key, through the node's whole app
    (the peer check included)."""
    raw = json.dumps(body).encode()
    headers = {"content-type": "application/json", "content-length": str(len(raw))}
    headers |= sign_request(
        "POST", f"https://national{path}", headers, raw, app.state.keys[peer.node_id], peer.node_id
    )
    status, answer = asyncio.run(_call(app, path, raw, headers))
    return status, json.loads(answer)


async def _call(app: FastAPI, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    answer = await asgi.call(app, "POST", path, body, headers)
    return answer.status, answer.body


CHIYODA = Peer("municipality:131016", "municipality", "131016")
ONKYU = Peer("agency:onkyu", "agency", "onkyu")


def test_pools_issue_codes_for_an_integer_count_only(app: FastAPI) -> None:
    for count in (True, "3", 2.0, "2.0", [3]):
        status, problem = post(app, CHIYODA, "/pools", {"count": count})
        assert status == 422, f"{count!r} was taken: {problem}"
        assert problem["type"] == "urn:jukinet:problem:invalid-input"
        assert "count" in problem["detail"]
    status, grant = post(app, CHIYODA, "/pools", {"count": 3})
    assert status == 200 and len(grant["codes"]) == 3


@pytest.mark.parametrize("path", ["/provision/lookup", "/provision/verify"])
def test_a_wrong_check_digit_is_a_422_with_a_sentence_not_found_false(
    app: FastAPI, path: str
) -> None:
    body: dict[str, Any] = {"affair": "onkyu-entitlement", "resident_code": WRONG_CHECK}
    if path.endswith("verify"):
        body = {**body, "affair": "passport-issuance", "name": "山田 太郎",
                "date_of_birth": "1950-05-05", "sex": "male", "address": "東京都"}  # fmt: skip
    peer = ONKYU if path.endswith("lookup") else Peer("agency:mofa-passport", "agency",
                                                      "mofa-passport")  # fmt: skip
    status, problem = post(app, peer, path, body)
    assert status == 422, problem
    assert problem["type"] == "urn:jukinet:problem:invalid-input"
    assert f"Resident code {WRONG_CHECK} has a wrong check digit" in problem["detail"]
    status, answer = post(app, peer, path, {**body, "resident_code": CODE})
    assert status == 200 and answer["found"] is False  # a valid code nobody holds
