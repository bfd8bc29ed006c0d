"""Benchmark: what the agency console calls, each figure beside its floor.

    .venv/bin/python -m bench.agency_console [--persons 100000] [--rows 100000]

Builds a network folder with ``--persons`` identities in the national node's SQLite
database (``bench.provision.build``, set-up, not measured), runs the national node as
its own process (``jukinet node run``, mTLS, signed requests) and measures, as the
pension fund:

- a batch job (``agency.batch_job``) of a CSV of ``--rows`` codes, from the uploaded
  file to ``answers.csv`` and ``errors.csv`` with its progress kept: rows/s — beside
  the floor, the same codes through ``AgencyClient.batch`` with each answer row
  dropped (the client alone, no file, no progress); in turns, the best of two each;
- the agency's provision history of this month (the rows the four batches wrote), walked
  page by page (1,000 rows a page, with the codes): p50 / p99 ms a page over HTTP —
  beside the floor, the same keyset SELECT in this process on the same database.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import create_engine, select, tuple_

from bench.floors import pct, stop, wait_up
from bench.provision import PENSION, _national_port, _node, build
from jukinet import config
from jukinet.agency import AgencyClient
from jukinet.agency.batch_job import agency_jobs
from jukinet.domain.legal_parse import load_legal_table
from jukinet.network.messages_history import HistoryRequest
from jukinet.nodes.identity.tables import provisions
from jukinet.seed.places import Places

JST = timezone(timedelta(hours=9))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Places() as places:
        root = Path(tmp) / "net"
        layout, codes, _ = build(root, places, args.persons)
        home = layout.node("national:national")
        folder = layout.client("agency:pension-fund")
        url = f"https://127.0.0.1:{_national_port(home)}"
        sample = random.Random(5).choices(codes, k=args.rows)
        upload = Path(tmp) / "codes.csv"
        upload.write_text("resident_code\n" + "\n".join(sample) + "\n", encoding="utf-8")
        node = _node(home)
        try:
            settings = AgencyClient.from_folder(folder).settings
            wait_up(settings.identity, url)
            jobs = agency_jobs(Path(tmp) / "jobs", folder, load_legal_table(home / "legal.toml"))

            async def job() -> float:
                with upload.open("rb") as f:
                    queued = jobs.submit(PENSION, f)
                t0 = time.perf_counter()
                done = await jobs.run(queued.id)
                assert done.state == "done", done.message
                return done.answered / (time.perf_counter() - t0)

            async def direct() -> float:
                t0, n = time.perf_counter(), 0
                async with AgencyClient(settings) as agency:
                    async for _row in agency.batch(PENSION, (c + "\n" for c in sample)):
                        n += 1
                return n / (time.perf_counter() - t0)

            # In turns, the best of two each: the machine is shared, and each run adds
            # provision rows the next one writes beside.
            direct_rate = job_rate = 0.0
            for _ in range(2):
                direct_rate = max(direct_rate, asyncio.run(direct()))
                job_rate = max(job_rate, asyncio.run(job()))
            month = datetime.now(UTC).astimezone(JST).strftime("%Y-%m")

            async def history() -> tuple[list[float], int]:
                times, rows = [], 0
                request = HistoryRequest(month=month, codes=True, limit=1000)
                async with AgencyClient(settings) as agency:
                    while True:
                        t0 = time.perf_counter()
                        page = await agency.history(request)
                        times.append(time.perf_counter() - t0)
                        rows += page.rows
                        if page.next is None:
                            return times, rows
                        request = request.model_copy(update={"after": page.next})

            pages, rows = asyncio.run(history())
        finally:
            stop(node)
        floor = _floor(home, month)
    print(f"## Agency console ({datetime.now(UTC):%Y-%m-%d}, {platform.python_version()})\n")
    print("| what | figure | floor | jukinet/floor |\n|---|---|---|---|")
    print(f"| batch job, {args.rows:,} rows to CSV | {job_rate:,.0f} rows/s | "
          f"{direct_rate:,.0f} rows/s (client alone) | {job_rate / direct_rate:.2f} |")  # fmt: skip
    print(f"| history, {rows:,} rows in {len(pages)} pages of 1,000 | p50 {pct(pages, 50):.1f} / "
          f"p99 {pct(pages, 99):.1f} ms a page | SELECT p50 {pct(floor, 50):.1f} / "
          f"p99 {pct(floor, 99):.1f} ms | {pct(pages, 50) / pct(floor, 50):.1f}× |")  # fmt: skip


def _floor(home: Path, month: str) -> list[float]:
    """The same keyset pages, as bare SELECTs in this process."""
    engine = create_engine(config.load(home).database_url)
    year, mon = int(month[:4]), int(month[5:])
    since = datetime(year, mon, 1, tzinfo=JST).astimezone(UTC).isoformat(timespec="microseconds")
    times: list[float] = []
    after: tuple[str, int] = (since, 0)
    with engine.connect() as conn:
        while True:
            t0 = time.perf_counter()
            rows = conn.execute(
                select(provisions.c.id, provisions.c.at, provisions.c.affair,
                       provisions.c.basis, provisions.c.function, provisions.c.fields,
                       provisions.c.request_id, provisions.c.resident_code)
                .where(provisions.c.agency == "agency:pension-fund",
                       provisions.c.at >= since,
                       tuple_(provisions.c.at, provisions.c.id) > tuple_(*after))
                .order_by(provisions.c.at, provisions.c.id).limit(1001)
            ).all()  # fmt: skip
            times.append(time.perf_counter() - t0)
            if len(rows) <= 1000:
                break
            after = (rows[999].at, rows[999].id)
    engine.dispose()
    return times


if __name__ == "__main__":
    main()
