"""The change reasons table (異動事由) in its three families."""

from __future__ import annotations

import pytest

from jukinet.domain.events import EVENT_KINDS
from jukinet.domain.reasons import REASONS, Family, reason, reasons_of
from jukinet.errors import InvalidInput


def test_every_family_has_its_reasons() -> None:
    assert {r.code for r in reasons_of(Family.ENTRY)} >= {"birth", "move-in", "move-in-abroad"}
    assert {r.code for r in reasons_of(Family.REMOVAL)} >= {"move-out", "move-out-abroad", "death"}
    assert {r.code for r in reasons_of(Family.CORRECTION)} >= {
        "move-within", "minor-correction", "code-change", "household-split",
        "household-merge", "head-change",
    }  # fmt: skip


def test_every_event_kind_names_a_reason_in_the_table() -> None:
    assert set(EVENT_KINDS.values()) <= set(REASONS)


def test_reasons_have_japanese_names() -> None:
    assert reason("death").name_ja == "死亡"
    assert reason("move-within").name_ja == "転居"


def test_an_unknown_reason_is_refused() -> None:
    with pytest.raises(InvalidInput, match="no change reason"):
        reason("abduction")
