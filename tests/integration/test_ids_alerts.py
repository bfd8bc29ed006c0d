"""IDS alerts reach the national node's console (R7): ``POST /ids/alerts``, ``ids alerts``.

A municipality's rules raise an alert; its reporting job sends it over real mTLS with
a real signature to a server with the national node's ``/ids/alerts`` row and route
(the server of ``test_transport``'s world), which keeps it under the verified caller;
``read_alerts`` (what ``jukinet ids alerts`` prints) shows it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI
from typer.testing import CliRunner

from jukinet.audit.log import Draft
from jukinet.cli import app as cli
from jukinet.network.client import NodeClient
from jukinet.network.directory import DirectoryView
from jukinet.network.endpoints import ENDPOINTS, EndpointTable, Role
from jukinet.network.ids import DEFAULT_RULES, Engine, parse_rules
from jukinet.network.peer import check_endpoints, install_problem_handlers, serve_endpoints
from jukinet.network.seclog import SecurityLog
from jukinet.network.signatures import ReplayCache
from jukinet.nodes import ids_api
from tests.integration.test_transport import CHIYODA, KITA, SERVER, World, _running, world

__all__ = ["world"]

TABLE = EndpointTable(tuple(r for r in ENDPOINTS if r.path == "/ids/alerts"))


def _national(world: World, home: Path, audited: list[Draft] | None = None) -> FastAPI:
    app = FastAPI(openapi_url=None)
    install_problem_handlers(app)
    serve_endpoints(app, Role.NATIONAL, SERVER, TABLE)
    app.state.directory = DirectoryView(world.signed(1), world.national.public_key())
    app.state.replay = ReplayCache()
    app.include_router(ids_api.router(home, None if audited is None else audited.append))
    return check_endpoints(app)


def test_a_municipalitys_alert_reaches_the_national_console(world: World, tmp_path: Path) -> None:
    rules, hours = parse_rules(DEFAULT_RULES)
    chiyoda = SecurityLog(CHIYODA, tmp_path / "chiyoda.jsonl", Engine(rules, hours))
    at = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    chiyoda.event("outside-scope", "failure", "not its own", caller=KITA, at=at)
    audited: list[Draft] = []

    async def main() -> None:
        async with (
            _running(_national(world, tmp_path, audited), world.identity(SERVER)) as url,
            NodeClient(world.identity(CHIYODA)) as client,
        ):
            job = asyncio.create_task(
                ids_api.report_alerts(chiyoda, client, lambda: url, every=0.1)
            )
            for _ in range(100):
                await asyncio.sleep(0.1)
                if (tmp_path / ids_api.ALERTS_LOG).exists():
                    break
            await asyncio.sleep(0.3)  # a second round sends nothing again
            job.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await job

    asyncio.run(main())
    [row] = ids_api.read_alerts(tmp_path, "national:000000")
    assert row["node"] == CHIYODA  # the verified caller
    assert (row["rule"], row["key"], row["value"]) == ("not-own", "jukinet.caller", KITA)
    assert row["at"].startswith("2026-12-01T03:00:00")
    # ... and one audit entry of the national node's, which the safety report counts (R25)
    [entry] = audited
    assert (entry.actor, entry.operation, entry.target) == (CHIYODA, "ids.alert", "not-own")
    assert json.loads(entry.detail)["value"] == KITA


def test_the_national_nodes_own_alerts_are_audited_once(tmp_path: Path) -> None:
    rules, hours = parse_rules(DEFAULT_RULES)
    national = SecurityLog("national:national", tmp_path / "n.jsonl", Engine(rules, hours))
    for _ in range(10):  # path-scan blocks the source at the 10th unknown path
        national.event("unknown-path", "failure", "no such path", source=("10.0.0.7", 1))
    audited: list[Draft] = []

    async def main() -> None:
        job = asyncio.create_task(
            ids_api.audit_own_alerts(national, audited.append, "national:national", every=0.05)
        )
        await asyncio.sleep(0.3)  # several rounds: each alert is audited once
        job.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await job

    asyncio.run(main())
    [entry] = audited
    assert (entry.operation, entry.target) == ("ids.alert", "path-scan")
    detail = json.loads(entry.detail)
    assert detail["value"] == "10.0.0.7" and detail["blocked_until"]


def test_ids_alerts_on_a_node_that_is_not_national_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "node.toml").write_text('kind = "municipality"\ncode = "131016"\n')
    result = CliRunner().invoke(cli, ["--home", str(tmp_path), "ids", "alerts"])
    assert result.exit_code != 0
    assert "Traceback" not in result.output


def test_ids_alerts_prints_every_reported_alert_on_the_national_console(tmp_path: Path) -> None:
    topology = tmp_path / "t.toml"
    topology.write_text(
        '[network]\nname = "ids"\n[national]\nport = 7400\n'
        '[[prefectures]]\ncode = "130001"\nport = 7410\n'
        '[[municipalities]]\ncode = "131016"\nport = 7420\nresidents = 0\n',
        encoding="utf-8",
    )
    runner = CliRunner()
    made = runner.invoke(cli, ["network", "init", "--topology", str(topology),
                               "--dir", str(tmp_path / "net")])  # fmt: skip
    assert made.exit_code == 0, made.output
    home = tmp_path / "net" / "nodes" / "national-national"
    (home / ids_api.ALERTS_LOG).parent.mkdir(parents=True, exist_ok=True)
    (home / ids_api.ALERTS_LOG).write_text(
        '{"node":"municipality:131016","at":"2026-12-02T03:00:00Z","rule":"auth-failures",'
        '"key":"source.ip","value":"10.0.0.9","count":5.0,"reason":"a burst",'
        '"source_ip":"10.0.0.9","blocked_until":"2026-12-02T03:10:00Z"}\n',
        encoding="utf-8",
    )
    result = runner.invoke(cli, ["--home", str(home), "ids", "alerts"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "municipality:131016" in result.output and "auth-failures" in result.output
    assert "10.0.0.9" in result.output and "1 alert(s)." in result.output
    none = runner.invoke(cli, ["--home", str(home), "ids", "alerts", "--rule", "path-scan"])
    assert "0 alert(s)." in none.output
