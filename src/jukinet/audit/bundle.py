"""The audit bundle an external auditor checks offline (R25; docs/audit.md, "The bundle").

A directory of plain files::

    entries.jsonl        one entry line (audit.log.line) per line, as many as the checkpoint's size
    checkpoint           the newest signed checkpoint, with cosignature lines if any
    checkpoints/N        each earlier checkpoint (of size N), as it was signed
    checkpoints/N.proof  the consistency proof from it to ``checkpoint``, a base64 hash a line
    verifier.key         the node's key, sumdb/note verifier-key format
    cosigner.key         the prefecture's cosigning key, name+hash+base64(0x04||key), if cosigned

Nothing in it needs this project to be checked: the Go program in tests/go/auditcheck
checks it with golang.org/x/mod/sumdb/note and tlog.
"""

from __future__ import annotations

import base64
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection

from jukinet.audit import checkpoints, log, merkle
from jukinet.audit.note import (
    ALG_COSIGNATURE_V1,
    NoteError,
    cosigned_at,
    key_id,
    open_checkpoint,
    parse_verifier_key,
    raw_public,
    verifier_key,
)
from jukinet.keys import NodeKey


def cosigner_key(name: str, public: Ed25519PublicKey) -> str:
    encoded = base64.b64encode(bytes([ALG_COSIGNATURE_V1]) + raw_public(public)).decode()
    return f"{name}+{key_id(name, public, ALG_COSIGNATURE_V1).hex()}+{encoded}"


def export(
    conn: Connection, key: NodeKey, name: str, out: Path, cosigner: str | None = None
) -> checkpoints.Stored:
    """Write the bundle of the log up to a fresh checkpoint into ``out``; returns it.

    With ``cosigner`` (its verifier key), the bundle ends at the newest checkpoint that
    cosigner cosigned instead, so that the auditor can check the cosignature.
    """
    newest = checkpoints.make(conn, key, name)
    if cosigner:
        cosigned = [c for c in checkpoints.every(conn) if c.cosignatures]
        if not cosigned:
            raise LookupError("no checkpoint of this log is cosigned yet")
        newest = cosigned[-1]
    out.mkdir(parents=True, exist_ok=True)
    (out / "checkpoints").mkdir(exist_ok=True)
    with (out / "entries.jsonl").open("wb") as f:
        for e in log.entries(conn):
            if e.seq > newest.size:
                break
            f.write(e.line() + b"\n")
    (out / "checkpoint").write_text(newest.full, encoding="utf-8")
    for earlier in checkpoints.every(conn):
        if earlier.size >= newest.size or earlier.size == 0:
            continue
        (out / "checkpoints" / str(earlier.size)).write_text(earlier.full, encoding="utf-8")
        proof = checkpoints.consistency(conn, earlier.size, newest.size)
        (out / "checkpoints" / f"{earlier.size}.proof").write_text(
            "".join(base64.b64encode(h).decode() + "\n" for h in proof), encoding="ascii"
        )
    (out / "verifier.key").write_text(verifier_key(name, key.public) + "\n", encoding="ascii")
    if cosigner:
        (out / "cosigner.key").write_text(cosigner + "\n", encoding="ascii")
    return newest


def _parse_cosigner(vkey: str) -> tuple[str, Ed25519PublicKey]:
    try:
        name, hash_hex, encoded = vkey.strip().split("+", 2)
        raw = base64.b64decode(encoded, validate=True)
        public = Ed25519PublicKey.from_public_bytes(raw[1:])
    except ValueError:
        raise NoteError("cosigner.key is malformed") from None
    if raw[0] != ALG_COSIGNATURE_V1 or key_id(name, public, raw[0]).hex() != hash_hex:
        raise NoteError("cosigner.key's hash does not match its name and key")
    return name, public


def verify(bundle: Path) -> tuple[int, list[str]]:
    """Check a bundle offline: (entries, problems); no problems means it holds."""
    problems: list[str] = []
    try:
        name, public = parse_verifier_key((bundle / "verifier.key").read_text("ascii"))
        note = (bundle / "checkpoint").read_text("utf-8")
        head = open_checkpoint(note, name, public)
    except (OSError, UnicodeDecodeError, NoteError) as exc:
        return 0, [f"the checkpoint cannot be checked: {exc}"]
    tree = merkle.Appender(0, {})
    with (bundle / "entries.jsonl").open("rb") as f:
        for raw in f:
            tree.add(merkle.leaf_hash(raw.rstrip(b"\n")))
    if tree.size != head.size:
        problems.append(f"the checkpoint covers {head.size} entries, the bundle holds {tree.size}")
    elif tree.root() != head.root:
        problems.append("the entries do not make the tree whose root the checkpoint signs")
    cosigner = bundle / "cosigner.key"
    if cosigner.exists():
        try:
            cname, cpublic = _parse_cosigner(cosigner.read_text("ascii"))
            if cosigned_at(note, cname, cpublic) is None:
                problems.append(f"the checkpoint has no valid cosignature of {cname}")
        except NoteError as exc:
            problems.append(str(exc))
    for path in sorted((bundle / "checkpoints").glob("*[0-9]"), key=lambda p: int(p.name)):
        try:
            earlier = open_checkpoint(path.read_text("utf-8"), name, public)
            proof_text = (bundle / "checkpoints" / f"{path.name}.proof").read_text("ascii")
            proof = [base64.b64decode(x, validate=True) for x in proof_text.split()]
            merkle.check_tree(proof, head.size, head.root, earlier.size, earlier.root)
        except (OSError, ValueError) as exc:
            problems.append(f"checkpoint {path.name} is not consistent with the newest: {exc}")
    return tree.size, problems
