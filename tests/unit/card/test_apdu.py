"""The command APDU codec: every case of ISO/IEC 7816-4 §5.1, its boundaries, and any
byte string giving either a command or one typed error."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jukinet.card.apdu import (
    ApduError,
    Command,
    InvalidClass,
    InvalidInstruction,
    WrongLength,
    command,
    parse_command,
    parse_response,
)
from jukinet.card.sw import SW

H = bytes.fromhex


@pytest.mark.parametrize(
    ("raw", "case", "data", "le"),
    [
        ("00A40000", "1", b"", None),
        ("00B0000010", "2S", b"", 16),
        ("00B0000001", "2S", b"", 1),
        ("00B00000FF", "2S", b"", 255),
        ("00B0000000", "2S", b"", 256),
        ("00A4020C020018", "3S", H("0018"), None),
        ("002000800401020304", "3S", H("01020304"), None),
        ("00200080" + "FF" + "AB" * 255, "3S", b"\xab" * 255, None),
        ("802A008003AABBCC00", "4S", H("AABBCC"), 256),
        ("802A008001AA01", "4S", H("AA"), 1),
        ("00B000000001F4", "2E", b"", 500),
        ("00B00000000000", "2E", b"", 65536),
        ("00B00000000001", "2E", b"", 1),
        ("00D60000000001AA", "3E", H("AA"), None),
        ("00D6000000012C" + "11" * 300, "3E", b"\x11" * 300, None),
        ("00880000000003AABBCC0100", "4E", H("AABBCC"), 256),
        ("00880000000003AABBCC0000", "4E", H("AABBCC"), 65536),
    ],
)
def test_each_case_parses_to_its_data_and_le(
    raw: str, case: str, data: bytes, le: int | None
) -> None:
    cmd = parse_command(H(raw))
    assert (cmd.case, cmd.data, cmd.le) == (case, data, le)
    assert cmd.encode() == H(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "00",
        "00A4",
        "00A400",
        "00A4040C0A" + "D3" * 9,  # Lc says 10, nine bytes follow
        "00A4040C0A" + "D3" * 12,  # two too many: neither 3S nor 4S
        "00B0000000F4",  # 00 then one byte: no case
        "00D600000000",  # 00 then one more byte: neither 2E nor 3E
        "00D6000000000011",  # extended Lc 0000 is not allowed
        "00D60000000002AA",  # extended Lc 2, one byte
        "00D60000000001AA00",  # extended Lc then a one-byte Le
        "00D60000000001AA000000",  # extended Lc then a three-byte Le
    ],
)
def test_malformed_lengths_are_wrong_length(raw: str) -> None:
    with pytest.raises(WrongLength) as caught:
        parse_command(H(raw))
    assert caught.value.sw == SW.WRONG_LENGTH


def test_cla_ff_is_invalid_and_answers_6e00() -> None:
    with pytest.raises(InvalidClass) as caught:
        parse_command(H("FFA40000"))
    assert caught.value.sw == SW.CLA_NOT_SUPPORTED


@pytest.mark.parametrize("ins", ["60", "6F", "90", "9A"])
def test_ins_6x_and_9x_are_invalid_and_answer_6d00(ins: str) -> None:
    with pytest.raises(InvalidInstruction) as caught:
        parse_command(H(f"00{ins}0000"))
    assert caught.value.sw == SW.INS_NOT_SUPPORTED


def test_command_chooses_the_short_form_while_it_fits() -> None:
    assert command(0, 0xB0, 0, 0, le=256).encode() == H("00B0000000")
    assert command(0, 0xB0, 0, 0, le=257).encode() == H("00B00000000101")
    assert command(0, 0xD6, 0, 0, b"\x01" * 255).encode()[4] == 0xFF
    assert command(0, 0xD6, 0, 0, b"\x01" * 256).encode()[4:7] == H("000100")
    assert command(0, 0x88, 0, 0, b"\x01" * 256, le=65536).encode()[-2:] == H("0000")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"data": b"\x00" * 256},
        {"le": 0},
        {"le": 257},
        {"data": b"\x00" * 65536, "extended": True},
        {"le": 65537, "extended": True},
    ],
)
def test_a_command_out_of_its_form_cannot_be_made(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Command(0, 0xB0, 0, 0, **kwargs)  # type: ignore[arg-type]


def test_responses_split_into_data_and_status_word() -> None:
    assert parse_response(H("AABB9000")).data == H("AABB")
    assert parse_response(H("6A82")).sw == 0x6A82
    with pytest.raises(WrongLength):
        parse_response(H("90"))


commands = st.builds(
    command,
    st.integers(0, 0xFE),
    st.integers(0, 0xFF).filter(lambda ins: ins & 0xF0 not in (0x60, 0x90)),
    st.integers(0, 0xFF),
    st.integers(0, 0xFF),
    st.binary(max_size=600),
    st.none() | st.integers(1, 65536),
)


@given(commands)
def test_every_command_survives_encoding(cmd: Command) -> None:
    assert parse_command(cmd.encode()) == cmd


@given(st.binary(max_size=700))
def test_any_bytes_give_a_command_or_one_typed_error(raw: bytes) -> None:
    try:
        cmd = parse_command(raw)
    except ApduError as exc:
        assert exc.sw in (SW.WRONG_LENGTH, SW.CLA_NOT_SUPPORTED, SW.INS_NOT_SUPPORTED)
    else:
        assert cmd.encode() == raw
