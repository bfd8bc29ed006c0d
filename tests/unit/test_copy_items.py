"""The printed items of a copy name the home municipality of a wide-area copy (R20).

``ResidentCopy.home_name`` is printed beside the home code, so it is one of the items
the verification token digests; a copy without it digests as before.
"""

from __future__ import annotations

from dataclasses import replace

from jukinet.domain.copies import CopyOptions, printed_digest
from tests.unit.scene import family_register
from tests.unit.test_copy_pdf import copy_of


def test_the_home_name_is_a_printed_item_only_when_given() -> None:
    copy = copy_of(family_register()[1], CopyOptions(wide_area=True))
    assert "住所地市区町村名" not in copy.printed_items()
    named = replace(copy, home_name="東京都千代田区")
    assert named.printed_items()["住所地市区町村名"] == "東京都千代田区"
    assert printed_digest(named) != printed_digest(copy)
