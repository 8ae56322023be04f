from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from shopper.core.workdays import add_working_days, holidays_from, working_days_between

days = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))


def test_ten_working_days_from_a_monday_skip_two_weekends():
    assert add_working_days(date(2026, 11, 30), 10) == date(2026, 12, 14)


def test_a_friday_plus_one_is_the_next_monday():
    assert add_working_days(date(2026, 12, 4), 1) == date(2026, 12, 7)


def test_holidays_are_skipped():
    new_year = holidays_from(["2027-01-01"])
    assert add_working_days(date(2026, 12, 31), 1, new_year) == date(2027, 1, 4)


@given(days, st.integers(min_value=0, max_value=60), st.sets(days, max_size=10))
def test_the_deadline_is_a_working_day_exactly_n_working_days_later(start, n, holidays):
    holidays = frozenset(holidays)
    end = add_working_days(start, n, holidays)
    assert working_days_between(start, end, holidays) == n
    if n:
        assert end.weekday() < 5 and end not in holidays
        assert working_days_between(start, end, holidays) == n
