"""Checking the rows of a bulk load of identities (``bulkload``) and turning them into
the columns the identity tables hold (R1: the four items, status and change only).

A load runs at 100,000 rows a second or more, so the checks here are the domain's
(``jukinet.domain.codes``, the limits of ``IdentityUpdate``) made cheap per row: the
resident code's check digit from two tables of partial sums, and the values that
repeat across a file (dates, municipality codes, folded addresses) checked or
folded once and remembered.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from datetime import date, datetime
from functools import cache

from jukinet.domain.codes import parse_local_government_code
from jukinet.domain.names import fold
from jukinet.errors import InvalidLocalGovernmentCode, LoadRefused

REQUIRED = ("resident_code", "name", "date_of_birth", "sex", "address", "status",
            "change_reason", "change_date", "origin")  # fmt: skip
OPTIONAL = ("recorded_at",)
SEXES = frozenset({"male", "female"})
STATUSES = frozenset({"resident", "removed"})
LIMITS = {"name": 100, "address": 300, "change_reason": 32}  # as IdentityUpdate's
_FOLDED_KEPT = 200_000  # folded names and addresses remembered
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@cache
def _partial_sums() -> tuple[list[int], list[int]]:
    """The weighted digit sums (mod 11) of the first and last five digits of a code's
    body, for every five digits: the check digit is then two lookups, where the
    domain's ``resident_code_check_digit`` (the reference, which a test compares this
    with for many codes) costs a loop of ten multiplications a row."""
    hi_w, lo_w = (5, 4, 3, 2, 7), (6, 5, 4, 3, 2)  # the weights, left to right

    def table(weights: tuple[int, ...]) -> list[int]:
        return [
            sum(int(d) * w for d, w in zip(f"{n:05d}", weights, strict=True)) % 11
            for n in range(100_000)
        ]

    return table(hi_w), table(lo_w)


def check_digit_ok(code: str) -> bool:
    """Whether ``code`` is 11 ASCII digits with the right modulus-11 check digit."""
    if len(code) != 11 or not code.isascii() or not code.isdigit():
        return False
    hi, lo = _partial_sums()
    remainder = (hi[int(code[:5])] + lo[int(code[5:10])]) % 11
    return ord(code[10]) - 48 == (0 if remainder <= 1 else 11 - remainder)


class Rows:
    """Checks each row of one file and gives the identity and history columns."""

    def __init__(self, header: Sequence[str], at: str, today: date) -> None:
        names = [h.strip() for h in header]
        missing = [c for c in REQUIRED if c not in names]
        unknown = [c for c in names if c not in REQUIRED and c not in OPTIONAL]
        if missing or unknown or len(set(names)) != len(names):
            raise LoadRefused(
                f"Row 1 (the header) must name the columns {', '.join(REQUIRED)} "
                f"(and optionally {', '.join(OPTIONAL)}), each once; "
                + (f"missing: {', '.join(missing)}" if missing else f"got: {', '.join(names)}")
                + "."
            )
        self.width = len(names)
        self._at = at
        self._today = today
        self._index = [names.index(c) for c in REQUIRED]
        self._recorded = names.index("recorded_at") if "recorded_at" in names else None
        self._dates: dict[str, bool] = {}
        self._origins: dict[str, bool] = {}
        self._folded: dict[str, str] = {}
        self.residents = 0
        self.removed = 0
        self.origins: set[str] = set()

    def person_keys(self, n: int) -> list[str]:
        """``n`` fresh random person keys (32 hex digits, as ``applying.write`` makes)."""
        raw = os.urandom(16 * n).hex()
        return [raw[i : i + 32] for i in range(0, 32 * n, 32)]

    def check(self, number: int, row: Sequence[str]) -> tuple[str, ...]:
        """(code, name, born, sex, address, status, reason, changed, origin, recorded,
        name folded, address folded) of a good row; ``LoadRefused`` naming row ``number``."""
        if len(row) != self.width:
            raise LoadRefused(f"Row {number} has {len(row)} columns, not {self.width}.")
        i = self._index
        code, name, born, sex, address = row[i[0]], row[i[1]], row[i[2]], row[i[3]], row[i[4]]
        status, reason, changed, origin = row[i[5]], row[i[6]], row[i[7]], row[i[8]]
        if not check_digit_ok(code):
            raise LoadRefused(
                f"Row {number}: {code!r} is not a resident code (11 digits, the last a "
                "modulus-11 check digit)."
            )
        if (
            not 0 < len(name) <= LIMITS["name"] or not 0 < len(address) <= LIMITS["address"]
            or not 0 < len(reason) <= LIMITS["change_reason"]
            or _CONTROL.search(name + address + reason) or not name.strip()
            or not address.strip() or not reason.strip()
        ):  # fmt: skip
            self._text_refused(number, name, address, reason)
        if sex not in SEXES:
            raise LoadRefused(f"Row {number}: the sex is {sex!r}, not male or female.")
        if status not in STATUSES:
            raise LoadRefused(f"Row {number}: the status is {status!r}, not resident or removed.")
        dates = self._dates
        if not (dates.get(born) or self._date_ok(born)):
            raise LoadRefused(self._bad_date(number, "date_of_birth", born))
        if not (dates.get(changed) or self._date_ok(changed)):
            raise LoadRefused(self._bad_date(number, "change_date", changed))
        if not (self._origins.get(origin) or self._origin_ok(origin)):
            raise LoadRefused(
                f"Row {number}: the origin {origin!r} is not a local government code."
            )
        recorded = self._at
        if self._recorded is not None and row[self._recorded]:
            recorded = row[self._recorded]
            try:
                datetime.fromisoformat(recorded)
            except ValueError:
                raise LoadRefused(
                    f"Row {number}: recorded_at {recorded!r} is not an ISO 8601 time."
                ) from None
        if status == "resident":
            self.residents += 1
        else:
            self.removed += 1
        return (code, name, born, sex, address, status, reason, changed, origin, recorded,
                self._fold(name), self._fold(address))  # fmt: skip

    def _fold(self, value: str) -> str:
        """``fold(value)``, remembered: names and addresses repeat across a file."""
        folded = self._folded.get(value)
        if folded is None:
            if len(self._folded) >= _FOLDED_KEPT:
                self._folded.clear()  # memory flat in the file's size
            folded = self._folded[value] = fold(value)
        return folded

    @staticmethod
    def _text_refused(number: int, name: str, address: str, reason: str) -> None:
        for what, value in (("name", name), ("address", address), ("change_reason", reason)):
            if not value.strip() or len(value) > LIMITS[what]:
                raise LoadRefused(
                    f"Row {number}: the {what} must be 1 to {LIMITS[what]} characters."
                )
            if _CONTROL.search(value):
                raise LoadRefused(f"Row {number}: the {what} holds a control character.")

    @staticmethod
    def _bad_date(number: int, what: str, value: str) -> str:
        return f"Row {number}: the {what} {value!r} is not a date (YYYY-MM-DD) up to today."

    def _date_ok(self, value: str) -> bool:
        ok = self._dates.get(value)
        if ok is None:
            try:
                ok = len(value) == 10 and date.fromisoformat(value) <= self._today
            except ValueError:
                ok = False
            self._dates[value] = ok
        return ok

    def _origin_ok(self, value: str) -> bool:
        ok = self._origins.get(value)
        if ok is None:
            try:
                ok = parse_local_government_code(value) == value
            except InvalidLocalGovernmentCode:
                ok = False
            self._origins[value] = ok
            if ok:
                self.origins.add(value)
        return ok
