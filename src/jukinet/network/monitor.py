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

# A removed record (転出) missing from a copy: fine if the copy holds it under the
# municipality the person moved to (``_moved``), else "missing".
MOVED_AWAY = "missing (moved out: held under another municipality?)"
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
    national node's copies; returns (identities compared, differences).

    A person who moved is removed (転出) in the register moved from, and the copy there
    goes on to name the municipality moved to once its move-in arrived: a removed
    record that a copy holds under another municipality is no difference (``_moved``).
    """
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
        differences = await _moved(client, topology, differences)
    return compared, differences


async def _moved(
    client: NodeClient, topology: Topology, differences: list[Difference]
) -> list[Difference]:
    """``differences`` without the removed records that moved: a code missing from a copy
    under the municipality that removed it (by move-out) but held there under another."""
    moved = [d for d in differences if d.what == MOVED_AWAY]
    if not moved:
        return differences
    holders = {topology.national.node_id: topology.national.url} | {
        p.node_id: p.url for p in topology.prefectures
    }
    elsewhere: dict[str, dict[str, str]] = {}  # holder: code -> municipality holding it now
    for holder in {d.holder for d in moved}:
        wanted = {d.resident_code: d.municipality for d in moved if d.holder == holder}
        found: dict[str, str] = {}
        for m in topology.municipalities:
            async for r in client.lines(f"{holders[holder]}/identities?municipality={m.code}"):
                code = r["resident_code"]
                if code in wanted and wanted[code] != m.code:
                    found[code] = m.code
        elsewhere[holder] = found
    kept = [d for d in differences if d.what != MOVED_AWAY]
    for d in moved:
        if d.resident_code not in elsewhere[d.holder]:
            kept.append(Difference(d.municipality, d.resident_code, d.holder, "missing"))
    return kept


def _compare(
    municipality: str,
    holder: str,
    source: dict[str, dict[str, object]],
    held: dict[str, dict[str, object]],
) -> list[Difference]:
    out: list[Difference] = []
    for code in sorted(source.keys() - held.keys()):
        r = source[code]
        gone = r.get("status") == "removed" and r.get("change_reason") == "move-out"
        out.append(Difference(municipality, code, holder, MOVED_AWAY if gone else "missing"))
    for code in sorted(held.keys() - source.keys()):
        out.append(Difference(municipality, code, holder, "not in the municipality's register"))
    for code in sorted(source.keys() & held.keys()):
        a, b = source[code], held[code]
        fields = [f for f in COMPARED if str(a.get(f)) != str(b.get(f))]
        if fields:
            detail = ", ".join(f"{f}: {a.get(f)!r} here, {b.get(f)!r} there" for f in fields)
            out.append(Difference(municipality, code, holder, detail))
    return out
