"""Business hours in Japan for the auditor's reports: what counts as off-hours access (j1370 時間外・休日のアクセス),
and the times shown in Japan time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import lru_cache

import jpholiday

from juki.domain.dates import JST
from juki.services.audit import utc

# 行政機関の休日 (年末年始): 12月29日から1月3日まで.
YEAR_END_CLOSURE = frozenset({(12, 29), (12, 30), (12, 31), (1, 1), (1, 2), (1, 3)})
_WEEKDAYS = "月火水木金土日"


@dataclass(frozen=True)
class AuditSettings:
    """Business hours (Japan time; [start, end) is inside) and the thresholds of the reports."""

    business_start: time = time(8, 30)
    business_end: time = time(17, 15)
    window_minutes: int = 60  # the sliding window of the mass-search report
    mass_searches: int = 30  # more searches than this in one window
    mass_persons: int = 50  # more distinct persons shown than this in one window
    large_search_results: int = 20  # one search showing more persons than this
    related_days: int = 7  # a look-up is related to a filing within ± this many days
    max_rows: int = 10000  # a longer report is cut (`truncated`): ask for a shorter period

    @classmethod
    def parse(cls, business_start: str, business_end: str, **thresholds: int) -> AuditSettings:
        start, end = _clock(business_start), _clock(business_end)
        if start >= end:
            raise ValueError(f"業務時間の開始 {business_start} が終了 {business_end} より後です")
        return cls(start, end, **thresholds)


def _clock(text: str) -> time:
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise ValueError(f"時刻は HH:MM の形式で指定してください: {text!r}") from None


def jst_iso(at: datetime) -> str:
    return utc(at).astimezone(JST).isoformat(timespec="seconds")


def start_of(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=JST).astimezone(UTC)


@lru_cache(maxsize=4096)
def _day_off(d: date) -> str | None:
    if (d.month, d.day) in YEAR_END_CLOSURE:
        return "年末年始"
    name = jpholiday.is_holiday_name(d)
    if name:
        return f"祝日（{name}）"
    if d.weekday() >= 5:
        return f"{_WEEKDAYS[d.weekday()]}曜日"
    return None


def off_hours_reason(at: datetime, start: time = time(8, 30), end: time = time(17, 15)) -> str | None:
    """Why a moment is outside business hours in Japan (年末年始, a public holiday, a weekend, before or after
    hours), or None on a working day within [start, end)."""
    local = utc(at).astimezone(JST)
    day_off = _day_off(local.date())
    if day_off:
        return day_off
    clock = local.time().replace(tzinfo=None)
    if clock < start:
        return "始業前"
    if clock >= end:
        return "終業後"
    return None
