"""R3 as a tested property: every request that reaches a prefecture or national node.

What is recorded does not depend on the nodes' own code. ``dumpcap`` captures the
loopback traffic to the recorded nodes' ports from before the network starts (so every
TLS handshake is in the capture); each node process, started with ``SSLKEYLOGFILE``,
appends its TLS secrets to a key log (``network/server.py``, ``log_tls_secrets``); on
leaving a ``record_node_requests`` block, ``tshark`` decrypts the capture with that log
and dissects each HTTP/1.1 request (method, path, headers, body) that arrived in the
block. Capturing on ``lo`` needs root (or dumpcap's capabilities): without them the
recording fails, it is never skipped.

``assert_only_identity_items(requests, persons)`` then checks that no record item beyond
identity information (R1) — 本籍 (domicile), 筆頭者, 続柄, the household, the previous
address, licence numbers, the items of a copy — is in any of them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jukinet.domain.record import ResidentRecord

__all__ = [
    "KEYLOG",
    "NON_R1_KEYS",
    "Recorder",
    "Request",
    "assert_only_identity_items",
    "record_node_requests",
    "requests_with",
]

KEYLOG = "tls-keys.log"
CAPTURE = "r3.pcapng"

# JSON keys that name a record item beyond identity information (R1, R3): a message to a
# prefecture or national node that has one carries what only municipalities exchange.
NON_R1_KEYS = frozenset({
    "domicile", "domicile_head", "honseki", "relationship", "household", "household_id",
    "households", "members", "head", "head_name", "previous_address", "destination",
    "licence", "licence_number", "license", "license_number", "driving_licence",
    "printed_items", "copy", "certificate_information", "move_out", "move_in",
})  # fmt: skip


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request as it arrived at a recorded node, decrypted from the capture."""

    node: str
    at: float  # capture time, seconds since the epoch
    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def text(self) -> str:
        """Path, header values and body as text (undecodable bytes replaced); for a JSON
        body also its strings as decoded (a ``\\uXXXX`` escape hides nothing)."""
        head = " ".join(v for _, v in self.headers)
        body = self.json_body()
        decoded = " ".join(_strings(body)) if body is not None else ""
        return f"{self.path} {head} {self.body.decode('utf-8', 'replace')} {decoded}"

    def json_body(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def __str__(self) -> str:
        return f"{self.method} {self.path} to {self.node} ({len(self.body)} bytes)"


@dataclass
class Recorder:
    """The capture of one network's traffic to some of its nodes (``ports``: node id ->
    port), its key log, and the ``dumpcap`` process writing it."""

    root: Path
    ports: dict[str, int]
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def keylog(self) -> Path:
        return self.root / KEYLOG

    @property
    def capture(self) -> Path:
        return self.root / CAPTURE

    def start(self) -> None:
        """Capture before any node starts, so every connection's handshake is seen."""
        dumpcap = shutil.which("dumpcap")
        assert dumpcap, "dumpcap is missing: install tshark (scripts/system-packages)"
        ports = " or ".join(f"tcp port {p}" for p in sorted(self.ports.values()))
        self.process = subprocess.Popen(
            [dumpcap, "-q", "-i", "lo", "-f", ports, "-w", str(self.capture)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while not self.capture.exists() or self.capture.stat().st_size == 0:
            if self.process.poll() is not None:
                said = self.process.stderr.read().decode() if self.process.stderr else ""
                raise AssertionError(f"dumpcap could not capture on lo (root needed): {said}")
            assert time.monotonic() < deadline, "dumpcap did not start capturing"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        if self.process.stderr is not None:
            self.process.stderr.close()

    def _tshark(self, display_filter: str, *output: str) -> str:
        tshark = shutil.which("tshark")
        assert tshark, "tshark is missing (scripts/system-packages)"
        ports = sorted(self.ports.values())
        args = [tshark, "-n", "-r", str(self.capture), "-o", f"tls.keylog_file:{self.keylog}",
                "-o", f"http.tls.port:{','.join(map(str, ports))}"]  # fmt: skip
        for port in ports:
            args += ["-d", f"tcp.port=={port},tls"]
        done = subprocess.run(
            [*args, "-Y", display_filter, *output], capture_output=True, timeout=300
        )
        # 2: the last packet was cut short, dumpcap still writing; the rest is read.
        assert done.returncode in (0, 2), done.stderr.decode(errors="replace")[-2000:]
        return done.stdout.decode()

    def requests(self, since: float, until: float, nodes: Iterable[str]) -> list[Request]:
        """The requests to ``nodes`` captured between ``since`` and ``until``."""
        by_port = {self.ports[n]: n for n in nodes}
        window = f"frame.time_epoch >= {since:.6f} and frame.time_epoch <= {until:.6f}"
        to = " or ".join(f"tcp.dstport == {p}" for p in by_port)
        self._check_handshakes(window, to)
        out = self._tshark(f"http.request and ({to}) and {window}", "-T", "json", "-x",
                           "--no-duplicate-keys",
                           "-J", "frame tcp http")  # fmt: skip
        found: list[Request] = []
        for packet in json.loads(out or "[]"):
            layers = packet["_source"]["layers"]
            at = float(layers["frame"]["frame.time_epoch"])
            node = by_port[int(layers["tcp"]["tcp.dstport"])]
            http = layers["http"]
            for part in http if isinstance(http, list) else [http]:
                found.append(_request(node, at, part))
        return sorted(found, key=lambda r: r.at)

    def _check_handshakes(self, window: str, to: str) -> None:
        """Every connection that carried data in the window began in the capture: else its
        requests could not be decrypted and the recording would miss them."""
        data = f"tls.record.opaque_type == 23 and ({to}) and {window}"
        fields = ["-T", "fields", "-e", "tcp.stream", "-e", "tls.handshake.type"]
        out = self._tshark(f"tls.handshake.type == 1 or ({data})", *fields)
        began, used = set(), set()
        for line in out.splitlines():
            stream, _, kind = line.partition("\t")
            (began if "1" in kind.split(",") else used).add(stream)
        missing = used - began
        assert not missing, f"{len(missing)} connection(s) began before the capture"


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) else value


def _request(node: str, at: float, http: dict[str, Any]) -> Request:
    line = next(v for k, v in http.items() if isinstance(v, dict) and "http.request.method" in v)
    lines = http.get("http.request.line", [])
    headers = []
    for raw in [lines] if isinstance(lines, str) else lines:
        name, _, value = raw.removesuffix("\\r\\n").partition(":")
        headers.append((name.strip().lower(), value.strip()))
    body_hex = _first(http.get("http.file_data_raw", [""]))
    return Request(
        node, at, line["http.request.method"], line["http.request.uri"], tuple(headers),
        bytes.fromhex(body_hex) if body_hex else b"",
    )  # fmt: skip


@contextmanager
def record_node_requests(network: Any, nodes: Iterable[str]) -> Iterator[list[Request]]:
    """Record every request that reaches ``nodes`` (node ids) during the block.

    ``network`` must have been started with a ``Recorder`` (the ``recorded_network``
    fixture of tests/e2e/conftest.py). The list is filled when the block ends; the block
    should end only after the flow's messages arrived (wait for their effect first).
    """
    recorder: Recorder | None = getattr(network, "recorder", None)
    assert recorder is not None, "this network records nothing: use the recorded_network fixture"
    wanted = list(nodes)
    unknown = [n for n in wanted if n not in recorder.ports]
    assert not unknown, f"not recorded: {unknown} (recorded: {sorted(recorder.ports)})"
    requests: list[Request] = []
    since = time.time()
    yield requests
    until = time.time()
    time.sleep(1.0)  # dumpcap writes what it captured within its update interval
    requests.extend(recorder.requests(since, until, wanted))


def requests_with(requests: Sequence[Request], value: str) -> list[Request]:
    """The requests whose path, headers or body contain ``value``."""
    return [r for r in requests if value in r.text()]


def _keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _keys(v)
    elif isinstance(value, list):
        for v in value:
            yield from _keys(v)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, str):
        yield value


def assert_only_identity_items(
    requests: Sequence[Request], persons: Iterable[ResidentRecord], *, also: Iterable[str] = ()
) -> None:
    """No request carries a record item of ``persons`` beyond identity information (R1).

    Looked for: each person's 本籍 (domicile) and 筆頭者 anywhere in a request (path,
    headers, body); their 続柄 as a JSON string value (a word such as 子 is part of many
    names, so not as a substring); any JSON key of ``NON_R1_KEYS`` (``previous_address``
    among them); and each string of ``also`` anywhere: licence numbers, a copy's items,
    a previous address that was never anyone's identity information (a place abroad; a
    previous address in Japan was the person's R1 address before the move, and travelled
    as such). A value that is itself part of someone's identity information here (a
    筆頭者 who is a resident too) cannot be told apart and is left out of the substring
    search.
    """
    people = list(persons)
    r1 = [s for p in people for s in (p.name.full, p.address.text, p.resident_code)]

    def distinctive(value: str) -> bool:
        return len(value) >= 2 and not any(value in item for item in r1)

    anywhere = {v for p in people for v in (p.domicile, p.domicile_head)}
    anywhere = {v for v in anywhere if distinctive(v)} | {v for v in also if v}
    as_value = {p.relationship for p in people if p.relationship}
    problems: list[str] = []
    for r in requests:
        text = r.text()
        problems += [f"{r}: carries {v!r}" for v in sorted(anywhere) if v in text]
        body = r.json_body()
        if body is not None:
            problems += [f"{r}: has the key {k!r}" for k in set(_keys(body)) & NON_R1_KEYS]
            problems += [f"{r}: carries 続柄 {v!r}" for v in set(_strings(body)) & as_value]
    assert not problems, "beyond identity information (R1, R3):\n" + "\n".join(problems)
