"""How long a JPKI certificate is valid, and who may hold a signing certificate (R15).

The rule as the law sets it (docs/jpki.md, "Validity"): both the signing and the
user-authentication certificate are valid from their issuance until the holder's
fifth birthday after the day of issuance (公的個人認証法 第5条 and 施行規則, as
J-LIS and the municipalities state it), to the end of that day, Japan time. A
signing certificate is not issued to a person under 15.

A person born on 29 February has a birthday on 28 February in a common year: a
period counted in years from 29 February ends with 28 February when the year has
no 29th (民法 第143条第2項, applied to ages by 年齢計算ニ関スル法律). The same rule
makes them a year older only once 28 February is over, on 1 March.

Standard library only: these are rules, not cryptography.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta, timezone

from jukinet.errors import InvalidDate

__all__ = [
    "BIRTHDAYS",
    "JST",
    "SIGNING_MIN_AGE",
    "age_on",
    "birthday_in",
    "day_in_japan",
    "expiry_day",
    "may_hold_signing_certificate",
    "valid_until",
]

JST = timezone(timedelta(hours=9), "JST")
BIRTHDAYS = 5  # valid until the fifth birthday after the day of issuance
SIGNING_MIN_AGE = 15  # no signing certificate to a person under 15


def birthday_in(born: date, year: int) -> date:
    """The holder's birthday in ``year``: 28 February in a common year for 29 February."""
    if born.month == 2 and born.day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return born.replace(year=year)


def expiry_day(born: date, issued_on: date) -> date:
    """The holder's fifth birthday after ``issued_on`` (the issuance day itself not counted)."""
    if born > issued_on:
        raise InvalidDate(
            f"A date of birth of {born.isoformat()} is after the day of issuance "
            f"{issued_on.isoformat()}."
        )
    year = issued_on.year
    if birthday_in(born, year) <= issued_on:
        year += 1
    return birthday_in(born, year + BIRTHDAYS - 1)


def valid_until(born: date, issued_at: datetime) -> datetime:
    """The last moment of validity: the end of the fifth birthday after issuance, in JST."""
    issued_on = issued_at.astimezone(JST).date()
    last_day = expiry_day(born, issued_on)
    # X.509 times have whole seconds: the certificate is valid through 23:59:59 JST.
    return datetime.combine(last_day, time(23, 59, 59), JST)


def age_on(born: date, day: date) -> int:
    """The age in whole years on ``day``.

    One year older on the birthday (the period of a year ends at the end of the day
    before); for 29 February, on 1 March of a common year, as the module says.
    """
    if born > day:
        raise InvalidDate(f"A date of birth of {born.isoformat()} is after {day.isoformat()}.")
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def may_hold_signing_certificate(born: date, day: date) -> bool:
    """Whether a signing certificate may be issued on ``day`` (15 or older)."""
    return age_on(born, day) >= SIGNING_MIN_AGE


def day_in_japan(moment: datetime) -> str:
    """The date of ``moment`` as Japan counts days, for sentences: ``2026-11-30``."""
    return moment.astimezone(JST).date().isoformat()
