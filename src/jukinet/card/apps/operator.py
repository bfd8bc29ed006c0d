"""The operator application (職員認証, R11): the card an operator signs in with.

It holds the operator's node and user name and an Ed25519 authentication key whose
certificate (EF 0010, :mod:`jukinet.card.certs`, kind CARD, for this AID) is signed by
the node's own key. The node proves the card with INTERNAL AUTHENTICATE over a fresh
challenge of its own; the private key is never read by any command (R19).

There is no PIN: the account's password is the knowledge factor, the card the
possession factor, and a second secret at the same window would add nothing the
lockout does not already give. There is no terminal anchor either (EXTERNAL
AUTHENTICATE answers 6A81): the card's files are no secret, and nothing on it is ever
written after issuance.
"""

from __future__ import annotations

from jukinet.card.content import (
    Access,
    Application,
    ElementaryFile,
    Key,
    KeyKind,
    KeyUsage,
)

AID = bytes.fromhex("F04A554B494E455403")
"""'F0' = proprietary, not registered (ISO/IEC 7816-4 §12.2.3); then "JUKINET" 03."""

NODE = 0x0001
USERNAME = 0x0002
CARD_CERT = 0x0010
CARD_KEY = 0x0012

_PUBLIC = Access()
"""Read by anyone: the node id, the user name and the certificate are no secret."""


def build(*, node_code: str, username: str, card_key: bytes, card_cert: bytes) -> Application:
    return Application(
        aid=AID,
        label="operator",
        files={
            NODE: ElementaryFile(NODE, node_code.encode("ascii"), _PUBLIC),
            USERNAME: ElementaryFile(USERNAME, username.encode("ascii"), _PUBLIC),
            CARD_CERT: ElementaryFile(CARD_CERT, card_cert, _PUBLIC),
        },
        keys={
            CARD_KEY: Key(
                CARD_KEY, KeyKind.ED25519, card_key, KeyUsage.INTERNAL_AUTHENTICATE, _PUBLIC
            )
        },
    )
