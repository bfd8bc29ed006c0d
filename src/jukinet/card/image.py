"""The card image: a card's content, encrypted and authenticated under the chip's key.

Layout::

    "JUKINET-CARD" 00 01   header (14 bytes, also the AES-GCM associated data)
    nonce                  12 random bytes, new at every write
    ciphertext + tag       AES-256-GCM of the content's JSON (:mod:`.content_json`)

The chip key (32 bytes) stands for the key a real chip keeps in its own silicon: the
caller supplies it (the demo keeps it in a file beside the image, mode 0600). An image
that does not decrypt under it, or whose content is not a card, is refused as a
broken chip (:class:`~jukinet.errors.BrokenCard`, R19). Every change is written
through before the command answers, to a new file renamed over the old one, so an
image is always either the state before a command or the state after it.

Not covered: someone who keeps an old copy of an image can put it back (a chip's
counters cannot be rolled back; a file's can). The image holds no clock either.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from jukinet.card.content import CardContent
from jukinet.card.content_json import from_document, to_document
from jukinet.card.machine import CardChip
from jukinet.errors import BrokenCard, CardError

HEADER = b"JUKINET-CARD\x00\x01"
NONCE_BYTES = 12
CHIP_KEY_BYTES = 32


def new_chip_key() -> bytes:
    return secrets.token_bytes(CHIP_KEY_BYTES)


def _aead(chip_key: bytes) -> AESGCM:
    if len(chip_key) != CHIP_KEY_BYTES:
        raise CardError("A card's chip key is 32 bytes; this one is not.")
    return AESGCM(chip_key)


def seal(content: CardContent, chip_key: bytes) -> bytes:
    plain = json.dumps(to_document(content), separators=(",", ":")).encode()
    nonce = secrets.token_bytes(NONCE_BYTES)
    return HEADER + nonce + _aead(chip_key).encrypt(nonce, plain, HEADER)


def unseal(blob: bytes, chip_key: bytes) -> CardContent:
    aead = _aead(chip_key)
    if not blob.startswith(HEADER) or len(blob) < len(HEADER) + NONCE_BYTES + 16:
        raise BrokenCard("This is not a card image.")
    nonce = blob[len(HEADER) : len(HEADER) + NONCE_BYTES]
    try:
        plain = aead.decrypt(nonce, blob[len(HEADER) + NONCE_BYTES :], HEADER)
    except InvalidTag:
        raise BrokenCard(
            "The card's memory does not check out (changed, damaged, or another chip's): "
            "the card is broken and is not used."
        ) from None
    try:
        return from_document(json.loads(plain))
    except ValueError as exc:  # json.JSONDecodeError is a ValueError too
        raise BrokenCard(f"The card's memory holds no valid card: {exc}") from None


def write_image(path: Path, content: CardContent, chip_key: bytes) -> None:
    """Write ``content`` atomically: to a new file, flushed, then renamed over ``path``."""
    blob = seal(content, chip_key)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(temporary, "wb") as out:
            out.write(blob)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
        _sync_directory(path.parent)
    finally:
        temporary.unlink(missing_ok=True)


def _sync_directory(folder: Path) -> None:
    """Make the rename itself durable (POSIX: the directory entry is in the folder)."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def key_path(image: Path) -> Path:
    """Where the demo keeps an image's chip key: beside it, ``<image>.key``."""
    return image.with_name(image.name + ".key")


def write_chip_key(path: Path, chip_key: bytes) -> None:
    """Write a chip key (hex) readable by its owner only."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(chip_key.hex() + "\n")


def read_chip_key(path: Path) -> bytes:
    try:
        key = bytes.fromhex(path.read_text().strip())
    except OSError as exc:
        raise CardError(f"The chip key {path} cannot be read: {exc.strerror}.") from None
    except ValueError:
        raise CardError(f"The chip key {path} is not a key.") from None
    if len(key) != CHIP_KEY_BYTES:
        raise CardError(f"The chip key {path} is not a key.")
    return key


def read_image(path: Path, chip_key: bytes) -> CardContent:
    try:
        blob = path.read_bytes()
    except OSError as exc:
        raise BrokenCard(f"The card image {path} cannot be read: {exc.strerror}.") from None
    return unseal(blob, chip_key)


def open_image(path: Path, chip_key: bytes) -> CardChip:
    """A chip whose content is the image at ``path``; every change is written back to it
    before the command answers (retry counters survive restarts and power cycles)."""
    content = read_image(path, chip_key)
    return CardChip(content, persist=lambda c: write_image(path, c, chip_key))
