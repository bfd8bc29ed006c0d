"""Checking a disclosure answer offline, as a resident or anyone they give it to (R14).

For every identity node's answer (``messages_disclosure.ProvenDisclosure``):

1. the checkpoint is signed by the node's key under the provision log's origin
   (``jukinet/<kind>/<code>/provisions``): the key from the network directory when the
   checker has one (``trusted``), else the one the answer carries;
2. every cosignature/v1 of a cosigner key given verifies;
3. every provision's leaf is canonical, says what the answer shows, carries the
   resident's commitment under ``k_r``, and its inclusion proof leads to the root;
4. with the node's published provision log (``jukinet audit provisions --out``): its
   first ``size`` leaves make the checkpoint's tree, and every leaf whose commitment
   is the resident's is in the answer, so nothing was left out up to that size.

Each failure is one line naming the node and the provision (``Problem``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from jukinet.audit import merkle
from jukinet.audit import provision_log as fmt
from jukinet.audit.note import (
    Checkpoint,
    NoteError,
    cosigned_at,
    open_checkpoint,
    parse_verifier_key,
    split_note,
)
from jukinet.network.messages_disclosure import DisclosureAnswer, ProvenDisclosure, ProvenEntry


@dataclass(frozen=True, slots=True)
class Checked:
    node: str
    size: int
    provisions: int
    complete: bool  # checked against the node's published log
    witnessed_by: tuple[str, ...] = ()  # cosigners of a checkpoint the answer's extends


def _origin_of(node_id: str) -> str:
    kind, _, code = node_id.partition(":")
    return fmt.origin(kind, code)


def read_log(data: bytes) -> list[bytes]:
    """The leaf lines of an exported provision log (one a line, each ending in \\n)."""
    if data and not data.endswith(b"\n"):
        raise fmt.LeafError("the provision log does not end with a newline")
    return data.split(b"\n")[:-1] if data else []


def log_node(lines: Sequence[bytes]) -> str | None:
    """The node whose log ``lines`` are (the ``node`` of its first leaf)."""
    return fmt.parse_leaf(lines[0]).node if lines else None


def check_answer(
    answer: DisclosureAnswer,
    logs: Mapping[str, Sequence[bytes]] | None = None,
    trusted: Mapping[str, str] | None = None,
    cosigners: Mapping[str, Sequence[str]] | None = None,
) -> tuple[list[Checked], list[str]]:
    """(what verified, one line per problem); ``logs`` by node id, ``trusted`` verifier keys
    by node id, ``cosigners`` the witnesses' keys by node id (else the answer's own).
    An answer without problems verified completely where a log was given."""
    checked: list[Checked] = []
    problems: list[str] = []
    for one in answer.answers:
        try:
            log = (logs or {}).get(one.node)
            checked.append(_check_node(answer, one, log, trusted or {}, cosigners or {}))
        except _Failed as exc:
            problems.append(f"{one.node}: {exc}")
    return checked, problems


class _Failed(Exception):
    pass


def _check_node(
    answer: DisclosureAnswer, one: ProvenDisclosure, log: Sequence[bytes] | None,
    trusted: Mapping[str, str], cosigners: Mapping[str, Sequence[str]],
) -> Checked:  # fmt: skip
    if one.resident_code != answer.resident_code:
        raise _Failed(f"the answer is about {one.resident_code}, not {answer.resident_code}")
    vkey = trusted.get(one.node, one.verifier_key)
    if one.node in trusted and trusted[one.node] != one.verifier_key:
        raise _Failed("the answer's verifier key is not the node's key in the network directory")
    try:
        name, public = parse_verifier_key(vkey)
        if name != _origin_of(one.node):
            raise _Failed(f"the verifier key is for {name}, not {_origin_of(one.node)}")
        cp = open_checkpoint(one.checkpoint, name, public)
    except NoteError as exc:
        raise _Failed(f"the provision log checkpoint does not verify: {exc}") from None
    if cp.origin != name:
        raise _Failed(f"the checkpoint names {cp.origin}, not {name}")
    witnessed_by = _witnessed(one, name, public, cp, cosigners.get(one.node, one.cosigner_keys))
    try:
        k_r = bytes.fromhex(one.resident_key)
    except ValueError:
        raise _Failed("the resident key is not hex") from None
    seen: set[int] = set()
    for entry in one.provisions:
        _check_entry(entry, one.node, k_r, cp.size, cp.root)
        if entry.index in seen:
            raise _Failed(f"leaf {entry.index} is listed twice")
        seen.add(entry.index)
    if log is not None:
        _check_complete(log, k_r, cp.size, cp.root, seen)
    # A checkpoint of size 0 signs an empty log: there is nothing to leave out.
    return Checked(one.node, cp.size, len(one.provisions), log is not None or cp.size == 0,
                   witnessed_by)  # fmt: skip


def witness_names(note: str, origin: str) -> list[str]:
    """The key names of the signature lines on ``note`` other than its origin's own."""
    try:
        return sorted({n for n, _ in split_note(note)[1] if n != origin})
    except NoteError:
        return []


def _witnessed(
    one: ProvenDisclosure, name: str, public: Ed25519PublicKey, cp: Checkpoint,
    keys: Sequence[str],
) -> tuple[str, ...]:  # fmt: skip
    """The cosigners of the answer's witnessed checkpoint, each verified, which the
    answer's checkpoint extends (consistency proof)."""
    if not one.witnessed:
        return ()
    try:
        old = open_checkpoint(one.witnessed, name, public)
        proof = [base64.b64decode(h, validate=True) for h in one.consistency]
    except (NoteError, binascii.Error) as exc:
        raise _Failed(f"the witnessed checkpoint does not verify: {exc}") from None
    if old.size > cp.size or (old.size == cp.size and old.root != cp.root):
        raise _Failed("the witnessed checkpoint is not an earlier state of the log")
    if 0 < old.size < cp.size:
        try:
            merkle.check_tree(proof, cp.size, cp.root, old.size, old.root)
        except merkle.ProofFailed:
            raise _Failed(f"the log of size {cp.size} does not extend the witnessed one "
                          f"of size {old.size}") from None  # fmt: skip
    by = []
    for ckey in keys:
        cname, cpublic = _cosigner(ckey)
        if cosigned_at(one.witnessed, cname, cpublic) is None:
            raise _Failed(f"the witnessed checkpoint has no valid cosignature of {cname}")
        by.append(cname)
    return tuple(by)


def _cosigner(ckey: str) -> tuple[str, Ed25519PublicKey]:
    try:
        name, _hash, encoded = ckey.strip().split("+", 2)
        raw = base64.b64decode(encoded, validate=True)
        return name, Ed25519PublicKey.from_public_bytes(raw[1:])
    except (ValueError, binascii.Error):
        raise _Failed("a cosigner key is malformed") from None


def _describe(entry: ProvenEntry) -> str:
    return f"provision {entry.index} ({entry.at:%Y-%m-%d %H:%M} {entry.recipient} {entry.affair})"


def _check_entry(entry: ProvenEntry, node: str, k_r: bytes, size: int, root: bytes) -> None:
    what = _describe(entry)
    line = entry.leaf.encode()
    try:
        leaf = fmt.parse_leaf(line)
    except fmt.LeafError as exc:
        raise _Failed(f"{what}: the leaf {exc}") from None
    shown = (entry.index, node, entry.recipient, entry.affair, entry.basis, entry.function,
             ",".join(entry.fields))  # fmt: skip
    logged = (leaf.index, leaf.node, leaf.recipient, leaf.affair, leaf.basis, leaf.function,
              leaf.fields)  # fmt: skip
    if shown != logged or datetime.fromisoformat(leaf.at) != entry.at:
        raise _Failed(f"{what}: the answer does not say what its leaf says")
    if leaf.commitment != fmt.commitment(k_r, leaf.index):
        raise _Failed(f"{what}: the leaf is not committed to this resident")
    try:
        proof = [base64.b64decode(h, validate=True) for h in entry.proof]
        merkle.check_record(proof, size, root, leaf.index, merkle.leaf_hash(line))
    except (binascii.Error, ValueError) as exc:
        raise _Failed(f"{what}: its inclusion proof fails ({exc})") from None


def _check_complete(
    log: Sequence[bytes], k_r: bytes, size: int, root: bytes, listed: set[int]
) -> None:
    leaves = []
    for i, line in enumerate(log[:size]):
        try:
            leaf = fmt.parse_leaf(line)
        except fmt.LeafError as exc:
            raise _Failed(f"leaf {i} of the published log {exc}") from None
        if leaf.index != i:
            raise _Failed(
                f"the published log's line {i + 1} is leaf {leaf.index}: a leaf is missing"
            )
        leaves.append(leaf)
    if len(log) < size:
        raise _Failed(f"the published log holds {len(log)} leaves, the checkpoint {size}")
    _, got = merkle.root_of_leaves(merkle.leaf_hash(line) for line in log[:size])
    if got != root:
        raise _Failed("the published log is not the tree the checkpoint signs")
    for index in fmt.mine(k_r, leaves):
        if index not in listed:
            leaf = leaves[index]
            raise _Failed(
                f"provision {index} ({leaf.at[:16]} {leaf.recipient} {leaf.affair}) is in the "
                "log but left out of the answer"
            )


def cosigner_keys(
    one: ProvenDisclosure, public_key: Callable[[str], Ed25519PublicKey | None]
) -> list[str]:
    """The cosignature/v1 keys of the witnesses named on ``one``'s witnessed checkpoint,
    from a directory (``public_key`` of a node id); a name no active node has is skipped,
    and its line then proves nothing."""
    from jukinet.audit.bundle import cosigner_key

    keys = []
    for name in witness_names(one.witnessed, _origin_of(one.node)) if one.witnessed else []:
        parts = name.split("/")
        if len(parts) == 4 and parts[0] == "jukinet" and parts[3] == "witness":
            public = public_key(f"{parts[1]}:{parts[2]}")
            if public is not None:
                keys.append(cosigner_key(name, public))
    return keys
