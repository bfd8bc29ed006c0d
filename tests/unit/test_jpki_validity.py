"""How long a JPKI certificate is valid and who may hold a signing certificate (R15):
the fifth birthday after issuance, 29 February, the age of 15 (docs/jpki.md, "Validity")."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from jukinet.errors import InvalidDate
from jukinet.jpki.validity import (
    JST,
    age_on,
    birthday_in,
    expiry_day,
    may_hold_signing_certificate,
    valid_until,
)


@pytest.mark.parametrize(
    ("born", "issued_on", "expires"),
    [
        # Birthdays after 2026-03-01: 2026, 2027, 2028, 2029, 2030.
        (date(1980, 5, 5), date(2026, 3, 1), date(2030, 5, 5)),
        # Issued on the birthday itself: that birthday is not "after" the issuance.
        (date(1980, 5, 5), date(2026, 5, 5), date(2031, 5, 5)),
        # The day after the birthday: the first birthday after is next year's.
        (date(1980, 5, 5), date(2026, 5, 6), date(2031, 5, 5)),
        # 29 February: 28 February in common years (2027, 2029, 2030, 2031).
        (date(2000, 2, 29), date(2026, 3, 1), date(2031, 2, 28)),
        # Issued on 28 February of a common year: the birthday that day does not count,
        # and the fifth after falls in a leap year.
        (date(2000, 2, 29), date(2027, 2, 28), date(2032, 2, 29)),
        (date(2000, 2, 29), date(2027, 2, 27), date(2031, 2, 28)),
        # A baby certified in the year of birth.
        (date(2026, 1, 10), date(2026, 1, 10), date(2031, 1, 10)),
    ],
)
def test_a_certificate_runs_to_the_fifth_birthday_after_issuance(
    born: date, issued_on: date, expires: date
) -> None:
    assert expiry_day(born, issued_on) == expires


def test_validity_ends_at_the_end_of_that_day_in_japan_time() -> None:
    until = valid_until(date(1980, 5, 5), datetime(2026, 3, 1, 3, 0, tzinfo=UTC))
    assert until == datetime(2030, 5, 5, 23, 59, 59, tzinfo=JST)
    assert until.astimezone(UTC) == datetime(2030, 5, 5, 14, 59, 59, tzinfo=UTC)


def test_the_day_of_issuance_is_the_day_in_japan() -> None:
    """16:00 UTC on 4 May is 01:00 on 5 May in Japan: issued on the birthday itself."""
    until = valid_until(date(1980, 5, 5), datetime(2026, 5, 4, 16, 0, tzinfo=UTC))
    assert until.date() == date(2031, 5, 5)
    earlier = valid_until(date(1980, 5, 5), datetime(2026, 5, 4, 14, 0, tzinfo=UTC))
    assert earlier.date() == date(2030, 5, 5)


def test_a_29_february_birthday_is_28_february_in_a_common_year() -> None:
    born = date(2012, 2, 29)
    assert birthday_in(born, 2027) == date(2027, 2, 28)
    assert birthday_in(born, 2028) == date(2028, 2, 29)


@pytest.mark.parametrize(
    ("born", "day", "allowed"),
    [
        (date(2011, 6, 1), date(2026, 5, 31), False),  # 14 until the birthday
        (date(2011, 6, 1), date(2026, 6, 1), True),  # 15 on it
        (date(1950, 1, 1), date(2026, 6, 1), True),
        (date(2026, 1, 1), date(2026, 6, 1), False),
        # Born 29 February: the period of 15 years ends with 28 February 2027 (民法 143
        # 条 2 項), so they are 15 on 1 March, not on 28 February.
        (date(2012, 2, 29), date(2027, 2, 28), False),
        (date(2012, 2, 29), date(2027, 3, 1), True),
        (date(2012, 2, 29), date(2028, 2, 28), True),
    ],
)
def test_no_signing_certificate_under_15(born: date, day: date, allowed: bool) -> None:
    assert may_hold_signing_certificate(born, day) is allowed


def test_a_date_of_birth_after_the_issuance_is_refused() -> None:
    with pytest.raises(InvalidDate, match="after the day of issuance"):
        expiry_day(date(2027, 1, 1), date(2026, 1, 1))
    with pytest.raises(InvalidDate):
        age_on(date(2027, 1, 1), date(2026, 1, 1))


@given(
    born=st.dates(min_value=date(1900, 1, 1), max_value=date(2030, 12, 31)),
    issued_on=st.dates(min_value=date(2000, 1, 1), max_value=date(2060, 12, 31)),
)
def test_validity_is_between_four_and_five_years_and_ends_on_a_birthday(
    born: date, issued_on: date
) -> None:
    assume(born <= issued_on)
    end = expiry_day(born, issued_on)
    assert end == birthday_in(born, end.year)
    assert issued_on < end
    # Exactly five birthdays fall in (issued_on, end].
    birthdays = [birthday_in(born, y) for y in range(issued_on.year, end.year + 1)]
    assert len([b for b in birthdays if issued_on < b <= end]) == 5
    lasting = datetime.combine(end, time()) - datetime.combine(issued_on, time())
    assert 4 * 365 <= lasting.days <= 5 * 366
