"""A minimal JPKI test certification authority: enough to issue a card's two certificates.

Two RSA-2048 CAs, as in JPKI: one certifies user-authentication keys (利用者証明用),
the other signing keys (署名用). The certification authority proper (CRL, revocation,
verification at any node, validity as the law sets it) is built on top of this later;
here a card's certificates are valid for five years, a CA's for ten.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

CARD_CERT_DAYS = 5 * 365
CA_DAYS = 10 * 365
RSA_BITS = 2048


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "jukinet JPKI test"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


@dataclass(frozen=True)
class Authority:
    key: rsa.RSAPrivateKey
    cert: x509.Certificate

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(Encoding.DER)

    @classmethod
    def create(cls, common_name: str, key: rsa.RSAPrivateKey | None = None) -> Authority:
        key = key or new_rsa_key()
        now = datetime.now(UTC)
        name = _name(common_name)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_usage(cert_sign=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        return cls(key, cert)

    def issue(self, subject_key: rsa.RSAPublicKey, common_name: str, *, signing: bool) -> bytes:
        """A DER end-entity certificate for a card key; ``signing``: 署名用 (non-repudiation)."""
        now = datetime.now(UTC)
        ski = self.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(self.cert.subject)
            .public_key(subject_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=CARD_CERT_DAYS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_usage(non_repudiation=signing), critical=True)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), False
            )
            .sign(self.key, hashes.SHA256())
        )
        return cert.public_bytes(Encoding.DER)


def _usage(*, cert_sign: bool = False, non_repudiation: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=non_repudiation,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


@dataclass(frozen=True)
class JpkiTestCA:
    auth: Authority
    """Certifies user-authentication keys (EF 000A; its certificate is EF 000B)."""
    sign: Authority
    """Certifies signing keys (EF 0001; its certificate is EF 0002)."""

    @classmethod
    def create(cls) -> JpkiTestCA:
        return cls(
            Authority.create("JPKI test user authentication CA"),
            Authority.create("JPKI test signature CA"),
        )


def auth_subject() -> str:
    """A 利用者証明用 certificate names no one: a random reference only."""
    return f"JPKI user {secrets.token_hex(8).upper()}"
