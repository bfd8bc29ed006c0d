"""Document-signing certificates: the network's document CA and one certificate per
municipality, which signs its copies of the resident record (docs/copies.md).

Why not the network's Ed25519 keys: tried with Debian 12's poppler 22.12 and NSS 3.87,
``certutil -A`` refuses to import an Ed25519 certificate (SEC_ERROR_ADDING_CERT), a
P-256 certificate signed by an Ed25519 CA is "Unknown issue with Certificate", and a
CMS signature made with an Ed25519 key is "Document isn't signed or corrupted data".
So documents are signed with ECDSA P-256, under a P-256 *document CA* that the
network's Ed25519 CA certifies (one intermediate, path length 0). A verifier that
speaks Ed25519 (``jukinet document verify``, pyHanko) checks the whole chain up to the
network CA; NSS (``pdfsig``) is given the document CA itself as its trust anchor.

NSS 3.87 checks a PDF signer as an e-mail signer: a certificate whose extended key
usage is documentSigning (1.3.6.1.5.5.7.3.36) alone is "Unknown issue with
Certificate"; with emailProtection beside it, "Certificate is Trusted". A document
certificate carries both.

Files, in the network's CA folder (``layout.ca``) beside ``ca.key``/``ca.pem``::

    document-ca.key (0600)  document-ca.pem  document-revoked.json  document-crl.pem

and in each municipality's home ``document.key`` (0600), ``document.pem``,
``document-ca.pem``; every home also holds ``document-ca.pem`` and the CRLs
(``document-crl.pem``, ``crl.pem``) as the last ``network init`` or revocation wrote them.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from jukinet.errors import ConfigurationError, InvalidInput
from jukinet.keys import load_document_key, save_private_key
from jukinet.network import pki

__all__ = [
    "CA_CERT_FILE",
    "CERT_FILE",
    "CRL_FILE",
    "DOCUMENT_SIGNING",
    "KEY_FILE",
    "OU_REPORT",
    "DocumentCA",
    "create_document_ca",
    "issue_document_certificate",
    "load_crls",
    "load_document_ca",
    "municipality_of",
    "revoke_document_certificate",
]

DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")  # RFC 9336 id-kp-documentSigning
OU_DOCUMENT = "municipality document signing"
OU_REPORT = "national report signing"  # the safety report (docs/report.md); signs no copy
CA_KEY_FILE, CA_CERT_FILE = "document-ca.key", "document-ca.pem"
REVOKED_FILE, CRL_FILE = "document-revoked.json", "document-crl.pem"
KEY_FILE, CERT_FILE = "document.key", "document.pem"
DOCUMENT_DAYS = 1825
CRL_DAYS = 30
_BACKDATE = timedelta(minutes=5)


@dataclass(frozen=True)
class DocumentCA:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate


def _now() -> datetime:
    return datetime.now(UTC)


def _usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=not ca,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


# emailProtection because NSS needs it (module docstring); on the CA too, where it
# limits what the CA's certificates can be used for (NSS and OpenSSL honour it there).
_EKU = x509.ExtendedKeyUsage([DOCUMENT_SIGNING, ExtendedKeyUsageOID.EMAIL_PROTECTION])


def create_document_ca(network_ca: pki.NetworkCA) -> DocumentCA:
    """A fresh P-256 document CA, certified by the network CA (valid as long as it)."""
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key()
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, f"jukinet {network_ca.name} document CA"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"jukinet {network_ca.name}"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(network_ca.cert.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - _BACKDATE)
        .not_valid_after(network_ca.cert.not_valid_after_utc)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(ca=True), critical=True)
        .add_extension(_EKU, critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(network_ca.key.public_key()),
            critical=False,
        )
        .sign(network_ca.key, None)
    )
    return DocumentCA(key, cert)


def save_document_ca(ca: DocumentCA, ca_dir: Path) -> None:
    """Write the document CA beside the network CA, and its first (empty) CRL."""
    try:
        save_private_key(ca_dir / CA_KEY_FILE, ca.key)
    except FileExistsError:
        raise ConfigurationError(f"{ca_dir} already holds a document CA key.") from None
    (ca_dir / CA_CERT_FILE).write_text(pki.cert_pem(ca.cert), encoding="ascii")
    _publish(ca, ca_dir, 0, [])


def load_document_ca(ca_dir: Path) -> DocumentCA:
    key = load_document_key(ca_dir / CA_KEY_FILE, "document CA key")
    cert = pki.load_certificate(ca_dir / CA_CERT_FILE)
    if cert.public_key() != key.public_key():
        raise ConfigurationError(f"The document CA key and certificate in {ca_dir} differ.")
    return DocumentCA(key, cert)


def issue_document_certificate(
    ca: DocumentCA,
    network_name: str,
    code: str,
    name: str,
    *,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    unit: str = OU_DOCUMENT,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A P-256 key and its certificate for municipality ``code`` (``name``, e.g.
    東京都千代田区, is the certificate's common name: ``pdfsig`` shows it as the signer).

    With ``unit=OU_REPORT`` it is the national node's report-signing certificate, which
    ``municipality_of`` never takes for a municipality's."""
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key()
    start = not_before or _now() - _BACKDATE
    end = not_after or _now() + timedelta(days=DOCUMENT_DAYS)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"jukinet {network_name}"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, code),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.cert.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(ca=False), critical=True)
        .add_extension(_EKU, critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
            critical=False,
        )
        .sign(ca.key, hashes.SHA256())
    )
    return key, cert


def write_document_identity(
    home: Path, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate, ca: DocumentCA
) -> None:
    save_private_key(home / KEY_FILE, key)
    (home / CERT_FILE).write_text(pki.cert_pem(cert), encoding="ascii")
    (home / CA_CERT_FILE).write_text(pki.cert_pem(ca.cert), encoding="ascii")


def municipality_of(cert: x509.Certificate) -> tuple[str, str] | None:
    """(code, name) of a municipality document certificate, or None for any other."""

    def one(oid: x509.ObjectIdentifier) -> str | None:
        found = cert.subject.get_attributes_for_oid(oid)
        value = found[0].value if len(found) == 1 else None
        return value if isinstance(value, str) else None

    code, name = one(NameOID.SERIAL_NUMBER), one(NameOID.COMMON_NAME)
    if one(NameOID.ORGANIZATIONAL_UNIT_NAME) != OU_DOCUMENT or not code or not name:
        return None
    return code, name


# --- revocation -------------------------------------------------------------------


def _entries(ca_dir: Path) -> tuple[int, list[dict[str, Any]]]:
    path = ca_dir / REVOKED_FILE
    if not path.exists():
        return 0, []
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        return int(document["crl_number"]), list(document["revoked"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(f"Cannot read the revocation list {path}: {exc}") from None


def _publish(ca: DocumentCA, ca_dir: Path, number: int, entries: list[dict[str, Any]]) -> None:
    now = _now()
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.cert.subject)
        .last_update(now)
        .next_update(now + timedelta(days=CRL_DAYS))
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
            critical=False,
        )
    )
    for entry in entries:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(int(entry["serial"], 16))
            .revocation_date(datetime.fromisoformat(entry["revoked_at"]))
            .build()
        )
    document = json.dumps({"crl_number": number, "revoked": entries}, indent=2) + "\n"
    (ca_dir / (REVOKED_FILE + ".new")).write_text(document, encoding="utf-8")
    os.replace(ca_dir / (REVOKED_FILE + ".new"), ca_dir / REVOKED_FILE)
    crl = builder.sign(ca.key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)
    (ca_dir / (CRL_FILE + ".new")).write_bytes(crl)
    os.replace(ca_dir / (CRL_FILE + ".new"), ca_dir / CRL_FILE)


def revoke_document_certificate(ca_dir: Path, cert: x509.Certificate) -> None:
    """Put ``cert`` on the document CA's CRL (``document-crl.pem``, re-signed, its
    number one higher); idempotent. A verifier given that CRL refuses the copies it
    signed from then on."""
    ca = load_document_ca(ca_dir)
    try:
        cert.verify_directly_issued_by(ca.cert)
    except (ValueError, TypeError, InvalidSignature):
        raise InvalidInput(
            "That certificate was not issued by this network's document CA."
        ) from None
    number, entries = _entries(ca_dir)
    serial = format(cert.serial_number, "x")
    if all(entry.get("serial") != serial for entry in entries):
        entries.append(
            {
                "serial": serial,
                "subject": cert.subject.rfc4514_string(),
                "revoked_at": _now().isoformat(),
            }
        )
    _publish(ca, ca_dir, number + 1, entries)


def load_crls(paths: list[Path]) -> list[x509.CertificateRevocationList]:
    """Every CRL in the PEM (or DER) files ``paths``; a file may hold several PEM CRLs."""
    crls: list[x509.CertificateRevocationList] = []
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ConfigurationError(f"Cannot read the CRL {path}: {exc.strerror}") from None
        try:
            if b"-----BEGIN X509 CRL-----" in data:
                marker = b"-----END X509 CRL-----"
                for block in data.split(marker)[:-1]:
                    crls.append(x509.load_pem_x509_crl(block.strip() + b"\n" + marker + b"\n"))
            else:
                crls.append(x509.load_der_x509_crl(data))
        except ValueError:
            raise ConfigurationError(f"{path} holds no readable CRL.") from None
    return crls
