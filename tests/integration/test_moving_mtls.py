"""Moving with the card between the two municipality apps themselves (R21, R3), served
over real mutual TLS with signed requests on SQLite and PostgreSQL: the certificate
information waits in Chiyoda's outbox while Kita is down (a municipality that is down
delays a move, never loses it), goes when Kita is up, and the move-in notice comes
back by the same endpoint, ``POST /moving``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from jukinet import config
from jukinet.network.server import serve_async
from jukinet.nodes.municipality import api, moving_in, moving_link, moving_out, service
from jukinet.nodes.municipality.tables import incoming_moves, moving_outbox
from jukinet.seed.places import Places
from tests.conftest import UrlFactory
from tests.integration.moving_net import TODAY, UMEDA, Moving, Side, make_network, state_of


@pytest.fixture
def net(tmp_path: Path, database: UrlFactory, places: Places) -> Iterator[Moving]:
    yield from make_network(tmp_path, database, places)


@asynccontextmanager
async def served(side: Side) -> AsyncIterator[None]:
    cfg = config.load(side.home)
    stop = asyncio.Event()
    task = asyncio.create_task(
        serve_async(api.create_app(side.home), host="127.0.0.1", port=side.port,
                    cert_path=cfg.cert_path, key_path=cfg.key_path, ca_path=cfg.ca_path,
                    stop=stop)
    )  # fmt: skip
    try:
        yield
    finally:
        stop.set()
        await task


async def until(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(check):
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.1)


def _backlog(side: Side) -> int:
    with side.store.engine.connect() as conn:
        return moving_link.backlog(conn)


def test_a_move_waits_for_a_municipality_that_is_down_and_completes_over_mtls(
    net: Moving,
) -> None:
    async def scenario() -> None:
        async with served(net.old):
            await asyncio.to_thread(
                moving_out.notify, net.old.store, net.old.clerk, net.notification(), TODAY
            )
            await asyncio.sleep(1.5)  # the worker tries Kita, which is down, and backs off
            assert _backlog(net.old) == 1
            status = service.status(net.old.store, "prefecture:130001",
                                    started_at=datetime.now(UTC), directory_version=1)  # fmt: skip
            assert [(k.node_id, k.outbox_backlog) for k in status.links[1:]] == [
                ("municipality:271276 (moving)", 1)
            ]
            async with served(net.new):
                await until(
                    lambda: (
                        state_of(net.new.store, incoming_moves, origin="131016", move_id=1)
                        == "pending"
                    ),
                    "the certificate information never reached Kita",
                )
                # Chiyoda marks the message delivered once Kita's answer is back, a
                # moment after Kita committed it.
                await until(lambda: _backlog(net.old) == 0, "Chiyoda never saw it delivered")
                await asyncio.to_thread(
                    moving_in.move_in_with_card, net.new.store, net.new.clerk, net.card(),
                    UMEDA, TODAY, TODAY, TODAY,
                )  # fmt: skip
                await until(
                    lambda: moving_out.planned_move(net.old.store, 1).state == "completed",
                    "the move-in notice never reached Chiyoda",
                )

    asyncio.run(scenario())
    with net.new.store.engine.connect() as conn:
        delivered = conn.execute(select(moving_outbox.c.delivered_at)).scalars().all()
    assert len(delivered) == 1 and delivered[0] is not None
