"""A terminal's side of the card: commands through a :class:`~jukinet.card.reader.Reader`.

Everything here sends the same bytes over PC/SC or in process. A refusal by the card
raises :class:`~jukinet.errors.CardRefused` with a sentence a clerk understands.
"""

from __future__ import annotations

import secrets

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from jukinet.card import certs
from jukinet.card.apdu import Command, Response, command, parse_response
from jukinet.card.reader import Reader
from jukinet.card.sw import SW
from jukinet.errors import CardNotGenuine, CardRefused

CHALLENGE_BYTES = 16
CARD_CERT = 0x0010

_MEANING = {
    SW.REFERENCE_DATA_BLOCKED: "The PIN is locked; it can be unblocked at the window.",
    SW.SECURITY_STATUS_NOT_SATISFIED: "The card does not allow this yet (PIN or terminal).",
    SW.VERIFICATION_FAILED: "The card did not accept this terminal.",
    SW.FILE_NOT_FOUND: "The card has no such application or file.",
    SW.MEMORY_FAILURE: "The card could not write its memory.",
}


def describe(sw: int) -> str:
    if sw & 0xFFF0 == 0x63C0:
        return f"Wrong PIN: {sw & 0xF} tries left."
    try:
        meaning = _MEANING.get(SW(sw))
    except ValueError:
        meaning = None
    return meaning or f"The card refused the command ({sw:04X})."


class Terminal:
    def __init__(self, reader: Reader) -> None:
        self.reader = reader

    def send(self, cmd: Command) -> Response:
        return parse_response(self.reader.transmit(cmd.encode()))

    def call(self, cmd: Command) -> bytes:
        """Send ``cmd``; its data if the card answered 9000, else :class:`CardRefused`."""
        response = self.send(cmd)
        if not response.ok:
            raise CardRefused(describe(response.sw), response.sw)
        return response.data

    def select_application(self, aid: bytes) -> None:
        self.call(command(0x00, 0xA4, 0x04, 0x0C, aid))

    def select(self, fid: int) -> None:
        self.call(command(0x00, 0xA4, 0x02, 0x0C, fid.to_bytes(2, "big")))

    def read_file(self, fid: int) -> bytes:
        """The whole EF, read 256 bytes at a time until the card says the end is reached."""
        self.select(fid)
        data = b""
        while True:
            response = self.send(command(0x00, 0xB0, len(data) >> 8, len(data) & 0xFF, le=256))
            if response.sw == SW.WRONG_OFFSET and data:
                return data
            if response.sw not in (SW.OK, SW.END_OF_FILE):
                raise CardRefused(describe(response.sw), response.sw)
            data += response.data
            if response.sw == SW.END_OF_FILE or not response.data:
                return data

    def tries_left(self, pin_fid: int) -> int:
        self.select(pin_fid)
        sw = self.send(command(0x00, 0x20, 0x00, 0x80)).sw
        if sw & 0xFFF0 != 0x63C0:
            raise CardRefused(describe(sw), sw)
        return sw & 0xF

    def verify(self, pin_fid: int, pin: str) -> None:
        self.select(pin_fid)
        self.call(command(0x00, 0x20, 0x00, 0x80, pin.encode()))

    def authenticate_terminal(self, chain: list[bytes], key: Ed25519PrivateKey, aid: bytes) -> None:
        """EXTERNAL AUTHENTICATE in the selected application ``aid`` (R17)."""
        challenge = self.call(command(0x00, 0x84, 0x00, 0x00, le=CHALLENGE_BYTES))
        signature = key.sign(certs.external_message(aid, challenge))
        self.call(
            command(0x00, 0x82, 0x00, 0x00, certs.encode_external_authenticate(chain, signature))
        )

    def authenticate_card(self, issuer: bytes, aid: bytes) -> certs.Certificate:
        """INTERNAL AUTHENTICATE: the card's certificate, if the card proves it holds its key
        and ``issuer`` (the municipality's public key) certified it for ``aid``."""
        cert = certs.parse(self.read_file(CARD_CERT))
        if cert.kind is not certs.Kind.CARD or cert.aid != aid or not cert.signed_by(issuer):
            raise CardNotGenuine("The card's certificate is not one of a genuine card.")
        challenge = secrets.token_bytes(CHALLENGE_BYTES)
        signature = self.call(command(0x00, 0x88, 0x00, 0x00, challenge, le=256))
        try:
            Ed25519PublicKey.from_public_bytes(cert.public_key).verify(
                signature, certs.internal_message(aid, challenge)
            )
        except InvalidSignature:
            raise CardNotGenuine("The card did not prove it holds its key.") from None
        return cert

    def sign(self, key_fid: int, digest_info: bytes) -> bytes:
        """``80 2A 00 80`` with the key ``key_fid`` over a DigestInfo (JPKI)."""
        self.select(key_fid)
        return self.call(command(0x80, 0x2A, 0x00, 0x80, digest_info, le=256))
