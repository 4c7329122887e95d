"""支援措置 period rules (標準仕様書 j410, j440)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from juki.domain import protection as rules
from juki.domain.errors import InvalidDate, InvalidField


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (date(2020, 4, 1), date(2021, 3, 31)),  # R2.4.1 → R3.3.31, the standard's own example
        (date(2024, 2, 29), date(2025, 2, 27)),  # a leap day: next year's 28 February, less one day
        (date(2025, 1, 1), date(2025, 12, 31)),
    ],
)
def test_a_measure_runs_one_year(start, end):
    assert rules.default_end(start) == end


def test_a_period_longer_than_a_year_or_backwards_is_refused():
    with pytest.raises(InvalidDate):
        rules.check_period(date(2025, 4, 1), date(2026, 4, 1))
    with pytest.raises(InvalidDate):
        rules.check_period(date(2025, 4, 1), date(2025, 3, 31))
    rules.check_period(date(2025, 4, 1), date(2026, 3, 31))


def test_extension_opens_one_month_before_the_end_and_runs_a_year_from_the_next_day():
    end = date(2026, 3, 31)
    with pytest.raises(InvalidDate):
        rules.extension(date(2026, 2, 27), end)
    assert rules.extension(date(2026, 2, 28), end) == (date(2026, 4, 1), date(2027, 3, 31))
    assert rules.extension(date(2026, 5, 1), end) == (date(2026, 4, 1), date(2027, 3, 31))  # late: still


def test_warnings_within_the_last_month_and_after_the_end():
    end = date(2026, 3, 31)
    assert rules.period_warning(date(2026, 2, 27), end) is None
    assert rules.period_warning(date(2026, 2, 28), end) == "ends_within_month"
    assert rules.period_warning(end, end) == "ends_within_month"
    assert rules.period_warning(date(2026, 4, 1), end) == "expired"


def test_the_end_date_does_not_lift_a_measure_but_a_temporary_release_lapses_by_itself():
    now, today = datetime(2026, 5, 1, 10, tzinfo=UTC), date(2026, 5, 1)
    # even long after its end date (ends_on, an expiry the record only warns about): j410
    assert rules.MeasureState("active", None, date(2025, 4, 1)).in_force(now, today)
    assert not rules.MeasureState("ended", None, date(2025, 4, 1), date(2026, 4, 30)).in_force(now, today)
    released = rules.MeasureState("active", now + timedelta(minutes=30))
    assert not released.in_force(now, today)
    assert released.in_force(now + timedelta(minutes=30), today)


@pytest.mark.parametrize(
    ("starts_on", "today", "in_force"),
    [
        (date(2026, 5, 2), date(2026, 5, 1), False),  # a future start waits
        (date(2026, 5, 1), date(2026, 5, 1), True),  # from its first day
        (date(2026, 4, 30), date(2026, 5, 1), True),
    ],
)
def test_a_measure_is_in_force_from_its_start_day(starts_on, today, in_force):
    now = datetime(2026, 5, 1, 10, tzinfo=UTC)
    assert rules.MeasureState("active", None, starts_on).in_force(now, today) is in_force


@pytest.mark.parametrize(
    ("ended_on", "today", "in_force"),
    [
        (date(2026, 5, 10), date(2026, 5, 1), True),  # an end recorded for a later day: in force until then
        (date(2026, 5, 10), date(2026, 5, 9), True),
        (date(2026, 5, 10), date(2026, 5, 10), False),  # the end takes effect on its day
        (date(2026, 5, 1), date(2026, 5, 1), False),  # ended today: lifted at once
        (date(2026, 4, 1), date(2026, 5, 1), False),
    ],
)
def test_an_end_takes_effect_on_the_day_it_names(ended_on, today, in_force):
    now = datetime(2026, 5, 1, 10, tzinfo=UTC)
    assert rules.MeasureState("ended", None, date(2026, 1, 1), ended_on).in_force(now, today) is in_force


def test_subject_kinds_and_end_reasons_are_closed_lists():
    with pytest.raises(InvalidField):
        rules.check_subject_kind("street")
    with pytest.raises(InvalidField):
        rules.check_end_reason("bored")
    assert rules.check_end_reason("not_needed") == "not_needed"


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [(date(2026, 3, 31), -1, date(2026, 2, 28)), (date(2024, 12, 15), 1, date(2025, 1, 15))],
)
def test_month_arithmetic_keeps_to_the_month_end(day, months, expected):
    assert rules.add_months(day, months) == expected


def test_free_text_takes_the_ideographic_space_but_no_control_character_or_my_number():
    from juki.domain.intake import free_text

    assert free_text({"reason": "山田\u3000太郎の申出"}, "reason") == "山田\u3000太郎の申出"
    for bad in ("行1\n行2", "x\u200bx", "番号 1234-5678-9018"):
        with pytest.raises(InvalidField):
            free_text({"reason": bad}, "reason")
