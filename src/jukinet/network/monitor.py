"""The operations monitor: health, status and reconciliation of a running network.

It speaks to the nodes like any peer: over mTLS, with its own certificate
(``monitor:operations``) and signed requests, and only to the endpoints the monitor
role may call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass

from jukinet.errors import JukinetError
from jukinet.network.client import NodeClient, NodeIdentity
from jukinet.network.layout import MONITOR_ID, NetworkLayout
from jukinet.network.messages import NodeStatus
from jukinet.network.topology import NodeSpec, Topology

COMPARED = ("name", "date_of_birth", "sex", "address", "status", "change_reason", "change_date")


def monitor_identity(layout: NetworkLayout) -> NodeIdentity:
    return NodeIdentity.in_folder(MONITOR_ID, layout.client(MONITOR_ID))


async def healthy(layout: NetworkLayout, spec: NodeSpec) -> bool:
    try:
        async with NodeClient(monitor_identity(layout), timeout=2.0) as client:
            await client.get(f"{spec.url}/health")
    except JukinetError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class Reading:
    spec: NodeSpec
    status: NodeStatus | None
    error: str | None


async def statuses(layout: NetworkLayout, specs: Iterable[NodeSpec]) -> list[Reading]:
    async with NodeClient(monitor_identity(layout), timeout=5.0) as client:

        async def one(spec: NodeSpec) -> Reading:
            try:
                data = await client.get(f"{spec.url}/status")
                return Reading(spec, NodeStatus.model_validate(data), None)
            except JukinetError as exc:
                return Reading(spec, None, str(exc))

        return list(await asyncio.gather(*(one(s) for s in specs)))


@dataclass(frozen=True, slots=True)
class Difference:
    municipality: str
    resident_code: str
    holder: str  # the node whose copy differs from the municipality's
    what: str


async def reconcile(layout: NetworkLayout, topology: Topology) -> tuple[int, list[Difference]]:
    """Compare every municipality's identity information with its prefecture's and the
    national node's copies; returns (identities compared, differences)."""
    differences: list[Difference] = []
    compared = 0
    async with NodeClient(monitor_identity(layout), timeout=120.0) as client:
        for m in topology.municipalities:
            copies = [
                (topology.prefecture_of(m.code), f"?municipality={m.code}"),
                (topology.national, f"?municipality={m.code}"),
            ]
            source = {r["resident_code"]: r async for r in client.lines(f"{m.url}/identities")}
            compared += len(source)
            for holder, query in copies:
                held = {
                    r["resident_code"]: r
                    async for r in client.lines(f"{holder.url}/identities{query}")
                }
                differences += _compare(m.code, holder.node_id, source, held)
    return compared, differences


def _compare(
    municipality: str,
    holder: str,
    source: dict[str, dict[str, object]],
    held: dict[str, dict[str, object]],
) -> list[Difference]:
    out: list[Difference] = []
    for code in sorted(source.keys() - held.keys()):
        out.append(Difference(municipality, code, holder, "missing"))
    for code in sorted(held.keys() - source.keys()):
        out.append(Difference(municipality, code, holder, "not in the municipality's register"))
    for code in sorted(source.keys() & held.keys()):
        a, b = source[code], held[code]
        fields = [f for f in COMPARED if str(a.get(f)) != str(b.get(f))]
        if fields:
            detail = ", ".join(f"{f}: {a.get(f)!r} here, {b.get(f)!r} there" for f in fields)
            out.append(Difference(municipality, code, holder, detail))
    return out
