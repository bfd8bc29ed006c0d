"""The IDS rules engine, configured as data (R7): each kind of rule, blocks, bad rules."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from jukinet.errors import ConfigurationError
from jukinet.network.ids import DEFAULT_RULES, Engine, load_engine, parse_rules
from jukinet.network.seclog import SecurityLog

START = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)  # 12:00 in Tokyo


def _log(tmp_path: Path, rules: str = DEFAULT_RULES) -> SecurityLog:
    parsed, hours = parse_rules(rules)
    return SecurityLog("municipality:131016", tmp_path / "security.jsonl", Engine(parsed, hours))


def _alerts(log: SecurityLog) -> list[dict[str, Any]]:
    assert log.engine is not None
    return log.engine.alerts


def test_a_burst_of_bad_signatures_from_one_source_raises_one_alert_and_blocks_it(
    tmp_path: Path,
) -> None:
    log = _log(tmp_path)
    for n in range(5):
        log.event("signature", "failure", "bad", source=("10.0.0.2", 4000 + n),
                  at=START + timedelta(seconds=n))  # fmt: skip
    [alert] = _alerts(log)
    assert alert["event"]["kind"] == "alert"
    assert alert["rule"]["name"] == "auth-failures"
    assert alert["source"]["ip"] == "10.0.0.2"
    assert log.engine is not None
    block = log.engine.blocked("source.ip", "10.0.0.2", now=START.timestamp() + 10)
    assert block is not None and block.until == pytest.approx(START.timestamp() + 4 + 600)
    assert log.engine.blocked("source.ip", "10.0.0.2", now=START.timestamp() + 700) is None
    assert log.engine.blocked("source.ip", "10.0.0.3", now=START.timestamp() + 10) is None


def test_failures_spread_beyond_the_window_raise_nothing(tmp_path: Path) -> None:
    log = _log(tmp_path)
    for n in range(10):
        log.event("replay", "failure", source=("10.0.0.2", 1), at=START + timedelta(seconds=20 * n))
    assert _alerts(log) == []


def test_a_scan_of_unknown_paths_is_an_alert(tmp_path: Path) -> None:
    log = _log(tmp_path)
    for n in range(10):
        log.event("unknown-path", "failure", source=("10.0.0.9", 1), path=f"/x{n}", at=START)
    assert [a["rule"]["name"] for a in _alerts(log)] == ["path-scan"]


def test_one_caller_touching_many_distinct_residents_is_an_alert(tmp_path: Path) -> None:
    rules = DEFAULT_RULES.replace("threshold = 1000", "threshold = 5")
    log = _log(tmp_path, rules)
    for _ in range(3):  # the same three residents again and again: not many
        log.event("provision", "success", caller="agency:onkyu", residents=3,
                  touched=["a", "b", "c"], at=START)  # fmt: skip
    assert _alerts(log) == []
    log.event("provision", "success", caller="agency:onkyu", residents=2,
              touched=["d", "e"], at=START)  # fmt: skip
    [alert] = _alerts(log)
    assert alert["rule"]["name"] == "bulk-residents"
    assert alert["jukinet"]["value"] == "agency:onkyu"
    assert alert["jukinet"]["count"] == 5


def test_residents_touched_before_the_window_no_longer_count(tmp_path: Path) -> None:
    """R7: the distinct count is of the residents inside the window only; one touched
    both before and inside the window counts once, and an alert starts a new count."""
    rules = DEFAULT_RULES.replace("threshold = 1000", "threshold = 4")
    log = _log(tmp_path, rules)
    assert log.engine is not None
    [rule] = [r for r in log.engine.rules if r.name == "bulk-residents"]
    later = START + timedelta(seconds=rule.window + 1)

    def touch(*who: str, at: datetime) -> None:
        log.event("provision", "success", caller="agency:onkyu", residents=len(who),
                  touched=list(who), at=at)  # fmt: skip

    touch("a", "b", "c", at=START)
    touch("c", "d", at=later)  # a and b have left the window; c counts once
    touch("c", at=later)
    assert _alerts(log) == []
    touch("e", "f", at=later)
    [alert] = _alerts(log)
    assert alert["jukinet"]["count"] == 4  # c, d, e, f
    touch("g", "h", "i", at=later)  # counting again from nothing
    assert len(_alerts(log)) == 1


def test_a_read_outside_the_declared_hours_is_an_alert(tmp_path: Path) -> None:
    log = _log(tmp_path)
    log.event("provision", "success", caller="agency:onkyu", residents=1, at=START)
    assert _alerts(log) == []
    night = datetime(2026, 12, 1, 17, 30, tzinfo=UTC)  # 02:30 in Tokyo
    log.event("provision", "success", caller="agency:onkyu", residents=1, at=night)
    assert [a["rule"]["name"] for a in _alerts(log)] == ["off-hours"]


def test_a_municipality_asking_for_what_is_not_its_own_is_an_alert(tmp_path: Path) -> None:
    log = _log(tmp_path)
    log.event("outside-scope", "failure", caller="municipality:271276", at=START)
    [alert] = _alerts(log)
    assert alert["rule"]["name"] == "not-own"


def test_volume_above_a_multiple_of_the_usual_rate_is_an_alert(tmp_path: Path) -> None:
    rules = DEFAULT_RULES.replace("baseline = 100", "baseline = 0")
    log = _log(tmp_path, rules)
    for minute in range(3):  # a usual rate: 10 a minute
        for n in range(10):
            log.event("request", "success", at=START + timedelta(minutes=minute, seconds=n))
    assert _alerts(log) == []
    for n in range(51):  # then more than five times that within a minute
        log.event("request", "success", at=START + timedelta(minutes=3, seconds=n))
    [alert] = _alerts(log)
    assert alert["rule"]["name"] == "volume"
    assert alert["jukinet"]["count"] == 51


def test_alerts_are_lines_of_the_security_log(tmp_path: Path) -> None:
    log = _log(tmp_path)
    log.event("outside-scope", "failure", caller="municipality:271276", at=START)
    lines = (tmp_path / "security.jsonl").read_text().splitlines()
    assert [line.split('"kind":"')[1].split('"')[0] for line in lines] == ["event", "alert"]


def test_a_node_without_ids_toml_takes_the_default_rules(tmp_path: Path) -> None:
    engine = load_engine(tmp_path)
    assert {r.name for r in engine.rules} == {
        "auth-failures", "path-scan", "volume", "bulk-residents", "off-hours", "not-own"
    }  # fmt: skip
    (tmp_path / "ids.toml").write_text(
        '[[rule]]\nname = "x"\nactions = ["signature"]\nkey = "source.ip"\nthreshold = 2\n'
    )
    assert [r.name for r in load_engine(tmp_path).rules] == ["x"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[rule]\n", "are not TOML"),
        ('[[rule]]\nname = "x"\n', "incomplete"),
        ('[[rule]]\nname = "x"\nactions = []\nkey = "k"\nkind = "magic"\n', "kind is one of"),
        ('[[rule]]\nname = "x"\nactions = []\nkey = "k"\naction = "nuke"\n', "alert or block"),
    ],
)
def test_a_bad_rules_file_is_one_clear_error(text: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        parse_rules(text)


def test_an_address_of_a_directory_member_is_alerted_on_never_blocked(tmp_path: Path) -> None:
    log = _log(tmp_path)
    assert log.engine is not None
    log.engine.protected = lambda value: value == "127.0.0.1"  # every node on one machine
    for _ in range(5):
        log.event("signature", "failure", source=("127.0.0.1", 1), at=START)
    [alert] = _alerts(log)
    assert alert["jukinet"]["not_blocked"] == "an address of a directory member"
    assert log.engine.blocked("source.ip", "127.0.0.1", now=START.timestamp()) is None
    assert log.engine.blocks(now=START.timestamp()) == []


def test_a_security_log_that_cannot_be_written_does_not_stop_the_node(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A full disk (here: the log's path is a folder, so every append fails) must not turn
    each request into a 500: the failure is said once, the node goes on (R7, faults)."""
    (tmp_path / "log" / "security.jsonl").mkdir(parents=True)
    log = SecurityLog.in_home(tmp_path, "municipality:131016")
    with caplog.at_level(logging.ERROR, logger="jukinet.security"):
        for _ in range(3):
            record = log.event("signature", "failure", "bad signature", source=("10.0.0.9", 1))
            assert record["event"]["action"] == "signature"
    said = [r.getMessage() for r in caplog.records if "cannot be written" in r.getMessage()]
    assert len(said) == 1 and "security.jsonl" in said[0]
