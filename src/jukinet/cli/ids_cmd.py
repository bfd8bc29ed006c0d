"""``jukinet ids``: the intrusion-detection alerts on the national node's console (R7)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from jukinet.cli._common import console, handle_errors, state
from jukinet.cli.ids_block_cmd import DIR, show_blocks
from jukinet.cli.ids_block_cmd import app as block_app
from jukinet.errors import ConfigurationError
from jukinet.network.hotlist import alert_id

app = typer.Typer(no_args_is_help=True, help="Intrusion detection: alerts, the hotlist (R7).")
app.add_typer(block_app, name="block")


@app.command("blocks")
@handle_errors
def blocks(directory: Path = DIR) -> None:
    """The network's hotlist: blocks in force and their history (national's directory)."""
    show_blocks(directory)


@app.command("alerts")
@handle_errors
def alerts(
    rule: str = typer.Option("", help="Only the alerts of this rule."),
) -> None:
    """Every node's IDS alerts, as reported to this national node (--home), oldest first;
    an alert's id is what ``ids block confirm`` takes."""
    from jukinet import config
    from jukinet.nodes.ids_api import read_alerts

    cfg = config.load(state.home)
    if cfg.kind != "national" or cfg.network is None:
        raise ConfigurationError(
            f"{state.home} is not a national node of a network; its console gathers the alerts."
        )
    rows = [row for row in read_alerts(cfg.home, cfg.network.node_id) if rule in ("", row["rule"])]
    table = Table("id", "at", "node", "rule", "key", "value", "count", "blocked until", "reason")
    for row in rows:
        table.add_row(
            alert_id(row), str(row["at"]), row["node"], row["rule"], row["key"], row["value"],
            f"{row['count']:g}", str(row.get("blocked_until") or ""), row.get("reason", ""),
        )  # fmt: skip
    console.print(table)
    console.print(f"{len(rows)} alert(s).")
