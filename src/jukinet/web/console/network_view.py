"""What the console shows of the network, read with the same service code as
``jukinet network status``, ``emergency status``, ``ids alerts`` and ``ids blocks``:
every node's status over mTLS as the operations monitor, and the national node's
signed directory (verified) for the orders in force and the hotlist."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jukinet.config import DIRECTORY_FILE, NATIONAL_KEY_FILE
from jukinet.keys import load_public_key
from jukinet.network import monitor
from jukinet.network.directory import verify_directory
from jukinet.network.emergency import OPERATORS_FILE, State, load_operators, state_of
from jukinet.network.hotlist import alert_id
from jukinet.network.layout import NetworkLayout
from jukinet.network.messages import Directory, SignedDirectory
from jukinet.network.messages_emergency import CarriedOrder
from jukinet.network.messages_hotlist import HotlistEntry
from jukinet.network.topology import NodeSpec
from jukinet.nodes.ids_api import read_alerts


@dataclass(frozen=True, slots=True)
class NodeRow:
    node_id: str
    name: str
    prefecture: str | None  # two digits, None for the national node
    state: str  # up, stopped, down
    directory_version: int | None
    expires_in: int | None  # seconds
    backlog: int | None
    last_delivery: str
    error: str


def _prefecture(spec: NodeSpec) -> str | None:
    return None if spec.role == "national" else spec.code[:2]


async def node_rows(layout: NetworkLayout, specs: list[NodeSpec]) -> list[NodeRow]:
    rows = []
    now = datetime.now(UTC)
    for r in await monitor.statuses(layout, specs):
        pref = _prefecture(r.spec)
        if r.status is None:
            stopped = bool(r.error and "stopped" in r.error and "(R9)" in r.error)
            rows.append(NodeRow(r.spec.node_id, r.spec.name, pref,
                                "stopped" if stopped else "down", None, None, None, "",
                                r.error or ""))  # fmt: skip
            continue
        s = r.status
        link = s.links[0] if s.links else None
        left = (None if s.directory_expires_at is None
                else int((s.directory_expires_at - now).total_seconds()))  # fmt: skip
        rows.append(NodeRow(
            s.node_id, r.spec.name, pref, "up", s.directory_version, left,
            link.outbox_backlog if link else None,
            str(link.last_delivery_at or "") if link else "",
            (link.last_error or "") if link else "",
        ))  # fmt: skip
    return rows


def directory(home: Path) -> Directory:
    """The national node's directory, its signature checked."""
    signed = SignedDirectory.model_validate_json((home / DIRECTORY_FILE).read_bytes())
    return verify_directory(signed, load_public_key(home / NATIONAL_KEY_FILE))


def emergency_state(home: Path) -> tuple[State, list[CarriedOrder]]:
    current = directory(home)
    return state_of(current.orders, load_operators(home / OPERATORS_FILE)), list(current.orders)


def hotlist(home: Path) -> list[HotlistEntry]:
    now = datetime.now(UTC)
    return sorted(directory(home).hotlist, key=lambda e: (not e.in_force(now), e.since))


def alerts(home: Path, node_id: str) -> list[dict[str, Any]]:
    """The IDS alerts the national node gathered, newest first, each with its id."""
    rows = [{**row, "id": alert_id(row)} for row in read_alerts(home, node_id)]
    return list(reversed(rows))
