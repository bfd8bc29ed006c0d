"""Running a whole network on one machine: one process per node (``network up``).

The supervisor starts every node as ``python -m jukinet --home HOME node run`` (and the
services beside them, such as the network console: ``web serve``), writes
its log to ``DIR/logs`` and its pid to ``DIR/run``, waits until each answers its
health check over mTLS, restarts a node that dies (with backoff: ``restart_delay``),
and on SIGINT or SIGTERM stops them all: SIGTERM first, SIGKILL after a grace period.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from jukinet.errors import ConfigurationError
from jukinet.network.layout import NetworkLayout

log = logging.getLogger("jukinet.supervisor")

GRACE = 10.0
STABLE = 30.0  # a node that ran this long before it died was not crash-looping


def restart_delay(restarts: int, ran_for: float) -> float:
    """Seconds to wait before the ``restarts``-th restart of a node that ran ``ran_for``
    seconds: doubling from 1 s to 10 s while it keeps dying soon after each start, back
    to 1 s once it had run for ``STABLE`` seconds."""
    if ran_for >= STABLE:
        restarts = 1
    return min(10.0, 0.5 * 2.0 ** min(restarts, 5))


@dataclass
class Child:
    node_id: str  # or a service's name, e.g. ``console:national``
    home: Path
    command: tuple[str, ...] = ("node", "run")
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    next_start: float = 0.0
    started_at: list[float] = field(default_factory=list)


class Supervisor:
    def __init__(
        self,
        layout: NetworkLayout,
        node_ids: Sequence[str],
        healthy: Callable[[str], bool],
        services: Sequence[Child] = (),
    ) -> None:
        """``services`` run beside the nodes, started after them (a web interface:
        ``Child("console:national", home, ("web", "serve"))``)."""
        self.layout = layout
        self.children = [Child(n, layout.node(n)) for n in node_ids] + list(services)
        self.healthy = healthy
        self._stopping = False

    def _start(self, child: Child) -> None:
        self.layout.logs.mkdir(parents=True, exist_ok=True)
        self.layout.run.mkdir(parents=True, exist_ok=True)
        logfile = open(self.layout.log(child.node_id), "ab")  # noqa: SIM115 - owned by the child
        child.process = subprocess.Popen(
            [sys.executable, "-m", "jukinet", "--home", str(child.home), *child.command],
            stdout=logfile,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches the supervisor, which stops children in order
        )
        logfile.close()
        child.started_at.append(time.monotonic())
        self.layout.pid(child.node_id).write_text(f"{child.process.pid}\n")
        log.info("started %s (pid %d)", child.node_id, child.process.pid)

    def _wait_healthy(self, child: Child, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self._stopping:
            if child.process is not None and child.process.poll() is not None:
                raise ConfigurationError(
                    f"{child.node_id} exited with code {child.process.returncode} while starting; "
                    f"see {self.layout.log(child.node_id)}."
                )
            if self.healthy(child.node_id):
                return
            time.sleep(0.2)
        if self._stopping:
            return
        raise ConfigurationError(
            f"{child.node_id} did not become healthy within {timeout:.0f} s; "
            f"see {self.layout.log(child.node_id)}."
        )

    def run(
        self,
        report: Callable[[str], None] = print,
        on_up: Callable[[], None] = lambda: None,
        timeout: float = 60.0,
        poll: float = 0.5,
    ) -> None:
        """Start every node, then restart those that die, until SIGINT/SIGTERM; then stop all.

        The signal handlers are in place before the first node starts, so Ctrl-C at any
        moment stops every node that was started and leaves none behind.
        """
        previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

        def stop(_signum: int, _frame: object) -> None:
            self._stopping = True

        for s in previous:
            signal.signal(s, stop)
        try:
            for child in self.children:
                if self._stopping:
                    return
                self._start(child)
                self._wait_healthy(child, timeout)
                pid = child.process.pid if child.process else "?"
                report(f"{child.node_id} is up (pid {pid})")
            if not self._stopping:
                on_up()
            self._watch(report, poll)
        finally:
            self.stop_all(report)
            for s, handler in previous.items():
                signal.signal(s, handler)

    def _watch(self, report: Callable[[str], None], poll: float) -> None:
        while not self._stopping:
            now = time.monotonic()
            for child in self.children:
                p = child.process
                if p is not None and p.poll() is not None:
                    report(f"{child.node_id} exited with code {p.returncode}; restarting")
                    child.process = None
                    ran_for = now - child.started_at[-1]
                    child.restarts = 1 if ran_for >= STABLE else child.restarts + 1
                    child.next_start = now + restart_delay(child.restarts, ran_for)
                if child.process is None and now >= child.next_start:
                    self._start(child)
            time.sleep(poll)

    def stop_all(self, report: Callable[[str], None] = print) -> None:
        for child in reversed(self.children):
            if child.process is not None and child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + GRACE
        for child in reversed(self.children):
            p = child.process
            if p is None:
                continue
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            with contextlib.suppress(FileNotFoundError):
                self.layout.pid(child.node_id).unlink()
            report(f"{child.node_id} stopped")


def running_pid(layout: NetworkLayout, node_id: str) -> int | None:
    """The pid of a running node of this network, if any."""
    try:
        pid = int(layout.pid(node_id).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    return pid
