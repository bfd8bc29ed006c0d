"""Audit bundles as the report reads them: verified first, refused whole if they do not hold.

A bundle (``jukinet audit export``; docs/audit.md, "The bundle") is checked with the
same offline verifier as ``jukinet audit verify --bundle``. Only then are its entry
lines and checkpoints read, and the report sees nothing else of it.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from jukinet.audit import bundle
from jukinet.audit.log import Entry
from jukinet.audit.note import Checkpoint, NoteError, parse_verifier_key
from jukinet.errors import BundleRefused

__all__ = ["NodeBundle", "load", "load_all"]

_ORIGIN = re.compile(r"jukinet/(?P<kind>municipality|prefecture|national)/(?P<code>[^/]+)/audit")


@dataclass(frozen=True, slots=True)
class NodeBundle:
    """One node's verified bundle: its entries and every checkpoint (the newest last)."""

    kind: str
    code: str
    public: Ed25519PublicKey
    entries: tuple[Entry, ...]
    checkpoints: tuple[tuple[int, str], ...]  # (size, the note with its cosignature lines)
    root: str  # base64 root hash of the newest checkpoint, as it prints

    @property
    def node_id(self) -> str:
        return f"{self.kind}:{self.code}"

    @property
    def size(self) -> int:
        return len(self.entries)


def load(path: Path) -> NodeBundle:
    """The bundle in ``path``, verified; ``BundleRefused`` naming the first problem if not."""
    if not (path / "entries.jsonl").is_file():
        raise BundleRefused(f"{path} is no audit bundle: it holds no entries.jsonl.")
    count, problems = bundle.verify(path)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise BundleRefused(f"The audit bundle {path} does not hold: {problems[0]}{more}.")
    try:
        name, public = parse_verifier_key((path / "verifier.key").read_text("ascii"))
        head = (path / "checkpoint").read_text("utf-8")
        lines = (path / "entries.jsonl").read_bytes().splitlines()
        entries = tuple(Entry(**json.loads(line)) for line in lines)
        earlier = [
            (int(p.name), p.read_text("utf-8"))
            for p in (path / "checkpoints").glob("*[0-9]")
            if p.name.isdigit()
        ]
    except (OSError, ValueError, TypeError, NoteError) as exc:
        raise BundleRefused(f"The audit bundle {path} cannot be read: {exc}") from None
    found = _ORIGIN.fullmatch(name)
    if found is None or len(entries) != count:
        raise BundleRefused(f"The audit bundle {path} is not the log of a jukinet node.")
    newest = Checkpoint.parse(head[: head.rfind("\n\n") + 1])
    marks = tuple(sorted({*earlier, (newest.size, head)}))
    return NodeBundle(
        found["kind"], found["code"], public, entries, marks, base64.b64encode(newest.root).decode()
    )


def load_all(paths: Sequence[Path]) -> list[NodeBundle]:
    """Every bundle, verified, one per node, the national node's among them."""
    loaded = [load(p) for p in paths]
    seen: dict[str, Path] = {}
    for path, b in zip(paths, loaded, strict=True):
        if b.node_id in seen:
            raise BundleRefused(f"{seen[b.node_id]} and {path} are both bundles of {b.node_id}.")
        seen[b.node_id] = path
    if not any(b.kind == "national" for b in loaded):
        raise BundleRefused("The report needs the national node's audit bundle; none was given.")
    return sorted(loaded, key=lambda b: (("national", "prefecture", "municipality").index(b.kind),
                                         b.code))  # fmt: skip
