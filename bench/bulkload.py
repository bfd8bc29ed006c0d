"""Benchmark: the bulk load of identities into a national node, beside the floor.

    .venv/bin/python -m bench.bulkload --pg postgresql://postgres@127.0.0.1/test \\
        [--persons 1000000] [--sqlite-persons 100000] [--keep]

Writes a CSV file of ``--persons`` synthetic identities (set-up, not measured), then
loads it with ``jukinet.nodes.identity.bulkload.load_csv`` (what ``jukinet identity
load`` runs) into a fresh national node on PostgreSQL, in a schema of its own: once
building the secondary indexes after the rows (``indexes=after``, the default into an
empty node) and once with them in place (``indexes=with``). Each figure is the whole
load: reading and checking every row, COPY into ``identities`` and
``identity_history``, the indexes, the code registry, the audit entry, ANALYZE and
the commit.

The floor is a plain ``COPY ... FROM STDIN (FORMAT csv)`` of the same file into an
unindexed table of text columns, in its own process and connection: what the server
takes with no checking, no derived columns, no history and no index.

``--sqlite-persons`` also loads a smaller file into a SQLite national node (the
fallback for small nodes, ``executemany``). ``--keep`` keeps the last PostgreSQL
node (its schema and folder are printed) for measuring lookups on it.

    .venv/bin/python -m bench.bulkload --pg URL --serve NODE_FOLDER \\
        [--measure 2000] [--batch 200000]

measures a kept node again (it is migrated first, as a node's start does): lookup and
search as above, and a batch status of ``--batch`` codes drawn from the node, in-process
through ``provision.batch_answer`` (twice: the first run computes and keeps the
sector's pseudonyms of those persons, the second reads them kept), beside floor (c) of
``bench/batch_floor.py`` on the same codes, in its own process.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

from jukinet.domain.codes import resident_code_check_digit, with_check_digit
from jukinet.keys import NodeKey
from jukinet.nodes.identity.bulkload import load_csv
from jukinet.nodes.identity.bulkload_rows import REQUIRED
from jukinet.nodes.national import service as national
from jukinet.nodes.national.tables import issued_codes
from jukinet.seed.given_names import FEMALE_NAMES, MALE_NAMES
from jukinet.seed.names import FAMILY_NAMES

TOWNS = ("丸の内", "大手町", "神田錦町", "飯田橋", "九段南", "麹町", "永田町", "有楽町", "内幸町")


def write_csv(path: Path, persons: int, seed: int = 7) -> list[str]:
    """``persons`` synthetic identities of 40 Tokyo municipalities; returns their codes."""
    rng = random.Random(seed)
    origins = [with_check_digit(f"131{n:02d}") for n in range(1, 24)]
    origins += [with_check_digit(f"132{n:02d}") for n in range(1, 18)]
    families = [f.name for f in FAMILY_NAMES]
    given = {"male": [g.name for g in MALE_NAMES], "female": [g.name for g in FEMALE_NAMES]}
    epoch = date(1930, 1, 1)
    codes: dict[str, None] = {}
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(REQUIRED)
        while len(codes) < persons:
            body = f"{rng.randrange(10**10):010d}"
            code = body + str(resident_code_check_digit(body))
            if code in codes:
                continue
            codes[code] = None
            sex = "male" if rng.random() < 0.5 else "female"
            born = (epoch + timedelta(days=rng.randrange(34_000))).isoformat()
            name = f"{rng.choice(families)}　{rng.choice(given[sex])}"
            origin = rng.choice(origins)
            address = (f"東京都{rng.choice(TOWNS)}{rng.randrange(1, 10)}丁目"
                       f"{rng.randrange(1, 40)}番{rng.randrange(1, 30)}号")  # fmt: skip
            removed = rng.random() < 0.02
            w.writerow((code, name, born, sex, address, "removed" if removed else "resident",
                        "removal" if removed else "birth", born, origin))  # fmt: skip
    return list(codes)


def _schema(admin_url: str, name: str) -> str:
    base = admin_url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(base)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    engine.dispose()
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{name}"


def _drop(admin_url: str, name: str) -> None:
    engine = create_engine(admin_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    engine.dispose()


def load_node(home: Path, url: str, csv_path: Path, indexes: str) -> tuple[float, str]:
    """Make a national node in ``home`` on ``url`` and load the file; (persons/s, method)."""
    national.init_node(home, "national", "全国センター", url, NodeKey.generate())
    store = national.open_node(home)
    try:
        start = time.perf_counter()  # the whole call: checks, writes, ANALYZE, commit
        done = load_csv(store, csv_path, operator="bench", registry=issued_codes,
                        indexes=indexes)  # type: ignore[arg-type]  # fmt: skip
        seconds = time.perf_counter() - start
    finally:
        store.close()
    return done.rows / seconds, f"{done.method}, indexes {done.indexes}"


def floor(admin_url: str, csv_path: Path) -> float:
    """The plain COPY of the file into an unindexed table, in a process of its own."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.bulkload", "--floor-of", str(csv_path), "--pg", admin_url],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return float(out.stdout.strip().splitlines()[-1])


def _floor_run(admin_url: str, csv_path: Path) -> None:
    import psycopg

    schema = f"bench_floor_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        columns = ", ".join(f"{c} text" for c in REQUIRED)
        conn.execute(f'CREATE TABLE "{schema}".rows ({columns})')
        conn.commit()
        start = time.perf_counter()
        with conn.cursor() as cur, csv_path.open("rb") as f:
            with cur.copy(f'COPY "{schema}".rows FROM STDIN (FORMAT csv, HEADER)') as copy:
                for block in iter(lambda: f.read(1 << 20), b""):
                    copy.write(block)
            n = cur.rowcount
        conn.commit()
        seconds = time.perf_counter() - start
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        conn.commit()
    print(n / seconds)


def _pct(values: list[float], p: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, len(ordered) * p // 100)] * 1000


def measure(home: Path, codes: list[str], samples: int) -> dict[str, float]:
    """Lookup by code and search by name and date of birth, in-process through the
    service functions (provision row, audit entry and commit each): p50, p99 in ms."""
    from bench.provision import BENCH_TABLE, PENSION
    from jukinet.network.messages import LookupRequest, SearchRequest
    from jukinet.nodes.identity import provision, provision_store

    (home / "legal.toml").write_text(BENCH_TABLE)
    store = national.open_node(home)
    table = provision.load_table(home)
    picked = random.Random(5).sample(codes, samples)
    out: dict[str, float] = {}
    try:
        times = []
        for code in picked:
            start = time.perf_counter()
            req = LookupRequest(affair=PENSION, resident_code=code)
            answer = provision.lookup(store, table, "pension-fund", req)
            times.append(time.perf_counter() - start)
            assert answer.found
        out["lookup_p50"], out["lookup_p99"] = _pct(times, 50), _pct(times, 99)
        with store.engine.connect() as conn:
            people = [provision_store.find(conn, c) for c in picked]
        times = []
        for person in people:
            assert person is not None
            req = SearchRequest(affair=PENSION, name=person.identity.name,
                                date_of_birth=person.identity.date_of_birth)  # fmt: skip
            start = time.perf_counter()
            found = provision.search(store, table, "pension-fund", req)
            times.append(time.perf_counter() - start)
            assert found.candidates
        out["search_p50"], out["search_p99"] = _pct(times, 50), _pct(times, 99)
    finally:
        store.close()
    return out


def _floor_reads(url: str, codes_file: Path) -> None:
    """The bare indexed SELECTs of lookup and search, in a process of its own."""
    from jukinet.storage.database import make_engine

    codes = codes_file.read_text().split()
    engine = make_engine(url)
    with engine.connect() as conn:
        times, keys = [], []
        for code in codes:
            start = time.perf_counter()
            row = conn.exec_driver_sql(
                "SELECT name_folded, date_of_birth FROM identities WHERE resident_code = %s",
                (code,),
            ).one()
            times.append(time.perf_counter() - start)
            keys.append(row)
        lookup = (_pct(times, 50), _pct(times, 99))
        times = []
        for folded, born in keys:
            start = time.perf_counter()
            conn.exec_driver_sql(
                "SELECT * FROM identities WHERE name_folded = %s AND date_of_birth = %s LIMIT 1000",
                (folded, born),
            ).all()
            times.append(time.perf_counter() - start)
    engine.dispose()
    print(*lookup, _pct(times, 50), _pct(times, 99))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pg", required=True, help="PostgreSQL URL (a database of tests).")
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--sqlite-persons", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="Keep the last PostgreSQL node.")
    parser.add_argument("--home", type=Path, help="Where the kept node's folder goes.")
    parser.add_argument("--modes", default="after,with", help="Index modes to load with.")
    parser.add_argument(
        "--measure", type=int, default=0, help="Then time this many lookups and searches."
    )
    parser.add_argument("--serve", type=Path, help="Measure a kept node's folder again.")
    parser.add_argument("--batch", type=int, default=200_000, help="Codes of --serve's batch.")
    parser.add_argument("--floor-of", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--floor-reads", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor_of:
        _floor_run(args.pg, args.floor_of)
        return
    if args.floor_reads:
        _floor_reads(args.pg, args.floor_reads)
        return
    if args.serve:
        serve(args.serve, args.measure or 2000, args.batch)
        return
    print(f"jukinet bulk-load benchmark — {date.today()} — {platform.node()} "
          f"({os.cpu_count()} cores, Python {platform.python_version()}) — "
          f"load average {os.getloadavg()[0]:.2f} (shared machine)")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        csv_path = root / "identities.csv"
        codes = write_csv(csv_path, args.persons)
        size = csv_path.stat().st_size / 2**20
        print(f"wrote {args.persons:,} identities ({size:,.0f} MiB CSV) in "
              f"{time.perf_counter() - start:.0f} s (set-up)")  # fmt: skip
        fl = floor(args.pg, csv_path)
        print(f"  floor (plain COPY, unindexed text table, own process)  {fl:>10,.0f} persons/s")
        modes = args.modes.split(",")
        for i, mode in enumerate(modes):
            last = i == len(modes) - 1
            schema = f"bench_load_{mode}_{uuid.uuid4().hex[:8]}"
            home = (args.home or root) / f"national-{mode}"
            url = _schema(args.pg, schema)
            rate, how = load_node(home, url, csv_path, mode)
            print(f"[load {args.persons:,} into PostgreSQL, {how}]  {rate:>10,.0f} persons/s  "
                  f"({rate / fl:.2f} of floor)  load average {os.getloadavg()[0]:.2f}")  # fmt: skip
            if last and args.measure:
                _report_reads(home, url, codes, args.measure, root)
            if last and args.keep:
                print(f"  kept: schema {schema}, node folder {home}")
            else:
                _drop(args.pg, schema)
        del codes
        if args.sqlite_persons:
            small = root / "small.csv"
            write_csv(small, args.sqlite_persons, seed=8)
            home = root / "national-sqlite"
            rate, how = load_node(home, f"sqlite:///{home}.db", small, "auto")
            print(f"[load {args.sqlite_persons:,} into SQLite, {how}]  {rate:>10,.0f} persons/s")


def _report_reads(
    home: Path, url: str, codes: list[str], samples: int, root: Path, held: int = 0
) -> None:
    got = measure(home, codes, samples)
    picked = root / "picked.txt"
    picked.write_text("\n".join(random.Random(5).sample(codes, samples)))
    out = subprocess.run(
        [sys.executable, "-m", "bench.bulkload", "--floor-reads", str(picked), "--pg", url],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    fl = [float(x) for x in out.stdout.split()]
    print(f"[lookup by code, in-process service, {held or len(codes):,} held]  p50 "
          f"{got['lookup_p50']:.2f} ms  p99 {got['lookup_p99']:.2f} ms  "
          f"load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    print(f"  floor (bare SELECT by primary key, own process)  p50 {fl[0]:.2f} ms  "
          f"p99 {fl[1]:.2f} ms")  # fmt: skip
    print(f"[search by name and birth date, in-process service]  p50 {got['search_p50']:.2f} ms  "
          f"p99 {got['search_p99']:.2f} ms")  # fmt: skip
    print(f"  floor (bare indexed SELECT on folded name, own process)  p50 {fl[2]:.2f} ms  "
          f"p99 {fl[3]:.2f} ms")  # fmt: skip


def serve(home: Path, samples: int, batch: int) -> None:
    """Lookup, search and batch on a kept node (``--serve``), beside their floors."""
    from bench.floors import batch_floor
    from bench.provision import BENCH_TABLE, PENSION
    from jukinet.nodes.identity import provision

    store = national.open_node(home)  # migrates a node kept by an earlier version
    try:
        url = store.engine.url.render_as_string(hide_password=False)
        with store.engine.connect() as conn:
            held = int(conn.execute(text("SELECT count(*) FROM identities")).scalar_one())
            codes = list(
                conn.execute(
                    text("SELECT resident_code FROM identities TABLESAMPLE SYSTEM (:pct)"),
                    {"pct": min(100.0, 100.0 * 1.5 * (samples + batch) / held)},
                ).scalars()
            )
    finally:
        store.close()
    random.Random(9).shuffle(codes)
    print(f"[{held:,} identities held; load average {os.getloadavg()[0]:.2f}]")
    with tempfile.TemporaryDirectory() as tmp:
        _report_reads(home, url.replace("postgresql+psycopg", "postgresql"), codes[:samples],
                      samples, Path(tmp), held)  # fmt: skip
    sample = sorted(codes[samples : samples + batch], key=lambda _: random.random())
    (home / "legal.toml").write_text(BENCH_TABLE)
    store = national.open_node(home)
    table = provision.load_table(home)
    try:
        for run in ("first (pseudonyms computed and kept)", "again (pseudonyms kept)"):
            start, cpu = time.perf_counter(), time.process_time()
            size = sum(len(b) for b in provision.batch_answer(
                store, table, "pension-fund", PENSION, (c + "\n" for c in sample)
            ))  # fmt: skip
            took = time.perf_counter() - start
            cpu_us = (time.process_time() - cpu) / len(sample) * 1e6
            print(f"[batch status, {len(sample):,} codes, in-process, {run}]  "
                  f"{len(sample) / took:>10,.0f} persons/s  {cpu_us:.0f} µs CPU a person  "
                  f"({size / 2**20:,.0f} MiB answered)")  # fmt: skip
    finally:
        store.close()
    fl = batch_floor(home, sample, provision.CHUNK)
    ratio = len(sample) / took / fl["rate"]
    print(f"  floor (c) (same reads and provision writes, plain SQL, own process)  "
          f"{fl['rate']:>10,.0f} persons/s  ratio {ratio:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
