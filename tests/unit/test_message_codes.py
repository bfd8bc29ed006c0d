"""Codes arriving from the network are ASCII digits with a right check digit (R6, R7).

Every message that carries a resident code or a local government code validates it
with ``jukinet.domain.codes`` (one validation everywhere): full-width digits (which a
``\\d`` pattern would take) and wrong check digits are refused on arrival, as a 422
problem at the HTTP boundary.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from jukinet.domain.codes import generate_resident_code, parse_resident_code
from jukinet.errors import InvalidResidentCode
from jukinet.network.messages import (
    DisclosureRequest,
    IdentityUpdate,
    LookupRequest,
    PoolGrant,
    VerifyRequest,
)
from jukinet.network.peer import install_problem_handlers

GOOD = "12345678903"  # body 1234567890, check digit 3
assert parse_resident_code(GOOD) == GOOD
WRONG_CHECK = GOOD[:10] + "4"
FULL_WIDTH = "１２３４５６７８９０３"
CHIYODA = "131016"


def update(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "seq": 1, "origin": CHIYODA, "resident_code": GOOD, "name": "山田 太郎",
        "date_of_birth": date(1980, 1, 1), "sex": "male", "address": "東京都千代田区",
        "status": "resident", "change_reason": "birth", "change_date": date(2025, 4, 1),
        "recorded_at": datetime.now(UTC),
    }  # fmt: skip
    data.update(changes)
    return data


def test_a_valid_update_is_taken() -> None:
    assert IdentityUpdate(**update()).resident_code == GOOD
    assert IdentityUpdate(**update(previous_code=generate_resident_code())).previous_code


@pytest.mark.parametrize("field", ["resident_code", "previous_code"])
@pytest.mark.parametrize(
    ("value", "reason"),
    [(FULL_WIDTH, "ASCII digits"), (WRONG_CHECK, "wrong check digit"), ("1234567890", "11")],
)
def test_an_update_with_a_bad_resident_code_is_refused_r6(
    field: str, value: str, reason: str
) -> None:
    with pytest.raises(ValidationError, match=reason):
        IdentityUpdate(**update(**{field: value}))


@pytest.mark.parametrize(
    ("origin", "reason"),
    [("１３１０１６", "ASCII digits"), ("131017", "wrong check digit"), ("13101", "6")],
)
def test_an_update_with_a_bad_origin_is_refused(origin: str, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        IdentityUpdate(**update(origin=origin))


@pytest.mark.parametrize("value", [FULL_WIDTH, WRONG_CHECK])
def test_every_message_carrying_a_resident_code_checks_it(value: str) -> None:
    attempts = [
        lambda: LookupRequest(affair="a", resident_code=value),
        lambda: VerifyRequest(
            affair="a",
            resident_code=value,
            name="n",
            date_of_birth=date(1980, 1, 1),
            sex="male",
            address="x",
        ),
        lambda: DisclosureRequest(resident_code=value, verified_by="clerk", clerk="c"),
        lambda: PoolGrant(codes=[GOOD, value]),
    ]
    for attempt in attempts:
        with pytest.raises(ValidationError):
            attempt()


def test_the_domain_parser_takes_ascii_digits_only() -> None:
    for text in (FULL_WIDTH, GOOD[:10] + "３", "١٢٣٤٥٦٧٨٩٠٣"):  # Arabic-Indic digits too
        with pytest.raises(InvalidResidentCode, match="11 digits"):
            parse_resident_code(text)


def test_a_bad_code_at_the_http_boundary_is_a_422_problem() -> None:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/updates")
    async def take(u: IdentityUpdate) -> dict[str, str]:
        return {"ok": u.resident_code}

    body = update(resident_code=FULL_WIDTH)
    body = {k: v.isoformat() if isinstance(v, date) else v for k, v in body.items()}
    status, media, problem = asyncio.run(post(app, "/updates", body))
    assert (status, media) == (422, "application/problem+json")
    assert problem["type"] == "urn:jukinet:problem:invalid-input"
    assert "resident_code" in problem["detail"] and "ASCII digits" in problem["detail"]
    status, _, problem = asyncio.run(post(app, "/updates", {**body, "resident_code": WRONG_CHECK}))
    assert status == 422 and "check digit" in problem["detail"]
    assert asyncio.run(post(app, "/updates", {**body, "resident_code": GOOD}))[2] == {"ok": GOOD}


async def post(app: FastAPI, path: str, body: dict[str, Any]) -> tuple[int, str, Any]:
    """One POST through the ASGI app itself: (status, media type, JSON body)."""
    data = json.dumps(body).encode()
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": [(b"content-type", b"application/json"),
                                     (b"content-length", str(len(data)).encode())],
        "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
    }  # fmt: skip
    messages = [{"type": "http.request", "body": data, "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    media = dict(start["headers"]).get(b"content-type", b"").decode().split(";")[0]
    payload = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], media, json.loads(payload)
