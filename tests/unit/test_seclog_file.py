"""The security log's file (R7): kept open between lines, and followed through rotation.

A log rotated away (``logrotate`` renames it) or removed gets a fresh file at the same
path with the next line; fail2ban reads that path (docs/ids.md)."""

from __future__ import annotations

import json
from pathlib import Path

from jukinet.network.seclog import SecurityLog


def _actions(path: Path) -> list[str]:
    return [json.loads(line)["event"]["action"] for line in path.read_text().splitlines()]


def test_lines_follow_the_file_through_rotation_and_removal(tmp_path: Path) -> None:
    log = SecurityLog.in_home(tmp_path, "national:jp")
    assert log.path is not None
    log.event("signature", "failure", "bad signature")
    log.event("replay", "failure", "seen before")
    rotated = log.path.with_name("security.jsonl.1")
    log.path.rename(rotated)
    log.event("unknown-path", "failure", "No endpoint has this path.")
    assert _actions(rotated) == ["signature", "replay"]
    assert _actions(log.path) == ["unknown-path"]
    log.path.unlink()
    log.event("blocked", "failure", "A rule blocked this source.")
    assert _actions(log.path) == ["blocked"]


def test_each_line_is_whole_when_two_logs_share_the_file(tmp_path: Path) -> None:
    first = SecurityLog.in_home(tmp_path, "national:jp")
    second = SecurityLog.in_home(tmp_path, "national:jp")  # a restart in the same home
    for n in range(50):
        (first if n % 2 else second).event("signature", "failure", f"bad signature {n}")
    assert first.path is not None
    reasons = [json.loads(line)["event"]["reason"] for line in first.path.read_text().splitlines()]
    assert reasons == [f"bad signature {n}" for n in range(50)]
