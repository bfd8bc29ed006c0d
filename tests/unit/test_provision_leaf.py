"""The provision leaf's bytes (R14; docs/audit.md, "The provision leaf"): the batch path's
template gives ``leaf_line``'s bytes exactly, and the parser takes only canonical lines."""

from __future__ import annotations

import pytest

from jukinet.audit import provision_log as fmt

FIXED = ("2026-12-02T06:45:33.445497+00:00", "national:national", "jps",
         'a "quoted" \\ affair\n\t\u3042', "住民基本台帳法 第30条の9", "batch", "x,y",
         "ab" * 16)  # fmt: skip


@pytest.mark.parametrize("index", [0, 9, 10, 123_456_789_012])
def test_the_template_gives_the_canonical_line_byte_for_byte(index: int) -> None:
    c = fmt.commitment(b"k" * 32, index)
    line = fmt.leaf_line(index, *FIXED, c)
    assert fmt.LeafTemplate(*FIXED).line(index, c) == line
    assert fmt.parse_leaf(line).line() == line
    assert "住民基本台帳法".encode() in line  # UTF-8, not \\u escapes


def test_a_line_not_in_canonical_form_is_refused() -> None:
    line = fmt.leaf_line(1, *FIXED, fmt.commitment(b"k" * 32, 1))
    with pytest.raises(fmt.LeafError, match="canonical"):
        fmt.parse_leaf(line.replace(b":", b": ", 1))
    with pytest.raises(fmt.LeafError, match="keys"):
        fmt.parse_leaf(b'{"at":"x"}')
    with pytest.raises(fmt.LeafError, match="wrong type"):
        fmt.parse_leaf(line.replace(b'"index":1', b'"index":"1"'))


def test_commitments_differ_per_leaf_and_per_resident() -> None:
    k1, k2 = fmt.resident_key(b"s" * 32, "p1"), fmt.resident_key(b"s" * 32, "p2")
    assert fmt.commitment(k1, 0) != fmt.commitment(k1, 1) != fmt.commitment(k2, 1)
    leaves = [fmt.parse_leaf(fmt.leaf_line(i, *FIXED, fmt.commitment(k, i)))
              for i, k in enumerate([k1, k2, k1])]  # fmt: skip
    assert fmt.mine(k1, leaves) == [0, 2] and fmt.mine(k2, leaves) == [1]
