"""The network's own certificate authority (R8): one Ed25519 CA, one certificate per node.

A certificate names its holder the way ``docs/network.md`` fixes it::

    CN=<node id>, O=jukinet <network name>, OU=<role>, serialNumber=<code>
    SAN: DNS localhost, then each host of the node (IP address entries for IPs)

The CA lives in a folder of its own (``ca.key`` readable by its owner only,
``ca.pem``). Revoking a certificate appends it to ``revoked.json`` and rewrites a
CA-signed X.509 CRL, ``crl.pem``; the national node's directory carries the same
fact to every node at run time (``jukinet.network.directory``).
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, get_args

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from jukinet.errors import ConfigurationError, InvalidInput
from jukinet.keys import load_private_key
from jukinet.network.messages import Role

__all__ = [
    "CERTIFICATE_DAYS",
    "NetworkCA",
    "cert_pem",
    "create_ca",
    "fingerprint",
    "issue_certificate",
    "load_ca",
    "load_certificate",
    "revoke",
    "revoked_fingerprints",
    "role_and_code",
    "save_ca",
    "write_first_crl",
    "write_identity",
]

CERTIFICATE_DAYS = 825
CA_DAYS = 3650
CRL_DAYS = 30
# Issued certificates start a little in the past, so that a peer whose clock is
# slightly behind does not refuse a certificate issued a second ago.
_BACKDATE = timedelta(minutes=5)
_ORGANIZATION_PREFIX = "jukinet "
_ROLES: tuple[str, ...] = get_args(Role)


@dataclass(frozen=True)
class NetworkCA:
    key: Ed25519PrivateKey
    cert: x509.Certificate
    name: str


def _now() -> datetime:
    return datetime.now(UTC)


def create_ca(network_name: str) -> NetworkCA:
    """A fresh self-signed CA for the network ``network_name`` (valid ten years)."""
    if not network_name.strip():
        raise InvalidInput("A network needs a name.")
    key = Ed25519PrivateKey.generate()
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, f"jukinet {network_name} CA"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _ORGANIZATION_PREFIX + network_name),
        ]
    )
    start = _now() - _BACKDATE
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=CA_DAYS))
        # One level below the root: the document-signing CA (jukinet.documents.certs), an
        # ECDSA P-256 intermediate, because poppler's NSS cannot verify Ed25519 at all.
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, None)
    )
    return NetworkCA(key, cert, network_name)


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _private_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write_secret(path: Path, data: bytes, *, replace: bool) -> None:
    """Write a private key readable by its owner only (created 0600, never widened)."""
    if not replace:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return
    temporary = path.with_name(path.name + ".new")
    temporary.unlink(missing_ok=True)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(temporary, path)


def save_ca(ca: NetworkCA, ca_dir: Path) -> None:
    """Write ``ca.key`` (0600) and ``ca.pem``; an existing CA key is never overwritten."""
    ca_dir.mkdir(parents=True, exist_ok=True)
    try:
        _write_secret(ca_dir / "ca.key", _private_pem(ca.key), replace=False)
    except FileExistsError:
        raise ConfigurationError(
            f"{ca_dir} already holds a CA key; a network CA is never replaced in place."
        ) from None
    (ca_dir / "ca.pem").write_text(cert_pem(ca.cert), encoding="ascii")


def load_ca(ca_dir: Path) -> NetworkCA:
    """The CA saved by :func:`save_ca`; its network name is read from its certificate."""
    key_path = ca_dir / "ca.key"
    key = load_private_key(key_path, "CA key")
    cert = load_certificate(ca_dir / "ca.pem")
    if cert.public_key() != key.public_key():
        raise ConfigurationError(f"The CA key and certificate in {ca_dir} do not belong together.")
    organization = _attribute(cert.subject, NameOID.ORGANIZATION_NAME)
    if organization is None or not organization.startswith(_ORGANIZATION_PREFIX):
        raise ConfigurationError(f"The CA certificate in {ca_dir} names no jukinet network.")
    return NetworkCA(key, cert, organization.removeprefix(_ORGANIZATION_PREFIX))


def _san_entries(hosts: Sequence[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    for host in hosts:
        try:
            entry: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
        except ValueError:
            entry = x509.DNSName(host)
        if entry not in names:
            names.append(entry)
    return names


# Nodes answer and call (server and client); agencies and the monitor only call, so
# their certificates cannot stand in for a node's server certificate.
_CLIENTS_ONLY = frozenset({"agency", "monitor"})


def _usages(role: str) -> list[x509.ObjectIdentifier]:
    if role in _CLIENTS_ONLY:
        return [ExtendedKeyUsageOID.CLIENT_AUTH]
    return [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]


def issue_certificate(
    ca: NetworkCA,
    role: str,
    code: str,
    hosts: Sequence[str],
    *,
    key: Ed25519PrivateKey | None = None,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
) -> tuple[Ed25519PrivateKey, x509.Certificate]:
    """A key (fresh unless given) and its certificate for node ``role:code``.

    Valid for 825 days from now unless ``not_before``/``not_after`` say otherwise
    (tests make short-lived and expired certificates this way).
    """
    if role not in _ROLES:
        raise InvalidInput(f"{role!r} is not a role of the network ({', '.join(_ROLES)}).")
    if not code or ":" in code:
        raise InvalidInput(f"{code!r} cannot be a node's code.")
    node_key = key if key is not None else Ed25519PrivateKey.generate()
    start = not_before if not_before is not None else _now() - _BACKDATE
    end = not_after if not_after is not None else _now() + timedelta(days=CERTIFICATE_DAYS)
    if end <= start:
        raise InvalidInput("A certificate must end after it begins.")
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, f"{role}:{code}"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _ORGANIZATION_PREFIX + ca.name),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, role),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, code),
        ]
    )
    public = node_key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.cert.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectAlternativeName(_san_entries(hosts)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(_usages(role)), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
        .sign(ca.key, None)
    )
    return node_key, cert


def write_identity(
    folder: Path, key: Ed25519PrivateKey, cert: x509.Certificate, ca_cert: x509.Certificate
) -> None:
    """Write ``node.key`` (PKCS#8 PEM, 0600), ``node.pem`` and ``ca.pem`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    _write_secret(folder / "node.key", _private_pem(key), replace=True)
    (folder / "node.pem").write_text(cert_pem(cert), encoding="ascii")
    (folder / "ca.pem").write_text(cert_pem(ca_cert), encoding="ascii")


def load_certificate(path: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"Cannot read the certificate {path}: {exc}") from None


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the certificate's DER encoding, lowercase hex."""
    return cert.fingerprint(hashes.SHA256()).hex()


def cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _attribute(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    found = name.get_attributes_for_oid(oid)
    if len(found) != 1:
        return None
    value = found[0].value
    return value if isinstance(value, str) else value.decode("utf-8")


def role_and_code(cert: x509.Certificate) -> tuple[str, str]:
    """The holder's role (OU) and code (serialNumber) as the certificate states them."""
    role = _attribute(cert.subject, NameOID.ORGANIZATIONAL_UNIT_NAME)
    code = _attribute(cert.subject, NameOID.SERIAL_NUMBER)
    if role is None or code is None:
        raise ConfigurationError(
            f"The certificate {cert.subject.rfc4514_string()} names no role and code."
        )
    return role, code


# --- revocation -----------------------------------------------------------------


def _revocation_list(ca_dir: Path) -> tuple[int, list[dict[str, Any]]]:
    """The number of the last CRL and the revoked certificates, from ``revoked.json``."""
    path = ca_dir / "revoked.json"
    if not path.exists():
        return 0, []
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        number = int(document["crl_number"])
        entries = document["revoked"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(f"Cannot read the revocation list {path}: {exc}") from None
    if not isinstance(entries, list):
        raise ConfigurationError(f"The revocation list {path} has no list of revoked certificates.")
    return number, entries


def revoke(ca_dir: Path, cert: x509.Certificate) -> None:
    """Add ``cert`` to the CA's revocation list and re-sign the CRL (idempotent)."""
    ca = load_ca(ca_dir)
    try:
        cert.verify_directly_issued_by(ca.cert)
    except (ValueError, TypeError, InvalidSignature):
        raise InvalidInput(
            f"The certificate {cert.subject.rfc4514_string()} was not issued by this network's CA."
        ) from None
    number, entries = _revocation_list(ca_dir)
    # A CRL's number only ever grows, so that a relying party can tell the newest.
    number += 1
    revoked_print = fingerprint(cert)
    if all(entry.get("fingerprint") != revoked_print for entry in entries):
        entries.append(
            {
                "serial": format(cert.serial_number, "x"),
                "fingerprint": revoked_print,
                "node_id": _attribute(cert.subject, NameOID.COMMON_NAME),
                "revoked_at": _now().isoformat(),
            }
        )
    document = json.dumps({"crl_number": number, "revoked": entries}, indent=2) + "\n"
    temporary = ca_dir / "revoked.json.new"
    temporary.write_text(document, encoding="utf-8")
    os.replace(temporary, ca_dir / "revoked.json")
    (ca_dir / "crl.pem").write_bytes(
        _crl(ca, number, entries).public_bytes(serialization.Encoding.PEM)
    )


def _crl(
    ca: NetworkCA, number: int, entries: list[dict[str, Any]]
) -> x509.CertificateRevocationList:
    now = _now()
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.cert.subject)
        .last_update(now)
        .next_update(now + timedelta(days=CRL_DAYS))
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
    )
    for entry in entries:
        revoked = (
            x509.RevokedCertificateBuilder()
            .serial_number(int(entry["serial"], 16))
            .revocation_date(datetime.fromisoformat(entry["revoked_at"]))
            .build()
        )
        builder = builder.add_revoked_certificate(revoked)
    return builder.sign(ca.key, None)


def write_first_crl(ca_dir: Path) -> None:
    """Write an empty CRL (number 0) if the CA has none yet, so that a relying party that
    requires revocation information for every certificate of a chain finds it."""
    if (ca_dir / "crl.pem").exists():
        return
    (ca_dir / "crl.pem").write_bytes(
        _crl(load_ca(ca_dir), 0, []).public_bytes(serialization.Encoding.PEM)
    )


def revoked_fingerprints(ca_dir: Path) -> set[str]:
    """Fingerprints of every certificate the CA has revoked (none before the first)."""
    return {str(entry["fingerprint"]) for entry in _revocation_list(ca_dir)[1]}
