"""An agency batch that broke off is resumed (R24): the node's real provision router,
served over real mTLS, drops the connection after some answer rows; ``batch_file``
with ``resume=True`` sends only the rows after the last one written, and the answer
file ends up byte for byte as one uninterrupted run wrote it. The rows sent again are
provided, and logged, again: disclosure over-reports, never under-reports (R14).
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from jukinet.agency.batch_file import BatchReport, batch_file, sidecar_of
from jukinet.agency.client import AgencyClient, AgencySettings
from jukinet.domain.codes import generate_resident_code
from jukinet.errors import InvalidInput, PeerUnreachable
from jukinet.keys import NodeKey
from jukinet.network.client import NodeIdentity
from jukinet.network.peer import Peer, caller, install_problem_handlers
from jukinet.network.topology import free_port_block
from jukinet.nodes.identity import provision_api
from jukinet.nodes.national import service as national_service
from tests.conftest import UrlFactory
from tests.integration.provision.nodes import TABLE, Node
from tests.mtls import identities, serving

AFFAIR = "onkyu-entitlement"
CUT = 7  # answer rows read before the connection drops


@pytest.fixture
def national(database: UrlFactory, tmp_path: Path) -> Iterator[Node]:
    home = tmp_path / "national"
    national_service.init_node(home, "national", "全国センター", database("n"), NodeKey.generate())
    store = national_service.open_node(home)
    yield Node(store)
    store.close()


def node_app(node: Node) -> FastAPI:
    """The node's provision routes, with the agency ``onkyu`` as the caller (the peer
    check has its own tests: test_transport, test_request_types)."""
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(provision_api.router(node.store, TABLE))
    app.dependency_overrides[caller] = lambda: Peer("agency:onkyu", "agency", "onkyu")
    return app


class Cut:
    """The first batch answer breaks off after ``rows`` answer lines (with ``inside``,
    half of the next line too): the app fails mid-answer and the server drops the
    connection, as when a line goes down or the node is killed."""

    def __init__(self, app: Any, rows: int, *, inside: bool = False) -> None:
        self.app, self.rows, self.inside, self.cuts = app, rows, inside, 1

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != "/provision/batch" or not self.cuts:
            await self.app(scope, receive, send)
            return
        self.cuts -= 1
        left = self.rows

        async def cutting(message: dict[str, Any]) -> None:
            nonlocal left
            lines = message.get("body", b"").splitlines(keepends=True)
            if message["type"] != "http.response.body" or len(lines) < left:
                left -= len(lines)
                await send(message)
                return
            part = b"".join(lines[:left])
            if self.inside and left < len(lines):
                part += lines[left][: len(lines[left]) // 2]
            await send({"type": "http.response.body", "body": part, "more_body": True})
            raise ConnectionResetError("the line to the agency dropped")

        await self.app(scope, receive, cutting)


def write_source(node: Node, path: Path) -> None:
    """A header, found and unknown codes, a death, a blank line, a malformed row and a
    code asked twice: 18 lines, 16 answer rows."""
    codes = [node.person() for _ in range(12)]
    dead = node.person(status="removed", change_reason="death", change_date=date(2025, 3, 1))
    lines = ["resident_code", *codes[:5], "", "abc", dead, *codes[5:],
             generate_resident_code(), json.dumps({"resident_code": codes[0]})]  # fmt: skip
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def rows_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


async def run(
    url: str, agency: NodeIdentity, *args: Any, affair: str = AFFAIR, **kw: Any
) -> BatchReport:
    async with AgencyClient(AgencySettings(agency, url, url)) as client:
        return await batch_file(client, affair, *args, **kw)


@pytest.mark.parametrize("cut", ["between rows", "inside a row", "answer file cut mid-line"])
def test_a_resumed_batch_is_the_answer_file_of_one_uninterrupted_run(
    national: Node, tmp_path: Path, cut: str
) -> None:
    source, whole, resumed = tmp_path / "codes.csv", tmp_path / "whole.jsonl", tmp_path / "r.jsonl"
    write_source(national, source)
    server, agency = identities(tmp_path)
    app = node_app(national)

    async def scenario() -> tuple[PeerUnreachable, BatchReport]:
        async with serving(app, server) as url:
            await run(url, agency, source, whole)
        async with serving(Cut(app, CUT, inside=cut == "inside a row"), server) as url:
            with pytest.raises(PeerUnreachable) as broke:
                await run(url, agency, source, resumed)
            assert sidecar_of(resumed).exists()
            if cut == "answer file cut mid-line":  # this process stopped while writing
                resumed.write_bytes(resumed.read_bytes()[:-9])
            return broke.value, await run(url, agency, source, resumed, resume=True)

    broke, report = asyncio.run(scenario())
    answers = rows_of(whole)
    assert len(answers) == 16 and not sidecar_of(whole).exists()
    last_read = answers[CUT - 1]["row"]
    assert f"after row {last_read}" in broke.message and len(broke.message) < 300
    assert resumed.read_bytes() == whole.read_bytes()  # no row twice, none missing
    assert not sidecar_of(resumed).exists()
    kept = CUT - 1 if cut == "answer file cut mid-line" else CUT
    after = answers[kept - 1]["row"]
    assert (report.resumed_after, report.rows) == (after, 16 - kept)
    assert report.dropped_cut_line == (cut == "answer file cut mid-line")
    # Every row read was provided and logged, and the break cost over-reporting only:
    # the node decided (and logged) every row of the broken answer before sending it,
    # and the rows after the last one kept were provided once more (R14). One request
    # logs a person once, however often its file names them.
    found = {a["resident_code"] for a in answers if a["found"]}
    again = {a["resident_code"] for a in answers if a["found"] and a["row"] > after}
    logged = Counter(r.resident_code for r in national.provisions())
    assert logged == Counter(found) + Counter(found) + Counter(again)


def test_a_batch_that_broke_off_after_its_last_row_has_nothing_to_resume(
    national: Node, tmp_path: Path
) -> None:
    source, target = tmp_path / "codes.csv", tmp_path / "answers.jsonl"
    write_source(national, source)
    server, agency = identities(tmp_path)

    async def scenario() -> InvalidInput:
        async with serving(Cut(node_app(national), 16), server) as url:
            with pytest.raises(PeerUnreachable, match="after row 18"):
                await run(url, agency, source, target)
            with pytest.raises(InvalidInput) as refused:
                await run(url, agency, source, target, resume=True)
            return refused.value

    written = len(national.provisions())
    refused = asyncio.run(scenario())
    assert "nothing to resume" in refused.message and "row 18" in refused.message
    assert len(rows_of(target)) == 16
    assert len(national.provisions()) > written  # the first run's only


@pytest.fixture
def unfinished(tmp_path: Path) -> tuple[str, NodeIdentity]:
    """``codes.csv`` → ``answers.jsonl`` broke off before its first row: the node's
    port refused the connection. The URL of that port and the agency."""
    (tmp_path / "codes.csv").write_text(
        "".join(f"{generate_resident_code()}\n" for _ in range(3)), encoding="utf-8"
    )
    _, agency = identities(tmp_path)
    with socket.socket() as closed:  # bound, never listening: connections are refused
        closed.bind(("127.0.0.1", free_port_block(1)))
        url = f"https://127.0.0.1:{closed.getsockname()[1]}"
        with pytest.raises(PeerUnreachable):
            asyncio.run(run(url, agency, tmp_path / "codes.csv", tmp_path / "answers.jsonl"))
    assert sidecar_of(tmp_path / "answers.jsonl").exists()
    return url, agency


@pytest.mark.parametrize(
    ("case", "phrase"),
    [
        ("another input file", "the answers to another file"),
        ("another affair", "affair 'onkyu-entitlement', not 'passport-issuance'"),
        ("not an answer file", "not a batch answer row"),
        ("rows beyond the input", "has 3 lines"),
        ("no unfinished batch", "nothing to resume"),
    ],
)
def test_a_resume_that_does_not_fit_is_refused_before_anything_is_sent(
    unfinished: tuple[str, NodeIdentity], tmp_path: Path, case: str, phrase: str
) -> None:
    """Refused with one sentence (``InvalidInput``; the node, which would refuse the
    connection, is never asked) and the answer file is left as it was."""
    url, agency = unfinished
    source, target = tmp_path / "codes.csv", tmp_path / "answers.jsonl"
    affair = "passport-issuance" if case == "another affair" else AFFAIR
    if case == "another input file":
        source = tmp_path / "other.csv"
        source.write_text(f"{generate_resident_code()}\n", encoding="utf-8")
    if case == "not an answer file":
        target.write_text("resident_code\n", encoding="utf-8")
    if case == "rows beyond the input":
        target.write_text('{"row": 99, "found": false}\n', encoding="utf-8")
    if case == "no unfinished batch":
        sidecar_of(target).unlink()
    before = target.read_bytes()
    with pytest.raises(InvalidInput) as refused:
        asyncio.run(run(url, agency, source, target, affair=affair, resume=True))
    message = refused.value.message.replace(str(tmp_path), "")
    assert phrase in message and len(message) < 250
    assert target.read_bytes() == before
