"""RFC 9162 Merkle tree hashes, stored in the layout of Go's ``golang.org/x/mod/sumdb/tlog``.

A leaf is SHA-256(0x00 || data), an inner node SHA-256(0x01 || left || right)
(RFC 9162 §2.1.1, the same as RFC 6962). The tree of every node's audit log is kept
as the "stored hashes" of tlog: for each record n, the hash of every complete
subtree that record n completes, numbered so that appending only ever adds rows at
the end (``stored_hash_index``). Appending a record reads at most log2(n) hashes
(the right edge of the tree), and a proof reads O(log n) of them.

Hand-written rather than a library because no maintained Python package implements
this storage layout; the index arithmetic and the proofs are a port of tlog
(BSD-licensed, Go authors), and tests check our results against Go's own tlog.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()  # RFC 9162 §2.1.1: the hash of an empty tree

# Reads the stored hashes at the given indexes, in that order.
HashReader = Callable[[Sequence[int]], list[bytes]]


class ProofFailed(ValueError):
    """A proof that does not lead to the root hash it claims."""


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def stored_hash_index(level: int, n: int) -> int:
    """Where the hash of the ``n``-th subtree of ``level`` is stored (tlog.StoredHashIndex).

    tlog walks down to level 0 (n -> 2n+1, ``level`` times) and sums n + n/2 + n/4 + …,
    which is 2n - popcount(n) in closed form.
    """
    n = ((n + 1) << level) - 1
    return 2 * n - n.bit_count() + level


def stored_hash_count(n: int) -> int:
    """How many hashes a tree of ``n`` records stores (tlog.StoredHashCount)."""
    if n == 0:
        return 0
    count = stored_hash_index(0, n - 1) + 1
    i = n - 1
    while i & 1:
        count += 1
        i >>= 1
    return count


def _maxpow2(n: int) -> tuple[int, int]:
    """The largest power of two k < n, and its log2 (tlog's maxpow2)."""
    level = (n - 1).bit_length() - 1
    return 1 << level, level


def edge_indexes(size: int) -> list[tuple[int, int, int]]:
    """The complete subtrees a tree of ``size`` is made of, left to right: (level, n, index)."""
    out = []
    lo = 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            n = lo >> level
            out.append((level, n, stored_hash_index(level, n)))
            lo += 1 << level
    return out


def root_of(edge: Sequence[bytes]) -> bytes:
    """The tree hash from its complete subtrees' hashes, left to right."""
    if not edge:
        return EMPTY_ROOT
    h = edge[-1]
    for left in reversed(edge[:-1]):
        h = node_hash(left, h)
    return h


class Appender:
    """Adds leaves to a tree of ``size`` whose right edge is known; yields the new stored hashes.

    ``edge`` maps (level, n) to the hash of each complete subtree on the right edge.
    """

    def __init__(self, size: int, edge: dict[tuple[int, int], bytes]) -> None:
        self.size = size
        self.edge = dict(edge)

    def add(self, leaf: bytes) -> list[bytes]:
        """The hashes record ``size`` stores, in index order (tlog.StoredHashesForRecordHash)."""
        n = self.size
        h = leaf
        hashes = [h]
        self.edge[(0, n)] = h
        level = 0
        while (n >> level) & 1:
            left = self.edge.pop((level, (n >> level) - 1))
            self.edge.pop((level, n >> level))
            h = node_hash(left, h)
            level += 1
            self.edge[(level, n >> level)] = h
            hashes.append(h)
        self.size += 1
        return hashes

    def right_edge(self) -> list[bytes]:
        """The hashes of the complete subtrees the tree is made of, left to right."""
        return [self.edge[(lv, n)] for lv, n, _ in edge_indexes(self.size)]

    def root(self) -> bytes:
        return root_of(self.right_edge())


def tree_hash(size: int, read: HashReader) -> bytes:
    if size == 0:
        return EMPTY_ROOT
    return root_of(read([i for _, _, i in edge_indexes(size)]))


def _subtree_index(lo: int, hi: int, need: list[int]) -> None:
    while lo < hi:
        k, level = _maxpow2(hi - lo + 1)
        need.append(stored_hash_index(level, lo >> level))
        lo += k


def _subtree_hash(lo: int, hi: int, hashes: list[bytes]) -> bytes:
    parts = []
    while lo < hi:
        k, _ = _maxpow2(hi - lo + 1)
        parts.append(hashes.pop(0))
        lo += k
    return root_of(parts)


def _tree_proof_index(lo: int, hi: int, n: int, need: list[int]) -> None:
    if n == hi:
        if lo != 0:
            _subtree_index(lo, hi, need)
        return
    k, _ = _maxpow2(hi - lo)
    if n <= lo + k:
        _tree_proof_index(lo, lo + k, n, need)
        _subtree_index(lo + k, hi, need)
    else:
        _subtree_index(lo, lo + k, need)
        _tree_proof_index(lo + k, hi, n, need)


def _tree_proof(lo: int, hi: int, n: int, hashes: list[bytes]) -> list[bytes]:
    if n == hi:
        return [] if lo == 0 else [_subtree_hash(lo, hi, hashes)]
    k, _ = _maxpow2(hi - lo)
    if n <= lo + k:
        p = _tree_proof(lo, lo + k, n, hashes)
        th = _subtree_hash(lo + k, hi, hashes)
    else:
        th = _subtree_hash(lo, lo + k, hashes)
        p = _tree_proof(lo + k, hi, n, hashes)
    return [*p, th]


def prove_tree(t: int, n: int, read: HashReader) -> list[bytes]:
    """The consistency proof that the tree of size ``n`` is a prefix of the one of size ``t``."""
    if not 1 <= n <= t:
        raise ValueError(f"no consistency proof from size {n} to size {t}")
    need: list[int] = []
    _tree_proof_index(0, t, n, need)
    return _tree_proof(0, t, n, read(need)) if need else []


def _run_tree_proof(p: list[bytes], lo: int, hi: int, n: int, old: bytes) -> tuple[bytes, bytes]:
    if n == hi:
        if lo == 0:
            if p:
                raise ProofFailed("the consistency proof is too long")
            return old, old
        if len(p) != 1:
            raise ProofFailed("the consistency proof has the wrong length")
        return p[0], p[0]
    if not p:
        raise ProofFailed("the consistency proof is too short")
    k, _ = _maxpow2(hi - lo)
    if n <= lo + k:
        oh, th = _run_tree_proof(p[:-1], lo, lo + k, n, old)
        return oh, node_hash(th, p[-1])
    oh, th = _run_tree_proof(p[:-1], lo + k, hi, n, old)
    return node_hash(p[-1], oh), node_hash(p[-1], th)


def check_tree(proof: Sequence[bytes], t: int, t_hash: bytes, n: int, n_hash: bytes) -> None:
    """Raise ``ProofFailed`` unless ``proof`` shows tree (n, n_hash) is a prefix of (t, t_hash)."""
    if not 1 <= n <= t:
        raise ProofFailed(f"no consistency proof from size {n} to size {t}")
    old, new = _run_tree_proof(list(proof), 0, t, n, n_hash)
    if old != n_hash or new != t_hash:
        raise ProofFailed("the consistency proof does not lead to the two root hashes")


def _leaf_proof_index(lo: int, hi: int, n: int, need: list[int]) -> None:
    if lo + 1 == hi:
        return
    k, _ = _maxpow2(hi - lo)
    if n < lo + k:
        _leaf_proof_index(lo, lo + k, n, need)
        _subtree_index(lo + k, hi, need)
    else:
        _subtree_index(lo, lo + k, need)
        _leaf_proof_index(lo + k, hi, n, need)


def _leaf_proof(lo: int, hi: int, n: int, hashes: list[bytes]) -> list[bytes]:
    if lo + 1 == hi:
        return []
    k, _ = _maxpow2(hi - lo)
    if n < lo + k:
        p = _leaf_proof(lo, lo + k, n, hashes)
        th = _subtree_hash(lo + k, hi, hashes)
    else:
        th = _subtree_hash(lo, lo + k, hashes)
        p = _leaf_proof(lo + k, hi, n, hashes)
    return [*p, th]


def prove_record(t: int, n: int, read: HashReader) -> list[bytes]:
    """The inclusion proof of record ``n`` (0-based) in the tree of size ``t``."""
    if not 0 <= n < t:
        raise ValueError(f"record {n} is not in a tree of size {t}")
    need: list[int] = []
    _leaf_proof_index(0, t, n, need)
    return _leaf_proof(0, t, n, read(need)) if need else []


def _run_record_proof(p: list[bytes], lo: int, hi: int, n: int, leaf: bytes) -> bytes:
    if lo + 1 == hi:
        if p:
            raise ProofFailed("the inclusion proof is too long")
        return leaf
    if not p:
        raise ProofFailed("the inclusion proof is too short")
    k, _ = _maxpow2(hi - lo)
    if n < lo + k:
        return node_hash(_run_record_proof(p[:-1], lo, lo + k, n, leaf), p[-1])
    return node_hash(p[-1], _run_record_proof(p[:-1], lo + k, hi, n, leaf))


def check_record(proof: Sequence[bytes], t: int, t_hash: bytes, n: int, leaf: bytes) -> None:
    """Raise ``ProofFailed`` unless ``proof`` shows record n's ``leaf`` is in tree (t, t_hash)."""
    if not 0 <= n < t:
        raise ProofFailed(f"record {n} is not in a tree of size {t}")
    if _run_record_proof(list(proof), 0, t, n, leaf) != t_hash:
        raise ProofFailed("the inclusion proof does not lead to the root hash")


def root_of_leaves(leaves: Iterable[bytes]) -> tuple[int, bytes]:
    """(size, root hash) of the tree over ``leaves`` (leaf hashes), in O(log n) memory."""
    a = Appender(0, {})
    for leaf in leaves:
        a.add(leaf)
    return a.size, a.root()
