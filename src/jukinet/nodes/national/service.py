"""Use cases of the national node: set-up, identity updates from prefectures, status, reconcile.

The national node holds identity information only (R1), of every resident, taken
from the prefectures (docs/network.md, "Identity updates", step 5). Code pools are
in ``pools``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from jukinet.config import NetworkSettings, NodeConfig
from jukinet.domain.codes import parse_local_government_code
from jukinet.errors import InvalidInput
from jukinet.keys import NodeKey
from jukinet.network.messages import NodeStatus, UpdateAck, UpdateBatch
from jukinet.nodes.identity.authority import Sender, admit_to_national
from jukinet.nodes.identity.setup import init_identity_node
from jukinet.nodes.identity.store import IdentityStore
from jukinet.nodes.national.store import MIGRATIONS, NationalStore, open_store

KIND = "national"
CODE = "national"


def init_node(
    home: Path,
    code: str,
    name: str,
    database_url: str | None,
    key: NodeKey,
    *,
    network: NetworkSettings | None = None,
) -> NodeConfig:
    """Create the national node in ``home``: migrated database, node key, node.toml."""
    if code != CODE:
        raise InvalidInput(f"The national node's code is {CODE!r}, not {code!r}.")
    return init_identity_node(
        home, KIND, code, name, database_url, key, migrations=MIGRATIONS, network=network
    )


def open_node(home: Path) -> NationalStore:
    return open_store(home)


def receive(store: IdentityStore, sender: Sender, batch: UpdateBatch) -> UpdateAck:
    """Apply a prefecture's batch (nothing goes further: the national node is the end)."""
    return store.apply_batch(sender, batch, authority=admit_to_national)


def status(store: IdentityStore, *, started_at: datetime, directory_version: int) -> NodeStatus:
    return store.status(started_at=started_at, directory_version=directory_version, links=[])


def export(store: IdentityStore, municipality: str) -> Iterator[dict[str, str]]:
    """The identities this node holds from one municipality (reconcile)."""
    return store.export(parse_local_government_code(municipality))
