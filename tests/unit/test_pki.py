"""The network CA: certificates name their holder, keys stay private, revocation is signed."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import stat
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from jukinet.errors import ConfigurationError, InvalidInput
from jukinet.network import pki


@pytest.fixture(scope="module")
def ca() -> pki.NetworkCA:
    return pki.create_ca("demo")


def _attr(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> str:
    return str(cert.subject.get_attributes_for_oid(oid)[0].value)


def test_a_certificate_names_its_node_as_the_protocol_says(ca: pki.NetworkCA) -> None:
    _, cert = pki.issue_certificate(ca, "municipality", "131016", ["127.0.0.1", "node.example"])

    assert _attr(cert, NameOID.COMMON_NAME) == "municipality:131016"
    assert _attr(cert, NameOID.ORGANIZATION_NAME) == "jukinet demo"
    assert _attr(cert, NameOID.ORGANIZATIONAL_UNIT_NAME) == "municipality"
    assert _attr(cert, NameOID.SERIAL_NUMBER) == "131016"
    assert pki.role_and_code(cert) == ("municipality", "131016")
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost", "node.example"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]


def test_a_node_certificate_is_for_tls_both_ways_and_cannot_sign_certificates(
    ca: pki.NetworkCA,
) -> None:
    _, cert = pki.issue_certificate(ca, "prefecture", "130001", ["127.0.0.1"])

    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(usages) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    cert.verify_directly_issued_by(ca.cert)


@pytest.mark.parametrize("role", ["agency", "monitor"])
def test_a_client_certificate_is_for_tls_clients_only(
    ca: pki.NetworkCA, role: str, tmp_path: Path
) -> None:
    """R8: an agency's or the monitor's certificate cannot serve as a node's (issue 8, 9)."""
    _, cert = pki.issue_certificate(ca, role, "x", [])
    usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usages) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    # OpenSSL, independently: good for a client, refused as a server.
    (tmp_path / "ca.pem").write_text(pki.cert_pem(ca.cert))
    (tmp_path / "cert.pem").write_text(pki.cert_pem(cert))
    verify = ["openssl", "verify", "-CAfile", str(tmp_path / "ca.pem"), "-purpose"]
    client = subprocess.run([*verify, "sslclient", str(tmp_path / "cert.pem")], capture_output=True)
    server = subprocess.run([*verify, "sslserver", str(tmp_path / "cert.pem")], capture_output=True)
    assert client.returncode == 0, client.stdout + client.stderr
    assert server.returncode != 0
    assert b"unsuitable certificate purpose" in server.stdout + server.stderr


def test_a_certificate_is_valid_for_825_days_unless_told_otherwise(ca: pki.NetworkCA) -> None:
    _, cert = pki.issue_certificate(ca, "national", "national", [])
    days = (cert.not_valid_after_utc - datetime.now(UTC)).days
    assert days in (824, 825)

    start = datetime.now(UTC) - timedelta(days=10)
    _, expired = pki.issue_certificate(
        ca, "agency", "x", [], not_before=start, not_after=start + timedelta(days=1)
    )
    assert expired.not_valid_after_utc < datetime.now(UTC)


def test_a_given_key_is_certified_as_it_is(ca: pki.NetworkCA) -> None:
    key = Ed25519PrivateKey.generate()
    returned, cert = pki.issue_certificate(ca, "monitor", "operations", [], key=key)
    assert returned is key
    assert cert.public_key() == key.public_key()


@pytest.mark.parametrize(
    ("role", "code"), [("mayor", "131016"), ("municipality", ""), ("agency", "a:b")]
)
def test_unknown_roles_and_unusable_codes_are_refused(
    ca: pki.NetworkCA, role: str, code: str
) -> None:
    with pytest.raises(InvalidInput):
        pki.issue_certificate(ca, role, code, [])


def test_the_ca_is_saved_with_a_private_key_and_loaded_back(tmp_path: Path) -> None:
    ca = pki.create_ca("kansai")
    pki.save_ca(ca, tmp_path / "ca")

    assert stat.S_IMODE((tmp_path / "ca" / "ca.key").stat().st_mode) == 0o600
    loaded = pki.load_ca(tmp_path / "ca")
    assert loaded.name == "kansai"
    assert loaded.cert == ca.cert
    assert loaded.key.public_key() == ca.key.public_key()


def test_an_existing_ca_key_is_never_overwritten(tmp_path: Path) -> None:
    pki.save_ca(pki.create_ca("one"), tmp_path)
    with pytest.raises(ConfigurationError, match="never replaced"):
        pki.save_ca(pki.create_ca("two"), tmp_path)
    assert pki.load_ca(tmp_path).name == "one"


def test_an_identity_folder_holds_key_certificate_and_ca(tmp_path: Path, ca: pki.NetworkCA) -> None:
    key, cert = pki.issue_certificate(ca, "municipality", "131016", ["127.0.0.1"])
    pki.write_identity(tmp_path / "id", key, cert, ca.cert)
    pki.write_identity(tmp_path / "id", key, cert, ca.cert)  # rewriting is allowed

    assert stat.S_IMODE((tmp_path / "id" / "node.key").stat().st_mode) == 0o600
    assert b"BEGIN PRIVATE KEY" in (tmp_path / "id" / "node.key").read_bytes()
    assert pki.load_certificate(tmp_path / "id" / "node.pem") == cert
    assert pki.load_certificate(tmp_path / "id" / "ca.pem") == ca.cert
    assert pki.cert_pem(cert).startswith("-----BEGIN CERTIFICATE-----")


def test_the_fingerprint_is_the_sha256_of_the_der(ca: pki.NetworkCA) -> None:
    _, cert = pki.issue_certificate(ca, "agency", "pension-fund", [])
    assert pki.fingerprint(cert) == hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()


def test_an_unreadable_certificate_is_a_configuration_error(tmp_path: Path) -> None:
    (tmp_path / "bad.pem").write_text("not a certificate")
    with pytest.raises(ConfigurationError):
        pki.load_certificate(tmp_path / "bad.pem")


def test_revocation_is_recorded_and_published_in_a_signed_crl(tmp_path: Path) -> None:
    ca = pki.create_ca("demo")
    pki.save_ca(ca, tmp_path)
    _, first = pki.issue_certificate(ca, "municipality", "131016", [])
    _, second = pki.issue_certificate(ca, "municipality", "131041", [])
    assert pki.revoked_fingerprints(tmp_path) == set()

    pki.revoke(tmp_path, first)
    pki.revoke(tmp_path, second)
    pki.revoke(tmp_path, first)  # again: no second entry

    assert pki.revoked_fingerprints(tmp_path) == {pki.fingerprint(first), pki.fingerprint(second)}
    record = json.loads((tmp_path / "revoked.json").read_text())
    assert [e["node_id"] for e in record["revoked"]] == [
        "municipality:131016",
        "municipality:131041",
    ]
    crl = x509.load_pem_x509_crl((tmp_path / "crl.pem").read_bytes())
    assert crl.is_signature_valid(ca.key.public_key())
    assert crl.get_revoked_certificate_by_serial_number(first.serial_number) is not None
    assert crl.get_revoked_certificate_by_serial_number(second.serial_number) is not None
    number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    assert number == 3  # every rewrite of the CRL has a higher number


def test_a_certificate_of_another_ca_cannot_be_revoked(tmp_path: Path) -> None:
    pki.save_ca(pki.create_ca("demo"), tmp_path)
    _, foreign = pki.issue_certificate(pki.create_ca("other"), "municipality", "131016", [])
    with pytest.raises(InvalidInput, match="not issued by this network"):
        pki.revoke(tmp_path, foreign)
    assert not (tmp_path / "revoked.json").exists()
