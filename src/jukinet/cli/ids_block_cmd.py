"""``jukinet ids block`` and ``ids blocks``: the network's hotlist (R7, docs/ids.md).

An operator of the national node confirms a block (of the source of an IDS alert, an
address, or a node) until a time, or lifts one, signing it with their own emergency
key (``--key``, one of ``DIR/operators/``); the operations console posts it to the
national node, which publishes it in the next signed directory. ``ids blocks`` lists
the hotlist of the national node's directory: the blocks in force and the history.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from jukinet.cli._common import console, handle_errors
from jukinet.cli.emergency_cmd import _national, _operator
from jukinet.config import DIRECTORY_FILE, NATIONAL_KEY_FILE
from jukinet.errors import BlockRefused, InvalidInput
from jukinet.keys import load_public_key
from jukinet.network.client import NodeClient
from jukinet.network.directory import verify_directory
from jukinet.network.hotlist import alert_id, new_block, new_lift, sign_block, subject_of_alert
from jukinet.network.layout import NetworkLayout
from jukinet.network.messages import SignedDirectory
from jukinet.network.messages_hotlist import BlockAck, BlockOrder, HotlistEntry, SubjectKind
from jukinet.network.monitor import monitor_identity

app = typer.Typer(no_args_is_help=True, help="Confirm or lift a block of the hotlist (R7).")

DIR = typer.Option(..., "--dir", help="The network's folder.")
KEY = typer.Option(..., "--key", help="The operator's emergency key file (DIR/operators/).")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(text: str) -> timedelta:
    """``90``, ``600s``, ``30m``, ``12h``, ``7d`` as a time span; InvalidInput otherwise."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if found is None or float(found.group(1)) <= 0:
        raise InvalidInput(f"--for is {text!r}; write a duration such as 600s, 30m, 12h or 7d.")
    return timedelta(seconds=float(found.group(1)) * _UNITS[found.group(2) or "s"])


def _until(until: str | None, span: str | None, now: datetime) -> datetime:
    if (until is None) == (span is None):
        raise InvalidInput("Give the block's end: --until TIME or --for DURATION (one of them).")
    if span is not None:
        # The end is kept to whole seconds, rounded up, so the time every screen shows
        # (to the second) is the time the block really ends.
        end = now + duration(span)
        return end.replace(microsecond=0) + timedelta(seconds=1 if end.microsecond else 0)
    try:
        end = datetime.fromisoformat(str(until))
    except ValueError:
        raise InvalidInput(
            f"--until is {until!r}; write an ISO 8601 time, e.g. 2026-12-03T09:00+09:00."
        ) from None
    if end.tzinfo is None:
        raise InvalidInput(f"--until {until} has no UTC offset; add one (+09:00, Z).")
    return end


def _subject(
    layout: NetworkLayout, alert: str | None, source: str | None, node: str | None
) -> tuple[SubjectKind, str, str | None]:
    if sum(x is not None for x in (alert, source, node)) != 1:
        raise InvalidInput("Name what to block: an ALERT_ID, --source ADDRESS or --node NODE_ID.")
    if source is not None:
        return "address", source, None
    if node is not None:
        return "node", node, None
    from jukinet import config
    from jukinet.nodes.ids_api import read_alerts

    _, home = _national(layout)
    settings = config.load(home).network
    for row in read_alerts(home, settings.node_id if settings else "national"):
        if alert_id(row) == alert:
            kind, subject = subject_of_alert(row)
            return kind, subject, alert
    raise BlockRefused(f"No alert {alert} on the national console (see `jukinet ids alerts`).")


def _post(layout: NetworkLayout, key: Path, order: BlockOrder) -> BlockAck:
    url, _ = _national(layout)
    name, private = _operator(layout, key)
    signed = sign_block(order, name, private)

    async def post() -> dict[str, Any]:
        async with NodeClient(monitor_identity(layout), timeout=10.0) as client:
            return await client.post(f"{url}/ids/blocks", signed)

    return BlockAck.model_validate(asyncio.run(post()))


@app.command("confirm")
@handle_errors
def confirm(
    alert: str | None = typer.Argument(None, help="The alert's id (`jukinet ids alerts`)."),
    source: str | None = typer.Option(None, "--source", help="Block this IP address."),
    node: str | None = typer.Option(None, "--node", help="Block this node (its certificate)."),
    until: str | None = typer.Option(None, help="Until this time (ISO 8601, with offset)."),
    span: str | None = typer.Option(None, "--for", help="For this long: 600s, 30m, 12h, 7d."),
    reason: str = typer.Option(..., help="Why, for the hotlist and the audit logs."),
    directory: Path = DIR,
    key: Path = KEY,
) -> None:
    """Confirm a block for the whole network: published in the next signed directory."""
    layout = NetworkLayout(directory)
    now = datetime.now(UTC)
    end = _until(until, span, now)
    kind, subject, alert_ref = _subject(layout, alert, source, node)
    ack = _post(layout, key, new_block(kind, subject, end, reason, alert_ref, now=now))
    console.print(
        f"Block {ack.block_id} confirmed: {ack.kind} {ack.subject} until "
        f"{ack.until.isoformat(timespec='seconds')}; it is in directory version "
        f"{ack.directory_version}, which every node fetches within seconds."
    )


@app.command("lift")
@handle_errors
def lift(
    block: str = typer.Argument(..., help="The block's id (`jukinet ids blocks`)."),
    reason: str = typer.Option("", help="Why, for the audit logs."),
    directory: Path = DIR,
    key: Path = KEY,
) -> None:
    """Lift a block before its end: every node admits the subject again."""
    layout = NetworkLayout(directory)
    ack = _post(layout, key, new_lift(block, reason))
    console.print(f"Block {ack.block_id} of {ack.kind} {ack.subject} lifted; directory "
                  f"version {ack.directory_version}.")  # fmt: skip


def hotlist_of(layout: NetworkLayout) -> tuple[int, list[HotlistEntry]]:
    """The version and hotlist of the national node's directory (signature verified)."""
    _, home = _national(layout)
    signed = SignedDirectory.model_validate_json((home / DIRECTORY_FILE).read_bytes())
    national_key = load_public_key(home / NATIONAL_KEY_FILE, "national node's public key")
    current = verify_directory(signed, national_key)
    return current.version, list(current.hotlist)


def show_blocks(directory: Path = DIR) -> None:
    """The hotlist: the blocks in force, then the ended ones kept as history."""
    version, hotlist = hotlist_of(NetworkLayout(directory))
    now = datetime.now(UTC)
    table = Table("id", "subject", "state", "from", "until", "confirmed by", "lifted", "reason")
    for entry in sorted(hotlist, key=lambda e: (not e.in_force(now), e.since)):
        state = "in force" if entry.in_force(now) else ("lifted" if entry.lifted_at else "ended")
        lifted = (f"{entry.lifted_at.isoformat(timespec='seconds')} by {entry.lifted_by}"
                  if entry.lifted_at else "")  # fmt: skip
        table.add_row(
            entry.id, f"{entry.kind} {entry.subject}", state,
            entry.since.isoformat(timespec="seconds"), entry.until.isoformat(timespec="seconds"),
            entry.confirmed_by, lifted, entry.reason,
        )  # fmt: skip
    console.print(table)
    current = sum(entry.in_force(now) for entry in hotlist)
    console.print(f"directory version {version}: {current} block(s) in force, "
                  f"{len(hotlist) - current} in the history.")  # fmt: skip
