"""The JPKI CA and verification (R15): certificates for a card's RSA-2048 keys, the CRL, and
a signature checked as any node checks it, each result cross-checked with the ``openssl``
command (``openssl verify -crl_check``, ``openssl dgst -verify``).

The card keys are RSA-2048 keys made here, standing in for the card's (its private keys
never leave it; only the public key reaches the CA).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from jukinet.errors import CardCertificateRefused, CertificationRefused
from jukinet.jpki import (
    Holder,
    JpkiCA,
    Kind,
    Reason,
    Revoked,
    build_crl,
    card_public_key,
    create_ca,
    issue_authentication,
    issue_signing,
    public_key_der,
    verify_signature,
)
from jukinet.jpki.holder import OID, holder_of
from jukinet.jpki.validity import JST

HOLDER = Holder("山田 太郎", date(1980, 5, 5), "male", "東京都千代田区丸の内一丁目1番1号")
DOCUMENT = "転出届: 山田 太郎 は 2026-12-01 に 大阪市 へ転出します。".encode()


def now() -> datetime:
    """Now, read when a test runs (the CA of the module is made then, not at import)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Card:
    """The two key pairs a card generates (0017 authentication, 001A signing)."""

    auth: rsa.RSAPrivateKey
    signing: rsa.RSAPrivateKey

    def sign(self, data: bytes) -> bytes:
        """What the card's SIGN command computes: PKCS#1 v1.5 over SHA-256."""
        return self.signing.sign(data, padding.PKCS1v15(), hashes.SHA256())


def _rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ca() -> JpkiCA:
    return create_ca("test")


@pytest.fixture(scope="module")
def card() -> Card:
    return Card(_rsa(), _rsa())


def no_revocations(ca: JpkiCA) -> x509.CertificateRevocationList:
    return build_crl(ca, [], 1, now())


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def pem(item: x509.Certificate | x509.CertificateRevocationList) -> bytes:
    return item.public_bytes(serialization.Encoding.PEM)


def openssl(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["openssl", *map(str, args)], capture_output=True, text=True, timeout=30, check=False
    )


Verify = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def openssl_verify(tmp_path: Path, ca: JpkiCA) -> Verify:
    """``openssl verify -crl_check`` of a certificate against the CA and a CRL."""

    def run(
        cert: x509.Certificate,
        crl: x509.CertificateRevocationList,
        at: datetime | None = None,
        trusted: JpkiCA | None = None,
    ) -> subprocess.CompletedProcess[str]:
        args: list[str | Path] = [
            "verify", "-CAfile", write(tmp_path, "ca.pem", pem((trusted or ca).cert)),
            "-crl_check", "-CRLfile", write(tmp_path, "crl.pem", pem(crl)),
        ]  # fmt: skip
        if at is not None:
            args += ["-attime", str(int(at.timestamp()))]
        return openssl(*args, write(tmp_path, "cert.pem", pem(cert)))

    return run


# --- issuance ---------------------------------------------------------------------


def test_the_ca_is_rsa_2048_with_sha_256_and_self_signed(ca: JpkiCA, tmp_path: Path) -> None:
    assert ca.key.key_size == 2048
    assert ca.cert.signature_hash_algorithm is not None
    assert ca.cert.signature_hash_algorithm.name == "sha256"
    constraints = ca.cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert constraints.ca is True
    text = openssl("x509", "-in", write(tmp_path, "ca.pem", pem(ca.cert)), "-noout", "-text")
    assert "sha256WithRSAEncryption" in text.stdout
    assert "Public-Key: (2048 bit)" in text.stdout
    checked = openssl("verify", "-CAfile", tmp_path / "ca.pem", tmp_path / "ca.pem")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_signing_certificate_carries_the_four_items_and_non_repudiation(
    ca: JpkiCA, card: Card, tmp_path: Path
) -> None:
    cert = issue_signing(ca, card.signing.public_key(), HOLDER)
    assert holder_of(cert) == HOLDER
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {n.type_id for n in san.get_values_for_type(x509.OtherName)} == set(OID.values())
    assert "山田" not in cert.subject.rfc4514_string()  # the subject names no one
    assert cert.public_key() == card.signing.public_key()
    # The date of birth as JPKI writes it: an era digit (3: 昭和) and YYYYMMDD.
    values = {n.type_id: n.value for n in san.get_values_for_type(x509.OtherName)}
    assert values[OID["date_of_birth"]] == b"\x0c\x09319800505"
    assert values[OID["sex"]] == b"\x0c\x011"
    text = openssl("x509", "-in", write(tmp_path, "s.pem", pem(cert)), "-noout", "-text")
    assert "Digital Signature, Non Repudiation" in text.stdout
    assert "othername" in text.stdout.lower()


def test_the_authentication_certificate_carries_no_personal_information(
    ca: JpkiCA, card: Card, tmp_path: Path
) -> None:
    cert = issue_authentication(ca, card.auth.public_key(), HOLDER.date_of_birth)
    with pytest.raises(x509.ExtensionNotFound):
        cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    der = cert.public_bytes(serialization.Encoding.DER)
    for item in (HOLDER.name, HOLDER.address):
        assert item.encode() not in der
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and not usage.content_commitment
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]
    checked = openssl(
        "verify", "-purpose", "sslclient", "-CAfile", write(tmp_path, "ca.pem", pem(ca.cert)),
        write(tmp_path, "a.pem", pem(cert)),
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_both_run_to_the_fifth_birthday_after_issuance(ca: JpkiCA, card: Card) -> None:
    issued = datetime(2026, 3, 1, 9, 0, tzinfo=JST)
    end = datetime(2030, 5, 5, 23, 59, 59, tzinfo=JST)
    signing = issue_signing(ca, card.signing.public_key(), HOLDER, issued)
    auth = issue_authentication(ca, card.auth.public_key(), HOLDER.date_of_birth, issued)
    assert signing.not_valid_after_utc == auth.not_valid_after_utc == end
    assert signing.not_valid_before_utc <= issued


def test_a_29_february_holder_is_valid_to_28_february_of_a_common_year(
    ca: JpkiCA, card: Card
) -> None:
    leapling = Holder("閏 花子", date(2000, 2, 29), "female", "東京都千代田区丸の内一丁目2番")
    cert = issue_signing(ca, card.signing.public_key(), leapling, datetime(2026, 3, 1, tzinfo=JST))
    assert cert.not_valid_after_utc == datetime(2031, 2, 28, 23, 59, 59, tzinfo=JST)


def test_no_signing_certificate_is_issued_under_15(ca: JpkiCA, card: Card) -> None:
    child = Holder("山田 一郎", date(2012, 2, 29), "male", HOLDER.address)
    with pytest.raises(CertificationRefused, match="not issued to a person under 15"):
        issue_signing(ca, card.signing.public_key(), child, datetime(2027, 2, 28, 12, tzinfo=JST))
    # The user-authentication certificate is issued to anyone; the signing one at 15.
    issue_authentication(ca, card.auth.public_key(), child.date_of_birth)
    cert = issue_signing(ca, card.signing.public_key(), child, datetime(2027, 3, 1, 12, tzinfo=JST))
    assert holder_of(cert) == child


def test_serial_numbers_are_random_and_positive(ca: JpkiCA, card: Card) -> None:
    serials = {
        issue_authentication(ca, card.auth.public_key(), HOLDER.date_of_birth).serial_number
        for _ in range(8)
    }
    assert len(serials) == 8
    assert all(0 < s < 2**159 for s in serials)
    assert max(s.bit_length() for s in serials) > 100  # random bits, not a counter


@pytest.mark.parametrize(
    ("key", "phrase"),
    [
        (lambda: rsa.generate_private_key(65537, 1024).public_key(), "RSA key of 1024 bits"),
        (lambda: rsa.generate_private_key(3, 2048).public_key(), "public exponent 65537"),
        (lambda: ec.generate_private_key(ec.SECP256R1()).public_key(), "RSA key of 2048 bits"),
    ],
)
def test_only_a_card_s_rsa_2048_key_is_certified(key: Callable[[], object], phrase: str) -> None:
    der = key().public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(CertificationRefused, match=phrase):
        card_public_key(der)
    with pytest.raises(CertificationRefused, match="not a public key"):
        card_public_key(b"\x30\x03\x02\x01\x00")


def test_a_card_key_reads_back_from_its_der(card: Card) -> None:
    public = card.signing.public_key()
    assert card_public_key(public_key_der(public)) == public


# --- verification -------------------------------------------------------------------


def test_a_signed_document_verifies_and_names_the_signer(
    ca: JpkiCA, card: Card, tmp_path: Path, openssl_verify: Verify
) -> None:
    cert = issue_signing(ca, card.signing.public_key(), HOLDER)
    crl = no_revocations(ca)
    signature = card.sign(DOCUMENT)
    signer = verify_signature(DOCUMENT, signature, cert, ca.cert, crl)
    assert (signer.kind, signer.holder, signer.serial) == (
        Kind.SIGNING,
        HOLDER,
        cert.serial_number,
    )
    checked = openssl_verify(cert, crl)
    assert checked.returncode == 0 and ": OK" in checked.stdout, checked.stderr
    public = write(
        tmp_path, "pub.pem",
        card.signing.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    )  # fmt: skip
    dgst = openssl(
        "dgst", "-sha256", "-verify", public, "-signature", write(tmp_path, "sig", signature),
        write(tmp_path, "doc", DOCUMENT),
    )  # fmt: skip
    assert dgst.stdout.strip() == "Verified OK"


def test_an_authentication_signature_names_no_one(ca: JpkiCA, card: Card) -> None:
    cert = issue_authentication(ca, card.auth.public_key(), HOLDER.date_of_birth)
    challenge = b"a fresh challenge from the terminal"
    signature = card.auth.sign(challenge, padding.PKCS1v15(), hashes.SHA256())
    signer = verify_signature(challenge, signature, cert, ca.cert, no_revocations(ca))
    assert (signer.kind, signer.holder) == (Kind.AUTHENTICATION, None)


def test_a_revoked_certificate_is_refused_with_the_day_and_the_reason(
    ca: JpkiCA, card: Card, openssl_verify: Verify
) -> None:
    cert = issue_signing(ca, card.signing.public_key(), HOLDER)
    revoked_at = datetime(2026, 11, 30, 10, 0, tzinfo=JST)
    crl = build_crl(ca, [Revoked(cert.serial_number, revoked_at, Reason.CARD_LOST)], 2, now())
    with pytest.raises(CardCertificateRefused) as refused:
        verify_signature(DOCUMENT, card.sign(DOCUMENT), cert, ca.cert, crl)
    assert refused.value.message == (
        "The signing certificate was revoked on 2026-11-30 (the card was reported lost)."
    )
    checked = openssl_verify(cert, crl)
    assert checked.returncode != 0 and "certificate revoked" in checked.stdout + checked.stderr


@pytest.mark.parametrize("reason", list(Reason))
def test_every_reason_reads_back_from_the_crl(ca: JpkiCA, card: Card, reason: Reason) -> None:
    cert = issue_authentication(ca, card.auth.public_key(), HOLDER.date_of_birth)
    crl = build_crl(ca, [Revoked(cert.serial_number, now() - timedelta(hours=1), reason)], 3, now())
    signature = card.auth.sign(b"x", padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(CardCertificateRefused) as refused:
        verify_signature(b"x", signature, cert, ca.cert, crl)
    assert refused.value.message.startswith("The user-authentication certificate was revoked")
    assert refused.value.message.endswith(f"({reason.phrase}).")


def test_a_signature_made_before_the_revocation_verifies_at_its_time(
    ca: JpkiCA, card: Card, openssl_verify: Verify
) -> None:
    cert = issue_signing(ca, card.signing.public_key(), HOLDER)
    signed_at = now()
    revoked_at = signed_at + timedelta(minutes=1)
    crl = build_crl(
        ca, [Revoked(cert.serial_number, revoked_at, Reason.IDENTITY_CHANGED)], 4, signed_at
    )
    signature = card.sign(DOCUMENT)
    assert verify_signature(DOCUMENT, signature, cert, ca.cert, crl, at=signed_at).holder == HOLDER
    with pytest.raises(CardCertificateRefused, match="name, date of birth, sex or address"):
        verify_signature(
            DOCUMENT, signature, cert, ca.cert, crl, at=signed_at + timedelta(minutes=2)
        )


def test_an_expired_certificate_is_refused_with_its_last_day(
    ca: JpkiCA, card: Card, openssl_verify: Verify
) -> None:
    issued = datetime(2019, 6, 1, 10, 0, tzinfo=JST)
    cert = issue_signing(ca, card.signing.public_key(), HOLDER, issued)  # to 2024-05-05
    crl = no_revocations(ca)
    with pytest.raises(CardCertificateRefused) as refused:
        verify_signature(DOCUMENT, card.sign(DOCUMENT), cert, ca.cert, crl)
    assert refused.value.message == "The signing certificate expired on 2024-05-05."
    # openssl, at a time inside the CRL's validity, sees the certificate expired too.
    checked = openssl_verify(cert, crl, at=now())
    assert checked.returncode != 0 and "certificate has expired" in checked.stdout + checked.stderr


def test_a_certificate_of_another_ca_is_refused(
    ca: JpkiCA, card: Card, openssl_verify: Verify
) -> None:
    other = create_ca("test")  # the same name: only the key tells them apart
    cert = issue_signing(other, card.signing.public_key(), HOLDER)
    with pytest.raises(CardCertificateRefused) as refused:
        verify_signature(DOCUMENT, card.sign(DOCUMENT), cert, ca.cert, no_revocations(ca))
    assert refused.value.message == "The certificate is not issued by this network's JPKI CA."
    checked = openssl_verify(cert, no_revocations(other))
    assert checked.returncode != 0


def test_a_changed_document_or_signature_is_refused(ca: JpkiCA, card: Card, tmp_path: Path) -> None:
    cert = issue_signing(ca, card.signing.public_key(), HOLDER)
    crl = no_revocations(ca)
    signature = card.sign(DOCUMENT)
    tampered = DOCUMENT.replace("大阪市".encode(), "京都市".encode())
    bad_signature = bytes([signature[0] ^ 1]) + signature[1:]
    for data, sig in ((tampered, signature), (DOCUMENT, bad_signature), (DOCUMENT, b"")):
        with pytest.raises(CardCertificateRefused) as refused:
            verify_signature(data, sig, cert, ca.cert, crl)
        assert refused.value.message == "The signature does not match the document."
    public = write(
        tmp_path, "pub.pem",
        card.signing.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    )  # fmt: skip
    dgst = openssl(
        "dgst", "-sha256", "-verify", public, "-signature", write(tmp_path, "sig", signature),
        write(tmp_path, "doc", tampered),
    )  # fmt: skip
    assert dgst.returncode != 0 and "Verification failure" in dgst.stdout


def test_a_signature_by_another_key_is_refused(ca: JpkiCA, card: Card) -> None:
    cert = issue_signing(ca, card.signing.public_key(), HOLDER)
    by_the_auth_key = card.auth.sign(DOCUMENT, padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(CardCertificateRefused, match="does not match the document"):
        verify_signature(DOCUMENT, by_the_auth_key, cert, ca.cert, no_revocations(ca))


def test_a_crl_not_signed_by_the_ca_or_out_of_date_is_refused(ca: JpkiCA, card: Card) -> None:
    cert = issue_signing(ca, card.signing.public_key(), HOLDER)
    signature = card.sign(DOCUMENT)
    foreign = build_crl(create_ca("test"), [], 1, now())
    with pytest.raises(CardCertificateRefused, match="not signed by this network's JPKI CA"):
        verify_signature(DOCUMENT, signature, cert, ca.cert, foreign)
    old = build_crl(ca, [], 1, now() - timedelta(days=3))
    with pytest.raises(CardCertificateRefused, match=r"CRL\) expired on .*jukinet jpki crl"):
        verify_signature(DOCUMENT, signature, cert, ca.cert, old)


def test_certificates_and_crls_are_read_from_der_or_pem(ca: JpkiCA, card: Card) -> None:
    cert = issue_signing(ca, card.signing.public_key(), HOLDER)
    crl = no_revocations(ca)
    signature = card.sign(DOCUMENT)
    for c in (cert.public_bytes(serialization.Encoding.DER), pem(cert)):
        for r in (crl.public_bytes(serialization.Encoding.DER), pem(crl)):
            assert verify_signature(DOCUMENT, signature, c, ca.cert, r).holder == HOLDER
    with pytest.raises(CardCertificateRefused, match="certificate is not readable"):
        verify_signature(DOCUMENT, signature, b"\x30\x82garbage", ca.cert, crl)
    with pytest.raises(CardCertificateRefused, match="CRL\\) is not readable"):
        verify_signature(DOCUMENT, signature, cert, ca.cert, b"not a crl")
