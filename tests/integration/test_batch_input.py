"""Hostile batch files (R24) over the real provision router, and an agency client that
meets an answer line it cannot read over real mTLS.

Every malformed row (too long, binary, not UTF-8) is one short row error with its row
number and the batch goes on; the node never streams a truncated answer.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.responses import StreamingResponse

from jukinet.agency.client import AgencyClient, AgencySettings
from jukinet.domain.legal_parse import load_shipped_legal_table
from jukinet.errors import PeerUnreachable
from jukinet.keys import NodeKey
from jukinet.network.peer import Peer, caller, install_problem_handlers
from jukinet.nodes.identity import provision_api
from jukinet.nodes.national import service as national_service
from tests.conftest import UrlFactory
from tests.integration.provision.nodes import Node, asgi_post
from tests.mtls import identities, serving

TABLE = load_shipped_legal_table()
SHORT = 200


@pytest.fixture
def national(database: UrlFactory, tmp_path: Path) -> Iterator[Node]:
    home = tmp_path / "national"
    national_service.init_node(home, "national", "全国センター", database("n"), NodeKey.generate())
    store = national_service.open_node(home)
    yield Node(store)
    store.close()


def _post_batch(
    node: Node, upload: bytes, query: bytes = b"affair=onkyu-entitlement"
) -> tuple[int, list[dict[str, object]]]:
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(provision_api.router(node.store, TABLE))
    app.dependency_overrides[caller] = lambda: Peer("agency:onkyu", "agency", "onkyu")
    status, _, answer = asyncio.run(asgi_post(app, "/provision/batch", upload, query, b"text/csv"))
    if status != 200:
        return status, [json.loads(answer)]
    assert max(map(len, answer.split(b"\n"))) < 2_000  # no answer line echoes a row
    return status, [json.loads(line) for line in answer.decode().splitlines()]


def test_hostile_rows_between_good_ones_are_each_one_short_error(national: Node) -> None:
    """R24: a 200,000-character line (over the csv module's 131,072 field limit), a NUL
    byte, invalid UTF-8 and a 10 MB JSON code, between good rows sent with CRLF."""
    a, b, c, d, e = (national.person() for _ in range(5))
    bad = {
        3: b"4" * 200_000,
        5: b"1234\x00567890",
        7: b"\xff\xfe\xfd12345678",
        9: json.dumps({"resident_code": "8" * 10_000_000}).encode(),
    }
    lines = [b"resident_code", a.encode(), bad[3], b.encode() + b"\r", bad[5], c.encode(),
             bad[7], d.encode(), bad[9], e.encode()]  # fmt: skip
    status, rows = _post_batch(national, b"\n".join(lines) + b"\n")
    assert status == 200
    assert [r["row"] for r in rows] == [2, 3, 4, 5, 6, 7, 8, 9, 10]
    good = {r["row"]: r for r in rows if "error" not in r}
    assert {n: r["resident_code"] for n, r in good.items()} == {2: a, 4: b, 6: c, 8: d, 10: e}
    assert all(r["found"] for r in good.values())
    errors = {r["row"]: str(r["error"]) for r in rows if "error" in r}
    assert set(errors) == set(bad)
    for n, error in errors.items():
        assert error.startswith(f"row {n}: ") and len(error) < SHORT
        assert "4444" not in error and "8888" not in error and "\x00" not in error
    assert "bytes" in errors[3] and "binary" in errors[5] and "UTF-8" in errors[7]
    assert "bytes" in errors[9]


def test_a_body_that_is_one_huge_line_is_one_row_error(national: Node) -> None:
    status, rows = _post_batch(national, b"\x00" * 3_000_000)
    assert status == 200 and len(rows) == 1 and rows[0]["row"] == 1
    assert len(str(rows[0]["error"])) < SHORT


def test_rows_are_numbered_from_first_row_and_only_plain_numbers_are_taken(
    national: Node,
) -> None:
    """A later chunk of a file (or a resumed batch) names its first line's number; its
    first line is a row like any other, even one that reads ``resident_code``."""
    code = national.person()
    upload = f"resident_code\n{code}\n".encode()
    status, rows = _post_batch(national, upload, b"affair=onkyu-entitlement&first_row=20001")
    assert status == 200 and [(r["row"], "error" in r) for r in rows] == [
        (20001, True),
        (20002, False),
    ]
    before = national.counts()
    for wrong in (b"2.0", b"%2B2", b"01", b"0", b"1e3", b"%EF%BC%92", b"9" * 5000):
        status, (problem,) = _post_batch(
            national, upload, b"affair=onkyu-entitlement&first_row=" + wrong
        )
        assert status == 422 and "first_row" in json.dumps(problem), wrong
    assert national.counts()[0] == before[0]  # no provision for a refused request


# --- the agency client meets an answer it cannot read (over real mTLS) ------------------


@pytest.mark.parametrize(
    "bad_line",
    [b'{"row": 2, "error": "' + b"x" * 10_000_000 + b'"}', b"not json", b'{"row": "two"}'],
    ids=["10-MB line", "not JSON", "not a batch row"],
)
def test_an_unreadable_answer_line_is_one_clear_error_after_the_rows_read(
    tmp_path: Path, bad_line: bytes
) -> None:
    """R24: the client keeps the rows it read and says where the answer broke off."""
    server, agency = identities(tmp_path)
    app = FastAPI()

    @app.post("/provision/batch")
    async def batch() -> StreamingResponse:
        lines = [b'{"row": 1, "resident_code": "12345678903", "found": false}', bad_line]
        return StreamingResponse(iter([line + b"\n" for line in lines]))

    async def scenario() -> tuple[list[int], PeerUnreachable]:
        async with serving(app, server) as url:
            settings = AgencySettings(agency, url, url)
            rows: list[int] = []
            async with AgencyClient(settings) as client:
                with pytest.raises(PeerUnreachable) as caught:
                    async for row in client.batch("onkyu-entitlement", ["12345678903", "x"]):
                        rows.append(row.row)
            return rows, caught.value

    rows, error = asyncio.run(scenario())
    assert rows == [1]
    assert "after row 1" in error.message and len(error.message) < 300
    assert "xxxx" not in error.message
