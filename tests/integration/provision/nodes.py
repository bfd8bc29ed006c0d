"""Identity nodes for the provision tests (R2, R4, R5, R14, R23, R24): a node fed with
updates by a sender, the people it holds, its provision rows and audit, and a POST
through an app's ASGI interface.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from jukinet.audit import log as audit
from jukinet.domain.codes import generate_resident_code
from jukinet.domain.legal_parse import load_shipped_legal_table
from jukinet.keys import NodeKey
from jukinet.network.messages import IdentityUpdate, UpdateBatch
from jukinet.network.peer import Peer
from jukinet.nodes.identity import tables as ids
from jukinet.nodes.identity.store import IdentityStore
from jukinet.nodes.national.store import NationalStore
from jukinet.nodes.prefecture import service as prefecture_service
from tests import asgi
from tests.conftest import UrlFactory

TOKYO = "130001"
OSAKA = "270008"
CHIYODA = "131016"
MARUNOUCHI = "東京都千代田区丸の内一丁目1番1号"
TABLE = load_shipped_legal_table()
CLERK = "municipality:131016"


@dataclass
class Node:
    """An identity node and a sender that feeds it updates (authority checked elsewhere)."""

    store: IdentityStore
    seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def apply(self, *updates: dict[str, Any]) -> None:
        msgs = [
            IdentityUpdate(
                seq=next(self.seq),
                origin=CHIYODA,
                recorded_at=datetime.now(UTC),
                **{
                    "name": "山田 太郎", "date_of_birth": date(1950, 5, 5), "sex": "male",
                    "address": MARUNOUCHI, "status": "resident", "change_reason": "birth",
                    "change_date": date(1950, 5, 5), **u,
                },
            )
            for u in updates
        ]  # fmt: skip
        if isinstance(self.store, NationalStore):  # the registry issued the codes (R6)
            codes = {m.resident_code for m in msgs if not self.store.was_issued(m.resident_code)}
            with self.store.transaction() as conn:
                self.store.record_issued(conn, sorted(codes), CHIYODA, "2025-01-01T00:00:00")
        sender = Peer("prefecture:130001", "prefecture", TOKYO)
        batch = UpdateBatch(sender=sender.node_id, updates=msgs)
        self.store.apply_batch(sender, batch, authority=lambda s, u: None)

    def person(self, **fields: Any) -> str:
        code = fields.pop("resident_code", None) or generate_resident_code()
        self.apply({"resident_code": code, **fields})
        return code

    def provisions(self) -> list[Any]:
        with self.store.engine.connect() as conn:
            return list(conn.execute(select(ids.provisions).order_by(ids.provisions.c.id)))

    def audit(self) -> list[audit.Entry]:
        with self.store.engine.connect() as conn:
            return list(audit.entries(conn))

    def counts(self) -> tuple[int, int]:
        with self.store.engine.connect() as conn:
            n = conn.execute(select(func.count()).select_from(ids.provisions)).scalar_one()
            a = conn.execute(select(func.count()).select_from(ids.audit_log)).scalar_one()
        return int(n), int(a)


def prefecture_store(database: UrlFactory, home: Path, code: str, name: str) -> IdentityStore:
    prefecture_service.init_node(home, code, name, database(code), NodeKey.generate())
    return prefecture_service.open_node(home)


def expected_fields(affair_fields: frozenset[str], sector: str | None) -> set[str]:
    if sector is None:
        return set(affair_fields)
    return (set(affair_fields) - {"resident_code"}) | {"pseudonym"}


async def asgi_post(
    app: Any, path: str, body: bytes, query: bytes = b"", media: bytes = b"application/json"
) -> tuple[int, dict[str, str], bytes]:
    target = f"{path}?{query.decode()}" if query else path
    answer = await asgi.call(app, "POST", target, body, {"content-type": media.decode()},
                             scheme="http")  # fmt: skip
    return answer.status, answer.headers, answer.body
