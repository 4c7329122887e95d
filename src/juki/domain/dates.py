"""Dates: wareki (和暦) only at the edges — input parsing and display. Inside, a legal date is a `date`.

Era start dates come from japanera. Two things are done by hand, because japanera's data cannot say them:
- japanera treats an era's `until` as exclusive, which is right for 昭和→平成 and 平成→令和 (the new era
  began the next day) but drops the last day of 明治 and 大正: the 改元 then took effect on the day the
  emperor died, so 明治45年7月30日 = 大正元年7月30日 and 大正15年12月25日 = 昭和元年12月25日 are both valid.
- 明治5年 and earlier were counted in the lunisolar calendar (Japan adopted the Gregorian one on
  明治5年12月3日 = 明治6年1月1日); converting those needs a lunar table, and no one in the register needs
  it, so such dates are refused rather than converted wrongly.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from japanera import ERA_DATA_GENERAL

from .errors import InvalidDate, InvalidField

_NOT_A_DATE = "日付の形式が正しくありません（例: 2024-04-01、令和6年4月1日、R6.4.1）"
_NO_SUCH_DATE = "存在しない日付です"


@dataclass(frozen=True)
class _Era:
    kanji: str
    letter: str
    first_day: date
    last_day: date | None  # inclusive; None for the current era


_MODERN = ("明治", "大正", "昭和", "平成", "令和")
_ENDS_ON_SUCCESSORS_FIRST_DAY = frozenset({"明治", "大正"})  # see the module docstring
# The one accepted range of dates. The earliest is 明治6年1月1日, when Japan adopted the Gregorian calendar: no
# date before it can be written in wareki without a lunar table, so no certificate could print it, and every date
# the register takes in (a birth date, a filing's dates, a search) is refused below it. The latest is a year short
# of what Python's `datetime` holds, so that a day's end, a period's margin or a report's window never overflows.
EARLIEST_DATE = date(1873, 1, 1)
LATEST_DATE = date(9998, 12, 31)
_TOO_EARLY = "明治6年1月1日（1873年1月1日）より前の日付は扱えません"
_TOO_LATE = "9998年12月31日より後の日付は扱えません"


def _load_eras() -> tuple[_Era, ...]:
    by_kanji = {e.kanji: e for e in ERA_DATA_GENERAL if e.kanji in _MODERN}
    eras = []
    for kanji in _MODERN:
        e = by_kanji[kanji]
        last = (
            e.until if kanji in _ENDS_ON_SUCCESSORS_FIRST_DAY else (e.until and e.until - timedelta(days=1))
        )
        eras.append(_Era(kanji, e.english_head, e.since, last))
    return tuple(eras)


_ERAS = _load_eras()
_ERA_BY_NAME = {name: e for e in _ERAS for name in (e.kanji, e.kanji[0], e.letter)}

# After NFKC (full-width → ASCII, ㍻ → 平成) and with all whitespace removed.
_ERA_NAME = "|".join(sorted(_ERA_BY_NAME, key=len, reverse=True))
_WESTERN = re.compile(r"(\d{4})(?:([-/.])(\d{1,2})\2(\d{1,2})|年(\d{1,2})月(\d{1,2})日)", re.ASCII)
_WAREKI = re.compile(
    rf"({_ERA_NAME})(\d{{1,3}}|元)(?:([-/.])(\d{{1,2}})\3(\d{{1,2}})|年(\d{{1,2}})月(\d{{1,2}})日)", re.ASCII
)
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})", re.ASCII)


def _build(year: int, month: int, day: int, field: str, bounded: bool = True) -> date:
    try:
        d = date(year, month, day)
    except ValueError:
        raise InvalidDate(_NO_SUCH_DATE, field=field) from None
    return _in_range(d, field) if bounded else d


def _in_range(d: date, field: str) -> date:
    if d < EARLIEST_DATE:
        raise InvalidDate(_TOO_EARLY, field=field)
    if d > LATEST_DATE:
        raise InvalidDate(_TOO_LATE, field=field)
    return d


def clamp(d: date) -> date:
    """`d` moved into the accepted range (for the ends of a period searched, which may be wider than any data)."""
    return min(max(d, EARLIEST_DATE), LATEST_DATE)


def _era_date(era: _Era, era_year: int, month: int, day: int, field: str) -> date:
    if era_year < 1:
        raise InvalidDate(_NO_SUCH_DATE, field=field)
    d = _build(era.first_day.year + era_year - 1, month, day, field, bounded=False)
    if d < era.first_day or (era.last_day is not None and d > era.last_day):
        raise InvalidDate(
            f"{era.kanji}{era_year}年{month}月{day}日は{era.kanji}の期間にない日付です", field=field
        )
    if d < EARLIEST_DATE:
        raise InvalidDate("明治5年以前の日付（旧暦）は変換できません", field=field)
    return _in_range(d, field)


def _parse_wareki(m: re.Match[str], field: str) -> date:
    era = _ERA_BY_NAME[m[1]]
    era_year = 1 if m[2] == "元" else int(m[2])
    month, day = (m[4], m[5]) if m[3] else (m[6], m[7])
    return _era_date(era, era_year, int(month), int(day), field)


def parse_date(text: str, field: str) -> date:
    """A date as a person types it → `date`.

    Accepted (full-width digits and letters, and spaces anywhere, are fine):
    2024-04-01, 2024/4/1, 2024.4.1, 2024年4月1日; 令和6年4月1日, 令和元年5月1日, R6.4.1, R6/4/1, R6-4-1,
    令6.4.1, ㋿6年4月1日. Era letters M T S H R (either case). Not a date at all → InvalidField;
    a well-formed date that does not exist (2023-02-30, 平成31年5月1日, S64.1.8) → InvalidDate.
    """
    if not isinstance(text, str):
        raise InvalidField(_NOT_A_DATE, field=field)
    compact = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))
    if compact[:1].isascii() and compact[:1].isalpha():
        compact = compact[0].upper() + compact[1:]
    if m := _WESTERN.fullmatch(compact):
        month, day = (m[3], m[4]) if m[2] else (m[5], m[6])
        return _build(int(m[1]), int(month), int(day), field)
    if m := _WAREKI.fullmatch(compact):
        return _parse_wareki(m, field)
    raise InvalidField(_NOT_A_DATE, field=field)


def parse_iso_date(value: str, field: str, bounded: bool = True) -> date:
    """Strict `YYYY-MM-DD` (the JSON API): other shapes → InvalidField; impossible dates, and (unless not
    `bounded`) dates outside EARLIEST_DATE … LATEST_DATE → InvalidDate."""
    m = _ISO.fullmatch(value) if isinstance(value, str) else None
    if m is None:
        raise InvalidField("日付は YYYY-MM-DD の形式で入力してください", field=field)
    return _build(int(m[1]), int(m[2]), int(m[3]), field, bounded)


def _era_of(d: date) -> tuple[_Era, int]:
    """The era a date is written in and its era year; on an overlap day the new era (the official one)."""
    if d < EARLIEST_DATE:
        raise InvalidDate("明治5年以前の日付は和暦に変換できません")
    era = next(e for e in reversed(_ERAS) if d >= e.first_day)
    return era, d.year - era.first_day.year + 1


def to_wareki(d: date) -> str:
    """令和6年4月1日; the first year of an era is 元年 (令和元年5月1日)."""
    era, year = _era_of(d)
    return f"{era.kanji}{'元' if year == 1 else year}年{d.month}月{d.day}日"


def to_wareki_short(d: date) -> str:
    """R6.4.1 (the first year is 1, as on forms: R1.5.1)."""
    era, year = _era_of(d)
    return f"{era.letter}{year}.{d.month}.{d.day}"


# --- 不詳日 with unknown parts (標準仕様書 j80) -------------------------------------------------------------

DATE_PARTS = ("year", "month", "day")
# Of j80's 14 不詳日 patterns, three say which parts of the date are unknown: 「年月日不詳」「令和○○年　月日不詳」
# 「令和○○年○○月　日不詳」. What is unknown is always the smaller end: no day known without its month.
UNKNOWN_PARTS = (("day",), ("month", "day"), ("year", "month", "day"))
_PART_NAMES = {"year": "年", "month": "月", "day": "日"}


def parse_unknown_parts(value: object, field: str) -> tuple[str, ...]:
    """`["month", "day"]` → ("month", "day"): which parts of a date are unknown (any order; none → ()).

    The date beside the flags stays a whole ISO date — the internal value j80 asks to keep — and is what sorts,
    counts ages and goes to other systems; only what is printed leaves the unknown parts blank.
    """
    if value is None:
        return ()
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise InvalidField("不詳の部分は year・month・day の配列で指定してください", field)
    parts = tuple(p for p in DATE_PARTS if p in value)
    if len(parts) != len(value) or (parts and parts not in UNKNOWN_PARTS):
        allowed = "・".join("".join(_PART_NAMES[p] for p in u) for u in UNKNOWN_PARTS)
        raise InvalidField(f"不詳にできるのは {allowed} のいずれかです", field)
    return parts


def _year_of(d: date, western: bool) -> str:
    if western:
        return f"{d.year}年"
    era, year = _era_of(d)
    return f"{era.kanji}{'元' if year == 1 else year}年"


def format_date(d: date, unknown: tuple[str, ...] = (), western: bool = False) -> str:
    """A date as certificates and screens print it: 令和6年4月1日 (or 2024年4月1日 when `western`, j90), with the
    unknown parts left blank as j80 writes them: 「年月日不詳」, 「昭和10年　月日不詳」, 「昭和10年1月　日不詳」."""
    if "year" in unknown:
        return "年月日不詳"
    if "month" in unknown:
        return f"{_year_of(d, western)}\u3000月日不詳"
    if "day" in unknown:
        return f"{_year_of(d, western)}{d.month}月\u3000日不詳"
    return f"{d.year}年{d.month}月{d.day}日" if western else to_wareki(d)


def _jst() -> timezone | ZoneInfo:
    # Japan has kept UTC+9 without daylight saving since 1951, so a fixed offset is exact for today's
    # date when the system has no time-zone database.
    try:
        return ZoneInfo("Asia/Tokyo")
    except ZoneInfoNotFoundError:
        return timezone(timedelta(hours=9), "JST")


JST = _jst()


def today_jst() -> date:
    """Today's date in Japan, whatever the server's time zone."""
    return datetime.now(JST).date()


def is_future(d: date, today: date) -> bool:
    """True when `d` is after `today` (today itself is not the future)."""
    return d > today
