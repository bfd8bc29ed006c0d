"""Ed25519 keys: the one place that reads a key file (nodes, agencies, the CA, the national
node's public key, the RSA key of the JPKI CA, and the P-256 keys that sign copies of the
resident record), and ``NodeKey``, a node's signing key
(audit heads, directory, requests)."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, EllipticCurvePrivateKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from jukinet.errors import ConfigurationError


def load_private_key(path: Path, what: str = "node key") -> Ed25519PrivateKey:
    """The Ed25519 private key in the PEM file ``path``, or a ConfigurationError."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"Cannot read the {what} {path}: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigurationError(f"The {what} {path} is not an Ed25519 key.")
    return key


def load_rsa_private_key(path: Path, what: str) -> RSAPrivateKey:
    """The RSA private key in the PEM file ``path`` (the JPKI CA's), or a ConfigurationError."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"Cannot read the {what} {path}: {exc}") from None
    if not isinstance(key, RSAPrivateKey):
        raise ConfigurationError(f"The {what} {path} is not an RSA key.")
    return key


def load_document_key(path: Path, what: str = "document-signing key") -> EllipticCurvePrivateKey:
    """The ECDSA P-256 key in the PEM file ``path`` (it signs copies, docs/copies.md), or a
    ConfigurationError. Not Ed25519: poppler's NSS cannot verify Ed25519 (documents/certs)."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"Cannot read the {what} {path}: {exc}") from None
    if not isinstance(key, EllipticCurvePrivateKey) or not isinstance(key.curve, SECP256R1):
        raise ConfigurationError(f"The {what} {path} is not an ECDSA P-256 key.")
    return key


def save_private_key(
    path: Path, key: Ed25519PrivateKey | RSAPrivateKey | EllipticCurvePrivateKey
) -> None:
    """Write ``key`` as PEM to a new file readable by its owner only (never overwritten)."""
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)


def load_public_key(path: Path, what: str = "public key") -> Ed25519PublicKey:
    """The Ed25519 public key in the PEM file ``path``, or a ConfigurationError."""
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"Cannot read the {what} {path}: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigurationError(f"{path} is not an Ed25519 public key.")
    return key


class NodeKey:
    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        self.public = private.public_key()

    @classmethod
    def generate(cls) -> NodeKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load(cls, path: Path) -> NodeKey:
        return cls(load_private_key(path))

    def save(self, path: Path) -> None:
        pem = self._private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        # The key file is readable by the node's user only.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)

    @property
    def private(self) -> Ed25519PrivateKey:
        """The key itself, for libraries that sign with it (TLS, directory, HTTP signatures)."""
        return self._private

    def sign(self, data: bytes) -> bytes:
        return self._private.sign(data)

    def public_pem(self) -> bytes:
        return self.public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def verify_signature(public: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        public.verify(signature, data)
    except InvalidSignature:
        return False
    return True
