"""The operator application (R11): public files, INTERNAL AUTHENTICATE over the node's
challenge, a key that never leaves, nothing written, and the node's checks of the answer."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from jukinet.card import certs
from jukinet.card.apps import operator, resident
from jukinet.card.content import CardContent
from jukinet.card.machine import CardChip
from jukinet.card.operator_card import (
    CardAnswer,
    answer_challenge,
    check_answer,
    issue_operator_card,
    new_challenge,
    prove,
)
from jukinet.card.reader import InProcessReader
from jukinet.errors import CardNotGenuine, CardRefused
from tests.unit.card.conftest import send, sw
from tests.unit.card.rules import leaks, secrets_of

NODE = Ed25519PrivateKey.generate()
NODE_PUBLIC = certs.public_bytes(NODE)


def select(aid: bytes) -> str:
    return f"00A4040C{len(aid):02X}{aid.hex()}"


@pytest.fixture
def issued() -> tuple[CardChip, bytes]:
    card = issue_operator_card(NODE, "131016", "clerk")
    chip = CardChip(card.content)
    chip.power_on()
    return chip, card.public_key


@pytest.fixture
def reader(issued: tuple[CardChip, bytes]) -> InProcessReader:
    r = InProcessReader(issued[0])
    r.connect()
    return r


def test_the_files_name_the_node_and_the_operator_without_any_pin(
    issued: tuple[CardChip, bytes],
) -> None:
    chip, public = issued
    assert sw(chip, select(operator.AID)) == "9000"
    assert send(chip, f"00A4020C02{operator.NODE:04X}")[-4:] == "9000"
    assert bytes.fromhex(send(chip, "00B0000000")[:-4]) == b"131016"
    send(chip, f"00A4020C02{operator.USERNAME:04X}")
    assert bytes.fromhex(send(chip, "00B0000000")[:-4]) == b"clerk"
    send(chip, f"00A4020C02{operator.CARD_CERT:04X}")
    cert = certs.parse(bytes.fromhex(send(chip, "00B0000000")[:-4]))
    assert (cert.kind, cert.aid, cert.subject) == (
        certs.Kind.CARD, operator.AID, "operator clerk@131016",
    )  # fmt: skip
    assert cert.public_key == public and cert.signed_by(NODE_PUBLIC)


def test_the_card_answers_a_fresh_challenge_and_the_node_accepts_it(
    reader: InProcessReader, issued: tuple[CardChip, bytes]
) -> None:
    challenge = new_challenge()
    answer = answer_challenge(reader, challenge)
    cert = check_answer(answer, challenge, NODE_PUBLIC, issued[1])
    assert cert.subject == "operator clerk@131016"
    assert prove(reader, NODE_PUBLIC, issued[1]).public_key == issued[1]


def test_an_answer_to_another_challenge_is_refused(
    reader: InProcessReader, issued: tuple[CardChip, bytes]
) -> None:
    """A recorded answer does not sign anyone in again: every challenge is new."""
    answer = answer_challenge(reader, new_challenge())
    with pytest.raises(CardNotGenuine, match="did not prove it holds its key"):
        check_answer(answer, new_challenge(), NODE_PUBLIC, issued[1])


@pytest.mark.parametrize("what", ["another node", "another key", "bad signature", "garbage"])
def test_the_node_refuses_an_answer_that_is_not_its_operators_card(
    reader: InProcessReader, issued: tuple[CardChip, bytes], what: str
) -> None:
    challenge = new_challenge()
    answer = answer_challenge(reader, challenge)
    node, bound = NODE_PUBLIC, issued[1]
    if what == "another node":
        node = certs.public_bytes(Ed25519PrivateKey.generate())
    elif what == "another key":
        bound = certs.public_bytes(Ed25519PrivateKey.generate())
    elif what == "bad signature":
        answer = CardAnswer(answer.certificate, bytes(64))
    else:
        answer = CardAnswer(b"not a certificate", answer.signature)
    with pytest.raises(CardNotGenuine):
        check_answer(answer, challenge, node, bound)


def test_a_resident_card_certificate_of_the_same_node_is_no_operator_card(
    reader: InProcessReader, issued: tuple[CardChip, bytes]
) -> None:
    challenge = new_challenge()
    answer = answer_challenge(reader, challenge)
    resident_cert = certs.issue(NODE, certs.Kind.CARD, resident.AID, "card 1", issued[1])
    with pytest.raises(CardNotGenuine, match="not an operator card"):
        check_answer(CardAnswer(resident_cert, answer.signature), challenge, NODE_PUBLIC, issued[1])


def test_the_key_is_never_read_and_nothing_is_ever_written(
    issued: tuple[CardChip, bytes],
) -> None:
    chip, _ = issued
    secrets = secrets_of(chip.content)
    send(chip, select(operator.AID))
    assert sw(chip, f"00A4020C02{operator.CARD_KEY:04X}") == "9000"
    assert sw(chip, "00B0000000") == "6981"  # a key is no file
    for fid in (operator.NODE, operator.USERNAME, operator.CARD_CERT):
        send(chip, f"00A4020C02{fid:04X}")
        assert sw(chip, "00D6000001FF") == "6982"
    answers = [
        send(chip, apdu)
        for apdu in (
            select(operator.AID), f"00A4020002{operator.CARD_KEY:04X}00",
            "00B0000000", "0084000010", "0088000010" + "00" * 16 + "00",
        )
    ]  # fmt: skip
    assert not any(leaks(bytes.fromhex(a), secrets) for a in answers)


def test_no_terminal_authenticates_to_it_and_nothing_else_is_on_the_card(
    issued: tuple[CardChip, bytes],
) -> None:
    chip, _ = issued
    send(chip, select(operator.AID))
    send(chip, "0084000010")
    assert sw(chip, "008200000100") == "6A81"  # EXTERNAL AUTHENTICATE: no terminal anchor
    assert sw(chip, select(resident.AID)) == "6A82"
    send(chip, "00A4000C023F00")  # back to the MF: no application, no key
    assert sw(chip, "0088000010" + "00" * 16 + "00") == "6A81"


def test_a_card_without_the_application_is_refused_by_the_terminal() -> None:
    reader = InProcessReader(CardChip(CardContent([])))
    reader.connect()
    with pytest.raises(CardRefused, match="no such application"):
        answer_challenge(reader, new_challenge())
