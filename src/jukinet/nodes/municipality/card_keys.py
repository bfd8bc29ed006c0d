"""The card keys of a municipality's window (R15–R17, docs/card.md "Issuing and life cycle").

``network init`` makes them; they live in the municipality's home, folder ``card/``:

- ``issuer.key``: the municipality's card-issuer key (Ed25519). It certifies the
  keys of the cards it issues (INTERNAL AUTHENTICATE), and its window terminals for
  the municipal application and for unblocking JPKI PINs.
- ``terminal.key`` and ``terminal.json``: the window terminal's key and, per
  application, its certificate chain. For the 住基AP the chain starts at the
  network's card-terminal CA (kept at the national node, ``card-terminal-ca.key``),
  which certified the municipality's issuer key as a CA for the 住基AP; for the
  others it is the one certificate the issuer key signed.
- ``network.json``: the card-terminal CA's public key (the 住基AP's anchor) and every
  municipality's issuer public key, to check a card another municipality issued.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from jukinet.card import certs
from jukinet.card.apps import jpki, municipal, resident
from jukinet.card.content import ALL_RIGHTS, READ, UNBLOCK, UPDATE
from jukinet.errors import ConfigurationError

FOLDER = "card"
TERMINAL_CA_KEY = "card-terminal-ca.key"
"""In the national node's home."""
APPS = {"resident": resident.AID, "municipal": municipal.AID, "jpki": jpki.AID}
TERMINAL_RIGHTS = {"resident": READ | UPDATE | UNBLOCK, "municipal": ALL_RIGHTS, "jpki": UNBLOCK}


@dataclass(frozen=True)
class WindowKeys:
    code: str
    issuer: Ed25519PrivateKey
    terminal: Ed25519PrivateKey
    chains: dict[str, list[bytes]]
    terminal_ca: bytes
    issuers: dict[str, bytes]
    """Municipality code → its card-issuer public key (raw Ed25519)."""

    def chain(self, aid: bytes) -> list[bytes]:
        name = next(n for n, a in APPS.items() if a == aid)
        return self.chains[name]


def _write(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def _pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())


def _load(path: Path) -> Ed25519PrivateKey:
    key = load_pem_private_key(path.read_bytes(), None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigurationError(f"{path} does not hold an Ed25519 key.")
    return key


def save_terminal_ca(key: Ed25519PrivateKey, national_home: Path) -> None:
    _write(national_home / TERMINAL_CA_KEY, _pem(key), 0o600)


def make_window(
    home: Path,
    code: str,
    issuer: Ed25519PrivateKey,
    terminal_ca: Ed25519PrivateKey,
    issuers: dict[str, bytes],
) -> None:
    """Write a municipality's card folder: its issuer key, a window terminal certified
    for the three applications, and the network's public card keys."""
    folder = home / FOLDER
    folder.mkdir(mode=0o700, exist_ok=True)
    terminal = Ed25519PrivateKey.generate()
    as_ca = certs.issue(
        terminal_ca,
        certs.Kind.CA,
        resident.AID,
        f"municipality {code} card issuer",
        issuer.public_key(),
        TERMINAL_RIGHTS["resident"],
    )
    chains: dict[str, list[str]] = {}
    for name, aid in APPS.items():
        cert = certs.issue(
            issuer,
            certs.Kind.TERMINAL,
            aid,
            f"window {code}",
            terminal.public_key(),
            TERMINAL_RIGHTS[name],
        )
        chains[name] = [c.hex() for c in ([as_ca, cert] if name == "resident" else [cert])]
    _write(folder / "issuer.key", _pem(issuer), 0o600)
    _write(folder / "terminal.key", _pem(terminal), 0o600)
    _write(folder / "terminal.json", (json.dumps(chains, indent=1) + "\n").encode(), 0o644)
    public = {
        "terminal_ca": certs.public_bytes(terminal_ca).hex(),
        "issuers": {c: k.hex() for c, k in sorted(issuers.items())},
    }
    _write(folder / "network.json", (json.dumps(public, indent=1) + "\n").encode(), 0o644)


def load_window(home: Path, code: str) -> WindowKeys:
    folder = home / FOLDER
    if not (folder / "issuer.key").exists():
        raise ConfigurationError(
            f"This register has no card keys ({folder}); `jukinet network init` makes them "
            "for every municipality of a network."
        )
    chains = json.loads((folder / "terminal.json").read_text())
    public = json.loads((folder / "network.json").read_text())
    return WindowKeys(
        code=code,
        issuer=_load(folder / "issuer.key"),
        terminal=_load(folder / "terminal.key"),
        chains={n: [bytes.fromhex(c) for c in chain] for n, chain in chains.items()},
        terminal_ca=bytes.fromhex(public["terminal_ca"]),
        issuers={c: bytes.fromhex(k) for c, k in public["issuers"].items()},
    )
