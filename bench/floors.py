"""What the provision benchmark shares with its floors: load, CPU clocks, floor processes.

Every floor runs in a process of its own (``bench/floor_server.py``,
``bench/batch_floor.py``), as the national node does, so that no floor shares the
client's interpreter lock; the CPU each process spends is read from ``/proc`` (the
node's whole session) and from ``getrusage`` (the client itself).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import resource
import signal
import ssl
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from jukinet.network.client import NodeClient, NodeIdentity

CONNECTIONS = 16
_TICK = os.sysconf("SC_CLK_TCK")


def pct(values: list[float], p: int) -> float:
    """The ``p``-th percentile of ``values`` (seconds), in milliseconds."""
    return statistics.quantiles(values, n=100)[p - 1] * 1000


def session_cpu(sid: int) -> float:
    """CPU seconds (user + system) of every live process of session ``sid`` (a node
    started with ``start_new_session``: the node and any process it starts)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # Fields after the command (which may hold spaces) in parentheses: state is 3rd.
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[3]) == sid:  # field 6, session
            total += int(fields[11]) + int(fields[12])  # fields 14 and 15, utime and stime
    return total / _TICK


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class Figure:
    """Requests (or persons) per second, latencies, and CPU µs per request of each side."""

    rate: float
    p50: float = 0.0
    p99: float = 0.0
    server_us: float = 0.0
    client_us: float = 0.0


Call = Callable[[float], Awaitable[object]]


async def hammer(call: Call, seconds: float, server_pid: int) -> Figure:
    """``CONNECTIONS`` workers calling ``call`` back to back for ``seconds`` (after one
    second of warm-up); the CPU of the server's session and of this process meanwhile."""

    async def run(span: float, latencies: list[float]) -> None:
        deadline = time.perf_counter() + span

        async def worker() -> None:
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                await call(random.random())
                latencies.append(time.perf_counter() - start)

        await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))

    await run(1.0, [])
    lat: list[float] = []
    server0, client0, t0 = session_cpu(server_pid), own_cpu(), time.perf_counter()
    await run(seconds, lat)
    elapsed = time.perf_counter() - t0
    server, client = session_cpu(server_pid) - server0, own_cpu() - client0
    n = len(lat)
    return Figure(n / elapsed, pct(lat, 50), pct(lat, 99), server / n * 1e6, client / n * 1e6)


def wait_up(identity: NodeIdentity, url: str) -> None:
    """Until ``url``/health answers a signed GET (the node, or a floor server)."""

    async def ping() -> None:
        async with NodeClient(identity, timeout=2) as client:
            await client.get(f"{url}/health")

    for _ in range(150):
        try:
            asyncio.run(ping())
            return
        except Exception:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)


@contextmanager
def floor_server(home: Path, peer_cert: Path, *, verify: bool) -> Iterator[tuple[int, int]]:
    """The no-op endpoint in its own process with the node's TLS material: (pid, port)."""
    command = [sys.executable, "-m", "bench.floor_server", "--home", str(home)]
    if verify:
        command += ["--verify", str(peer_cert)]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline().split()[-1])  # "port N", then it serves
        yield process.pid, port
    finally:
        stop(process)


async def unsigned(
    context: ssl.SSLContext, url: str, body: Callable[[float], bytes], seconds: float, pid: int
) -> Figure:
    """A plain mTLS client (aiohttp, keep-alive, the same connection count), no signature."""
    connector = aiohttp.TCPConnector(ssl=context, limit=CONNECTIONS)
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    async with aiohttp.ClientSession(connector=connector) as session:

        async def call(r: float) -> object:
            async with session.post(url, data=body(r), headers=headers) as response:
                response.raise_for_status()
                return await response.read()

        return await hammer(call, seconds, pid)


def batch_floor(home: Path, codes: list[str], chunk: int) -> dict[str, float]:
    """The batch floor in its own process (``bench/batch_floor.py``): its JSON answer."""
    codes_file = home.parent / "batch-floor-codes.txt"
    codes_file.write_text("\n".join(codes) + "\n")
    out = subprocess.run(
        [sys.executable, "-m", "bench.batch_floor", "--home", str(home),
         "--codes", str(codes_file), "--chunk", str(chunk)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    codes_file.unlink()
    answer: dict[str, float] = json.loads(out.stdout)
    return answer
