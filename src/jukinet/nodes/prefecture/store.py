"""The prefecture node's database: identity information of its municipalities' residents
(R1), and the outbox through which each applied update goes on to the national node.
Queries of the shared identity tables are in ``nodes/identity/store.py``."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from jukinet.keys import NodeKey
from jukinet.network import wakeup
from jukinet.nodes.identity import setup
from jukinet.nodes.identity.store import IdentityStore
from jukinet.nodes.prefecture.tables import outbox

KIND = "prefecture"
MIGRATIONS = Path(__file__).parent / "migrations"


class PrefectureStore(IdentityStore):
    """Every applied update also goes into the outbox towards the national node."""

    def __init__(self, engine: Engine, key: NodeKey) -> None:
        super().__init__(engine, key, forward_to=outbox)


def migrate(engine: Engine) -> None:
    setup.migrate_identity(engine, MIGRATIONS)


def open_store(home: Path) -> PrefectureStore:
    store = setup.open_identity_node(home, KIND, MIGRATIONS, PrefectureStore)
    store.wake_socket = wakeup.wake_path(home)  # a CLI's release wakes the node's worker
    return store
