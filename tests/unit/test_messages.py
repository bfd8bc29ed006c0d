"""Request messages are strict (issue 8, defect 7): a value of the wrong JSON type is
refused, never coerced, and a resident code is checked the same way everywhere (R6):
11 ASCII digits whose last is the check digit. Dates arrive as ISO strings (JSON has
no date type) and are read as dates, in Python mode (FastAPI) and in JSON mode alike.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from jukinet.domain.codes import generate_resident_code
from jukinet.network.messages import (
    BatchFirstRow,
    DisclosureRequest,
    LookupRequest,
    PoolRequest,
    SearchRequest,
    UpdateBatch,
    VerifyRequest,
)

CODE = generate_resident_code()
WRONG_CHECK = CODE[:10] + str((int(CODE[10]) + 1) % 10)
FULL_WIDTH = "".join(chr(ord(d) + 0xFEE0) for d in CODE)  # ０１２… : \d matches them
ROW: TypeAdapter[int] = TypeAdapter(BatchFirstRow)
VERIFY = {"affair": "a", "resident_code": CODE, "name": "山田 太郎",
          "date_of_birth": "1950-05-05", "sex": "male", "address": "東京都"}  # fmt: skip


def both_modes(model: type[BaseModel], data: dict[str, Any]) -> list[BaseModel | str]:
    """What the model makes of ``data`` parsed from JSON (as FastAPI hands it over) and
    of the JSON text: the message, or the first error's message."""
    out: list[BaseModel | str] = []
    for validate in (model.model_validate, lambda d: model.model_validate_json(json.dumps(d))):
        try:
            out.append(validate(data))
        except ValidationError as exc:
            out.append(exc.errors()[0]["msg"])
    return out


@pytest.mark.parametrize("count", [True, "3", 2.0, 3.0, "3.0", None])
def test_a_pool_request_takes_an_integer_only(count: object) -> None:
    for got in both_modes(PoolRequest, {"count": count}):
        assert isinstance(got, str), f"{count!r} was taken as {got!r}"
    assert [m.count for m in both_modes(PoolRequest, {"count": 3})] == [3, 3]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("model", "data"),
    [
        (LookupRequest, {"affair": "a", "resident_code": int(CODE)}),
        (LookupRequest, {"affair": 1, "resident_code": CODE}),
        (SearchRequest, {"affair": "a", "name": "山田", "date_of_birth": 0}),  # a timestamp
        (SearchRequest, {"affair": "a", "name": "山田", "date_of_birth": "1950-05-05T00:00"}),
        (SearchRequest, {"affair": "a", "name": "山田", "date_of_birth": "19500505"}),
        (SearchRequest, {"affair": "a", "name": 12}),
        (VerifyRequest, {**VERIFY, "date_of_birth": 1.5e9}),
        (VerifyRequest, {**VERIFY, "name": ["山田"]}),
        (DisclosureRequest, {"resident_code": CODE, "verified_by": "clerk", "clerk": 7}),
        (UpdateBatch, {"sender": 1, "updates": []}),
    ],
    ids=[
        "code-int",
        "affair-int",
        "date-timestamp",
        "date-time",
        "date-basic",
        "name-int",
        "verify-date-float",
        "name-list",
        "clerk-int",
        "sender-int",
    ],
)
def test_a_value_of_the_wrong_type_is_refused_not_coerced(
    model: type[BaseModel], data: dict[str, Any]
) -> None:
    for got in both_modes(model, data):
        assert isinstance(got, str), f"{data} was taken as {got!r}"


def test_dates_are_iso_strings_in_both_modes() -> None:
    for got in both_modes(VerifyRequest, VERIFY):
        assert isinstance(got, VerifyRequest) and got.date_of_birth == date(1950, 5, 5)
    search = {"affair": "a", "name": "山田", "date_of_birth": "1950-05-05"}
    for found in both_modes(SearchRequest, search):
        assert isinstance(found, SearchRequest) and found.date_of_birth == date(1950, 5, 5)
    # built in Python with a date, as the agency SDK does
    assert SearchRequest(affair="a", name="山田", date_of_birth=date(1950, 5, 5)).date_of_birth


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (WRONG_CHECK, "wrong check digit"),
        (FULL_WIDTH, "exactly 11 digits"),
        ("123", "exactly 11 digits"),
        (f" {CODE}", "exactly 11 digits"),
    ],
    ids=["check-digit", "full-width", "short", "space"],
)
@pytest.mark.parametrize("model", [LookupRequest, VerifyRequest, DisclosureRequest])
def test_a_resident_code_is_checked_alike_in_every_request_r6(
    model: type[BaseModel], code: str, reason: str
) -> None:
    data = {"lookup": {"affair": "a"}, "verify": VERIFY,
            "disclosure": {"verified_by": "clerk", "clerk": "w"}}  # fmt: skip
    base = data[model.__name__.removesuffix("Request").lower()]
    for got in both_modes(model, {**base, "resident_code": code}):
        assert isinstance(got, str) and reason in got
    for fine in both_modes(model, {**base, "resident_code": CODE}):
        assert isinstance(fine, BaseModel)


@pytest.mark.parametrize(
    "value", ["2.0", "+2", " 2", "01", "0", "1_000", "", "２", "1e3", "1" * 13, "9" * 5000, True]
)
def test_a_batch_first_row_is_a_row_number_in_ascii_digits_only(value: object) -> None:
    """``first_row`` travels in the batch's query string: the number of the chunk's first
    line, written plainly; anything else is refused, never read as some number."""
    with pytest.raises(ValidationError, match="first line in the file"):
        ROW.validate_python(value)


def test_a_batch_first_row_takes_plain_numbers_up_to_a_trillion_lines() -> None:
    assert [ROW.validate_python(v) for v in ("1", "20001", "9" * 12, 7)] == [
        1,
        20001,
        10**12 - 1,
        7,
    ]
    schema = ROW.json_schema()
    assert (schema["type"], schema["minimum"], schema["maximum"]) == ("integer", 1, 10**12 - 1)
