"""支援措置 (protection measures for victims of DV, stalking, abuse): the period rules of 標準仕様書 j410/j440.

- A measure runs one year: a start of R2.4.1 gives an end of R3.3.31 (editable).
- It can be extended from one month before its end; the new period is one year from the day after the old end.
- Reaching the end date does **not** lift it (j410): it stays in force, with a warning, until someone ends it.
- Dates mean what they say: a measure starting tomorrow is not in force today, and an end recorded with a
  future date (`ended_on`) lifts it on that day, not before.
- A temporary release (一時解除) returns by itself at `released_until`; it is never passed on to other systems.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from juki.domain.errors import InvalidDate, InvalidField

SUBJECT_KINDS = ("person", "household")
END_REASONS = ("request", "expired", "not_needed")  # 本人の申出 / 期間満了 / 必要がなくなった
# j410: a measure is a 支援措置 (support) or another hold (抑止: 調査中, 排他 …); it names the operations it holds —
# 異動入力 (filing), 証明書発行 (certificate), 照会 (view) — and how: error blocks, alert warns and lets it go on.
KINDS = ("support", "hold")
OPERATIONS = ("filing", "certificate", "view")
LEVELS = ("error", "alert")
SUPPORT_OPERATIONS = ("certificate", "view")


def check_hold(kind: str, operations: object, level: str) -> tuple[str, list[str], str]:
    """The kind, operations and level of a new measure (a 支援措置 holds certificates and views by default)."""
    if kind not in KINDS:
        raise InvalidField("種別は support（支援措置）または hold（その他の抑止）です", "kind")
    if operations is None:
        if kind == "hold":
            raise InvalidField("抑止する業務を指定してください", "operations")
        operations = list(SUPPORT_OPERATIONS)
    if (
        not isinstance(operations, list)
        or not operations
        or any(op not in OPERATIONS for op in operations)
        or len(set(operations)) != len(operations)
    ):
        raise InvalidField("業務は filing / certificate / view から選びます", "operations")
    if level not in LEVELS:
        raise InvalidField("抑止の程度は error（エラー）または alert（アラート）です", "level")
    return kind, sorted(operations), level


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February → 28 February
        return day.replace(year=day.year + years, day=28)


def add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def default_end(starts_on: date) -> date:
    """One year: the day before the same date next year (R2.4.1 → R3.3.31)."""
    return add_years(starts_on, 1) - timedelta(days=1)


def check_period(starts_on: date, ends_on: date) -> None:
    if ends_on < starts_on:
        raise InvalidDate("終了日が開始日より前です", "ends_on")
    if ends_on > default_end(starts_on):
        raise InvalidDate("支援措置の期間は1年以内です", "ends_on")


def extension(today: date, ends_on: date) -> tuple[date, date]:
    """The next period, if `today` is within the month before the end (or after it)."""
    if today < add_months(ends_on, -1):
        raise InvalidDate("延長は終了日の1か月前から受け付けます", "ends_on")
    starts = ends_on + timedelta(days=1)
    return starts, default_end(starts)


def period_warning(today: date, ends_on: date) -> str | None:
    """What the screen warns about when the record is opened (j440)."""
    if today > ends_on:
        return "expired"  # 期間が終了しています（延長または終了の処理をしてください）
    if today >= add_months(ends_on, -1):
        return "ends_within_month"
    return None


def check_subject_kind(kind: str) -> str:
    if kind not in SUBJECT_KINDS:
        raise InvalidField("対象は person（個人）または household（世帯）です", "subject_kind")
    return kind


def check_end_reason(reason: str) -> str:
    if reason not in END_REASONS:
        raise InvalidField("終了事由は request / expired / not_needed のいずれかです", "end_reason")
    return reason


@dataclass(frozen=True)
class MeasureState:
    state: str  # active / ended (an ended measure carries the day its end takes effect)
    released_until: datetime | None
    starts_on: date | None = None
    ended_on: date | None = None

    def in_force(self, now: datetime, today: date) -> bool:
        """In force from its start day until the day its end takes effect, unless temporarily released right now
        (a release lapses by itself). The expiry date (`ends_on`) plays no part: it lifts nothing (j410)."""
        if self.starts_on is not None and today < self.starts_on:
            return False  # a future start waits
        if self.ended_on is not None and self.ended_on <= today:
            return False
        if self.state != "active" and self.ended_on is None:
            return False
        return self.released_until is None or self.released_until <= now
