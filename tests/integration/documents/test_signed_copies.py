"""Signed copies of the resident record, checked by poppler's pdfsig against the network's
document CA in an NSS database, and by ``verify_pdf`` against the network CA and its CRLs
(R4, R20; docs/copies.md "Signed copies and how to verify them")."""

from __future__ import annotations

from pathlib import Path

import pytest

from jukinet.documents import certs
from jukinet.documents.signing import signed_copy
from jukinet.documents.verify import verify_pdf
from tests.documents_kit import (
    CONTENT_MARKER,
    Kit,
    a_copy,
    make_kit,
    nss_database,
    pdfsig,
    render_test_pdf,
)


@pytest.fixture
def kit(tmp_path: Path) -> Kit:
    return make_kit(tmp_path)


def _signed(kit: Kit) -> bytes:
    return signed_copy(a_copy(), kit.signer, render_test_pdf)


def test_pdfsig_reports_a_signed_copy_valid_and_trusted(kit: Kit, tmp_path: Path) -> None:
    pdf = tmp_path / "copy.pdf"
    pdf.write_bytes(_signed(kit))
    db = nss_database(tmp_path, kit.ca_dir / certs.CA_CERT_FILE)
    report = pdfsig(db, pdf)
    assert "Signature is Valid." in report
    assert "Certificate is Trusted." in report
    assert "Total document signed" in report
    assert "東京都千代田区" in report  # the signer's common name


def test_pdfsig_reports_failure_after_a_byte_of_content_changes(kit: Kit, tmp_path: Path) -> None:
    data = bytearray(_signed(kit))
    at = data.index(CONTENT_MARKER) + len(b"(Resident")
    data[at] = ord("X")
    pdf = tmp_path / "tampered.pdf"
    pdf.write_bytes(bytes(data))
    report = pdfsig(nss_database(tmp_path, kit.ca_dir / certs.CA_CERT_FILE), pdf)
    assert "Signature is Valid." not in report
    assert "Digest Mismatch" in report or "corrupted" in report


def test_a_signed_copy_is_genuine_and_shows_only_the_minimum(kit: Kit) -> None:
    verdict = verify_pdf(_signed(kit), kit.network_ca, kit.crls())
    assert verdict.genuine, verdict.reason
    assert (verdict.serial, verdict.issuer_code, verdict.issuer_name) == (
        "2026-000001",
        "131016",
        "東京都千代田区",
    )
    assert verdict.names == ("髙橋 太郎",)
    assert verdict.wide_area is False
    assert verdict.line().startswith("GENUINE: copy 2026-000001 issued by 東京都千代田区")


def _flip(data: bytes, at: int) -> bytes:
    changed = bytearray(data)
    changed[at] ^= 0x01
    return bytes(changed)


def test_a_byte_changed_anywhere_makes_the_copy_not_genuine(kit: Kit) -> None:
    data = _signed(kit)
    token_at = data.index(b"(JK1.") + 12
    contents_at = data.index(b"/Contents <") + 40
    places = {
        "content stream": data.index(CONTENT_MARKER) + 3,
        "start of the signed range": 20,
        "the stored token": token_at,
        "the items stream": data.index("髙橋".encode()) + 1,
        "the signature value": contents_at,
        "the last byte": len(data) - 3,
    }
    for where, at in places.items():
        verdict = verify_pdf(_flip(data, at), kit.network_ca, kit.crls())
        assert not verdict.genuine, where
        assert verdict.reason, where


def test_every_byte_of_the_signed_content_is_covered(kit: Kit) -> None:
    data = _signed(kit)
    start = data.index(b"/Contents <")
    for at in range(0, start, max(1, start // 40)):
        assert not verify_pdf(_flip(data, at), kit.network_ca, kit.crls()).genuine, at


def test_a_copy_signed_with_a_revoked_certificate_is_refused(kit: Kit) -> None:
    data = _signed(kit)
    certs.revoke_document_certificate(kit.ca_dir, kit.signer.cert)
    verdict = verify_pdf(data, kit.network_ca, kit.crls())
    assert not verdict.genuine
    assert "revoked" in verdict.reason


def test_the_revoked_certificate_is_on_the_published_crl(kit: Kit) -> None:
    certs.revoke_document_certificate(kit.ca_dir, kit.signer.cert)
    (crl,) = certs.load_crls([kit.ca_dir / certs.CRL_FILE])
    assert crl.get_revoked_certificate_by_serial_number(kit.signer.cert.serial_number)


def test_a_copy_of_another_network_is_not_genuine(kit: Kit, tmp_path: Path) -> None:
    other = make_kit(tmp_path / "other", network="other")
    verdict = verify_pdf(
        signed_copy(a_copy(), other.signer, render_test_pdf), kit.network_ca, kit.crls()
    )
    assert not verdict.genuine
    assert "network" in verdict.reason


def test_a_pdf_without_a_signature_is_not_genuine(kit: Kit) -> None:
    verdict = verify_pdf(render_test_pdf(a_copy(), "x"), kit.network_ca, kit.crls())
    assert (verdict.genuine, verdict.reason) == (False, "The file holds no signature.")


def test_a_file_that_is_no_pdf_is_not_genuine(kit: Kit) -> None:
    verdict = verify_pdf(b"hello", kit.network_ca, kit.crls())
    assert (verdict.genuine, verdict.reason) == (False, "The file is not a readable PDF.")


def test_without_revocation_information_no_copy_is_genuine(kit: Kit) -> None:
    verdict = verify_pdf(_signed(kit), kit.network_ca, [])
    assert not verdict.genuine


def test_a_rendered_copy_fails_after_a_byte_changes_anywhere_it_is_signed(kit: Kit) -> None:
    """The Typst copy (compressed content streams, embedded IPAmj Mincho): thirty places
    across both signed ranges, each a different verdict of not genuine."""
    from jukinet.documents.render import render_copy

    data = signed_copy(a_copy(), kit.signer, render_copy)
    assert verify_pdf(data, kit.network_ca, kit.crls()).genuine
    contents = data.index(b"/Contents <")
    end_of_value = data.index(b">", contents)
    places = [*range(30, contents, contents // 20), *range(end_of_value + 1, len(data) - 1,
              max(1, (len(data) - end_of_value) // 10))]  # fmt: skip
    for at in places:
        assert not verify_pdf(_flip(data, at), kit.network_ca, kit.crls()).genuine, at


def test_a_home_without_a_document_key_is_one_clear_error(tmp_path: Path) -> None:
    from jukinet.documents.signing import DocumentSigner
    from jukinet.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="holds no document-signing key"):
        DocumentSigner.load(tmp_path)
