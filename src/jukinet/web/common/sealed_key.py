"""An operator's Ed25519 signing key sealed under their password (docs/security.md,
"The console's signature lines").

The key is encrypted with AES-256-GCM under a key derived from the password with
argon2id (RFC 9106's second profile: t=3, m=64 MiB, p=4) and a random salt; the
account name is the associated data, so a sealed key cannot be moved to another
account. The server keeps only the sealed form; it unseals for one signature, when the
operator types the password on the confirmation step, and drops the key at once.
"""

from __future__ import annotations

import base64
import os

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import BaseModel, ConfigDict

from jukinet.errors import AuthenticationFailed


class SealedKey(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    salt: str  # base64
    nonce: str  # base64
    sealed: str  # base64: the raw 32-byte private key, encrypted and tagged


def _derive(password: str, salt: bytes) -> bytes:
    return hash_secret_raw(
        password.encode("utf-8"), salt, time_cost=3, memory_cost=65536, parallelism=4,
        hash_len=32, type=Type.ID,
    )  # fmt: skip


def seal(key: Ed25519PrivateKey, password: str, account: str) -> SealedKey:
    salt, nonce = os.urandom(16), os.urandom(12)
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    sealed = AESGCM(_derive(password, salt)).encrypt(nonce, raw, account.encode("utf-8"))
    b64 = base64.b64encode
    return SealedKey(
        salt=b64(salt).decode(), nonce=b64(nonce).decode(), sealed=b64(sealed).decode()
    )


def unseal(sealed: SealedKey, password: str, account: str) -> Ed25519PrivateKey:
    """The key, or AuthenticationFailed if the password is not the one it was sealed with."""
    b = base64.b64decode
    try:
        raw = AESGCM(_derive(password, b(sealed.salt))).decrypt(
            b(sealed.nonce), b(sealed.sealed), account.encode("utf-8")
        )
    except InvalidTag:
        raise AuthenticationFailed("The password is wrong: nothing was signed.") from None
    return Ed25519PrivateKey.from_private_bytes(raw)
