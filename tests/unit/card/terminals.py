"""Terminals for the tests: a key and its certificate chain to an anchor."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from jukinet.card import certs
from jukinet.card.content import READ
from jukinet.card.terminal import Terminal


@dataclass(frozen=True)
class TerminalKey:
    chain: list[bytes]
    key: Ed25519PrivateKey
    aid: bytes

    def authenticate(self, terminal: Terminal) -> None:
        terminal.authenticate_terminal(self.chain, self.key, self.aid)


def certified(
    ca: Ed25519PrivateKey, aid: bytes, rights: int = READ, *, intermediate: bool = False
) -> TerminalKey:
    """A terminal certified by ``ca`` (directly, or through a node's CA certificate)."""
    key = Ed25519PrivateKey.generate()
    if not intermediate:
        return TerminalKey(
            [certs.issue(ca, certs.Kind.TERMINAL, aid, "window 1", key.public_key(), rights)],
            key,
            aid,
        )
    node = Ed25519PrivateKey.generate()
    return TerminalKey(
        [
            certs.issue(ca, certs.Kind.CA, aid, "node 131016", node.public_key(), rights),
            certs.issue(node, certs.Kind.TERMINAL, aid, "window 2", key.public_key(), rights),
        ],
        key,
        aid,
    )
