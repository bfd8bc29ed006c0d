"""Intrusion detection at the nodes (R7, docs/ids.md): alerts go to the national console.

Every node's lifespan runs ``report_alerts``: the alerts its rules engine raised since
the last report, sent to the national node's ``POST /ids/alerts`` (kept and sent
again when national cannot be reached). The national node's ``router`` appends each
reported alert to ``log/alerts.jsonl`` in its home, with the verified caller as the
reporting node; ``read_alerts`` is what ``jukinet ids alerts`` shows: those and the
national node's own alerts (in its security log), oldest first.

Every alert the national node learns of, reported or its own, is also one entry in
its audit log (``ids.alert``, or ``ids.block`` when the rule blocked a source; the
detail is the alert as canonical JSON): the safety report (R25, docs/report.md)
counts them from the audit bundle, whose entries are signed, and not from the plain
``alerts.jsonl``, which anyone with the home could edit.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter

from jukinet.audit.log import Draft
from jukinet.network.client import NodeClient
from jukinet.network.messages_ids import AlertReport, AlertsStored, IdsAlert
from jukinet.network.peer import Caller
from jukinet.network.seclog import SECURITY_LOG, SecurityLog, ecs_line
from jukinet.nodes.runtime import NodeRuntime

__all__ = [
    "ALERTS_LOG",
    "alert_draft",
    "alert_message",
    "audit_own_alerts",
    "read_alerts",
    "report_alerts",
    "reporting",
    "router",
]

ALERTS_LOG = Path("log") / "alerts.jsonl"  # in the national node's home
log = logging.getLogger("jukinet.network")


def alert_message(record: dict[str, Any]) -> IdsAlert:
    """An alert line of the security log as its message."""
    own = record.get("jukinet", {})
    until = own.get("blocked_until")
    return IdsAlert(
        at=datetime.fromisoformat(record["@timestamp"]),
        rule=record["rule"]["name"],
        key=own["key"],
        value=str(own["value"])[:200],
        count=float(own["count"]),
        reason=record["event"].get("reason", "")[:1000],
        source_ip=record.get("source", {}).get("ip"),
        blocked_until=datetime.fromisoformat(until) if until else None,
    )


def alert_draft(node: str, alert: IdsAlert) -> Draft:
    """The national node's audit entry of ``alert``, raised by ``node`` (R7, R12, R25)."""
    body = json.dumps(
        alert.model_dump(mode="json"), ensure_ascii=False, sort_keys=True, separators=(",", ":")
    )
    operation = "ids.alert"  # blocked_until in the detail; ids.block/ids.lift are the hotlist's
    return Draft(node, operation, alert.rule, detail=body)


Audit = Callable[[Draft], None]


def reporting(runtime: NodeRuntime, client: NodeClient) -> Coroutine[Any, Any, None]:
    """The node's alert reports to national, as its lifespan runs them (``background``)."""

    def national() -> str | None:
        for entry in runtime.directory.entries():
            if entry.role == "national" and entry.url and entry.status == "active":
                return entry.url.rstrip("/")
        return None

    security: SecurityLog = runtime.security
    return report_alerts(security, client, national)


async def report_alerts(
    security: SecurityLog,
    client: NodeClient,
    national: Callable[[], str | None],
    every: float = 10.0,
) -> None:
    """Send the engine's new alerts to national every ``every`` seconds, until cancelled."""
    sent = 0
    while True:
        await asyncio.sleep(every)
        engine = security.engine
        national_url = national()
        if engine is None or len(engine.alerts) <= sent or national_url is None:
            continue
        batch = engine.alerts[sent : sent + 200]
        try:
            await client.post(
                f"{national_url}/ids/alerts",
                AlertReport(alerts=[alert_message(a) for a in batch]),
            )
        except Exception as exc:  # kept, sent with the next report
            log.warning("could not report %d IDS alert(s): %s", len(batch), exc)
            continue
        sent += len(batch)


async def audit_own_alerts(
    security: SecurityLog, audit: Audit, node: str, every: float = 10.0
) -> None:
    """The national node's own alerts into its audit log every ``every`` s, until cancelled."""
    done = 0
    while True:
        await asyncio.sleep(every)
        engine = security.engine
        if engine is None or len(engine.alerts) <= done:
            continue
        batch = engine.alerts[done:]
        try:
            for record in batch:
                await asyncio.to_thread(audit, alert_draft(node, alert_message(record)))
                done += 1
        except Exception as exc:  # tried again with the next round
            log.warning("could not audit %d IDS alert(s): %s", len(batch), exc)


def router(home: Path, audit: Audit | None = None) -> APIRouter:
    """The national node's ``POST /ids/alerts``: reported alerts kept in ``log/alerts.jsonl``
    and, with ``audit``, one audit entry each."""
    routes = APIRouter()
    path = home / ALERTS_LOG
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = threading.Lock()

    def store(node: str, report: AlertReport) -> int:
        lines = [
            ecs_line({"node": node, **alert.model_dump(mode="json")}) + "\n"
            for alert in report.alerts
        ]
        with lock, path.open("a", encoding="utf-8") as out:
            out.writelines(lines)
        if audit is not None:
            for alert in report.alerts:
                audit(alert_draft(node, alert))
        return len(lines)

    @routes.post("/ids/alerts")
    async def alerts(report: AlertReport, peer: Caller) -> AlertsStored:
        return AlertsStored(stored=await asyncio.to_thread(store, peer.node_id, report))

    return routes


def read_alerts(home: Path, node_id: str) -> list[dict[str, Any]]:
    """Every alert the national node in ``home`` knows: reported ones and its own."""
    rows: list[dict[str, Any]] = []
    reported = home / ALERTS_LOG
    if reported.exists():
        rows += [json.loads(line) for line in reported.read_text(encoding="utf-8").splitlines()]
    own = home / SECURITY_LOG
    if own.exists():
        for line in own.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            if record.get("event", {}).get("kind") == "alert":
                rows.append({"node": node_id, **alert_message(record).model_dump(mode="json")})
    return sorted(rows, key=lambda row: str(row["at"]))
