"""Mutual authentication (R17): a terminal proves itself to the card, the card to the
terminal, per application; a terminal without the right certificate reads nothing."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from jukinet.card import certs
from jukinet.card.apdu import command
from jukinet.card.apps import jpki, municipal, resident
from jukinet.card.content import READ, UNBLOCK
from jukinet.card.machine import CardChip
from jukinet.card.terminal import Terminal
from jukinet.errors import CardNotGenuine, CardRefused
from tests.unit.card.conftest import Issuers, send, sw
from tests.unit.card.terminals import certified


def refused(call: object, *args: object) -> int:
    with pytest.raises(CardRefused) as caught:
        call(*args)  # type: ignore[operator]
    return caught.value.sw


def test_a_network_terminal_reads_the_resident_register_application(
    terminal: Terminal, issuers: Issuers
) -> None:
    terminal.select_application(resident.AID)
    certified(issuers.network_ca, resident.AID).authenticate(terminal)
    terminal.verify(resident.PIN_FID, "5678")
    assert terminal.read_file(resident.RESIDENT_CODE) == b"12345678903"
    assert terminal.read_file(resident.CARD_NUMBER) == b"0000000000001234"
    assert terminal.read_file(resident.MUNICIPALITY) == b"131016"
    assert terminal.read_file(resident.VALID_UNTIL) == b"20360331"


def test_through_a_node_ca_certificate(terminal: Terminal, issuers: Issuers) -> None:
    terminal.select_application(resident.AID)
    certified(issuers.network_ca, resident.AID, intermediate=True).authenticate(terminal)
    terminal.verify(resident.PIN_FID, "5678")
    assert terminal.read_file(resident.RESIDENT_CODE) == b"12345678903"


def test_the_pin_alone_reads_nothing(terminal: Terminal) -> None:
    terminal.select_application(resident.AID)
    terminal.verify(resident.PIN_FID, "5678")
    assert refused(terminal.read_file, resident.RESIDENT_CODE) == 0x6982
    assert refused(terminal.read_file, resident.CARD_CERT) == 0x6982


def test_a_terminal_alone_reads_nothing_but_the_card_certificate(
    terminal: Terminal, issuers: Issuers
) -> None:
    terminal.select_application(resident.AID)
    certified(issuers.network_ca, resident.AID).authenticate(terminal)
    assert refused(terminal.read_file, resident.RESIDENT_CODE) == 0x6982
    assert certs.parse(terminal.read_file(resident.CARD_CERT)).kind is certs.Kind.CARD


@pytest.mark.parametrize(
    "wrong",
    ["another CA", "another application", "a terminal as CA", "a card as terminal"],
)
def test_a_wrong_terminal_is_refused(terminal: Terminal, issuers: Issuers, wrong: str) -> None:
    stranger = Ed25519PrivateKey.generate()
    key = Ed25519PrivateKey.generate()
    ca, aid = issuers.network_ca, resident.AID
    chain = {
        "another CA": [
            certs.issue(stranger, certs.Kind.TERMINAL, aid, "x", key.public_key(), READ)
        ],
        "another application": [
            certs.issue(ca, certs.Kind.TERMINAL, municipal.AID, "x", key.public_key(), READ)
        ],
        "a terminal as CA": [
            certs.issue(ca, certs.Kind.TERMINAL, aid, "x", stranger.public_key(), READ),
            certs.issue(stranger, certs.Kind.TERMINAL, aid, "y", key.public_key(), READ),
        ],
        "a card as terminal": [certs.issue(ca, certs.Kind.CARD, aid, "x", key.public_key())],
    }[wrong]
    terminal.select_application(resident.AID)
    assert refused(terminal.authenticate_terminal, chain, key, resident.AID) == 0x6300
    terminal.verify(resident.PIN_FID, "5678")
    assert refused(terminal.read_file, resident.RESIDENT_CODE) == 0x6982


def test_the_municipalitys_terminal_is_not_a_network_terminal(
    terminal: Terminal, issuers: Issuers
) -> None:
    own = certified(issuers.municipality, resident.AID)
    terminal.select_application(resident.AID)
    assert refused(own.authenticate, terminal) == 0x6300


def test_a_signature_without_the_private_key_is_refused(
    terminal: Terminal, issuers: Issuers
) -> None:
    genuine = certified(issuers.network_ca, resident.AID)
    terminal.select_application(resident.AID)
    impostor = Ed25519PrivateKey.generate()  # holds the certificate, not its key
    assert refused(terminal.authenticate_terminal, genuine.chain, impostor, resident.AID) == 0x6300


def test_a_challenge_serves_one_attempt(chip: CardChip, issuers: Issuers) -> None:
    window = certified(issuers.network_ca, resident.AID)
    send(chip, "00A4040C09" + resident.AID.hex())
    assert sw(chip, "0082000001AA") == "6985"  # no challenge yet
    challenge = bytes.fromhex(send(chip, "0084000010"))[:-2]
    data = certs.encode_external_authenticate(
        window.chain, window.key.sign(certs.external_message(resident.AID, challenge))
    )
    apdu = f"00820000{len(data):02X}{data.hex()}"
    assert sw(chip, apdu) == "9000"
    assert sw(chip, apdu) == "6985"  # replayed
    send(chip, "0084000010")
    assert sw(chip, apdu) == "6300"  # an old answer to a new challenge


def test_a_challenge_too_short_is_not_accepted(chip: CardChip, issuers: Issuers) -> None:
    window = certified(issuers.network_ca, resident.AID)
    send(chip, "00A4040C09" + resident.AID.hex())
    challenge = bytes.fromhex(send(chip, "0084000004"))[:-2]
    data = certs.encode_external_authenticate(
        window.chain, window.key.sign(certs.external_message(resident.AID, challenge))
    )
    assert sw(chip, f"00820000{len(data):02X}{data.hex()}") == "6985"


@pytest.mark.parametrize(
    "data", ["00", "01", "0100FF" + "00" * 64, "01000A" + "00" * 10 + "00" * 64, "00" + "11" * 63]
)
def test_malformed_external_authenticate_data(chip: CardChip, data: str) -> None:
    send(chip, "00A4040C09" + resident.AID.hex())
    send(chip, "0084000010")
    assert sw(chip, f"00820000{len(data) // 2:02X}{data}") == "6A80"


def test_a_failed_attempt_drops_the_rights_won_before(terminal: Terminal, issuers: Issuers) -> None:
    terminal.select_application(resident.AID)
    certified(issuers.network_ca, resident.AID).authenticate(terminal)
    terminal.verify(resident.PIN_FID, "5678")
    with pytest.raises(CardRefused):
        certified(Ed25519PrivateKey.generate(), resident.AID).authenticate(terminal)
    assert refused(terminal.read_file, resident.RESIDENT_CODE) == 0x6982


def test_rights_are_those_every_link_grants(
    terminal: Terminal, chip: CardChip, issuers: Issuers
) -> None:
    node, key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    chain = [
        certs.issue(issuers.network_ca, certs.Kind.CA, resident.AID, "n", node.public_key(), READ),
        certs.issue(node, certs.Kind.TERMINAL, resident.AID, "t", key.public_key(), READ | UNBLOCK),
    ]
    terminal.select_application(resident.AID)
    terminal.authenticate_terminal(chain, key, resident.AID)
    terminal.select(resident.PIN_FID)
    assert sw(chip, "002C0380") == "6982"


def test_the_card_proves_itself_to_the_terminal(terminal: Terminal, issuers: Issuers) -> None:
    issuer = certs.public_bytes(issuers.municipality)
    for aid, ca in ((resident.AID, issuers.network_ca), (municipal.AID, issuers.municipality)):
        terminal.select_application(aid)
        certified(ca, aid).authenticate(terminal)
        card = terminal.authenticate_card(issuer, aid)
        assert (card.subject, card.aid) == ("card 0000000000001234", aid)


def test_a_card_certified_by_another_municipality_is_not_genuine(
    terminal: Terminal, issuers: Issuers
) -> None:
    terminal.select_application(resident.AID)
    certified(issuers.network_ca, resident.AID).authenticate(terminal)
    other = certs.public_bytes(Ed25519PrivateKey.generate())
    with pytest.raises(CardNotGenuine):
        terminal.authenticate_card(other, resident.AID)


def test_the_card_answers_internal_authenticate_only_to_an_authenticated_terminal(
    chip: CardChip, issuers: Issuers
) -> None:
    send(chip, "00A4040C09" + resident.AID.hex())
    challenge = "11" * 16
    assert sw(chip, f"0088000010{challenge}00") == "6982"
    send(chip, "00A4040C0A" + jpki.AID.hex())
    assert sw(chip, f"0088000010{challenge}00") == "6A81"  # JPKI has no such key


def test_internal_authenticate_commands_are_checked(terminal: Terminal, issuers: Issuers) -> None:
    terminal.select_application(resident.AID)
    certified(issuers.network_ca, resident.AID).authenticate(terminal)
    chip_sw = [
        terminal.send(cmd).sw
        for cmd in (
            command(0x00, 0x88, 0, 0, b"\x11" * 7, 256),
            command(0x00, 0x88, 0, 0, b"\x11" * 65, 256),
            command(0x00, 0x88, 0, 1, b"\x11" * 16, 256),
            command(0x00, 0x88, 0, 0, b"\x11" * 16, None),
            command(0x00, 0x88, 0, 0, b"\x11" * 16, 32),
        )
    ]
    assert chip_sw == [0x6A80, 0x6A80, 0x6A86, 0x6700, 0x6C40]


def test_leaving_the_application_drops_the_terminal(terminal: Terminal, issuers: Issuers) -> None:
    terminal.select_application(resident.AID)
    certified(issuers.network_ca, resident.AID).authenticate(terminal)
    terminal.verify(resident.PIN_FID, "5678")
    terminal.select_application(jpki.AID)
    terminal.select_application(resident.AID)
    assert refused(terminal.read_file, resident.CARD_CERT) == 0x6982


def test_jpki_needs_no_terminal_authentication(terminal: Terminal) -> None:
    terminal.select_application(jpki.AID)
    assert terminal.read_file(jpki.AUTH_CERT)[:2] == b"\x30\x82"
    terminal.verify(jpki.AUTH_PIN, "1234")
