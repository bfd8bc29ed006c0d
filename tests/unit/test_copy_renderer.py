"""The copy renderer around the layout: its QR code, long copies, its font set-up.

The QR code is read back from the page's pixels by zbar, an independent reader; the
font set-up refuses a folder with any font beside IPAmj Mincho (a name could fall
back to it) and a missing font, each with one sentence (docs/copies.md).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from jukinet.documents.fonts import FONT_ENV, font_path
from jukinet.documents.render import CopyRenderer, render_copy, shared_renderer
from jukinet.domain.copies import CopyOptions
from jukinet.errors import ConfigurationError, GlyphMissing, RenderFailed
from tests.pdf import pdf_text, read_qr
from tests.unit.scene import Family, family_register
from tests.unit.test_copy_pdf import TOKEN, copy_of

# The size of a signed token: serial, municipality, date, digest and an ECDSA signature.
LONG_TOKEN = "JKN1." + "A1b2C3d4E5f6-_" * 24


@pytest.fixture(scope="module")
def family() -> Family:
    return family_register()[1]


def test_the_qr_code_holds_the_callers_text_exactly(family: Family, tmp_path: Path) -> None:
    pdf = render_copy(copy_of(family, CopyOptions()), LONG_TOKEN)
    assert read_qr(pdf, tmp_path) == [LONG_TOKEN]


def test_a_text_too_long_for_a_qr_code_is_refused_in_one_sentence(family: Family) -> None:
    with pytest.raises(RenderFailed, match=r"too long .* for a QR code"):
        render_copy(copy_of(family, CopyOptions()), "x" * 5000)


def test_a_household_on_two_pages_carries_the_serial_and_page_on_each(family: Family) -> None:
    copy = copy_of(family, CopyOptions(household=True, with_relationship=True))
    copy = replace(copy, persons=copy.persons * 2)  # six persons: more than one page holds
    text = pdf_text(render_copy(copy, TOKEN))
    assert text.count("交付番号131016-2026-000042") == 2
    assert "1/2" in text and "2/2" in text
    assert "記載事項6／6" in text


# Any font but IPAmj Mincho (Debian fonts-dejavu-core, scripts/system-packages).
ANOTHER_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def test_a_font_folder_holding_another_font_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ipamjm.ttf").symlink_to(font_path())
    (tmp_path / "other.ttf").symlink_to(ANOTHER_FONT)
    monkeypatch.setenv(FONT_ENV, str(tmp_path / "ipamjm.ttf"))
    with pytest.raises(ConfigurationError, match="must hold IPAmjMincho only"):
        CopyRenderer()


def test_a_missing_font_is_a_configuration_error_saying_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(FONT_ENV, str(tmp_path / "none.ttf"))
    with pytest.raises(ConfigurationError, match="install the Debian package fonts-ipamj-mincho"):
        CopyRenderer()


def test_one_renderer_serves_the_process(family: Family) -> None:
    render_copy(copy_of(family, CopyOptions()), TOKEN)
    assert shared_renderer() is shared_renderer()


def test_each_printed_text_is_checked_on_its_own(family: Family) -> None:
    # A selector opening the mayor's name does not attach to the title's last kanji.
    copy = replace(copy_of(family, CopyOptions()), mayor_name="\U000e0102山田 太郎")
    with pytest.raises(GlyphMissing, match=r"U\+E0102 .* in 市区町村長"):
        render_copy(copy, TOKEN)
