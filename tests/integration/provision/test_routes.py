"""The provision routes over HTTP (signatures are tested in test_transport; here a
fixed caller): JSON answers, streamed batches, refusals as problems.
"""

from __future__ import annotations

import asyncio
import json

from fastapi import FastAPI

from jukinet.network.peer import Peer, caller, install_problem_handlers
from jukinet.nodes.identity import provision_api
from tests.integration.provision.nodes import TABLE, Node, asgi_post


def test_the_routes_answer_json_stream_batches_and_refuse_as_problems(national: Node) -> None:
    code = national.person()
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(provision_api.router(national.store, TABLE))
    app.dependency_overrides[caller] = lambda: Peer("agency:onkyu", "agency", "onkyu")

    async def scenario() -> None:
        body = json.dumps({"affair": "onkyu-entitlement", "resident_code": code}).encode()
        status, _, answer = await asgi_post(app, "/provision/lookup", body)
        assert status == 200 and json.loads(answer)["record"]["fields"]["resident_code"] == code
        upload = f"resident_code\n{code}\nnonsense\n".encode()
        status, headers, answer = await asgi_post(
            app, "/provision/batch", upload, b"affair=onkyu-entitlement", b"text/csv"
        )
        assert status == 200 and headers["content-type"] == "application/jsonl"
        rows = [json.loads(line) for line in answer.decode().splitlines()]
        assert [r["row"] for r in rows] == [2, 3]
        assert rows[0]["record"]["fields"]["status"] == "resident" and "error" in rows[1]
        status, headers, answer = await asgi_post(
            app, "/provision/batch", upload, b"affair=passport-issuance", b"text/csv"
        )
        assert status == 403 and headers["content-type"] == "application/problem+json"
        assert json.loads(answer)["type"] == "urn:jukinet:problem:provision-refused"

    asyncio.run(scenario())
