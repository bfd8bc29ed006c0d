"""An agency batch keeps two chunks in flight (R24): the next chunk's request reaches the
node while the answer of the one before is still being read, and the rows still come
in input order, each chunk's progress reported once it is answered. Over real mTLS
with the node's real provision router.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from jukinet.agency.client import AgencyClient, AgencySettings
from jukinet.domain.codes import generate_resident_code
from jukinet.errors import PeerRefused
from tests.integration.provision.nodes import Node
from tests.integration.test_batch_resume import AFFAIR, national, node_app
from tests.mtls import identities, serving

__all__ = ["national"]  # the fixture, shared with the resume tests


class HoldFirst:
    """Holds the end of the first batch answer until a second batch request has come
    (at most ``patience`` seconds, so that a client sending one chunk at a time makes
    the test fail instead of hang); records whether it came while held."""

    def __init__(self, app: Any, patience: float = 20.0) -> None:
        self.app, self.patience = app, patience
        self.requests = 0
        self.second = asyncio.Event()
        self.overlapped: bool | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != "/provision/batch":
            await self.app(scope, receive, send)
            return
        self.requests += 1
        number = self.requests
        if number == 2:
            self.second.set()

        async def holding(message: dict[str, Any]) -> None:
            last = message["type"] == "http.response.body" and not message.get("more_body")
            if number == 1 and last and self.overlapped is None:
                try:
                    await asyncio.wait_for(self.second.wait(), self.patience)
                    self.overlapped = True
                except TimeoutError:
                    self.overlapped = False
            await send(message)

        await self.app(scope, receive, holding)


def test_a_batch_keeps_two_chunks_in_flight_and_answers_in_order(
    national: Node, tmp_path: Path
) -> None:
    codes = [national.person() for _ in range(8)]
    lines = [*codes[:4], "abc", generate_resident_code(), *codes[4:]]
    server, agency = identities(tmp_path)
    app = HoldFirst(node_app(national))
    seen: list[int] = []

    async def scenario() -> list[Any]:
        async with serving(app, server) as url, AgencyClient(AgencySettings(agency, url, url)) as c:
            return [row async for row in c.batch(AFFAIR, lines, chunk=3, progress=seen.append)]

    rows = asyncio.run(scenario())
    assert app.overlapped is True and app.requests == 4
    assert [r.row for r in rows] == list(range(1, 11))
    assert [r.resident_code for r in rows] == [*codes[:4], None, lines[5], *codes[4:]]
    assert [r.found for r in rows] == [True] * 4 + [False, False] + [True] * 4
    assert seen == [3, 6, 9, 10]


def test_a_refused_batch_sends_no_second_chunk(national: Node, tmp_path: Path) -> None:
    """R2: a batch the node refuses is refused once, with one audit entry: the next
    chunk goes up only once the one before is being answered."""
    lines = [national.person() for _ in range(7)]
    server, agency = identities(tmp_path)
    app = HoldFirst(node_app(national), patience=0.1)
    before = national.counts()

    async def scenario() -> None:
        async with serving(app, server) as url, AgencyClient(AgencySettings(agency, url, url)) as c:
            async for _row in c.batch("passport-issuance", lines, chunk=3):
                pass

    with pytest.raises(PeerRefused, match="403"):
        asyncio.run(scenario())
    assert app.requests == 1
    assert national.counts() == (before[0], before[1] + 1)
