"""Certificates for the web interfaces (docs/ui.md, "TLS").

The network CA signs with Ed25519, which browsers do not accept in certificate chains
or TLS handshakes. The web interfaces therefore have a CA of their own, a P-256 one
made by ``network init`` beside the network CA (``DIR/ca/web-ca.pem``, the file an
organisation installs in its operators' browsers), and each interface a P-256 server
certificate from it with the host name browsers use in its SAN, for TLS 1.3 only.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from jukinet.keys import save_private_key

CA_KEY_FILE, CA_CERT_FILE = "web-ca.key", "web-ca.pem"
CA_DAYS, SERVER_DAYS = 3650, 397  # a server certificate as long as browsers accept one
_BACKDATE = timedelta(minutes=5)


@dataclass(frozen=True)
class WebCA:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate


def _name(text: str, network: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, text),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"jukinet {network}"),
        ]
    )


def create_web_ca(network: str) -> WebCA:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    name = _name(f"jukinet {network} web CA", network)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return WebCA(key, cert)


def save_web_ca(ca: WebCA, ca_dir: Path) -> None:
    save_private_key(ca_dir / CA_KEY_FILE, ca.key)
    (ca_dir / CA_CERT_FILE).write_bytes(ca.cert.public_bytes(serialization.Encoding.PEM))


def issue_web_certificate(
    ca: WebCA, network: str, hosts: list[str]
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A P-256 key and its server certificate for ``hosts`` (names or addresses)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(hosts[0], network))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + timedelta(days=SERVER_DAYS))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
        .sign(ca.key, hashes.SHA256())
    )
    return key, cert
