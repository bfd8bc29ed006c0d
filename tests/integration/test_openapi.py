"""The OpenAPI schema tells the truth (issue 8, defect 9): the schema each node kind
ships in docs/openapi/ is its app's ``app.openapi()``; every operation documents the
peer gate's refusals from its row of the endpoint table and every refusal's
problem+json body; the batch takes the media types it declares and refuses others
(415); and what schemathesis found stays fixed (a body that is not UTF-8 JSON).

The apps are the real nodes of a ``network init``; each request is signed by its
caller's own key and goes through the node's whole app, the peer check included.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from fastapi import FastAPI

from jukinet.deploy.network import init_network
from jukinet.deploy.openapi import KINDS, TOPOLOGY
from jukinet.keys import load_private_key
from jukinet.network.endpoints import ENDPOINTS
from jukinet.network.openapi import BATCH_MEDIA_TYPES, write_schema
from jukinet.network.signatures import sign_request
from jukinet.network.topology import load_topology
from jukinet.seed.places import Places
from tests import asgi

DOCS = Path(__file__).parents[2] / "docs" / "openapi"
REGENERATE = ".venv/bin/python -m jukinet.deploy.openapi"
ONKYU, CHIYODA = "agency:onkyu", "municipality:131016"
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory, places: Places) -> dict[str, FastAPI]:
    root = tmp_path_factory.mktemp("openapi")
    agency = '[[agencies]]\ncode = "onkyu"\nname = "総務省 恩給"\n'
    (root / "topology.toml").write_text(TOPOLOGY + agency, encoding="utf-8")
    layout = init_network(load_topology(root / "topology.toml", places), places, root / "net")
    out = {kind: create_app(layout.node(node)) for kind, (node, create_app) in KINDS.items()}
    out["national"].state.authority = "national"  # what the signed URL names (no socket)
    out["national"].state.keys = {
        ONKYU: load_private_key(layout.client(ONKYU) / "node.key"),
        CHIYODA: load_private_key(layout.node(CHIYODA) / "node.key"),
    }
    return out


@pytest.mark.parametrize("kind", list(KINDS))
def test_the_committed_schema_is_the_apps_schema(apps: dict[str, FastAPI], kind: str) -> None:
    committed = DOCS / f"{kind}.json"
    assert committed.exists(), f"{committed} is missing; write it with: {REGENERATE}"
    assert committed.read_text(encoding="utf-8") == write_schema(apps[kind]), (
        f"{committed} differs from the {kind} node's app.openapi(); regenerate: {REGENERATE}"
    )


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_operation_documents_its_rows_refusals_as_problems(
    apps: dict[str, FastAPI], kind: str
) -> None:
    schema = apps[kind].openapi()
    rows = ENDPOINTS.of_kind(kind)
    assert {(r.method, r.path) for r in rows} == {
        (method.upper(), path) for path, ops in schema["paths"].items() for method in ops
    }
    for row in rows:
        responses = schema["paths"][row.path][row.method.lower()]["responses"]
        assert {"401", "403", "408", "413", "503"} <= set(responses), row
        assert row.callers in responses["403"]["description"], row
        limit = f"{row.max_body:,} bytes" if row.max_body else "has no body"
        assert limit in responses["413"]["description"], row
        for status, response in responses.items():
            if int(status) >= 400:
                problem = response["content"][PROBLEM]["schema"]
                assert problem == {"$ref": "#/components/schemas/Problem"}, (row, status)
    assert "HTTPValidationError" not in json.dumps(schema)  # 422 is a problem too


def test_the_batch_documents_its_media_types_and_json_lines(apps: dict[str, FastAPI]) -> None:
    batch = apps["national"].openapi()["paths"]["/provision/batch"]["post"]
    assert tuple(batch["requestBody"]["content"]) == BATCH_MEDIA_TYPES
    assert batch["responses"]["200"]["content"] == {
        "application/jsonl": {"schema": {
            "type": "array", "items": {"$ref": "#/components/schemas/BatchRow"},
            "title": "Response 200 Provision Batch Provision Batch Post",
        }}
    }  # fmt: skip
    assert "415" in batch["responses"]


def post(
    app: FastAPI, path: str, body: bytes, content_type: str | None, who: str = ONKYU
) -> tuple[int, str, bytes]:
    """``body`` to ``path`` on the national node, signed by ``who``'s own key."""
    headers = {"content-length": str(len(body))}
    if content_type is not None:
        headers["content-type"] = content_type
    key = app.state.keys[who]
    headers |= sign_request("POST", f"https://national{path}", headers, body, key, who)
    return asyncio.run(_call(app, path, body, headers))


async def _call(
    app: FastAPI, target: str, body: bytes, headers: dict[str, str]
) -> tuple[int, str, bytes]:
    answer = await asgi.call(app, "POST", target, body, headers)
    return answer.status, answer.media_type, answer.body


@pytest.mark.parametrize("body", [b"\xff\x58\xb3", b"\x9b\x5d\xa7\x1f"])
def test_a_body_that_is_not_utf8_json_is_a_422_problem_not_an_undocumented_400(
    apps: dict[str, FastAPI], body: bytes
) -> None:
    """Found by schemathesis: FastAPI answered 400 "There was an error parsing the body"
    (about:blank), a status no operation documents."""
    status, media, answer = post(apps["national"], "/provision/lookup", body, "application/json")
    assert (status, media) == (422, PROBLEM), answer
    problem = json.loads(answer)
    assert problem["type"] == "urn:jukinet:problem:invalid-input"
    assert "not JSON" in problem["detail"]


BATCH = "/provision/batch?affair=onkyu-entitlement"


@pytest.mark.parametrize(
    "content_type", ["application/json", "text/csv; charset=shift_jis", "image/png", None]
)
def test_a_batch_not_declared_as_a_batch_file_is_refused_with_415(
    apps: dict[str, FastAPI], content_type: str | None
) -> None:
    status, media, answer = post(apps["national"], BATCH, b"12345678901\n", content_type)
    assert (status, media) == (415, PROBLEM), answer
    problem = json.loads(answer)
    assert problem["type"] == "urn:jukinet:problem:unsupported-media-type"
    assert "text/csv" in problem["detail"] and "application/jsonl" in problem["detail"]


@pytest.mark.parametrize(
    "content_type", [*BATCH_MEDIA_TYPES, "text/plain; charset=utf-8", 'text/csv; charset="UTF-8"']
)
def test_a_batch_in_each_declared_media_type_is_answered_in_json_lines(
    apps: dict[str, FastAPI], content_type: str
) -> None:
    body = b'resident_code\n12345678901\n{"resident_code": "x"}\n'
    status, media, answer = post(apps["national"], BATCH, body, content_type)
    assert (status, media) == (200, "application/jsonl"), answer
    rows = [json.loads(line) for line in answer.splitlines()]
    assert [r["row"] for r in rows] == [2, 3]
    assert "error" in rows[1]


def test_a_pool_request_is_bounded_work_of_at_most_10000_codes(apps: dict[str, FastAPI]) -> None:
    """Found by schemathesis on PostgreSQL: ``{"count": 99999}`` (the old limit was 100,000)
    kept the national node's worker thread and a database connection for over 10 s."""
    app = apps["national"]
    status, media, answer = post(app, "/pools", b'{"count": 10001}', "application/json", CHIYODA)
    assert (status, media) == (422, PROBLEM), answer
    assert "count" in json.loads(answer)["detail"]
    status, media, answer = post(app, "/pools", b'{"count": 10000}', "application/json", CHIYODA)
    assert status == 200, answer
    assert len(set(json.loads(answer)["codes"])) == 10_000
