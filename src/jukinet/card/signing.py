"""``80 2A 00 80``: the JPKI signature (R15) with the current key.

The terminal sends the DigestInfo (or, for PKCS#11's CKM_RSA_PKCS, any data up to
k − 11 bytes); the card pads it with EMSA-PKCS1-v1_5 (RFC 8017 §9.2, steps 3–5) and
applies RSASP1. Written by hand because ``cryptography`` signs only over a hash it
computes or names itself, while the card must sign exactly the bytes it is given, as
OpenSC expects (``SC_ALGORITHM_RSA_HASH_NONE | SC_ALGORITHM_RSA_PAD_PKCS1``).
"""

from __future__ import annotations

from functools import lru_cache
from typing import cast

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_der_private_key

from jukinet.card.apdu import Command, Response
from jukinet.card.content import Key, KeyKind, KeyUsage
from jukinet.card.state import Context, answer, status
from jukinet.card.sw import SW

P1P2 = 0x0080


class SignatureFault(Exception):
    """The signature did not verify under the key's own public half: never answered."""


def pkcs1_v15_sign(key: RSAPrivateKey, message: bytes) -> bytes:
    """EMSA-PKCS1-v1_5 padding of ``message`` (already a DigestInfo), then RSASP1 (CRT)."""
    numbers = key.private_numbers()
    public = numbers.public_numbers
    k = (public.n.bit_length() + 7) // 8
    if len(message) > k - 11:
        raise ValueError("message too long for the key")
    encoded = b"\x00\x01" + b"\xff" * (k - 3 - len(message)) + b"\x00" + message
    m = int.from_bytes(encoded, "big")
    s1 = pow(m, numbers.dmp1, numbers.p)
    s2 = pow(m, numbers.dmq1, numbers.q)
    s = s2 + numbers.q * ((numbers.iqmp * (s1 - s2)) % numbers.p)
    if pow(s, public.e, public.n) != m:
        # A faulty CRT half would leak a factor of n (the Bellcore attack): check first.
        raise SignatureFault("signature check failed")
    return s.to_bytes(k, "big")


@lru_cache(maxsize=16)
def _load(der: bytes) -> RSAPrivateKey:
    """Loading checks the key (slow for RSA); a chip's keys are loaded once per process."""
    return cast(RSAPrivateKey, load_der_private_key(der, password=None))


def _key(ctx: Context) -> Key | int:
    current = ctx.current()
    if isinstance(current, int):
        return current
    if not isinstance(current, Key) or current.usage is not KeyUsage.SIGN:
        return SW.INCOMPATIBLE_FILE
    return current


def compute_signature(ctx: Context, cmd: Command) -> Response:
    if cmd.p1p2 != P1P2:
        return status(SW.WRONG_P1_P2)
    if not cmd.data or cmd.le is None:
        return status(SW.WRONG_LENGTH)
    key = _key(ctx)
    if isinstance(key, int):
        return status(key)
    if key.kind is not KeyKind.RSA_2048:
        return status(SW.INCOMPATIBLE_FILE)
    if not ctx.session.satisfies(key.use):
        return status(SW.SECURITY_STATUS_NOT_SATISFIED)
    rsa = _load(key.private)
    try:
        signature = pkcs1_v15_sign(rsa, cmd.data)
    except ValueError:
        return status(SW.WRONG_DATA)
    return answer(cmd, signature)
