"""The JPKI certification authority (公的個人認証, R15): its key, and the two certificates
it issues to a card's keys (docs/jpki.md, "Certificate profiles").

The CA is RSA-2048 signing with SHA-256, as J-LIS's is; its key is held by the
national node (J-LIS's role), its certificate by every node. It certifies the card's
two RSA-2048 keys, generated on the card (only their public keys leave it):

- the **signing certificate** (署名用電子証明書, key 001A): the holder's 基本4情報 in
  the subjectAltName (``jpki.holder``); keyUsage digitalSignature + nonRepudiation;
  never to a person under 15;
- the **user-authentication certificate** (利用者証明用電子証明書, key 0017): no
  personal information; keyUsage digitalSignature; extendedKeyUsage clientAuth.

Both are valid until the end of the holder's fifth birthday after issuance
(``jpki.validity``), never beyond the CA's own certificate. Serial numbers are random
(RFC 5280 §4.1.2.2: positive, at most 20 octets, 159 random bits here).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from jukinet import config
from jukinet.errors import CardCertificateRefused, CertificationRefused, ConfigurationError
from jukinet.jpki.holder import Holder, san_of
from jukinet.jpki.validity import (
    JST,
    SIGNING_MIN_AGE,
    may_hold_signing_certificate,
    valid_until,
)
from jukinet.keys import load_rsa_private_key, save_private_key

__all__ = [
    "KEY_BITS",
    "JpkiCA",
    "Kind",
    "card_public_key",
    "create_ca",
    "issue_authentication",
    "issue_signing",
    "kind_of",
    "load_ca",
    "load_ca_certificate",
    "public_key_der",
    "save_ca",
]

KEY_BITS = 2048  # the card's keys and the CA's (施行規則 第2条: 2048 bits or more)
CA_DAYS = 20 * 365 + 5  # the CA outlives every certificate it issues by far
_EXPONENT = 65537
# A certificate starts a little in the past, so that a node whose clock is slightly
# behind does not refuse a certificate issued a second ago (as network/pki.py does).
_BACKDATE = timedelta(minutes=5)


class Kind(StrEnum):
    SIGNING = "signing"
    AUTHENTICATION = "authentication"

    @property
    def label(self) -> str:
        """How a sentence names the certificate: "The signing certificate …"."""
        return {"signing": "signing", "authentication": "user-authentication"}[self.value]


@dataclass(frozen=True)
class JpkiCA:
    key: rsa.RSAPrivateKey
    cert: x509.Certificate


def _now() -> datetime:
    return datetime.now(UTC)


def create_ca(network_name: str, now: datetime | None = None) -> JpkiCA:
    """A fresh self-signed JPKI CA for the network ``network_name``."""
    key = rsa.generate_private_key(public_exponent=_EXPONENT, key_size=KEY_BITS)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"jukinet {network_name}"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "JPKI"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"jukinet {network_name} JPKI CA"),
        ]
    )
    start = (now or _now()) - _BACKDATE
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return JpkiCA(key, cert)


def save_ca(ca: JpkiCA, home: Path) -> None:
    """Write the CA key (0600, never overwritten) and certificate into a node's home."""
    try:
        save_private_key(home / config.JPKI_CA_KEY_FILE, ca.key)
    except FileExistsError:
        raise ConfigurationError(
            f"{home} already holds a JPKI CA key; a CA key is never replaced in place."
        ) from None
    (home / config.JPKI_CA_FILE).write_bytes(ca.cert.public_bytes(serialization.Encoding.PEM))


def load_ca(home: Path) -> JpkiCA:
    """The CA in the national node's home (key and certificate, checked to belong together)."""
    key = load_rsa_private_key(home / config.JPKI_CA_KEY_FILE, "JPKI CA key")
    cert = load_ca_certificate(home)
    if cert.public_key() != key.public_key():
        raise ConfigurationError(
            f"The JPKI CA key and certificate in {home} do not belong together."
        )
    return JpkiCA(key, cert)


def load_ca_certificate(home: Path) -> x509.Certificate:
    """The JPKI CA certificate every node's home holds."""
    path = home / config.JPKI_CA_FILE
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ConfigurationError(
            f"Cannot read the JPKI CA certificate {path}: {exc}. A network made by "
            "`jukinet network init` puts it in every node's home."
        ) from None


def card_public_key(der: bytes) -> rsa.RSAPublicKey:
    """A card key from its DER SubjectPublicKeyInfo: RSA-2048, exponent 65537, or a refusal."""
    try:
        key = serialization.load_der_public_key(der)
    except ValueError:
        raise CertificationRefused(
            "The card key is not a public key (DER SubjectPublicKeyInfo)."
        ) from None
    if not isinstance(key, rsa.RSAPublicKey) or key.key_size != KEY_BITS:
        raise CertificationRefused(
            f"A JPKI card key is an RSA key of {KEY_BITS} bits; this one is {_describe(key)}."
        )
    if key.public_numbers().e != _EXPONENT:
        raise CertificationRefused(
            f"A JPKI card key has the public exponent {_EXPONENT}; this one has "
            f"{key.public_numbers().e}."
        )
    return key


def public_key_der(key: rsa.RSAPublicKey) -> bytes:
    """The DER SubjectPublicKeyInfo of a card key (what ``card_public_key`` reads)."""
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _describe(key: object) -> str:
    if isinstance(key, rsa.RSAPublicKey):
        return f"an RSA key of {key.key_size} bits"
    return f"a {type(key).__name__.removeprefix('_').removesuffix('PublicKey') or 'other'} key"


def issue_signing(
    ca: JpkiCA, key: rsa.RSAPublicKey, holder: Holder, issued_at: datetime | None = None
) -> x509.Certificate:
    """The signing certificate (署名用電子証明書) of ``holder`` for the card key ``key``."""
    at = issued_at or _now()
    if not may_hold_signing_certificate(holder.date_of_birth, at.astimezone(JST).date()):
        raise CertificationRefused(
            f"A signing certificate is not issued to a person under {SIGNING_MIN_AGE} "
            f"(born {holder.date_of_birth.isoformat()}); issue the user-authentication "
            "certificate only."
        )
    builder = _base(ca, key, holder.date_of_birth, at)
    builder = builder.add_extension(san_of(holder), critical=False)
    usage = _usage(non_repudiation=True)
    return builder.add_extension(usage, critical=True).sign(ca.key, hashes.SHA256())


def issue_authentication(
    ca: JpkiCA, key: rsa.RSAPublicKey, date_of_birth: date, issued_at: datetime | None = None
) -> x509.Certificate:
    """The user-authentication certificate (利用者証明用電子証明書): no personal information;
    its validity follows the date of birth, which it does not carry."""
    at = issued_at or _now()
    builder = _base(ca, key, date_of_birth, at)
    builder = builder.add_extension(
        x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
    )
    return builder.add_extension(_usage(), critical=True).sign(ca.key, hashes.SHA256())


def _base(ca: JpkiCA, key: rsa.RSAPublicKey, born: date, at: datetime) -> x509.CertificateBuilder:
    serial = x509.random_serial_number()
    not_after = min(valid_until(born, at), ca.cert.not_valid_after_utc)
    # The subject names no one: an opaque identifier (the serial), as JPKI's does.
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{serial:040X}"),
        ]
    )
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.cert.subject)
        .public_key(key)
        .serial_number(serial)
        .not_valid_before(at - _BACKDATE)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
            critical=False,
        )
    )


def _usage(*, cert_sign: bool = False, non_repudiation: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=non_repudiation,  # nonRepudiation
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def kind_of(cert: x509.Certificate) -> Kind:
    """Which of the two certificates ``cert`` is, by its key usage (a refusal if neither)."""
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if usage is not None and usage.digital_signature and not usage.key_cert_sign:
        return Kind.SIGNING if usage.content_commitment else Kind.AUTHENTICATION
    raise CardCertificateRefused("The certificate is not a JPKI certificate of a card.")
