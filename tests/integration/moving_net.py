"""Two municipalities of two prefectures made by ``network init`` (on SQLite or
PostgreSQL), for the tests of moving with the card (R21): Chiyoda (Tokyo) with a family
whose head holds a card, and Osaka's Kita ward. ``deliver`` carries the moving outbox
of one to the other in process through the real worker and receiver; the mTLS test
serves both apps instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import insert, select

from jukinet.deploy.network import ADMIN, init_network
from jukinet.domain import events as ev
from jukinet.domain import moving
from jukinet.domain.access import Role, Session
from jukinet.domain.codes import LocalGovernmentCode
from jukinet.domain.identity import Sex
from jukinet.domain.record import Address, ResidentRecord
from jukinet.network.layout import NetworkLayout
from jukinet.network.messages_moving import MovingAck, MovingMessage
from jukinet.network.topology import free_port_block, load_topology
from jukinet.nodes.municipality import moving_receive, service, staff
from jukinet.nodes.municipality.card_window import CardRead
from jukinet.nodes.municipality.moving_link import MovingWorker
from jukinet.nodes.municipality.setup import open_register
from jukinet.nodes.municipality.store import RegisterStore
from jukinet.nodes.municipality.tables import cards
from jukinet.seed.places import Places
from tests.conftest import LAST_YEAR, PASSWORD, UrlFactory
from tests.helpers import MARUNOUCHI, card_session, person

TODAY = date.today()
CHIYODA, KITA = "131016", "271276"
UMEDA = Address(LocalGovernmentCode(KITA), "大阪府大阪市北区", "梅田", "一丁目1番1号")
CARD_NUMBER = "123456789012"


def topology(base: int) -> str:
    return f"""
[network]
name = "moving"
[national]
port = {base}
[[prefectures]]
code = "130001"
port = {base + 1}
[[prefectures]]
code = "270008"
port = {base + 2}
[[municipalities]]
code = "{CHIYODA}"
port = {base + 3}
residents = 0
[[municipalities]]
code = "{KITA}"
port = {base + 4}
residents = 0
"""


@dataclass
class Side:
    store: RegisterStore
    clerk: Session
    home: Path
    port: int


@dataclass
class Moving:
    layout: NetworkLayout
    old: Side  # Chiyoda
    new: Side  # Kita
    family: tuple[ResidentRecord, ...]  # head (card holder), wife, child

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(r.resident_code for r in self.family)

    def notification(
        self,
        persons: tuple[str, ...] | None = None,
        planned: date = TODAY,
        notified: date = TODAY,
        new_head: str | None = None,
    ) -> moving.MoveNotification:
        return moving.MoveNotification(
            self.codes[0], persons if persons is not None else self.codes, KITA,
            "大阪府大阪市北区梅田一丁目1番1号", planned, notified, "mail", new_head,
        )  # fmt: skip

    def card(self, code: str | None = None, number: str = CARD_NUMBER) -> CardRead:
        """What the window read of the card after mutual authentication and the PIN."""
        return CardRead(number, code or self.codes[0], CHIYODA, TODAY + timedelta(days=3650))


def _side(layout: NetworkLayout, code: str, port: int) -> Side:
    home = layout.node(f"municipality:{code}")
    store = open_register(home)
    admin = card_session(store, ADMIN)
    staff.add(
        store, admin, username="clerk", full_name="Clerk", role=Role.CLERK, password=PASSWORD,
        trained_on=LAST_YEAR, pledge_signed_on=LAST_YEAR,
    )  # fmt: skip
    return Side(store, card_session(store, "clerk"), home, port)


def make_network(root: Path, database: UrlFactory, places: Places) -> Iterator[Moving]:
    base = free_port_block(5)
    (root / "topology.toml").write_text(topology(base))
    topo = load_topology(root / "topology.toml", places)
    layout = init_network(
        topo, places, root / "net", database_url_for=lambda n: database(n.replace(":", "_")),
        pool_size=60,
    )  # fmt: skip
    old, new = _side(layout, CHIYODA, base + 3), _side(layout, KITA, base + 4)
    wife = person("花子", "ハナコ", born=date(1982, 3, 3), sex=Sex.FEMALE, relationship="妻")
    child = person("一郎", "イチロウ", born=date(2015, 7, 7), relationship="子")
    arrival = ev.MoveInFromAbroad(
        (person(), wife, child), MARUNOUCHI, "アメリカ合衆国", TODAY - timedelta(days=400),
        TODAY - timedelta(days=400),
    )  # fmt: skip
    receipt = service.record_event(old.store, old.clerk, arrival, TODAY)
    with old.store.transaction() as tx:
        tx.conn.execute(
            insert(cards).values(
                card_number=CARD_NUMBER, resident_code=receipt.records[0].resident_code,
                state="active", issued_on=LAST_YEAR, valid_until=TODAY + timedelta(days=3650),
                auth_serial="01", sign_serial="02", changed_on=LAST_YEAR, reason="issued",
            )
        )  # fmt: skip
    try:
        yield Moving(layout, old, new, receipt.records)
    finally:
        old.store.close()
        new.store.close()


def deliver(sender: Side, receiver: Side) -> list[MovingAck]:
    """One round of ``sender``'s moving worker, each message taken by ``receiver``."""
    acks: list[MovingAck] = []

    async def send(to: str, message: MovingMessage) -> MovingAck:
        assert to == receiver.store.code
        ack = await asyncio.to_thread(
            moving_receive.receive, receiver.store, sender.store.code, message, TODAY
        )
        acks.append(ack)
        return ack

    asyncio.run(MovingWorker(sender.store.engine, send).run_once())
    return acks


def state_of(store: RegisterStore, table: object, **key: object) -> str | None:
    t = table  # a Table with a state column
    query = select(t.c.state)  # type: ignore[attr-defined]
    for k, v in key.items():
        query = query.where(t.c[k] == v)  # type: ignore[attr-defined]
    with store.engine.connect() as conn:
        return conn.execute(query).scalar()
