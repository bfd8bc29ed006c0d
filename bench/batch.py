"""Benchmark: batch status alone, beside floor (c), optionally in-process and profiled.

    .venv/bin/python -m bench.batch [--persons 200000] [--batch 100000] [--keep DIR]
        [--in-process] [--profile FILE] [--no-http] [--no-floor]

The batch part of ``bench/provision.py`` on its own, for measuring one step at a
time: builds the same network (``bench.provision.build``; with ``--keep DIR`` once,
then reused from DIR, its codes in ``DIR/codes.txt``), then

- over mTLS: the national node in its own process, the agency client streaming
  ``--batch`` random codes (persons/s, CPU µs a person of node and client);
- ``--in-process``: the node's use case and its answer lines
  (``provision.batch_answer``) called directly, no HTTP: what the node's
  batch path costs by itself; with ``--profile FILE`` under cProfile (its
  statistics written to FILE, the top of them printed);
- floor (c), in its own process (``bench/batch_floor.py``).

Each run adds its provision rows to the kept database.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import random
import resource
import tempfile
import time
from pathlib import Path

from bench.floors import Figure, batch_floor, own_cpu, session_cpu, stop, wait_up
from bench.provision import PENSION, _national_port, _node, _row, build, fill_pseudonyms
from jukinet.agency import AgencyClient
from jukinet.network.layout import NetworkLayout
from jukinet.nodes.identity import provision
from jukinet.nodes.national import service as national
from jukinet.seed.places import Places


def _layout(keep: Path | None, persons: int, places: Places) -> tuple[NetworkLayout, list[str]]:
    if keep is not None and (keep / "codes.txt").exists():
        layout = NetworkLayout(keep / "net")
        store = national.open_node(layout.node("national:national"))
        fill_pseudonyms(store)  # a folder kept from before the pseudonyms were
        store.close()
        return layout, (keep / "codes.txt").read_text().split()
    root = keep if keep is not None else Path(tempfile.mkdtemp())
    root.mkdir(parents=True, exist_ok=True)
    layout, codes, load = build(root / "net", places, persons)
    (root / "codes.txt").write_text("\n".join(codes) + "\n")
    print(f"loaded {persons:,} identities at {load:,.0f}/s (set-up)")
    return layout, codes


def over_http(layout: NetworkLayout, sample: list[str]) -> Figure:
    home = layout.node("national:national")
    url = f"https://127.0.0.1:{_national_port(home)}"
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
        print(f"  node peak RSS {_peak_kib(node.pid) / 1024:,.0f} MiB")
        return Figure(n / elapsed, server_us=node_us, client_us=(own_cpu() - client0) / n * 1e6)
    finally:
        stop(node)


def _peak_kib(pid: int) -> int:
    """A process's peak resident memory (``VmHWM``), KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def in_process(layout: NetworkLayout, sample: list[str], profile: Path | None) -> Figure:
    home = layout.node("national:national")
    store = national.open_node(home)
    table = provision.load_table(home)
    lines = [(c + "\n").encode() for c in sample]
    profiler = cProfile.Profile() if profile is not None else None
    cpu0, t0 = own_cpu(), time.perf_counter()
    if profiler is not None:
        profiler.enable()
    size = 0
    for part in provision.batch_answer(store, table, "pension-fund", PENSION, lines):
        size += len(part)
    if profiler is not None:
        profiler.disable()
    elapsed, cpu = time.perf_counter() - t0, own_cpu() - cpu0
    store.close()
    if profiler is not None and profile is not None:
        profiler.dump_stats(profile)
        stats = pstats.Stats(str(profile))
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(40)
    print(f"  in-process answer: {size:,} bytes, {size / len(sample):.0f} a row")
    return Figure(len(sample) / elapsed, server_us=cpu / len(sample) * 1e6)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--persons", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=100_000)
    parser.add_argument("--keep", type=Path)
    parser.add_argument("--in-process", action="store_true")
    parser.add_argument("--profile", type=Path)
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--no-floor", action="store_true")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    with Places() as places:
        layout, codes = _layout(args.keep, args.persons, places)
    sample = random.Random(args.seed).choices(codes, k=args.batch)
    print(f"[batch status, {args.batch:,} codes of {len(codes):,} identities, per person]")
    figures: dict[str, Figure] = {}
    if args.in_process or args.profile is not None:
        figures["in"] = in_process(layout, sample, args.profile)
        print(_row("jukinet batch path in-process (no HTTP)", figures["in"], "/s   "))
    if not args.no_http:
        figures["http"] = over_http(layout, sample)
        print(_row("jukinet national node, agency client", figures["http"], "/s   "))
    if not args.no_floor:
        floor = batch_floor(layout.node("national:national"), sample, provision.CHUNK)
        c = Figure(floor["rate"], server_us=floor["cpu_us"])
        print(_row("floor (c) same read + writes, plain SQL", c, "/s   ", figures.get("http")))
        print("    (c) wall µs a code: read {read_us:.1f}, log hashes {hashes_us:.1f}, "
              "inserts + commit {write_us:.1f}".format(**floor))  # fmt: skip
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  this process's peak RSS {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
