"""Audit log costs (R12, R25; docs/audit.md): append, verify, export, bundle check.

    .venv/bin/python -m bench.audit --entries 100000 [--pg postgresql://...]

Appends one entry per transaction (as every operation does) and in batches of 1000
(as a seed does), then times ``audit verify`` of the database, ``audit export`` of a
bundle, ``audit verify --bundle`` and Go's check (tests/go/auditcheck) of it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from sqlalchemy import MetaData, create_engine

from jukinet.audit import bundle, checkpoints
from jukinet.audit import log as audit
from jukinet.audit.tables import audit_tables
from jukinet.keys import NodeKey

GO_SOURCE = Path(__file__).resolve().parents[1] / "tests" / "go" / "auditcheck"


def run(url: str, entries: int, work: Path) -> None:
    engine = create_engine(url)
    metadata = MetaData()
    audit_tables(metadata)
    metadata.drop_all(engine)
    metadata.create_all(engine)
    key = NodeKey.generate()
    with engine.begin() as conn:
        audit.start(conn, key)
    draft = audit.Draft("operator:clerk", "resident.show", "12345678901", detail="read")

    singles = 2000
    t = time.perf_counter()
    for _ in range(singles):
        with engine.begin() as conn:
            audit.append(conn, key, "131016", [draft])
    single = (time.perf_counter() - t) / singles * 1e6

    t = time.perf_counter()
    rest = entries - singles
    for _ in range(rest // 1000):
        with engine.begin() as conn:
            audit.append(conn, key, "131016", [draft] * 1000)
    batched = (time.perf_counter() - t) / (rest - rest % 1000) * 1e6

    with engine.connect() as conn:
        t = time.perf_counter()
        result = audit.verify(conn, key.public)
        verify_db = time.perf_counter() - t
    assert result.intact, result.problems
    out = work / "bundle"
    shutil.rmtree(out, ignore_errors=True)
    with engine.begin() as conn:
        t = time.perf_counter()
        bundle.export(conn, key, checkpoints.origin("municipality", "131016"), out)
        export = time.perf_counter() - t
    t = time.perf_counter()
    n, problems = bundle.verify(out)
    verify_bundle = time.perf_counter() - t
    assert not problems, problems
    exe = work / "auditcheck"
    env = {**os.environ, "GO111MODULE": "off", "GOPATH": "/usr/share/gocode",
           "GOCACHE": str(work / "gocache")}  # fmt: skip
    subprocess.run(["go", "build", "-o", str(exe), "."], cwd=GO_SOURCE, env=env, check=True)
    t = time.perf_counter()
    subprocess.run([str(exe), str(out)], check=True, capture_output=True)
    go = time.perf_counter() - t
    engine.dispose()
    print(f"{url.split(':')[0]}: {n} entries")
    print(f"  append, one entry per transaction: {single:8.1f} µs/entry")
    print(f"  append, 1000 entries per transaction: {batched:8.1f} µs/entry")
    print(f"  audit verify (database): {verify_db:6.2f} s")
    print(f"  audit export (bundle):   {export:6.2f} s")
    print(f"  verify --bundle (Python): {verify_bundle:6.2f} s")
    print(f"  Go auditcheck:           {go:6.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--pg", default=os.environ.get("JUKINET_TEST_PG_URL"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        run(f"sqlite:///{work / 'audit.db'}", args.entries, work)
        if args.pg:
            run(args.pg, args.entries, work)


if __name__ == "__main__":
    main()
