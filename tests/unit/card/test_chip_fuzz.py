"""Any sequence of APDUs: the card answers every one with a status word, never raises,
and changes nothing its rules do not allow (tests/unit/card/rules.py restates them)."""

from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from jukinet.card import certs
from jukinet.card.apps import jpki, municipal, resident
from jukinet.card.content import ALL_RIGHTS, CardContent
from jukinet.card.machine import CardChip
from tests.unit.card.conftest import PINS, Issuers
from tests.unit.card.rules import check, leaks, secrets_of, snapshot
from tests.unit.card.terminals import TerminalKey, certified

AIDS = [jpki.AID, resident.AID, municipal.AID, bytes.fromhex("A000000003000000"), b"\xd3\x92"]
FIDS = [0x0001, 0x0002, 0x0003, 0x0006, 0x0008, 0x000A, 0x000B, 0x0010, 0x0011, 0x0012]
FIDS += [0x0017, 0x0018, 0x001A, 0x001B, 0x3F00, 0x1234]
RIGHT_PINS = {jpki.AUTH_PIN: PINS.jpki_auth, jpki.SIGN_PIN: PINS.jpki_sign, 0x0011: PINS.resident}
PIN_GUESSES = [PINS.jpki_auth, PINS.jpki_sign, PINS.resident, "2468", "0000", "WRONG1", "12"]

byte = st.integers(0, 255)
bodies = st.one_of(
    st.just(b""),
    st.sampled_from(AIDS),
    st.sampled_from(FIDS).map(lambda f: f.to_bytes(2, "big")),
    st.sampled_from(PIN_GUESSES).map(str.encode),
    st.binary(max_size=300),
)
commands = st.builds(
    lambda cla, ins, p1, p2, data, le: _encode(cla, ins, p1, p2, data, le),
    st.sampled_from([0x00, 0x00, 0x00, 0x80]) | byte,
    st.sampled_from([0xA4, 0xB0, 0xD6, 0x20, 0x24, 0x2C, 0x84, 0x82, 0x88, 0x2A]) | byte,
    st.sampled_from([0x00, 0x01, 0x02, 0x03, 0x04]) | byte,
    st.sampled_from([0x00, 0x0C, 0x80]) | byte,
    bodies,
    st.none() | st.sampled_from([1, 4, 32, 256]) | st.integers(1, 65536),
)


def _encode(cla: int, ins: int, p1: int, p2: int, data: bytes, le: int | None) -> bytes:
    """The command as a terminal would send it (any class and instruction, even invalid)."""
    head = bytes((cla, ins, p1, p2))
    extended = len(data) > 255 or (le is not None and le > 256)
    if extended:
        body = (b"\x00" + len(data).to_bytes(2, "big") + data) if data else b""
        if le is not None:
            body += (b"" if data else b"\x00") + (le % 65536).to_bytes(2, "big")
        return head + body
    return (
        head + (bytes((len(data),)) + data if data else b"") + (bytes((le % 256,)) if le else b"")
    )


class CardRules(RuleBasedStateMachine):
    issued: CardContent
    issuers: Issuers
    secrets: list[bytes]

    def __init__(self) -> None:
        super().__init__()
        self.content = copy.deepcopy(self.issued)
        self.chip = CardChip(self.content)
        self.chip.power_on()
        self.terminals: list[TerminalKey] = [
            certified(self.issuers.network_ca, resident.AID, ALL_RIGHTS),
            certified(self.issuers.municipality, municipal.AID, ALL_RIGHTS),
            certified(self.issuers.municipality, jpki.AID, ALL_RIGHTS),
            certified(self.issuers.network_ca, municipal.AID, ALL_RIGHTS),  # the wrong anchor
        ]

    def send(self, raw: bytes) -> bytes:
        before = snapshot(self.chip)
        out = self.chip.process(raw)
        check(self.content, before, snapshot(self.chip), raw, out)
        assert not leaks(out, self.secrets)
        return out

    @rule(raw=commands)
    def a_command(self, raw: bytes) -> None:
        self.send(raw)

    @rule(raw=st.binary(max_size=40))
    def any_bytes(self, raw: bytes) -> None:
        self.send(raw)

    @rule(aid=st.sampled_from(AIDS[:3]))
    def select_application(self, aid: bytes) -> None:
        assert self.send(bytes.fromhex(f"00A4040C{len(aid):02X}") + aid) == b"\x90\x00"

    @rule(fid=st.sampled_from(FIDS), pin=st.sampled_from(PIN_GUESSES))
    def verify(self, fid: int, pin: str) -> None:
        self.send(bytes.fromhex(f"00A4020C02{fid:04X}"))
        self.send(bytes.fromhex(f"00200080{len(pin):02X}") + pin.encode())

    @rule(aid=st.sampled_from(AIDS[:3]))
    def open_an_application(self, aid: bytes) -> None:
        """Select it, authenticate its terminal, and verify each of its PINs rightly."""
        self.select_application(aid)
        self.authenticate_terminal(None)
        app = self.content.application(aid)
        assert app is not None
        for fid in sorted(app.pins):
            pin = RIGHT_PINS[fid] if aid != municipal.AID else "2468"
            self.send(bytes.fromhex(f"00A4020C02{fid:04X}"))
            self.send(bytes.fromhex(f"00200080{len(pin):02X}") + pin.encode())

    @precondition(lambda self: self.chip.session.app is not None)
    @rule(data=st.data())
    def verify_the_right_pin(self, data: st.DataObject) -> None:
        app = self.chip.session.app
        assert app is not None
        fid = data.draw(st.sampled_from(sorted(app.pins)))
        pin = RIGHT_PINS[fid] if app.aid != municipal.AID else "2468"
        self.send(bytes.fromhex(f"00A4020C02{fid:04X}"))
        self.send(bytes.fromhex(f"00200080{len(pin):02X}") + pin.encode())

    @precondition(lambda self: self.chip.session.app is not None)
    @rule(data=st.data(), offset=st.sampled_from([0, 4, 255, 256, 900]))
    def read_a_file_of_the_application(self, data: st.DataObject, offset: int) -> None:
        app = self.chip.session.app
        assert app is not None
        fid = data.draw(st.sampled_from(sorted(app.files)))
        self.send(bytes.fromhex(f"00A4020C02{fid:04X}"))
        self.send(bytes.fromhex(f"00B0{offset:04X}00"))

    @precondition(lambda self: self.chip.session.app is not None)
    @rule(data=st.data(), message=st.binary(min_size=1, max_size=64))
    def use_a_key_of_the_application(self, data: st.DataObject, message: bytes) -> None:
        app = self.chip.session.app
        assert app is not None and app.keys
        fid = data.draw(st.sampled_from(sorted(app.keys)))
        self.send(bytes.fromhex(f"00A4020C02{fid:04X}"))
        self.send(bytes.fromhex(f"802A0080{len(message):02X}") + message + b"\x00")
        self.send(bytes.fromhex(f"00880000{len(message):02X}") + message + b"\x00")

    @precondition(lambda self: self.chip.session.app is not None)
    @rule(which=st.sampled_from([None, None, None, 0, 1, 2, 3]))
    def authenticate_terminal(self, which: int | None) -> None:
        aid = self.chip.session.app.aid  # type: ignore[union-attr]
        if which is None:  # the terminal that belongs to this application
            which = [t.aid for t in self.terminals].index(aid)
        terminal = self.terminals[which]
        challenge = self.send(bytes.fromhex("0084000010"))[:-2]
        message = certs.external_message(aid, challenge)
        data = certs.encode_external_authenticate(terminal.chain, terminal.key.sign(message))
        out = self.send(bytes.fromhex(f"00820000{len(data):02X}") + data)
        if terminal.aid != aid or which == 3:
            assert out == bytes.fromhex("6300")

    @rule()
    def power_cycle(self) -> None:
        self.chip.power_off()
        self.chip.power_on()
        assert (self.chip.session.app, self.chip.session.verified) == (None, set())

    @rule()
    def warm_reset(self) -> None:
        assert self.chip.reset() == self.chip.atr
        assert (self.chip.session.app, self.chip.session.rights) == (None, 0)

    @invariant()
    def security_state_belongs_to_the_selected_application(self) -> None:
        session = self.chip.session
        if session.app is None:
            assert (session.ef, session.verified, session.rights) == (None, set(), 0)
        else:
            assert session.verified <= set(session.app.pins)
            for fid in session.verified:
                assert session.app.pins[fid].tries_left > 0  # a blocked PIN is never open


@pytest.fixture
def card_rules(issued: CardContent, issuers: Issuers) -> type[CardRules]:
    CardRules.issued = issued
    CardRules.issuers = issuers
    CardRules.secrets = secrets_of(issued)
    return CardRules


def test_any_sequence_of_commands_follows_the_rules(card_rules: type[CardRules]) -> None:
    machine = card_rules.TestCase
    machine.settings = settings(
        max_examples=150,
        stateful_step_count=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    machine().runTest()


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(prefix=st.sampled_from(AIDS[:3]), raw=st.binary(max_size=600))
def test_any_bytes_in_any_application_get_a_status_word(
    chip: CardChip, content: CardContent, prefix: bytes, raw: bytes
) -> None:
    chip.process(bytes.fromhex(f"00A4040C{len(prefix):02X}") + prefix)
    before = snapshot(chip)
    out = chip.process(raw)
    check(content, before, snapshot(chip), raw, out)
    assert out[-2] in (0x90, 0x62, 0x63, 0x65, 0x67, 0x68, 0x69, 0x6A, 0x6B, 0x6C, 0x6D, 0x6E)
