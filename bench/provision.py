"""Benchmark: provision to agencies at the national node, each figure beside its floors.

    .venv/bin/python -m bench.provision [--persons 1000000] [--seconds 10] [--batch 1000000]
        [--lookup-only] [--workers 1]

Builds a network folder, loads ``--persons`` synthetic identities straight into the
national node's SQLite database (set-up, not measured), runs the national node as
its own process (``jukinet node run``: uvicorn, ``--workers`` server processes (the
node's ``[network] workers``), TLS 1.3 with client certificates) and measures, as the
pension fund's agency over mTLS with signed requests (``NodeClient``, 16 keep-alive connections):

- lookup by code (provision row and audit entry durable per request) for
  ``--seconds`` after one second of warm-up: requests/s, p50, p99 — beside floors
  served in a process of their own (``bench/floor_server.py``: a bare FastAPI
  ``POST /noop`` under the node's server settings and TLS material):
  (a) an unsigned plain mTLS client (aiohttp, same connections, same body);
  (b) the network's signing client, as for the node;
  (b+v) the signing client, the floor server verifying every signature as a node does;
- batch status of ``--batch`` random codes through the agency client: persons/s —
  beside (c), in a process of its own (``bench/batch_floor.py``), the same rows read
  and the same provision rows, provision-log hashes and person-index runs written
  by plain SQL on the same database, sorted chunks of ``provision.CHUNK``, one
  transaction per chunk (``bench/batch.py`` runs this part alone);
- search by the 4 items in-process (the service function, no HTTP, no process of its
  own): p50, p99 — beside the bare indexed SELECT on the folded name.

Each figure is printed with jukinet/floor and the CPU µs per request (per person for
batch) of the server process (the node's whole session, from ``/proc``) and of this
client process (``getrusage``); ``uptime``'s load average goes beside them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import insert, select

from bench.floors import (
    CONNECTIONS,
    Figure,
    batch_floor,
    floor_server,
    hammer,
    own_cpu,
    pct,
    session_cpu,
    stop,
    unsigned,
    wait_up,
)
from jukinet.agency import AgencyClient
from jukinet.deploy.network import init_network, write_topology
from jukinet.domain.codes import generate_resident_code
from jukinet.domain.names import fold
from jukinet.network.client import NodeClient
from jukinet.network.layout import NetworkLayout
from jukinet.network.messages import LookupRequest, SearchRequest
from jukinet.network.topology import free_port_block, load_topology
from jukinet.nodes.identity import provision, pseudonym_store
from jukinet.nodes.identity.store import IdentityStore
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
    fill_pseudonyms(store)
    store.close()
    return layout, codes, load


def fill_pseudonyms(store: IdentityStore, sector: str = "pension") -> None:
    """The pension sector's pseudonyms kept ahead of the first batch (set-up, as a node
    would when a sector's affair is added; ``pseudonym_store.fill``)."""
    t0 = time.perf_counter()
    with store.transaction() as conn:
        made = pseudonym_store.fill(conn, store.pseudonym_secret(conn), sector)
    if made:
        print(f"kept {made:,} {sector} pseudonyms at {made / (time.perf_counter() - t0):,.0f}/s")


def _node(home: Path) -> subprocess.Popen[bytes]:
    """The national node as ``jukinet node run`` serves it, in a session of its own."""
    return subprocess.Popen(
        [str(EXE), "--home", str(home), "node", "run"], stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip


def bench_lookup(
    layout: NetworkLayout, codes: list[str], seconds: float, workers: int = 1
) -> dict[str, Figure]:
    home = layout.node("national:national")
    _set_workers(home, workers)
    agency = AgencyClient.from_folder(layout.client("agency:pension-fund")).settings.identity

    def lookup(r: float) -> LookupRequest:
        return LookupRequest(affair=PENSION, resident_code=codes[int(r * len(codes))])

    async def signed(url: str, pid: int) -> Figure:
        async with NodeClient(agency, connections=CONNECTIONS) as client:
            return await hammer(lambda r: client.post(url, lookup(r)), seconds, pid)

    url = f"https://127.0.0.1:{_national_port(home)}"
    node = _node(home)
    try:
        wait_up(agency, url)
        out = {"jukinet": asyncio.run(signed(f"{url}/provision/lookup", node.pid))}
    finally:
        stop(node)
    with floor_server(home, agency.cert_path, verify=False) as (pid, port):
        url = f"https://127.0.0.1:{port}"
        wait_up(agency, url)
        context = agency.tls_context()
        body = lambda r: lookup(r).model_dump_json().encode()  # noqa: E731
        out["a"] = asyncio.run(unsigned(context, f"{url}/noop", body, seconds, pid))
        out["b"] = asyncio.run(signed(f"{url}/noop", pid))
    with floor_server(home, agency.cert_path, verify=True) as (pid, port):
        url = f"https://127.0.0.1:{port}"
        wait_up(agency, url)
        out["bv"] = asyncio.run(signed(f"{url}/noop", pid))
    return out


def _set_workers(home: Path, workers: int) -> None:
    """The national node's server processes (``[network] workers`` in its node.toml)."""
    path = home / "node.toml"
    text = path.read_text()
    if workers == 1 and "\nworkers =" not in text:
        return  # the default (and a node.toml of a version without the setting)
    lines = [ln for ln in text.splitlines() if not ln.startswith("workers =")]
    at = lines.index("[network]") + 1
    path.write_text("\n".join([*lines[:at], f"workers = {workers}", *lines[at:]]) + "\n")


def _national_port(home: Path) -> int:
    from jukinet import config

    cfg = config.load(home)
    assert cfg.network is not None
    return cfg.network.port


def bench_batch(
    layout: NetworkLayout, codes: list[str], count: int
) -> tuple[dict[str, Figure], dict[str, float]]:
    home = layout.node("national:national")
    url = f"https://127.0.0.1:{_national_port(home)}"
    sample = random.Random(3).choices(codes, k=count)
    node = _node(home)
    try:
        settings = AgencyClient.from_folder(layout.client("agency:pension-fund")).settings
        wait_up(settings.identity, url)

        async def go() -> int:
            n = 0
            async with AgencyClient(settings) as agency:
                async for _row in agency.batch(PENSION, (c + "\n" for c in sample)):
                    n += 1
            return n

        node0, client0, t0 = session_cpu(node.pid), own_cpu(), time.perf_counter()
        n = asyncio.run(go())
        elapsed = time.perf_counter() - t0
        node_us = (session_cpu(node.pid) - node0) / n * 1e6
        jukinet = Figure(n / elapsed, server_us=node_us, client_us=(own_cpu() - client0) / n * 1e6)
    finally:
        stop(node)
    floor = batch_floor(home, sample, provision.CHUNK)
    parts = {k: floor[f"{k}_us"] for k in ("read", "hashes", "write")}
    return {"jukinet": jukinet, "c": Figure(floor["rate"], server_us=floor["cpu_us"])}, parts


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
    return {"p50": pct(service_times, 50), "p99": pct(service_times, 99),
            "floor_p50": pct(floor_times, 50), "floor_p99": pct(floor_times, 99)}  # fmt: skip


def _row(label: str, f: Figure, unit: str, of: Figure | None = None) -> str:
    ratio = f"{of.rate / f.rate:13.2f}" if of is not None else ""
    lat = f"{f.p50:7.1f} {f.p99:7.1f}" if f.p99 else " " * 15
    client = f"{f.client_us:>8,.0f}" if f.client_us else f"{'-':>8}"
    return f"  {label:<44} {f.rate:>9,.0f} {unit}  {lat}  {f.server_us:>8,.0f}  {client}  {ratio}"


def _header(title: str) -> str:
    return (f"[{title}]\n  {'':<44} {'rate':>15}  {'p50 ms':>7} {'p99 ms':>7}  "
            f"{'srv µs':>8}  {'cli µs':>8}  jukinet/floor")  # fmt: skip


def _load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--batch", type=int, default=1_000_000)
    parser.add_argument("--lookup-only", action="store_true", help="skip batch and search")
    parser.add_argument("--workers", type=int, default=1, help="the node's server processes")
    args = parser.parse_args()
    print(f"jukinet provision benchmark — {date.today()} — {platform.node()} "
          f"({os.cpu_count()} cores, Python {platform.python_version()})")  # fmt: skip
    print(f"load before: {_load()}")
    with tempfile.TemporaryDirectory() as tmp, Places() as places:
        layout, codes, load = build(Path(tmp) / "net", places, args.persons)
        print(f"\nloaded {args.persons:,} identities at {load:,.0f}/s (set-up, plain inserts)")
        lk = bench_lookup(layout, codes, args.seconds, args.workers)
        print(_header("lookup by code, mTLS, provision row + audit entry durable per request"))
        node = f"jukinet national node ({args.workers} worker(s)), signing client"
        print(_row(node, lk["jukinet"], "req/s"))
        for key, label in (("a", "floor (a) no-op, unsigned client"),
                           ("b", "floor (b) no-op, signing client"),
                           ("bv", "floor (b+v) no-op verifying, signing client")):  # fmt: skip
            print(_row(label, lk[key], "req/s", lk["jukinet"]))
        print(f"load: {_load()}")
        if args.lookup_only:
            return
        bt, parts = bench_batch(layout, codes, args.batch)
        print(_header(f"batch status, {args.batch:,} codes, per person"))
        print(_row("jukinet national node, agency client", bt["jukinet"], "/s   "))
        print(_row("floor (c) same read + writes, plain SQL", bt["c"], "/s   ", bt["jukinet"]))
        print("    (c) wall µs a code: read {read:.1f}, log hashes {hashes:.1f}, "
              "inserts + commit {write:.1f}".format(**parts))  # fmt: skip
        print(f"load: {_load()}")
        sr = bench_search(layout, codes)
        print(f"[search, {args.persons:,} persons, in-process: service function vs SELECT]")
        print(f"  jukinet provision.search                   p50 {sr['p50']:.2f} ms  "
              f"p99 {sr['p99']:.2f} ms")  # fmt: skip
        print(f"  floor (indexed SELECT on folded name)      p50 {sr['floor_p50']:.2f} ms  "
              f"p99 {sr['floor_p99']:.2f} ms")  # fmt: skip
        print(f"load after: {_load()}")


if __name__ == "__main__":
    main()
