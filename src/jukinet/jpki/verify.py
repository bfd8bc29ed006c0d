"""Verifying a document signed with a card, at any node (R15; docs/jpki.md, "Verification").

A signature is RSASSA-PKCS1-v1_5 with SHA-256 (what the card's JPKI application makes
over a DigestInfo), checked against the signer's certificate, which must be

1. issued by this network's JPKI CA (its issuer and its signature),
2. not on the CA's CRL, the CRL itself signed by the CA and current at ``at``,
3. within its validity at ``at``;

then the signature over the document. The first check that fails is the one error,
``CardCertificateRefused``, with a sentence naming it. The checks are written out
here rather than run through ``cryptography``'s ``PolicyBuilder``: that verifier
validates TLS server and client chains (it wants a subject name or clientAuth to
match, and does not read CRLs); a card's signing certificate is neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from jukinet.errors import CardCertificateRefused
from jukinet.jpki.ca import Kind, kind_of
from jukinet.jpki.holder import Holder, holder_of
from jukinet.jpki.revocation import check_crl, load_crl, reason_of
from jukinet.jpki.validity import day_in_japan

__all__ = ["Signer", "check_certificate", "load_certificate", "verify_signature"]


@dataclass(frozen=True, slots=True)
class Signer:
    """Who signed: the certificate's kind and serial, and for a signing certificate the
    holder's 基本4情報 (a user-authentication certificate names no one)."""

    kind: Kind
    serial: int
    valid_until: datetime
    holder: Holder | None = None


Certificate = x509.Certificate | bytes
Crl = x509.CertificateRevocationList | bytes


def load_certificate(data: Certificate) -> x509.Certificate:
    """A certificate from DER or PEM bytes (CardCertificateRefused if it is neither)."""
    if isinstance(data, x509.Certificate):
        return data
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError:
        raise CardCertificateRefused("The certificate is not readable (DER or PEM).") from None


def check_certificate(
    certificate: Certificate, ca: x509.Certificate, crl: Crl, at: datetime | None = None
) -> Signer:
    """The signer a card certificate names, if it is good at ``at`` (default: now)."""
    cert = load_certificate(certificate)
    moment = at or datetime.now(UTC)
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        raise CardCertificateRefused(
            "The certificate is not issued by this network's JPKI CA."
        ) from None
    kind = kind_of(cert)
    title = f"The {kind.label} certificate"
    revocations = crl if isinstance(crl, x509.CertificateRevocationList) else load_crl(crl)
    check_crl(revocations, ca, moment)
    entry = revocations.get_revoked_certificate_by_serial_number(cert.serial_number)
    if entry is not None and entry.revocation_date_utc <= moment:
        raise CardCertificateRefused(
            f"{title} was revoked on {day_in_japan(entry.revocation_date_utc)} "
            f"({reason_of(entry).phrase})."
        )
    if moment < cert.not_valid_before_utc:
        raise CardCertificateRefused(
            f"{title} is not valid before {day_in_japan(cert.not_valid_before_utc)}."
        )
    if moment > cert.not_valid_after_utc:
        raise CardCertificateRefused(
            f"{title} expired on {day_in_japan(cert.not_valid_after_utc)}."
        )
    holder = holder_of(cert) if kind is Kind.SIGNING else None
    return Signer(kind, cert.serial_number, cert.not_valid_after_utc, holder)


def verify_signature(
    data: bytes,
    signature: bytes,
    certificate: Certificate,
    ca: x509.Certificate,
    crl: Crl,
    at: datetime | None = None,
) -> Signer:
    """Who signed ``data`` with a card (PKCS#1 v1.5, SHA-256), or CardCertificateRefused."""
    signer = check_certificate(certificate, ca, crl, at)
    public = load_certificate(certificate).public_key()
    if not isinstance(public, rsa.RSAPublicKey):
        raise CardCertificateRefused("The certificate is not a JPKI certificate of a card.")
    try:
        public.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise CardCertificateRefused("The signature does not match the document.") from None
    return signer
