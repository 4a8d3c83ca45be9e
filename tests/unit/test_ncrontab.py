from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devhost.ncrontab import Schedule


def test_nightly_schedule_fires_at_two_utc() -> None:
    schedule = Schedule("0 0 2 * * *")
    assert schedule.next_after(datetime(2026, 11, 25, 1, 59, 59, tzinfo=UTC)) == datetime(2026, 11, 25, 2, 0, 0, tzinfo=UTC)
    assert schedule.next_after(datetime(2026, 11, 25, 2, 0, 0, tzinfo=UTC)) == datetime(2026, 11, 26, 2, 0, 0, tzinfo=UTC)
    assert schedule.next_after(datetime(2026, 12, 31, 3, 0, tzinfo=UTC)) == datetime(2027, 1, 1, 2, 0, tzinfo=UTC)


def test_steps_lists_ranges_and_weekdays() -> None:
    every_five_minutes = Schedule("0 */5 * * * *")
    assert every_five_minutes.next_after(datetime(2026, 1, 1, 0, 7, 3, tzinfo=UTC)) == datetime(2026, 1, 1, 0, 10, tzinfo=UTC)
    weekdays_at_nine = Schedule("0 30 9 * * 1-5")
    saturday = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    assert weekdays_at_nine.next_after(saturday) == datetime(2026, 11, 30, 9, 30, tzinfo=UTC)  # Monday


@pytest.mark.parametrize("bad", ["0 0 2 * *", "0 61 * * * *", "x * * * * *", "0 0 2 * * */0"])
def test_bad_expressions_are_rejected(bad: str) -> None:
    with pytest.raises(ValueError):
        Schedule(bad)


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)).map(lambda d: d.replace(tzinfo=UTC)))
def test_next_is_after_and_matches(moment: datetime) -> None:
    schedule = Schedule("15 */10 3,15 * * *")
    fire = schedule.next_after(moment)
    assert fire > moment
    assert schedule.matches(fire)
