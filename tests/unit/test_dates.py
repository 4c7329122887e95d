from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from juki.domain import dates
from juki.domain.dates import (
    EARLIEST_DATE,
    LATEST_DATE,
    clamp,
    format_date,
    is_future,
    parse_date,
    parse_iso_date,
    parse_unknown_parts,
    to_wareki,
    to_wareki_short,
    today_jst,
)
from juki.domain.errors import InvalidDate, InvalidField


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-04-01", date(2024, 4, 1)),
        ("2024/4/1", date(2024, 4, 1)),
        ("2024.04.01", date(2024, 4, 1)),
        ("2024年4月1日", date(2024, 4, 1)),
        ("令和6年4月1日", date(2024, 4, 1)),
        ("令和元年5月1日", date(2019, 5, 1)),
        ("R6.4.1", date(2024, 4, 1)),
        ("R6/4/1", date(2024, 4, 1)),
        ("r6.4.1", date(2024, 4, 1)),
        ("R06.04.01", date(2024, 4, 1)),
        ("H31.4.30", date(2019, 4, 30)),
        ("S64.1.7", date(1989, 1, 7)),
        ("平成31年4月30日", date(2019, 4, 30)),
        ("平成元年1月8日", date(1989, 1, 8)),
        ("昭和20年8月15日", date(1945, 8, 15)),
        ("T12.9.1", date(1923, 9, 1)),
        ("M45.7.29", date(1912, 7, 29)),
        ("令6.4.1", date(2024, 4, 1)),
        ("㍻31年4月30日", date(2019, 4, 30)),
        ("令和６年４月１日", date(2024, 4, 1)),  # full-width digits
        ("Ｒ６．４．１", date(2024, 4, 1)),
        ("２０２４－０４－０１", date(2024, 4, 1)),
        ("令和 6年 4月 1日", date(2024, 4, 1)),  # spaces
        (" 令和　６ 年４月１日 ", date(2024, 4, 1)),
        ("R 6 . 4 . 1", date(2024, 4, 1)),
    ],
)
def test_dates_are_accepted_in_western_and_wareki_forms(text, expected):
    assert parse_date(text, "changed_on") == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The 改元 took effect the day the emperor died: both names are right for that day.
        ("明治45年7月30日", date(1912, 7, 30)),
        ("大正元年7月30日", date(1912, 7, 30)),
        ("大正15年12月25日", date(1926, 12, 25)),
        ("昭和元年12月25日", date(1926, 12, 25)),
    ],
)
def test_both_era_names_are_accepted_on_a_same_day_era_change(text, expected):
    assert parse_date(text, "birth_date") == expected


@pytest.mark.parametrize(
    "text",
    [
        "2023-02-30",
        "2023-02-29",  # not a leap year
        "2024-13-01",
        "2024/4/31",
        "平成31年5月1日",  # 平成 ended 2019-04-30
        "H31.5.1",
        "令和1年4月30日",  # 令和 began 2019-05-01
        "令和元年4月30日",
        "S64.1.8",  # 昭和 ended 1989-01-07
        "平成元年1月7日",
        "明治45年7月31日",
        "大正15年12月26日",
        "R0.1.1",
        "令和6年2月30日",
        "M5.12.2",  # lunisolar calendar: refused rather than converted wrongly
    ],
)
def test_well_formed_date_that_does_not_exist_is_invalid_date(text):
    with pytest.raises(InvalidDate) as exc:
        parse_date(text, "persons.0.birth_date")
    assert exc.value.code == "invalid_date"
    assert exc.value.field == "persons.0.birth_date"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "hello",
        "昨日",
        "2024-04",
        "R6.4",
        "2024-4/1",
        "X6.4.1",
        "令和六年四月一日",
        "20240401",
        None,
        20240401,
    ],
)
def test_text_that_is_not_a_date_is_invalid_field(text):
    with pytest.raises(InvalidField) as exc:
        parse_date(text, "filed_on")
    assert exc.value.code == "invalid_field"
    assert exc.value.field == "filed_on"


# --- strict ISO for the JSON API ---------------------------------------------------------------------


def test_iso_date_is_parsed():
    assert parse_iso_date("2024-02-29", "filed_on") == date(2024, 2, 29)


@pytest.mark.parametrize(
    "value",
    ["2024/04/01", "2024-4-1", "R6.4.1", "２０２４-０４-０１", " 2024-04-01", "2024-04-01T00:00", "", None],
)
def test_iso_date_of_other_shape_is_invalid_field(value):
    with pytest.raises(InvalidField) as exc:
        parse_iso_date(value, "filed_on")
    assert exc.value.code == "invalid_field"


@pytest.mark.parametrize("value", ["2023-02-30", "2024-00-10", "2024-04-31", "0000-01-01"])
def test_iso_date_that_does_not_exist_is_invalid_date(value):
    with pytest.raises(InvalidDate) as exc:
        parse_iso_date(value, "filed_on")
    assert (exc.value.code, exc.value.field) == ("invalid_date", "filed_on")


# --- the one accepted range: 明治6年1月1日 (the Gregorian calendar) … 9998-12-31 -------------------------


@pytest.mark.parametrize("text", ["1872-12-31", "0001-01-01", "1000-06-15", "9999-01-01", "9999-12-31"])
def test_an_iso_date_outside_the_accepted_range_is_invalid_date(text):
    with pytest.raises(InvalidDate) as exc:
        parse_iso_date(text, "persons.0.birth_date")
    assert (exc.value.code, exc.value.field) == ("invalid_date", "persons.0.birth_date")
    assert "扱えません" in str(exc.value)


@pytest.mark.parametrize("text", ["1872年12月31日", "1872/12/31", "M5.12.31", "9999年1月1日"])
def test_a_typed_date_outside_the_accepted_range_is_invalid_date(text):
    with pytest.raises(InvalidDate):
        parse_date(text, "birth_date")


def test_the_ends_of_the_accepted_range_are_accepted_and_printable():
    assert parse_iso_date("1873-01-01", "f") == EARLIEST_DATE
    assert parse_date("明治6年1月1日", "f") == EARLIEST_DATE
    assert parse_iso_date("9998-12-31", "f") == LATEST_DATE
    assert to_wareki(EARLIEST_DATE) == "明治6年1月1日"
    assert to_wareki(LATEST_DATE) == "令和7980年12月31日"


def test_an_unbounded_iso_date_is_clamped_into_the_range():
    assert clamp(parse_iso_date("0001-01-01", "from", bounded=False)) == EARLIEST_DATE
    assert clamp(parse_iso_date("9999-12-31", "to", bounded=False)) == LATEST_DATE
    assert clamp(date(2024, 4, 1)) == date(2024, 4, 1)


# --- display -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("d", "long", "short"),
    [
        (date(2024, 4, 1), "令和6年4月1日", "R6.4.1"),
        (date(2019, 5, 1), "令和元年5月1日", "R1.5.1"),
        (date(2019, 4, 30), "平成31年4月30日", "H31.4.30"),
        (date(1989, 1, 8), "平成元年1月8日", "H1.1.8"),
        (date(1989, 1, 7), "昭和64年1月7日", "S64.1.7"),
        (date(1926, 12, 25), "昭和元年12月25日", "S1.12.25"),  # same-day change: the new era
        (date(1926, 12, 24), "大正15年12月24日", "T15.12.24"),
        (date(1912, 7, 30), "大正元年7月30日", "T1.7.30"),
        (date(1912, 7, 29), "明治45年7月29日", "M45.7.29"),
    ],
)
def test_dates_are_shown_in_wareki(d, long, short):
    assert to_wareki(d) == long
    assert to_wareki_short(d) == short


def test_date_before_the_gregorian_calendar_cannot_be_shown_in_wareki():
    with pytest.raises(InvalidDate):
        to_wareki(date(1872, 12, 31))


@given(st.dates(min_value=date(1873, 1, 1), max_value=date(2200, 12, 31)))
def test_wareki_round_trips(d):
    assert parse_date(to_wareki(d), "f") == d
    assert parse_date(to_wareki_short(d), "f") == d


# --- 不詳日 with unknown parts (j80) --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unknown", "western", "printed"),
    [
        ((), False, "昭和10年6月15日"),
        (("day",), False, "昭和10年6月\u3000日不詳"),
        (("month", "day"), False, "昭和10年\u3000月日不詳"),
        (("year", "month", "day"), False, "年月日不詳"),
        (("day",), True, "1935年6月\u3000日不詳"),
        (("month", "day"), True, "1935年\u3000月日不詳"),
        ((), True, "1935年6月15日"),
    ],
)
def test_unknown_parts_are_printed_blank_as_the_standard_writes_them(unknown, western, printed):
    assert format_date(date(1935, 6, 15), unknown, western) == printed


def test_the_first_year_of_an_era_with_unknown_parts_is_gannen():
    assert format_date(date(2019, 5, 1), ("month", "day")) == "令和元年\u3000月日不詳"


@pytest.mark.parametrize(
    ("value", "parts"),
    [
        (None, ()),
        ([], ()),
        (["day"], ("day",)),
        (["day", "month"], ("month", "day")),
        (("year", "month", "day"), ("year", "month", "day")),
    ],
)
def test_unknown_parts_are_read_in_any_order(value, parts):
    assert parse_unknown_parts(value, "f") == parts


@pytest.mark.parametrize(
    "value", [["month"], ["year"], ["year", "day"], ["day", "day"], ["Day"], "day", [1], {"day": 1}]
)
def test_unknown_parts_that_make_no_date_are_invalid_field(value):
    with pytest.raises(InvalidField) as exc:
        parse_unknown_parts(value, "persons.0.birth_date_unknown_parts")
    assert exc.value.field == "persons.0.birth_date_unknown_parts"


# --- today and the future ----------------------------------------------------------------------------


def test_only_a_date_after_today_is_in_the_future():
    today = date(2024, 4, 1)
    assert is_future(date(2024, 4, 2), today)
    assert not is_future(today, today)
    assert not is_future(date(2024, 3, 31), today)


def test_today_is_the_date_in_japan():
    before = datetime.now(timezone(timedelta(hours=9))).date()
    today = today_jst()
    after = datetime.now(timezone(timedelta(hours=9))).date()
    assert before <= today <= after
    assert dates.JST.utcoffset(datetime(2024, 7, 1)) == timedelta(hours=9)
