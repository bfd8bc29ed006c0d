"""Go's own transparency-log code as the auditor's tool (R25): tests/go/auditcheck."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[2] / "go" / "auditcheck"
GOPATH = "/usr/share/gocode"  # Debian's golang-golang-x-mod-dev: no module download


def build(out: Path) -> Path:
    """Build auditcheck with Debian's go in GOPATH mode; fails (never skips) without it."""
    go = shutil.which("go")
    assert go, "Debian's golang-go is needed: the auditor's check is Go's own tlog"
    exe = out / "auditcheck"
    env = {**os.environ, "GO111MODULE": "off", "GOPATH": GOPATH, "GOCACHE": str(out / "cache"),
           "GOFLAGS": ""}  # fmt: skip
    done = subprocess.run(
        [go, "build", "-o", str(exe), "."],
        cwd=SOURCE, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return exe


def check(exe: Path, bundle: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(exe), str(bundle)], capture_output=True, text=True, timeout=120)


def check_disclosure(exe: Path, answer: Path, *logs: Path) -> subprocess.CompletedProcess[str]:
    """``auditcheck -disclosure ANSWER [LOG...]``: a disclosure answer checked by Go (R14)."""
    return subprocess.run(
        [str(exe), "-disclosure", str(answer), *map(str, logs)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
