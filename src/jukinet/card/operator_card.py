"""Issuing an operator card, and the terminal's part of signing in with it (R11).

The node certifies the card's key with its own key (:func:`issue_operator_card`); at
sign-in the node makes a fresh challenge, the terminal carries it to the card and
brings back the card's certificate and signature (:func:`answer_challenge`), and the
node checks them (:func:`check_answer`) against its own public key and the key bound
to the account. Every failure is :class:`~jukinet.errors.CardError`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from jukinet.card import certs, image
from jukinet.card.apdu import command
from jukinet.card.apps import operator
from jukinet.card.content import CardContent
from jukinet.card.reader import Reader
from jukinet.card.terminal import Terminal
from jukinet.errors import CardNotGenuine, InvalidInput

CHALLENGE_BYTES = 32


@dataclass(frozen=True)
class IssuedOperatorCard:
    content: CardContent
    public_key: bytes
    """The card's authentication key (32 bytes), bound to the account."""
    certificate: bytes


def subject(node_code: str, username: str) -> str:
    return f"operator {username}@{node_code}"


def issue_operator_card(
    node_key: Ed25519PrivateKey, node_code: str, username: str
) -> IssuedOperatorCard:
    """A new card with a new key (made here, as a real chip would make its own)."""
    key = Ed25519PrivateKey.generate()
    public = certs.public_bytes(key)
    cert = certs.issue(
        node_key, certs.Kind.CARD, operator.AID, subject(node_code, username), public
    )
    raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    app = operator.build(node_code=node_code, username=username, card_key=raw, card_cert=cert)
    return IssuedOperatorCard(CardContent([app]), public, cert)


def check_free(path: Path) -> None:
    """Refuse ``path`` for a new card unless it and its chip key's file are free (checked
    before a card is bound, so that a bound card is not left unwritten)."""
    taken = [p for p in (path, image.key_path(path)) if p.exists()]
    if taken:
        raise InvalidInput(f"{taken[0]} already exists; a card is written to new files only.")
    if not path.parent.is_dir():
        raise InvalidInput(f"The folder {path.parent} does not exist.")


def write_operator_card(path: Path, card: IssuedOperatorCard) -> list[Path]:
    """The image at ``path`` and its chip key beside it (``<path>.key``), new files only."""
    check_free(path)
    key_file = image.key_path(path)
    chip_key = image.new_chip_key()
    image.write_image(path, card.content, chip_key)
    image.write_chip_key(key_file, chip_key)
    return [path, key_file]


def new_challenge() -> bytes:
    return secrets.token_bytes(CHALLENGE_BYTES)


@dataclass(frozen=True)
class CardAnswer:
    certificate: bytes
    signature: bytes


def answer_challenge(reader: Reader, challenge: bytes) -> CardAnswer:
    """The terminal's part: select the operator application, read its certificate, and
    have the card sign ``challenge`` (INTERNAL AUTHENTICATE), over the reader's current
    connection: a card pulled out since (even if put back) fails, as a chip reset is."""
    terminal = Terminal(reader)
    terminal.select_application(operator.AID)
    cert = terminal.read_file(operator.CARD_CERT)
    signature = terminal.call(command(0x00, 0x88, 0x00, 0x00, challenge, le=256))
    return CardAnswer(cert, signature)


def check_answer(
    answer: CardAnswer, challenge: bytes, node_public: bytes, bound_key: bytes
) -> certs.Certificate:
    """The node's part: the certificate is this node's, for the operator application,
    of the key bound to the account, and the card signed this very challenge."""
    try:
        cert = certs.parse(answer.certificate)
    except certs.CertificateError:
        raise CardNotGenuine("The card's certificate is not an operator card's.") from None
    if cert.kind is not certs.Kind.CARD or cert.aid != operator.AID:
        raise CardNotGenuine("The card in the reader is not an operator card.")
    if not cert.signed_by(node_public):
        raise CardNotGenuine("The operator card was not issued by this node.")
    if not secrets.compare_digest(cert.public_key, bound_key):
        raise CardNotGenuine("The operator card is not the one issued to this operator.")
    try:
        Ed25519PublicKey.from_public_bytes(cert.public_key).verify(
            answer.signature, certs.internal_message(operator.AID, challenge)
        )
    except (InvalidSignature, ValueError):
        raise CardNotGenuine("The operator card did not prove it holds its key.") from None
    return cert


def prove(reader: Reader, node_public: bytes, bound_key: bytes) -> certs.Certificate:
    """One fresh challenge, answered and checked. Raises :class:`CardError`."""
    challenge = new_challenge()
    return check_answer(answer_challenge(reader, challenge), challenge, node_public, bound_key)
