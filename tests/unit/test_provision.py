"""The provision policy (``jukinet.domain.provision``) without a database: which fields
an affair's answer holds, who serves whom, how search candidates rank, how a verify
compares, and how a batch file's lines parse (R2, R5, R23, R24)."""

from __future__ import annotations

import json
import random
import sys
from datetime import date

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from jukinet.domain import provision as policy
from jukinet.domain.codes import ResidentCode, generate_resident_code
from jukinet.domain.identity import IdentityInfo, Sex
from jukinet.domain.legal import Function
from jukinet.domain.legal_parse import load_shipped_legal_table, parse_legal_table
from jukinet.domain.names import fold
from jukinet.errors import InvalidInput, JukinetError, ProvisionRefused

TABLE = load_shipped_legal_table()
MARUNOUCHI = "東京都千代田区丸の内一丁目1番1号"


def held(
    name: str = "山田 太郎",
    *,
    born: date = date(1950, 5, 5),
    sex: Sex = Sex.MALE,
    address: str = MARUNOUCHI,
    status: str = "resident",
    code: str = "",
) -> policy.HeldIdentity:
    info = IdentityInfo(
        resident_code=ResidentCode(code or generate_resident_code()), name=name,
        date_of_birth=born, sex=sex, address=address, change_reason="birth",
        change_date=date(1950, 5, 5),
    )  # fmt: skip
    return policy.HeldIdentity(
        identity=info, status=status, person_key="k-" + info.resident_code,
        name_folded=fold(name), address_folded=fold(address),
    )  # fmt: skip


# --- fields per affair (R5) -------------------------------------------------------------


def test_an_answer_holds_the_affairs_fields_in_a_fixed_order() -> None:
    _, onkyu = TABLE.authorize("onkyu", "onkyu-entitlement", Function.LOOKUP)
    assert policy.provided_fields(onkyu) == (
        "resident_code", "name", "date_of_birth", "sex", "address", "status",
        "change_reason", "change_date",
    )  # fmt: skip
    _, housing = TABLE.authorize("tokyo-pref", "tokyo-public-housing", Function.LOOKUP)
    assert policy.provided_fields(housing) == (
        "resident_code", "name", "address", "status", "change_reason", "change_date",
    )  # fmt: skip


def test_a_sector_pseudonym_replaces_the_resident_code_first_in_the_answer_r4() -> None:
    _, pension = TABLE.authorize("pension-fund", "national-pension-status", Function.BATCH)
    fields = policy.provided_fields(pension)
    assert fields[0] == "pseudonym" and "resident_code" not in fields
    person = held()
    values = policy.values(person, fields, pseudonym="P" * 20)
    assert values["pseudonym"] == "P" * 20 and person.identity.resident_code not in values.values()


def test_values_are_text_dates_in_iso_form() -> None:
    person = held(sex=Sex.FEMALE, status="removed")
    fields = ("resident_code", "date_of_birth", "sex", "status", "change_date")
    assert policy.values(person, fields, pseudonym=None) == {
        "resident_code": person.identity.resident_code, "date_of_birth": "1950-05-05",
        "sex": "female", "status": "removed", "change_date": "1950-05-05",
    }  # fmt: skip


def test_the_provision_log_names_the_fields_given_and_none_for_verify_r23() -> None:
    assert policy.logged_fields(Function.LOOKUP, ("name", "status")) == "name,status"
    assert policy.logged_fields(Function.BATCH, ("status",)) == "status"
    assert policy.logged_fields(Function.VERIFY, ("name", "address")) == ""


# --- who serves whom (R2) ---------------------------------------------------------------


def test_a_node_refuses_a_recipient_it_does_not_serve_naming_the_one_that_does() -> None:
    chiyoda = TABLE.recipient_for_agency("chiyoda-city")
    policy.check_served(chiyoda, "prefecture", "130001")
    for kind, code in [("national", "national"), ("prefecture", "270008")]:
        with pytest.raises(ProvisionRefused, match=r"千代田区長 .*prefecture:130001"):
            policy.check_served(chiyoda, kind, code)
    mofa = TABLE.recipient_for_agency("mofa-passport")
    policy.check_served(mofa, "national", "national")
    with pytest.raises(ProvisionRefused, match="national:national"):
        policy.check_served(mofa, "prefecture", "130001")


# --- search by the 4 items --------------------------------------------------------------


def test_search_needs_a_name_once_folded() -> None:
    assert policy.search_key("髙橋　一郎") == "高橋一郎"
    with pytest.raises(InvalidInput, match="empty"):
        policy.search_key(" 　")


def test_candidates_rank_by_items_matched_then_residents_then_code() -> None:
    born, other_day = date(1970, 1, 1), date(1980, 1, 1)
    best = held("高崎 吉男", born=born, code="00000000019")
    removed = held("高崎 吉男", born=born, status="removed", code="00000000027")
    no_address = held("高崎 吉男", born=born, address="大阪府", code="00000000035")
    older = held("高崎 吉男", born=other_day, sex=Sex.FEMALE, address="大阪府")
    people = [older, no_address, removed, best]
    ranked = policy.rank(people, date_of_birth=born, sex="male", address="千代田区", limit=10)
    assert [p for _, p in ranked] == [best, removed, no_address, older]
    assert [s for s, _ in ranked] == [1.0, 1.0, 0.75, 0.25]
    assert len(policy.rank(people, date_of_birth=None, sex=None, address=None, limit=2)) == 2
    # an address matches as a prefix or a part, after folding
    assert policy.score(best, date_of_birth=None, sex=None, address=fold("東京都")) == 0.5


def test_a_search_returns_no_more_than_the_affair_and_the_network_allow() -> None:
    _, affair = TABLE.authorize("tokyo-pref", "tokyo-child-rearing-allowance", Function.SEARCH)
    assert policy.candidate_limit(affair, 20) == 5
    assert policy.candidate_limit(affair, 3) == 3


# --- verify: match or not, per item (R23) -----------------------------------------------


def test_verify_compares_each_item_after_folding() -> None:
    person = held("髙橋 一郎", address="東京都千代田区丸の内一丁目１番１号")
    items = {"name": "高橋一郎", "date_of_birth": date(1950, 5, 5), "sex": "male",
             "address": MARUNOUCHI}  # fmt: skip
    assert policy.verify_matches(person, **items) == dict.fromkeys(policy.VERIFY_ITEMS, True)
    assert policy.verify_matches(person, **{**items, "sex": "female", "name": "高橋 二郎"}) == {
        "name": False, "date_of_birth": True, "sex": False, "address": True,
    }  # fmt: skip


# --- batch lines (R24) ------------------------------------------------------------------


def test_batch_lines_parse_csv_json_and_report_each_bad_row() -> None:
    a, b = generate_resident_code(), generate_resident_code()
    lines = ["\ufeffresident_code\n", f"{a}\n", "\n", json.dumps({"resident_code": b}),
             "abc", '{"resident_code": 1}', "{nope", f"{a},x", f'"{b}"']  # fmt: skip
    items = list(policy.parse_batch(lines))
    assert [(row, code) for row, code, _ in items] == [
        (2, a),
        (4, b),
        (5, None),
        (6, None),
        (7, None),
        (8, None),
        (9, b),
    ]
    errors = {row: error for row, _, error in items if error}
    assert "11 digits" in errors[5] and "object" in errors[6] and "JSON" in errors[7]
    assert "one column" in errors[8]
    assert all(e.startswith(f"row {row}:") for row, e in errors.items())


def test_a_later_chunk_numbers_its_rows_on_and_has_no_header() -> None:
    code = generate_resident_code()
    items = list(policy.parse_batch(["resident_code", code], first_row=20_001))
    assert items[0][0] == 20_001 and items[0][1] is None  # not a header in a later chunk
    assert items[1] == (20_002, code, None)


# --- hostile batch lines (R24): each one a short per-row error, never an exception ------

SHORT = 200  # an error row is one short sentence, whatever the line held


def _refusal(line: bytes | str) -> str:
    with pytest.raises(InvalidInput) as caught:
        policy.parse_batch_line(line)
    return caught.value.message


def test_a_line_longer_than_the_limit_is_one_short_error_without_its_content() -> None:
    """R24: a 200,000-digit CSV cell and a 10 MB JSON code are refused by their length."""
    for line in (b"1" * 200_000, json.dumps({"resident_code": "7" * 10_000_000}).encode()):
        message = _refusal(line)
        assert f"{policy.MAX_BATCH_LINE:,} bytes" in message
        assert len(message) < SHORT and "1111" not in message and "7777" not in message


def test_a_line_at_the_limit_is_still_parsed() -> None:
    code = generate_resident_code()
    padded = code.encode() + b" " * (policy.MAX_BATCH_LINE - 11)
    assert len(padded) == policy.MAX_BATCH_LINE and policy.parse_batch_line(padded) == code
    assert "bytes" in _refusal(padded + b" ")


def test_binary_and_badly_encoded_lines_are_refused_by_what_they_are() -> None:
    """R24: a NUL byte (a binary file) and bytes that are not UTF-8 name their reason."""
    assert "binary" in _refusal(b"12345\x00678901")
    assert "UTF-8" in _refusal(b"\xff\xfe1234567890")
    assert "UTF-8" in _refusal("\ud800 12345678901")  # a lone surrogate in a str


def test_a_wrong_value_is_shown_by_its_first_characters_only() -> None:
    message = _refusal("x" * 1000)
    assert "11 digits" in message and "x" * 20 not in message and len(message) < SHORT
    json_message = _refusal(json.dumps({"resident_code": "y" * 900}))
    assert "y" * 20 not in json_message and len(json_message) < SHORT


def test_a_stray_quote_or_carriage_return_is_a_row_error_not_a_csv_exception() -> None:
    """The standard csv reader raises on some lines; every such line is one row error."""
    for line in ('"12345678901" junk "', "1234\r5678901", "a,b\rc"):
        assert len(_refusal(line)) < SHORT


def test_crlf_and_a_bom_are_no_part_of_the_code() -> None:
    code = generate_resident_code()
    assert policy.parse_batch_line(b"\xef\xbb\xbf" + code.encode() + b"\r\n") == code
    items = list(policy.parse_batch([b"\xef\xbb\xbfresident_code\r\n", code.encode() + b"\r\n"]))
    assert items == [(2, code, None)]


def test_a_batch_goes_on_after_every_hostile_line() -> None:
    """R24: the rows after a bad line are parsed as usual, each bad row numbered."""
    code = generate_resident_code()
    lines = [code.encode(), b"9" * 200_000, code.encode(), b"\x00\x01\x02", code.encode(),
             b"\xc3\x28", code.encode(), b"[" * 1000, code.encode()]  # fmt: skip
    items = list(policy.parse_batch(lines))
    assert [(row, c) for row, c, _ in items] == [
        (1, code), (2, None), (3, code), (4, None), (5, code), (6, None), (7, code),
        (8, None), (9, code),
    ]  # fmt: skip
    for row, _, error in items[1::2]:
        assert error is not None and error.startswith(f"row {row}: ") and len(error) < SHORT


def test_deep_json_within_the_limit_is_a_row_error_even_on_a_deep_stack() -> None:
    """A JSON line nested 500 deep fits in 1,024 bytes; json may hit the recursion limit."""
    line = '{"resident_code": ' + "[" * 500 + "]" * 500 + "}"
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(400)
    try:
        (item,) = policy.parse_batch([line])
    finally:
        sys.setrecursionlimit(limit)
    assert item[1] is None and item[2] is not None and len(item[2]) < SHORT


@given(st.binary(max_size=3000))
@example(b"1" * 131_073)
@example(b'{"resident_code": ' + b"[" * 600 + b"]" * 600 + b"}")
@example(b"\x00")
@example(b'"')
@example(b"\r")
def test_any_bytes_parse_to_a_code_or_one_short_invalid_input(line: bytes) -> None:
    """Property (R24): no line of any bytes makes the parser raise anything else."""
    try:
        code = policy.parse_batch_line(line)
    except InvalidInput as exc:
        assert len(exc.message) < SHORT
    else:
        assert len(code) == 11 and code.isascii() and code.isdigit()


@given(st.lists(st.one_of(st.binary(max_size=1500), st.text(max_size=1500)), max_size=8))
def test_any_lines_parse_to_one_item_each_and_never_raise(lines: list[bytes | str]) -> None:
    """Property (R24): parse_batch yields (row, code, error) items with short errors only."""
    items = list(policy.parse_batch(lines, first_row=7))
    rows = [row for row, _, _ in items]
    assert rows == sorted(set(rows)) and all(7 <= row < 7 + len(lines) for row in rows)
    for row, code, error in items:
        assert (code is None) != (error is None)
        assert error is None or (error.startswith(f"row {row}: ") and len(error) < SHORT)


def test_a_table_without_prefectures_serves_nothing_at_a_prefecture() -> None:
    only_national = parse_legal_table(
        'version = "t"\n[[recipients]]\ncode = "a"\nname = "A"\nlevel = "national"\n'
        'kind = "government"\nagency = "a"\nserved_by = "national"\n'
        '[[recipients.affairs]]\ncode = "x"\ndescription = "d"\nbasis = "b"\n'
        'functions = ["lookup"]\nfields = ["status"]\n'
    )
    (a,) = only_national.recipients
    with pytest.raises(ProvisionRefused):
        policy.check_served(a, "prefecture", "130001")


def test_the_plain_code_path_parses_as_the_full_parser_does() -> None:
    """R24: a line of 11 digits takes a short path; it must say what the full parser
    says, for good and wrong check digits, line breaks and lengths."""
    rng = random.Random(11)
    for _ in range(3000):
        body = f"{rng.randrange(10**10):010d}"
        line = f"{body}{rng.randrange(10)}{rng.choice(['', chr(10), chr(13) + chr(10)])}"
        for raw in (line.encode(), line, b" " + line.encode()):
            ((_, fast, fast_error),) = policy.parse_batch([raw], first_row=2)
            try:
                slow, slow_error = policy.parse_batch_line(raw), None
            except JukinetError as exc:
                slow, slow_error = None, f"row 2: {exc.message}"
            assert (fast, fast_error) == (slow, slow_error)
