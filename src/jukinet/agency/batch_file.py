"""A batch from a file of resident codes to a file of answers, resumable (R24).

``batch_file`` writes one ``BatchRow`` per answered row to the answer file (JSON lines),
each numbered as its line in the input file. While it runs, a small sidecar next to the
answer file, ``<answers>.unfinished``, names the input file, its SHA-256 and the affair;
it is removed when the last row is written. When the answer broke off (the connection
dropped, the node or this process stopped), ``resume=True`` with the same two files
reads the answers already written, finds the last answered row and sends only the
lines after it, appending: the answer file ends up as one uninterrupted run would have
written it (rows numbered as in the input, none twice, none missing).

A resume is refused (``InvalidInput``, nothing sent or changed) when there is no sidecar
(the batch finished, or never started here), when the input file is not the one the
answers are for (its SHA-256 differs) or the affair differs, when the answer file's
last complete line is not an answer row, and when no row is left after it. A last line
cut off mid-way (this process stopped while writing it) is dropped, and its row sent
again.

The node writes a provision row when it decides an answer, before it sends it
(docs/network.md, "Endpoints and who may call them"): the rows sent again after a
break are provided, and logged, a second time. Disclosure over-reports, never under-reports.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from pydantic import ValidationError

from jukinet.agency.client import AgencyClient
from jukinet.errors import InvalidInput
from jukinet.network.messages import BatchRow

__all__ = ["BatchReport", "Resume", "batch_file", "plan_resume", "sidecar_of"]

SIDECAR_SUFFIX = ".unfinished"
_TAIL_BLOCK = 8192
_MAX_ANSWER_LINE = 1 << 20  # an answer line is under 2 KB; a longer one is not ours


@dataclass
class BatchReport:
    """What one run wrote: rows, found, retired, malformed; where a resumed run began."""

    rows: int = 0
    found: int = 0
    retired: int = 0
    """Rows whose code a code change retired (R6): answered with nothing of the person."""
    errors: int = 0
    resumed_after: int | None = None
    """The last row already answered when the run resumed (None: not resumed)."""
    dropped_cut_line: bool = False
    """Whether a last line cut off mid-way was dropped before resuming."""


@dataclass(frozen=True, slots=True)
class Resume:
    """Where a resumed batch starts: after ``last_row``, with the answer file cut to
    ``keep`` bytes (its complete lines); ``cut`` if a partial last line is dropped."""

    last_row: int
    keep: int
    cut: bool


def sidecar_of(target: Path) -> Path:
    """``<answers>.unfinished``: there while the batch into ``target`` is not complete."""
    return target.with_name(target.name + SIDECAR_SUFFIX)


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _read_sidecar(target: Path) -> dict[str, str]:
    sidecar = sidecar_of(target)
    try:
        data = json.loads(sidecar.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInput(
            f"{target} has no unfinished batch ({sidecar.name} is not there: the batch "
            "finished, or was not started into this file): nothing to resume."
        ) from None
    except (ValueError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict) or not all(
        isinstance(data.get(k), str) for k in ("source", "sha256", "affair")
    ):
        raise InvalidInput(f"{sidecar} is not the record of an unfinished batch.")
    return data


def _tail(target: Path) -> tuple[int, bytes]:
    """``(keep, last)``: the length of ``target`` up to its last line break, and its last
    complete line (empty if none). Read backwards from the end: the file may be large."""
    with target.open("rb") as f:
        pos = f.seek(0, os.SEEK_END)
        buf = b""
        while pos > 0 and buf.count(b"\n") < 2 and len(buf) <= _MAX_ANSWER_LINE:
            step = min(_TAIL_BLOCK, pos)
            pos -= step
            f.seek(pos)
            buf = f.read(step) + buf
    end = buf.rfind(b"\n")
    if end < 0:
        if pos > 0:  # a megabyte without a line break
            raise InvalidInput(f"{target} is not a file of batch answers (JSON lines).")
        return 0, b""
    start = buf.rfind(b"\n", 0, end) + 1
    if start == 0 and pos > 0:
        raise InvalidInput(f"{target} is not a file of batch answers (JSON lines).")
    return pos + end + 1, buf[start:end]


def plan_resume(source: Path, target: Path, affair: str) -> Resume:
    """Where the batch of ``source`` into ``target`` resumes, or ``InvalidInput`` why not
    (module docstring). Whether any row is left after it is ``batch_file``'s check."""
    unfinished = _read_sidecar(target)
    if unfinished["affair"] != affair:
        raise InvalidInput(
            f"{target} holds answers for affair {unfinished['affair']!r}, not {affair!r}: "
            "resume with that affair, or start the batch again without --resume."
        )
    if _sha256(source) != unfinished["sha256"]:
        began = Path(unfinished["source"]).name
        raise InvalidInput(
            f"{target} holds the answers to another file than {source.name} (the batch "
            f"began from a {began} whose SHA-256 differs): resume with that file, or "
            "start the batch again without --resume."
        )
    if not target.exists():
        raise InvalidInput(f"{target} is not there: nothing to resume.")
    keep, last = _tail(target)
    cut = keep < target.stat().st_size
    if not last:
        return Resume(0, keep, cut)
    try:
        row = BatchRow.model_validate_json(last).row
    except ValidationError:
        raise InvalidInput(
            f"The last line of {target} is not a batch answer row: it is not the answer "
            f"file of {source}."
        ) from None
    return Resume(row, keep, cut)


def _after(lines: BinaryIO, plan: Resume, source: Path, target: Path) -> Iterator[bytes]:
    """The lines of ``source`` after ``plan.last_row``, or ``InvalidInput`` if none is left."""
    for number in range(1, plan.last_row + 1):
        if not lines.readline():
            raise InvalidInput(
                f"{target} answers row {plan.last_row:,}, but {source} has {number - 1:,} "
                "lines: it is not the answer file of this input."
            )
    held: list[bytes] = []
    for line in lines:  # up to the first line that is not blank: the node answers it
        held.append(line)
        if line.strip():
            return itertools.chain(held, lines)
    if not plan.last_row:
        raise InvalidInput(f"{source} has no row to send: nothing to resume.")
    raise InvalidInput(
        f"Every row of {source} is answered in {target} (the last is row "
        f"{plan.last_row:,}): nothing to resume."
    )


async def batch_file(
    agency: AgencyClient,
    affair: str,
    source: Path,
    target: Path,
    *,
    resume: bool = False,
    progress: Callable[[int], None] = lambda _line: None,
) -> BatchReport:
    """Answer every row of ``source`` into ``target`` (JSON lines), or with ``resume``
    the rows after the last one ``target`` holds (module docstring).

    Refusals of a resume are raised before anything is sent. A break raises the
    client's ``PeerUnreachable`` (or ``PeerRefused``); the rows read until then are in
    ``target`` and the sidecar stays, so ``resume=True`` can go on from them.
    """
    report = BatchReport()
    sidecar = sidecar_of(target)
    plan = Resume(0, 0, False)
    if resume:
        plan = plan_resume(source, target, affair)
        report.resumed_after, report.dropped_cut_line = plan.last_row, plan.cut
    else:
        record = {"source": str(source), "sha256": _sha256(source), "affair": affair}
        target.write_bytes(b"")
        sidecar.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    # bytes in and out: the node answers undecodable rows per row, and answers are UTF-8
    with source.open("rb") as lines:
        rest: Iterable[bytes] = _after(lines, plan, source, target) if resume else lines
        with target.open("r+b") as out:
            out.truncate(plan.keep)
            out.seek(plan.keep)
            answers = agency.batch(affair, rest, first_row=plan.last_row + 1, progress=progress)
            async for row in answers:
                out.write(row.model_dump_json(exclude_none=True).encode() + b"\n")
                report.rows += 1
                report.found += row.found
                report.retired += row.status == "retired"
                report.errors += row.error is not None
    sidecar.unlink()
    return report
