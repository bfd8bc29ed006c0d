"""The provision log inside the audit log (R12, R14).

Disclosure reads the provision log, so a row deleted, added or changed there would
change what a resident is told. Each call's audit entry therefore seals the rows the
call wrote: ``rows N at T sha256 D``, where ``T`` is the rows' shared timestamp and
``D`` the SHA-256 of their canonical JSON (sorted, so the order the database returns
them in does not matter). The entry is a leaf of the audit log's Merkle tree, whose
root is signed, so a seal cannot be changed; ``verify_provisions`` recomputes every
seal from the table and reports rows that no entry seals.
"""

from __future__ import annotations

import hashlib
import json
import json.encoder
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from jukinet.audit import log as audit
from jukinet.audit.log import Problem
from jukinet.nodes.identity.tables import provisions

_quote: Any = json.encoder.encode_basestring  # typeshed has it untyped

_SEALED = ("node", "agency", "recipient", "affair", "function", "person_key",
           "resident_code", "fields")  # fmt: skip
_SEAL = re.compile(r"request (?P<request>[0-9a-f]{32}):.*; rows (?P<rows>\d+) at (?P<at>\S+) "
                   r"sha256 (?P<digest>[0-9a-f]{64})$")  # fmt: skip


def digest(rows: Iterable[Sequence[object]]) -> str:
    """SHA-256 of the rows (each in ``_SEALED`` order) as sorted canonical JSON."""
    # Each line is json.dumps([str(v) ...], ensure_ascii=False), built from the encoder's
    # own string quoting: the same bytes without the encoder's per-call set-up (a batch
    # chunk seals 5,000 rows).
    lines = sorted("[" + ", ".join([_quote(str(v)) for v in row]) + "]" for row in rows)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def seal(rows: Sequence[Sequence[object]], at: str) -> str:
    """The words an audit entry ends with for ``rows`` written at ``at``."""
    return f"; rows {len(rows)} at {at} sha256 {digest(rows)}"


@dataclass(frozen=True, slots=True)
class _Seal:
    seq: int
    rows: int
    digest: str


def verify_provisions(conn: Connection, max_problems: int = 20) -> list[Problem]:
    """Every group of provision rows (one call's, or one batch chunk's) against its seal."""
    seals: dict[tuple[str, str], _Seal] = {}
    for entry in audit.entries(conn):
        if not entry.operation.startswith("provision.") or entry.outcome != audit.Outcome.OK:
            continue
        found = _SEAL.search(entry.detail)
        if found is not None:
            key = (found["request"], found["at"])
            seals[key] = _Seal(entry.seq, int(found["rows"]), found["digest"])
    groups: dict[tuple[str, str], list[tuple[object, ...]]] = {}
    columns = [provisions.c[name] for name in _SEALED]
    query = select(provisions.c.request_id, provisions.c.at, *columns)
    for row in conn.execute(query):
        groups.setdefault((row[0], row[1]), []).append(tuple(row[2:]))
    problems: list[Problem] = []
    for key, sealed in sorted(seals.items(), key=lambda item: item[1].seq):
        rows = groups.pop(key, [])
        if len(rows) != sealed.rows or digest(rows) != sealed.digest:
            problems.append(
                Problem(
                    sealed.seq,
                    f"the provision rows of request {key[0]} were changed after this entry "
                    f"sealed them (sealed: {sealed.rows} rows; in the log now: {len(rows)}, "
                    "not the sealed ones)",
                )
            )
    for (request, at), rows in groups.items():
        problems.append(
            Problem(
                0,
                f"{len(rows)} provision row(s) of request {request} at {at} are sealed "
                "by no audit entry (added to the log)",
            )
        )
    return problems[:max_problems]
