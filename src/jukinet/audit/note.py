"""Checkpoints as signed notes: C2SP tlog-checkpoint, signed-note and tlog-cosignature (R25).

A checkpoint's text is three lines: the log's origin, the tree size in decimal, the
root hash in base64 (c2sp.org/tlog-checkpoint). The note is signed as
golang.org/x/mod/sumdb/note signs: a blank line, then ``— <key name> base64(key id
|| signature)``, where the key id of an Ed25519 key is the first 4 bytes of
SHA-256(name || 0x0A || 0x01 || public key) (c2sp.org/signed-note). A prefecture's
cosignature is another signature line (c2sp.org/tlog-cosignature, cosignature/v1):
key id from algorithm byte 0x04, signature = 8-byte big-endian POSIX time || Ed25519
over "cosignature/v1\\ntime <t>\\n" + the checkpoint text.

Hand-written: the formats are a few lines each, and Python has no maintained
implementation; tests check the notes with Go's own ``note`` package.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from jukinet.audit import merkle
from jukinet.keys import NodeKey, verify_signature

ALG_ED25519 = 0x01
ALG_COSIGNATURE_V1 = 0x04
SIG_PREFIX = "\u2014 "  # an em dash and a space begin every signature line


class NoteError(ValueError):
    """A note or checkpoint that is malformed or whose signature does not verify."""


def raw_public(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(name: str, public: Ed25519PublicKey, alg: int = ALG_ED25519) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + raw_public(public)).digest()[:4]


def verifier_key(name: str, public: Ed25519PublicKey) -> str:
    """The key in sumdb/note's verifier-key format: ``name+hex(key id)+base64(0x01||key)``."""
    encoded = base64.b64encode(bytes([ALG_ED25519]) + raw_public(public)).decode()
    return f"{name}+{key_id(name, public).hex()}+{encoded}"


def parse_verifier_key(vkey: str) -> tuple[str, Ed25519PublicKey]:
    try:
        name, hash_hex, encoded = vkey.strip().split("+", 2)
        raw = base64.b64decode(encoded, validate=True)
        public = Ed25519PublicKey.from_public_bytes(raw[1:])
    except ValueError:
        raise NoteError("the verifier key is malformed") from None
    if raw[0] != ALG_ED25519 or key_id(name, public).hex() != hash_hex:
        raise NoteError("the verifier key's hash does not match its name and key")
    return name, public


@dataclass(frozen=True, slots=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "" or not lines[0]:
            raise NoteError("a checkpoint has an origin, a size and a root hash line")
        size_line, root_line = lines[1], lines[2]
        if not size_line.isdigit() or str(int(size_line)) != size_line:
            raise NoteError("the checkpoint's tree size is not a decimal number")
        try:
            root = base64.b64decode(root_line, validate=True)
        except ValueError:
            root = b""
        if len(root) != merkle.HASH_SIZE:
            raise NoteError("the checkpoint's root hash is not 32 bytes in base64")
        return cls(lines[0], int(size_line), root)


def sign_line(name: str, key: NodeKey, text: str) -> str:
    sig = key_id(name, key.public) + key.sign(text.encode())
    return f"{SIG_PREFIX}{name} {base64.b64encode(sig).decode()}\n"


def signed_note(checkpoint: Checkpoint, name: str, key: NodeKey) -> str:
    text = checkpoint.text()
    return f"{text}\n{sign_line(name, key, text)}"


def split_note(note: str) -> tuple[str, list[tuple[str, bytes]]]:
    """(text, [(key name, key id || signature)]) of a signed note."""
    at = note.rfind("\n\n")
    if at < 0 or not note.endswith("\n"):
        raise NoteError("a signed note ends with a blank line and signature lines")
    text, block = note[: at + 1], note[at + 2 :]
    sigs = []
    for line in block.splitlines():
        if not line.startswith(SIG_PREFIX) or " " not in line[len(SIG_PREFIX) :]:
            raise NoteError("a signature line begins with an em dash and names its key")
        name, encoded = line[len(SIG_PREFIX) :].split(" ", 1)
        try:
            sig = base64.b64decode(encoded, validate=True)
        except ValueError:
            raise NoteError("a signature line is not base64") from None
        if len(sig) < 5:
            raise NoteError("a signature line is too short")
        sigs.append((name, sig))
    if not sigs:
        raise NoteError("the note has no signature")
    return text, sigs


def open_checkpoint(note: str, name: str, public: Ed25519PublicKey) -> Checkpoint:
    """The checkpoint of ``note`` if the key ``name`` signed it; other signatures are ignored."""
    text, sigs = split_note(note)
    kid = key_id(name, public)
    mine = [s for n, s in sigs if n == name and s[:4] == kid]
    if not mine:
        raise NoteError(f"the checkpoint is not signed by {name}")
    if not all(verify_signature(public, s[4:], text.encode()) for s in mine):
        raise NoteError(f"the signature of {name} on the checkpoint does not verify")
    return Checkpoint.parse(text)


def cosignature_message(text: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n{text}".encode()


def cosign_line(name: str, key: NodeKey, text: str, timestamp: int) -> str:
    sig = key.sign(cosignature_message(text, timestamp))
    body = key_id(name, key.public, ALG_COSIGNATURE_V1) + struct.pack(">Q", timestamp) + sig
    return f"{SIG_PREFIX}{name} {base64.b64encode(body).decode()}\n"


def cosigned_at(note: str, name: str, public: Ed25519PublicKey) -> int | None:
    """The time of ``name``'s valid cosignature/v1 on ``note``, or None if it has none."""
    text, sigs = split_note(note)
    kid = key_id(name, public, ALG_COSIGNATURE_V1)
    for n, s in sigs:
        if n == name and s[:4] == kid and len(s) == 4 + 8 + 64:
            (timestamp,) = struct.unpack(">Q", s[4:12])
            if verify_signature(public, s[12:], cosignature_message(text, timestamp)):
                return int(timestamp)
    return None
