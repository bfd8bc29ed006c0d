"""The provision log's format: one leaf per provision row, a commitment to the resident (R14).

Each identity node keeps its provision log as its own RFC 9162 Merkle tree (origin
``jukinet/<kind>/<code>/provisions``, checkpoints signed like the audit log's,
docs/audit.md, "The provision log"). Leaf ``i`` is the UTF-8 bytes of one canonical
JSON line (``leaf_line``): when, which node, which body, which affair and legal basis,
which function, which items, the request id, ``i`` itself, and

    commitment = hex(HMAC-SHA256(k_r, "jukinet-provision/1:" + decimal i))
    k_r        = HMAC-SHA256(disclosure secret, person_key)

so the line names nobody: neither the resident code nor the node's person key. Each
leaf's commitment uses its own index, so two leaves of one resident cannot be linked
without ``k_r``; the resident's disclosure answer gives them ``k_r``, and with it
anyone can find every leaf of theirs in the published log (``mine``) and check that
the answer left none out.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass

COMMITMENT_PREFIX = "jukinet-provision/1:"
LEAF_KEYS = ("index", "at", "node", "recipient", "affair", "basis", "function", "fields",
             "request", "commitment")  # fmt: skip


def origin(kind: str, code: str) -> str:
    """The provision log's origin line and checkpoint key name."""
    return f"jukinet/{kind}/{code}/provisions"


def resident_key(secret: bytes, person_key: str) -> bytes:
    """k_r: the resident's own key to their leaves, given only in their disclosure answer."""
    return hmac.digest(secret, person_key.encode(), "sha256")


def commitment(k_r: bytes, index: int) -> str:
    # hmac.digest is the one-shot C path: a batch computes one per person.
    return hmac.digest(k_r, f"{COMMITMENT_PREFIX}{index}".encode(), "sha256").hex()


@dataclass(frozen=True, slots=True)
class Leaf:
    index: int
    at: str
    node: str
    recipient: str
    affair: str
    basis: str
    function: str
    fields: str  # comma-separated, "" when nothing was given (verify, a retired code)
    request: str
    commitment: str

    def line(self) -> bytes:
        return leaf_line(self.index, self.at, self.node, self.recipient, self.affair,
                         self.basis, self.function, self.fields, self.request,
                         self.commitment)  # fmt: skip


def leaf_line(
    index: int, at: str, node: str, recipient: str, affair: str, basis: str, function: str,
    fields: str, request: str, commitment: str,
) -> bytes:  # fmt: skip
    """The leaf's bytes (docs/audit.md, "The provision leaf"): a JSON object with the ten
    keys of ``LEAF_KEYS`` in that order, no spaces, non-ASCII as UTF-8, no newline."""
    return json.dumps(
        {"index": index, "at": at, "node": node, "recipient": recipient, "affair": affair,
         "basis": basis, "function": function, "fields": fields, "request": request,
         "commitment": commitment},
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()  # fmt: skip


class LeafTemplate:
    """The lines of leaves that share everything but their index and commitment (one
    call's or one batch chunk's rows), byte for byte ``leaf_line``'s, for a batch's
    fraction of the cost: the fixed fields are encoded once."""

    def __init__(
        self, at: str, node: str, recipient: str, affair: str, basis: str, function: str,
        fields: str, request: str,
    ) -> None:  # fmt: skip
        sample = leaf_line(0, at, node, recipient, affair, basis, function, fields, request, "")
        head, rest = b'{"index":0', sample[len(b'{"index":0') :]
        assert sample.startswith(head) and rest.endswith(b'""}')
        self._middle = rest[:-3] + b'"'  # from the comma after the index to the quote

    def line(self, index: int, commitment: str) -> bytes:
        return b'{"index":%d%s%s"}' % (index, self._middle, commitment.encode())


class LeafError(ValueError):
    """A line that is not a provision leaf in the canonical form."""


def parse_leaf(line: bytes) -> Leaf:
    """The leaf of ``line``; refuses anything that is not byte for byte canonical."""
    try:
        value = json.loads(line)
    except ValueError:
        raise LeafError("is not JSON") from None
    if not isinstance(value, dict) or tuple(value) != LEAF_KEYS:
        raise LeafError(f"does not have the keys {', '.join(LEAF_KEYS)} in that order")
    if not isinstance(value["index"], int) or not all(
        isinstance(value[k], str) for k in LEAF_KEYS[1:]
    ):
        raise LeafError("has a value of the wrong type")
    leaf = Leaf(**value)
    if leaf.line() != line:
        raise LeafError("is not in the canonical form (key order, spacing, escapes)")
    return leaf


def mine(k_r: bytes, leaves: Iterable[Leaf]) -> list[int]:
    """The indexes of the leaves whose commitment is the resident's of ``k_r``."""
    return [leaf.index for leaf in leaves if hmac.compare_digest(
        leaf.commitment, commitment(k_r, leaf.index))]  # fmt: skip
