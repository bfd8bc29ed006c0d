"""The signed token of a copy (documents/token.py): compact, and refused unless exact."""

from __future__ import annotations

from datetime import date

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from jukinet.documents.token import CopyToken, make_token, parse_token
from jukinet.domain.copies import printed_digest
from jukinet.errors import InvalidInput
from tests.documents_kit import a_copy

KEY = ec.generate_private_key(ec.SECP256R1())


def test_a_token_names_serial_municipality_date_and_digest_and_fits_a_small_qr_code() -> None:
    copy = a_copy("2026-000042")
    text = make_token(copy, KEY).text()
    assert text.startswith("JK1.131016.2026-000042.20261202.")
    assert len(text) < 200 and text.isascii()
    token = parse_token(text)
    assert (token.municipality, token.serial, token.issued_on) == (
        "131016", "2026-000042", date(2026, 12, 2),
    )  # fmt: skip
    assert token.digest == printed_digest(copy)
    assert token.verify(KEY.public_key())


def test_a_token_verifies_with_its_own_key_only() -> None:
    token = make_token(a_copy(), KEY)
    assert not token.verify(ec.generate_private_key(ec.SECP256R1()).public_key())


def test_changing_any_signed_field_breaks_the_signature() -> None:
    token = make_token(a_copy(), KEY)
    changed = [
        CopyToken("131041", token.serial, token.issued_on, token.digest, token.signature),
        CopyToken(token.municipality, "2026-000002", token.issued_on, token.digest,
                  token.signature),
        CopyToken(token.municipality, token.serial, date(2026, 12, 3), token.digest,
                  token.signature),
        CopyToken(token.municipality, token.serial, token.issued_on, "0" * 64, token.signature),
    ]  # fmt: skip
    assert not any(t.verify(KEY.public_key()) for t in changed)


def test_a_different_copy_has_a_different_digest() -> None:
    assert make_token(a_copy(), KEY).digest != make_token(a_copy(wide_area=True), KEY).digest


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello",
        "JK2.131016.2026-000001.20261202.AAAA.BBBB",
        "JK1.13101.2026-000001.20261202.AAAA.BBBB",
        "JK1.131016.2026 000001.20261202.AAAA.BBBB",
        "JK1.131016.2026-000001.20261302.AAAA.BBBB",
        "JK1.131016.2026-000001.20261202.AAAA.BBBB",  # a digest of 3 bytes
        "JK1.131016.2026-000001.20261202." + "A" * 43 + ".B+B/",
        "JK1.131016.2026-000001.20261202." + "A" * 43 + ".B" + "B" * 500,
        "JK1.131016.２０２６.20261202." + "A" * 43 + ".BBBB",
    ],
)
def test_anything_else_is_refused_in_one_sentence(text: str) -> None:
    with pytest.raises(InvalidInput, match="not the token of a copy"):
        parse_token(text)
