"""The issuer of a copy: the mayor's title from the municipality's name (docs/copies.md)."""

from __future__ import annotations

import pytest

from jukinet.domain.copies import mayor_title_for


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("東京都千代田区", "千代田区長"),
        ("北海道札幌市", "札幌市長"),
        ("大阪府大阪市", "大阪市長"),
        ("京都府京都市", "京都市長"),
        ("神奈川県横浜市", "横浜市長"),
        ("鹿児島県鹿児島市", "鹿児島市長"),
        ("長野県北佐久郡軽井沢町", "軽井沢町長"),
        ("群馬県吾妻郡草津町", "草津町長"),
        ("福島県郡山市", "郡山市長"),
        ("奈良県大和郡山市", "大和郡山市長"),
        ("東京都青ヶ島村", "青ヶ島村長"),
    ],
)
def test_the_mayors_title_leaves_out_prefecture_and_county(name: str, title: str) -> None:
    assert mayor_title_for(name) == title
