"""Benchmark: provision to agencies at the national node, beside the floor.

    .venv/bin/python -m bench.provision [--persons 1000000] [--seconds 10] [--batch 1000000]

Builds a network folder, loads ``--persons`` synthetic identities straight into the
national node's SQLite database (set-up, not measured), runs the national node as
its own process (uvicorn, one worker, TLS 1.3 with client certificates) and
measures, as the pension fund's agency over mTLS with signed requests:

- lookup by code (provision row and audit entry durable per request), 16
  keep-alive connections for ``--seconds``: requests/s, p50, p99 — beside a TLS
  endpoint that does nothing (a bare FastAPI app under the same uvicorn settings,
  same client, same signing);
- batch status of ``--batch`` random codes through the agency client: persons/s —
  beside the same join in plain SQL on the same database (sorted chunks of 5,000);
- search by the 4 items in-process (the service function, no HTTP): p50, p99 —
  beside the bare indexed SELECT on the folded name.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import insert, select

from jukinet.agency import AgencyClient
from jukinet.deploy.network import init_network, write_topology
from jukinet.domain.codes import generate_resident_code
from jukinet.domain.names import fold
from jukinet.network.client import NodeClient
from jukinet.network.layout import NetworkLayout
from jukinet.network.messages import LookupRequest, SearchRequest
from jukinet.network.server import serve
from jukinet.network.topology import free_port_block, load_topology
from jukinet.nodes.identity import provision
from jukinet.nodes.identity.tables import identities
from jukinet.nodes.national import service as national
from jukinet.seed.places import Places
from jukinet.seed.population import generate

EXE = Path(sys.executable).with_name("jukinet")
TODAY = date.today()
PENSION = "national-pension-status"
# The shipped table gives no national affair a search; this one adds it to the
# pension affair so that one national node can be measured for all three functions.
BENCH_TABLE = """version = "bench"
[[recipients]]
code = "jpf"
name = "日本年金機構"
level = "national"
kind = "government"
agency = "pension-fund"
served_by = "national"
[[recipients.affairs]]
code = "national-pension-status"
description = "年金の現況確認 (benchmark: with search)"
basis = "住民基本台帳法 別表第一"
functions = ["batch", "lookup", "search"]
fields = ["name", "date_of_birth", "sex", "address", "status", "change_reason", "change_date"]
sector = "pension"
"""


def _port() -> int:
    return free_port_block(1)


def _pct(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100)[p - 1] * 1000


def build(root: Path, places: Places, persons: int) -> tuple[NetworkLayout, list[str], float]:
    topo_file = root.parent / "bench.toml"
    topo_file.write_text(
        f'[network]\nname = "bench"\n[national]\nport = {_port()}\n'
        f'[[prefectures]]\ncode = "130001"\nport = {_port()}\n'
        f'[[municipalities]]\ncode = "131016"\nport = {_port()}\nresidents = 1\n'
        '[[agencies]]\ncode = "pension-fund"\nname = "日本年金機構"\n'
    )
    topo = load_topology(topo_file, places)
    layout = init_network(topo, places, root, pool_size=10)
    write_topology(layout, topo_file)
    (layout.node("national:national") / "legal.toml").write_text(BENCH_TABLE)
    store = national.open_node(layout.node("national:national"))
    codes: list[str] = []
    seen: set[str] = set()  # 1 M random 10-digit codes collide a few times (birthdays)
    t0 = time.perf_counter()
    rng = random.Random(7)
    now = datetime.now(UTC).isoformat()
    rows: list[dict[str, object]] = []
    with store.transaction() as conn:
        for household in generate(places, "131016", persons, rng, TODAY):
            address = f"東京都千代田区{household.address.town}{household.address.block}"
            for p in household.members:
                code = generate_resident_code()
                while code in seen:
                    code = generate_resident_code()
                seen.add(code)
                codes.append(code)
                name = f"{p.family_name} {p.given_name}"
                rows.append({
                    "resident_code": code, "person_key": uuid.uuid4().hex, "name": name,
                    "date_of_birth": p.date_of_birth, "sex": p.sex, "address": address,
                    "status": "resident", "change_reason": "birth", "change_date": p.date_of_birth,
                    "origin": "131016", "recorded_at": now, "applied_at": now,
                    "name_folded": fold(name), "address_folded": fold(address),
                })  # fmt: skip
                if len(rows) >= 20_000:
                    conn.execute(insert(identities), rows)
                    rows = []
        if rows:
            conn.execute(insert(identities), rows)
    load = persons / (time.perf_counter() - t0)
    store.close()
    return layout, codes, load


async def _hammer(client: NodeClient, url: str, body: object, seconds: float) -> list[float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            if body is None:
                await client.get(url)
            else:
                await client.post(url, body(random.random()))  # type: ignore[operator]
            latencies.append(time.perf_counter() - start)

    await asyncio.gather(*(worker() for _ in range(16)))
    return latencies


def bench_lookup(layout: NetworkLayout, codes: list[str], seconds: float) -> dict[str, float]:
    home = layout.node("national:national")
    url = f"https://127.0.0.1:{_national_port(home)}"
    node = subprocess.Popen(
        [str(EXE), "--home", str(home), "node", "run"], stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    agency = AgencyClient.from_folder(layout.client("agency:pension-fund")).settings.identity
    try:
        _wait_up(agency, url)

        def lookup(r: float) -> LookupRequest:
            return LookupRequest(affair=PENSION, resident_code=codes[int(r * len(codes))])

        async def go() -> list[float]:
            async with NodeClient(agency, connections=16) as client:
                await _hammer(client, f"{url}/provision/lookup", lookup, 1.0)  # warm-up
                return await _hammer(client, f"{url}/provision/lookup", lookup, seconds)

        lat = asyncio.run(go())
    finally:
        node.send_signal(signal.SIGTERM)
        node.wait(timeout=30)
    floor = _floor_noop(layout, seconds)
    return {"rps": len(lat) / seconds, "p50": _pct(lat, 50), "p99": _pct(lat, 99), **floor}


def _national_port(home: Path) -> int:
    from jukinet import config

    cfg = config.load(home)
    assert cfg.network is not None
    return cfg.network.port


def _wait_up(identity: object, url: str) -> None:
    async def ping() -> None:
        async with NodeClient(identity, timeout=2) as client:  # type: ignore[arg-type]
            await client.get(f"{url}/health")

    for _ in range(100):
        try:
            asyncio.run(ping())
            return
        except Exception:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


def _floor_noop(layout: NetworkLayout, seconds: float) -> dict[str, float]:
    """A FastAPI endpoint that does nothing, same uvicorn TLS settings, same client."""
    app = FastAPI()

    @app.post("/noop")
    async def noop() -> dict[str, str]:
        return {}

    home = layout.node("national:national")
    port = _port()
    thread = threading.Thread(
        target=lambda: serve(app, host="127.0.0.1", port=port, cert_path=home / "node.pem",
                             key_path=home / "node.key", ca_path=home / "ca.pem"),
        daemon=True,
    )  # fmt: skip
    # The floor runs in this process (a thread) while the client also runs here: the
    # same two cores, so it is a fair floor for the client + TLS share of the work.
    thread.start()
    agency = AgencyClient.from_folder(layout.client("agency:pension-fund")).settings.identity
    url = f"https://127.0.0.1:{port}/noop"
    time.sleep(1.0)

    async def go() -> list[float]:
        async with NodeClient(agency, connections=16) as client:
            await _hammer(
                client, url, lambda _r: LookupRequest(affair="x", resident_code="11111111113"), 1.0
            )
            return await _hammer(
                client,
                url,
                lambda _r: LookupRequest(affair="x", resident_code="11111111113"),
                seconds,
            )

    lat = asyncio.run(go())
    return {"floor_rps": len(lat) / seconds, "floor_p99": _pct(lat, 99)}


def bench_batch(layout: NetworkLayout, codes: list[str], count: int) -> dict[str, float]:
    home = layout.node("national:national")
    url = f"https://127.0.0.1:{_national_port(home)}"
    sample = random.Random(3).choices(codes, k=count)
    node = subprocess.Popen(
        [str(EXE), "--home", str(home), "node", "run"], stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        settings = AgencyClient.from_folder(layout.client("agency:pension-fund")).settings
        _wait_up(settings.identity, url)

        async def go() -> int:
            n = 0
            async with AgencyClient(settings) as agency:
                async for _row in agency.batch(PENSION, (c + "\n" for c in sample)):
                    n += 1
            return n

        t0 = time.perf_counter()
        n = asyncio.run(go())
        rate = n / (time.perf_counter() - t0)
    finally:
        node.send_signal(signal.SIGTERM)
        node.wait(timeout=30)
    # Floor: the same join in plain SQL on the same database, sorted chunks of 5,000.
    store = national.open_node(home)
    t0 = time.perf_counter()
    found = 0
    with store.engine.connect() as conn:
        for i in range(0, len(sample), 5000):
            chunk = sorted(sample[i : i + 5000])
            found += len(
                conn.execute(select(identities).where(identities.c.resident_code.in_(chunk))).all()
            )
    floor = len(sample) / (time.perf_counter() - t0)
    store.close()
    return {"rate": rate, "floor": floor}


def bench_search(layout: NetworkLayout, codes: list[str], samples: int = 2000) -> dict[str, float]:
    home = layout.node("national:national")
    store = national.open_node(home)
    table = provision.load_table(home)
    with store.engine.connect() as conn:
        people = conn.execute(
            select(identities.c.name, identities.c.date_of_birth, identities.c.name_folded).where(
                identities.c.resident_code.in_(random.Random(5).sample(codes, samples))
            )
        ).all()
    service_times, floor_times = [], []
    for name, born, _folded in people:
        req = SearchRequest(affair=PENSION, name=name, date_of_birth=born)
        start = time.perf_counter()
        answer = provision.search(store, table, "pension-fund", req)
        service_times.append(time.perf_counter() - start)
        assert answer.candidates, f"search did not find {name}"
    with store.engine.connect() as conn:
        for _name, born, folded in people:
            start = time.perf_counter()
            conn.execute(
                select(identities).where(identities.c.name_folded == folded,
                                         identities.c.date_of_birth == born).limit(5)
            ).all()  # fmt: skip
            floor_times.append(time.perf_counter() - start)
    store.close()
    return {"p50": _pct(service_times, 50), "p99": _pct(service_times, 99),
            "floor_p50": _pct(floor_times, 50), "floor_p99": _pct(floor_times, 99)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--batch", type=int, default=1_000_000)
    args = parser.parse_args()
    print(f"jukinet provision benchmark — {date.today()} — {platform.node()} "
          f"({os.cpu_count()} cores, Python {platform.python_version()})")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp, Places() as places:
        layout, codes, load = build(Path(tmp) / "net", places, args.persons)
        print(f"\nloaded {args.persons:,} identities at {load:,.0f}/s (set-up, plain inserts)")
        lk = bench_lookup(layout, codes, args.seconds)
        print(f"[lookup by code, mTLS, provision log durable] {lk['rps']:,.0f} req/s  "
              f"p50 {lk['p50']:.1f} ms  p99 {lk['p99']:.1f} ms")  # fmt: skip
        print(f"  floor (no-op endpoint, same TLS)         {lk['floor_rps']:,.0f} req/s  "
              f"p99 {lk['floor_p99']:.1f} ms")  # fmt: skip
        bt = bench_batch(layout, codes, args.batch)
        print(f"[batch status, {args.batch:,} codes]       {bt['rate']:,.0f} persons/s")
        print(f"  floor (same join, plain SQL)             {bt['floor']:,.0f} persons/s")
        sr = bench_search(layout, codes)
        print(f"[search, {args.persons:,} persons]          p50 {sr['p50']:.2f} ms  "
              f"p99 {sr['p99']:.2f} ms")  # fmt: skip
        print(f"  floor (indexed SELECT on folded name)    p50 {sr['floor_p50']:.2f} ms  "
              f"p99 {sr['floor_p99']:.2f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
