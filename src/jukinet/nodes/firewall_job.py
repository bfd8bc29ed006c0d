"""A running node keeps its host's firewall in step with its directory (R7, R9).

When the node's ``[network] firewall_file`` is set, ``keep_firewall`` writes the
network's nftables ruleset (``network/firewall.py``: exactly the directory's links,
none for an isolated or hotlisted node, the hotlist's addresses dropped) there each
time what it says changes: a new directory version, or a hotlist block that ended by
the clock. With ``firewall_apply`` (e.g. ``["nft", "-f"]``) it then runs that command
with the file as its last argument; a failure is logged and tried again next round.
The file is written whole and renamed into place, so a reader never sees half of it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
from collections.abc import Coroutine, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jukinet.config import NetworkSettings
from jukinet.network.directory import DirectoryView
from jukinet.network.endpoints import Serves
from jukinet.network.firewall import WebPort, closed_nodes, legal_table_serves, network_ruleset
from jukinet.nodes.runtime import NodeRuntime

__all__ = ["firewall_job", "keep_firewall", "web_ports", "write_firewall"]

log = logging.getLogger("jukinet.network")


def web_ports(settings: NetworkSettings) -> list[WebPort]:
    """The node's web interfaces (docs/ui.md) with the sources its settings admit."""
    named = (("console", settings.console_port, settings.console_sources),
             ("window", settings.window_port, settings.window_sources),
             ("portal", settings.portal_port, settings.portal_sources))  # fmt: skip
    return [WebPort(name, port, tuple(sources)) for name, port, sources in named if port]


def write_firewall(
    view: DirectoryView,
    serves: Serves,
    path: Path,
    apply: Sequence[str] = (),
    sources: Mapping[str, str] | None = None,
    web: Sequence[WebPort] = (),
) -> str:
    """Write the ruleset of ``view`` to ``path`` and run ``apply`` on it; the ruleset."""
    ruleset, _ = network_ruleset(view.directory, serves, sources, datetime.now(UTC), web)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(ruleset, encoding="utf-8")
    os.replace(tmp, path)
    if apply:
        done = subprocess.run(
            [*apply, str(path)], capture_output=True, text=True, timeout=60, check=False
        )
        if done.returncode != 0:
            raise OSError(f"{' '.join(apply)} {path} failed: {done.stderr.strip()}")
    return ruleset


def _state(view: DirectoryView) -> tuple[int, tuple[str, ...], tuple[str, ...]]:
    """What the ruleset depends on: the version, the closed nodes, the blocks in force."""
    now = datetime.now(UTC)
    return (view.version, tuple(sorted(closed_nodes(view.directory, now))),
            tuple(sorted(e.id for e in view.hotlist(now))))  # fmt: skip


async def keep_firewall(
    view: DirectoryView,
    serves: Serves,
    path: Path,
    apply: Sequence[str] = (),
    sources: Mapping[str, str] | None = None,
    every: float = 1.0,
    web: Sequence[WebPort] = (),
) -> None:
    """Rewrite (and apply) the firewall whenever ``_state`` changes, until cancelled."""
    written: tuple[int, tuple[str, ...], tuple[str, ...]] | None = None
    while True:
        state = _state(view)
        if state != written:
            try:
                await asyncio.to_thread(write_firewall, view, serves, path, apply, sources, web)
            except Exception as exc:  # keep the rules loaded; try again next round
                log.warning("firewall not updated: %s: %s", type(exc).__name__, exc)
            else:
                log.info("firewall updated for directory version %d (%s)", state[0], path)
                written = state
        await asyncio.sleep(every)


def firewall_job(runtime: NodeRuntime) -> Coroutine[Any, Any, None]:
    """The node's firewall job as its lifespan runs it (``background``); idle when the
    node has no ``firewall_file``."""
    settings = runtime.settings
    if settings.firewall_file is None:
        return asyncio.sleep(0)
    from jukinet.nodes.identity.provision import load_table

    serves = legal_table_serves(load_table(runtime.config.home))
    path = runtime.config.home / settings.firewall_file
    every = min(settings.directory_refresh, 5.0)
    return keep_firewall(runtime.directory, serves, path, settings.firewall_apply,
                         settings.firewall_sources, every, web_ports(settings))  # fmt: skip
