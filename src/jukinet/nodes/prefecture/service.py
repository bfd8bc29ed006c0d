"""Use cases of the prefecture node: set-up, identity updates in and on, status, reconcile.

The prefecture holds identity information only (R1). It takes updates from the
municipalities of its prefecture and forwards each applied one to the national node
through its outbox (docs/network.md, "Identity updates", step 4).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from functools import partial
from pathlib import Path

from jukinet.config import NetworkSettings, NodeConfig
from jukinet.domain.codes import parse_local_government_code, prefecture_code_of
from jukinet.errors import InvalidLocalGovernmentCode
from jukinet.keys import NodeKey
from jukinet.network.messages import NodeStatus, UpdateAck, UpdateBatch, node_id
from jukinet.network.outbox import DeliveryWorker, Send
from jukinet.nodes.identity.authority import Sender, admit_to_prefecture
from jukinet.nodes.identity.setup import init_identity_node
from jukinet.nodes.identity.store import IdentityStore
from jukinet.nodes.prefecture.store import MIGRATIONS, PrefectureStore, open_store
from jukinet.nodes.prefecture.tables import outbox

KIND = "prefecture"
NATIONAL = node_id("national", "national")


def init_node(
    home: Path,
    code: str,
    name: str,
    database_url: str | None,
    key: NodeKey,
    *,
    network: NetworkSettings | None = None,
) -> NodeConfig:
    """Create a prefecture node in ``home``: migrated database, node key, node.toml."""
    parsed = parse_local_government_code(code)
    if prefecture_code_of(parsed) != parsed:
        raise InvalidLocalGovernmentCode(
            f"{parsed} is a municipality's code; a prefecture's code is its two digits, "
            f"000 and a check digit ({prefecture_code_of(parsed)} here)."
        )
    return init_identity_node(
        home, KIND, parsed, name, database_url, key, migrations=MIGRATIONS, network=network
    )


def open_node(home: Path) -> PrefectureStore:
    return open_store(home)


def receive(store: IdentityStore, sender: Sender, batch: UpdateBatch) -> UpdateAck:
    """Apply a municipality's batch and queue every applied update for the national node."""
    authority = partial(admit_to_prefecture, store.code)
    return store.apply_batch(sender, batch, authority=authority)


def delivery_worker(store: IdentityStore, send: Send, *, poll: float = 1.0) -> DeliveryWorker:
    """The worker that forwards this prefecture's outbox to the national node, woken by
    every transaction that puts updates into it (in this process or, through the wake
    socket, another); ``poll`` is its fallback poll."""
    worker = DeliveryWorker(
        store.engine, outbox, store.node_id, send, idle=poll, wake_socket=store.wake_socket,
        writers=lambda: store.writers,
    )  # fmt: skip
    store.wakers.append(worker.wake)
    return worker


def status(
    store: IdentityStore,
    *,
    started_at: datetime,
    directory_version: int,
    worker: DeliveryWorker | None = None,
) -> NodeStatus:
    link = store.outbox_link(NATIONAL, worker)
    return store.status(started_at=started_at, directory_version=directory_version, links=[link])


def export(store: IdentityStore, municipality: str) -> Iterator[dict[str, str]]:
    """The identities this node holds from one municipality (reconcile)."""
    return store.export(parse_local_government_code(municipality))
