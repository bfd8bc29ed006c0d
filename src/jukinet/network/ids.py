"""The node's intrusion detection: rules, configured as data, over its security events (R7).

Every event a node writes to its security log (``network/seclog.py``) passes through
its ``Engine``. A rule (TOML, ``[[rule]]``; the node's ``ids.toml`` or ``DEFAULT_RULES``)
says which events it counts (``actions``, ``outcome``), by what ``key`` (a dotted
field of the event: ``source.ip``, ``jukinet.caller``), over what ``window`` (seconds),
and what ``threshold`` raises an alert; ``action = "block"`` also blocks the key's
value for ``block`` seconds (the gate refuses a blocked source before anything else).
Kinds of rule:

- ``count``: ``threshold`` matching events of one key within the window;
- ``distinct``: ``threshold`` distinct residents touched by one key within the window;
- ``rate``: more than ``multiple`` times the usual count per window (the mean of the
  windows seen so far, at least ``baseline``);
- ``hours``: a matching event outside the hours the node declares (``[hours]``).

An alert is itself an ECS line (``event.kind = "alert"``) in the security log, which
is what ``jukinet ids alerts`` gathers on the national node's console.

Hand-written: the rules are few, their state is a deque per key, and no rules engine
the project could take (Sigma, Falco, Suricata) reads a node's own events in process
so that a block takes effect on the next request.
"""

from __future__ import annotations

import time
import tomllib
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jukinet.errors import ConfigurationError

__all__ = ["DEFAULT_RULES", "Block", "Engine", "Rule", "load_engine", "parse_rules"]

DEFAULT_RULES = """\
# jukinet IDS rules (R7): docs/ids.md. A node reads ids.toml in its home, else these.
[hours]
reads = "07:00-21:00"      # when this node expects provisions (local time)
timezone = "Asia/Tokyo"

[[rule]]
name = "auth-failures"     # bursts of failed TLS, signature or replay checks
kind = "count"
actions = ["tls-handshake", "signature", "replay"]
outcome = "failure"
key = "source.ip"
window = 60
threshold = 5
action = "block"
block = 600

[[rule]]
name = "path-scan"         # scans of paths that are no endpoint
kind = "count"
actions = ["unknown-path"]
key = "source.ip"
window = 60
threshold = 10
action = "block"
block = 600

[[rule]]
name = "volume"            # more than a multiple of the node's usual rate
kind = "rate"
actions = ["request"]
key = "observer.name"
window = 60
multiple = 5
baseline = 100
action = "alert"

[[rule]]
name = "bulk-residents"    # one caller touching many distinct residents
kind = "distinct"
actions = ["provision"]
key = "jukinet.caller"
window = 3600
threshold = 1000
action = "alert"

[[rule]]
name = "off-hours"         # reads outside the hours the node declares
kind = "hours"
actions = ["provision"]
key = "jukinet.caller"
action = "alert"

[[rule]]
name = "not-own"           # a municipality asking for what is not its own
kind = "count"
actions = ["outside-scope"]
key = "jukinet.caller"
window = 3600
threshold = 1
action = "alert"
"""

_KINDS = ("count", "distinct", "rate", "hours")


@dataclass(frozen=True)
class Rule:
    name: str
    kind: str
    actions: tuple[str, ...]
    key: str
    outcome: str | None = None
    window: float = 60.0
    threshold: float = 1.0
    action: str = "alert"
    block: float = 0.0
    multiple: float = 5.0
    baseline: float = 0.0

    def matches(self, record: dict[str, Any]) -> bool:
        event = record.get("event", {})
        return (
            event.get("kind") == "event"
            and event.get("action") in self.actions
            and (self.outcome is None or event.get("outcome") == self.outcome)
        )


@dataclass(frozen=True)
class Block:
    """A value of a key refused until ``until`` (epoch seconds), by ``rule``.

    It holds on this node only; an operator makes a block the network's by confirming
    the alert's block on the national console (``network/hotlist.py``, docs/ids.md)."""

    key: str
    value: str
    until: float
    rule: str
    since: float


def _field(record: dict[str, Any], dotted: str) -> str | None:
    value: Any = record
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return None if value is None else str(value)


def _hours(text: str) -> tuple[clock_time, clock_time]:
    try:
        start, end = (clock_time.fromisoformat(p.strip()) for p in text.split("-"))
    except ValueError:
        raise ConfigurationError(f"[hours] reads is {text!r}; write it as 07:00-21:00.") from None
    return start, end


def parse_rules(text: str, where: str = "the IDS rules") -> tuple[list[Rule], dict[str, Any]]:
    """The rules and the ``[hours]`` table of a rules file, or ConfigurationError."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{where} are not TOML: {exc}.") from None
    rules: list[Rule] = []
    for raw in data.get("rule", []):
        try:
            rule = Rule(
                name=str(raw["name"]),
                kind=str(raw.get("kind", "count")),
                actions=tuple(str(a) for a in raw["actions"]),
                key=str(raw["key"]),
                outcome=raw.get("outcome"),
                window=float(raw.get("window", 60)),
                threshold=float(raw.get("threshold", 1)),
                action=str(raw.get("action", "alert")),
                block=float(raw.get("block", 0)),
                multiple=float(raw.get("multiple", 5)),
                baseline=float(raw.get("baseline", 0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigurationError(f"A rule in {where} is incomplete: {exc}.") from None
        if rule.kind not in _KINDS or rule.action not in ("alert", "block"):
            raise ConfigurationError(
                f"Rule {rule.name} in {where}: kind is one of {', '.join(_KINDS)}, "
                "action is alert or block."
            )
        rules.append(rule)
    return rules, dict(data.get("hours", {}))


@dataclass
class Engine:
    """The rules' state on one node: windows per (rule, key), alerts raised, blocks."""

    rules: list[Rule]
    hours: dict[str, Any] = field(default_factory=dict)
    clock: Any = time.time
    _seen: dict[tuple[str, str], deque[tuple[float, str]]] = field(
        default_factory=lambda: defaultdict(deque)
    )
    # Per (rule, value) of a distinct rule: how often each item is in its window, so the
    # distinct count is the dict's size (kept as events enter and leave, not recounted).
    _items: dict[tuple[str, str], Counter[str]] = field(
        default_factory=lambda: defaultdict(Counter)
    )
    _windows: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    _blocks: dict[tuple[str, str], Block] = field(default_factory=dict)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    # Values never blocked, only alerted on: the addresses of the directory's own members
    # (a member that fails checks is revoked, not cut off by address; on one machine all
    # members share 127.0.0.1). The node sets it from its directory (``load_runtime``).
    protected: Callable[[str], bool] = field(default=lambda value: False)

    def observe(
        self, record: dict[str, Any], touched: tuple[str, ...] = ()
    ) -> list[dict[str, Any]]:
        """The alerts ``record`` raises (each also kept in ``alerts``)."""
        now = _epoch(record)
        raised: list[dict[str, Any]] = []
        for rule in self.rules:
            if not rule.matches(record):
                continue
            value = _field(record, rule.key)
            if value is None:
                continue
            count = self._count(rule, value, now, touched, record)
            if count is None:
                continue
            raised.append(self._alert(rule, value, count, now, record))
        self.alerts.extend(raised)
        return raised

    def _count(
        self, rule: Rule, value: str, now: float, touched: tuple[str, ...], record: dict[str, Any]
    ) -> float | None:
        """The count that makes ``rule`` fire for ``value`` now, or None."""
        if rule.kind == "hours":
            return None if self._within_hours(now) else 1
        seen = self._seen[(rule.name, value)]
        if rule.kind == "rate":
            return self._rate(rule, value, now)
        if rule.kind != "distinct":
            seen.append((now, ""))
            while seen and seen[0][0] <= now - rule.window:
                seen.popleft()
            count = len(seen)
        else:
            present = self._items[(rule.name, value)]
            for item in touched:
                seen.append((now, item))
                present[item] += 1
            while seen and seen[0][0] <= now - rule.window:
                _, gone = seen.popleft()
                present[gone] -= 1
                if not present[gone]:
                    del present[gone]
            count = len(present)
        if count < rule.threshold:
            return None
        seen.clear()  # one alert per burst: the next needs the threshold again
        self._items.pop((rule.name, value), None)
        return count

    def _rate(self, rule: Rule, value: str, now: float) -> float | None:
        # [start of the current window, events in it, windows closed, their total]
        state = self._windows.setdefault((rule.name, value), [now, 0.0, 0.0, 0.0, 0.0])
        if now - state[0] >= rule.window:
            state[2] += 1
            state[3] += state[1]
            state[0], state[1], state[4] = now, 0.0, 0.0
        state[1] += 1
        usual = max(rule.baseline, state[3] / state[2] if state[2] else 0.0)
        if usual <= 0 or state[1] <= rule.multiple * usual or state[4]:
            return None
        state[4] = 1.0  # one alert per window
        return state[1]

    def _within_hours(self, now: float) -> bool:
        if "reads" not in self.hours:
            return True
        start, end = _hours(str(self.hours["reads"]))
        zone = ZoneInfo(str(self.hours.get("timezone", "Asia/Tokyo")))
        local = datetime.fromtimestamp(now, zone).time()
        return start <= local < end if start <= end else (local >= start or local < end)

    def _alert(
        self, rule: Rule, value: str, count: float, now: float, record: dict[str, Any]
    ) -> dict[str, Any]:
        when = datetime.fromtimestamp(now, UTC)
        alert: dict[str, Any] = {
            "@timestamp": when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z",
            "event": {
                "kind": "alert",
                "category": ["intrusion_detection"],
                "type": ["info"] if rule.action == "alert" else ["denied"],
                "outcome": "unknown",
                "action": rule.name,
                "reason": f"{rule.key} {value}: {count:g} {rule.kind} in {rule.window:g} s "
                f"(threshold {rule.threshold:g})",
            },
        }
        for part in ("source", "tls", "observer", "url"):
            if part in record:
                alert[part] = record[part]
        alert["rule"] = {"name": rule.name, "ruleset": "jukinet"}
        own: dict[str, Any] = {"key": rule.key, "value": value, "count": count}
        if rule.action == "block" and rule.block > 0 and self.protected(value):
            own["not_blocked"] = "an address of a directory member"
        elif rule.action == "block" and rule.block > 0:
            block = Block(rule.key, value, now + rule.block, rule.name, now)
            self._blocks[(rule.key, value)] = block
            own["blocked_until"] = datetime.fromtimestamp(block.until, UTC).isoformat()
        alert["jukinet"] = own
        return alert

    def blocked(self, key: str, value: str | None, now: float | None = None) -> Block | None:
        """The block on ``value`` of ``key`` in force now, if any."""
        if value is None:
            return None
        block = self._blocks.get((key, value))
        if block is None:
            return None
        if block.until <= (self.clock() if now is None else now):
            del self._blocks[(key, value)]
            return None
        return block

    def blocks(self, now: float | None = None) -> list[Block]:
        """The blocks in force on this node."""
        moment = self.clock() if now is None else now
        return [b for b in self._blocks.values() if b.until > moment]


def _epoch(record: dict[str, Any]) -> float:
    stamp = record.get("@timestamp")
    if isinstance(stamp, str):
        try:
            return datetime.fromisoformat(stamp).timestamp()
        except ValueError:
            return time.time()
    return time.time()


def load_engine(home: Path) -> Engine:
    """The engine of the node in ``home``: its ``ids.toml``, else ``DEFAULT_RULES``."""
    path = home / "ids.toml"
    text = path.read_text(encoding="utf-8") if path.exists() else DEFAULT_RULES
    rules, hours = parse_rules(text, str(path) if path.exists() else "the default IDS rules")
    return Engine(rules, hours)
