"""The auditor's views of the operation log (標準仕様書 j1370 アクセスログ管理).

j1370 asks for online search of the log and for analysis outputs: off-hours and holiday access, failed logins,
logins per ID, bulk searches, searches by number. The PIA adds the check that no one looks people up without a
business need (業務上必要のない検索又は抽出が行われていないことを確認する). Each is a `Report`: Japanese column
headers and plain rows, which the JSON API, the CSV download (`csv_bytes`) and a page can all render.

Only what is in the log is shown (who, when, where, what, which addressee numbers, the result): never a
resident's record. Only the auditor (`log:read`) may look, and every look is itself logged. Periods are dates in
Japan time; the period is filtered in SQL and the rows streamed and classified here.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from bisect import bisect_left
from collections import Counter, deque
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import groupby, islice
from typing import Any

import jpholiday

from juki.domain.dates import JST, clamp, parse_iso_date
from juki.domain.errors import InvalidDate, InvalidField, NotFound, redact
from juki.domain.identifiers import validate_addressee_number
from juki.policy.roles import LOG_READ, Actor
from juki.services.audit import LogEntry, utc
from juki.services.authorization import authorize
from juki.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

MAX_PAGE = 500
DEFAULT_PAGE = 100
FORMATS = ("json", "csv")

# What the register's reads log (services/register_queries.py). A certificate's issue will log as `certificate:…`.
SEARCH_ACTIONS = ("resident:search",)
VIEW_ACTIONS = ("resident:view", "resident:history", "household:view")
VIEW_PREFIXES = ("certificate:",)
# A search logs `criteria=['name', 'resident_code'] results=3`; a refused My Number search logs its own action.
# j1370 "searches by 宛名番号 etc.": every exact look-up by a number.
NUMBER_KEYS = {
    "addressee_number": "宛名番号",
    "household_number": "世帯番号",
    "resident_code": "住民票コード",
    "residence_card_number": "在留カード番号",
    "my_number": "個人番号",
}
MY_NUMBER_SEARCH_ACTION = "resident:search:my_number"
_CRITERIA = re.compile(r"criteria=\[([^\]]*)\]")
_QUOTED = re.compile(r"'([A-Za-z_]+)'")

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


@dataclass(frozen=True)
class Column:
    key: str
    label: str


@dataclass
class Report:
    """A table: what a report (or a page of the log) found, with Japanese headers, ready for JSON, CSV or a page."""

    kind: str
    title: str
    columns: tuple[Column, ...]
    rows: list[dict[str, Any]]
    parameters: dict[str, Any] = field(default_factory=dict)
    truncated: bool = False
    format: str = "json"
    next: str | None = None  # the log search's cursor

    @property
    def filename(self) -> str:
        span = "-".join(str(self.parameters.get(k) or "").replace("-", "") for k in ("from", "to"))
        return f"juki_{self.kind}_{span}.csv" if span != "-" else f"juki_{self.kind}.csv"

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "title": self.title,
            "from": self.parameters.get("from"),
            "to": self.parameters.get("to"),
            "parameters": self.parameters,
            "columns": [{"key": c.key, "label": c.label} for c in self.columns],
            "rows": self.rows,
            "count": len(self.rows),
            "truncated": self.truncated,
        }


def csv_bytes(report: Report) -> bytes:
    """UTF-8 with a BOM (Excel in Japan then reads it as UTF-8), CRLF, the Japanese headers first.

    A cell that a spreadsheet would take for a formula (=, +, -, @ first) is prefixed with ' : terminals and the
    names typed at a failed sign-in come from outside.
    """
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([c.label for c in report.columns])
    for row in report.rows:
        writer.writerow([_cell(row.get(c.key)) for c in report.columns])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "はい" if value else "いいえ"
    if isinstance(value, list | tuple | set):
        return " ".join(str(v) for v in value)
    text = str(value)
    if not isinstance(value, int | float) and text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


# --- time in Japan ------------------------------------------------------------------------------------------------


def jst_iso(at: datetime) -> str:
    return utc(at).astimezone(JST).isoformat(timespec="seconds")


def _start_of(d: date) -> datetime:
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


# --- parameters ---------------------------------------------------------------------------------------------------


def _text(params: Mapping[str, str], key: str) -> str | None:
    value = params.get(key)
    if not isinstance(value, str):
        return None
    # What is searched for and logged must be storable text (no NUL or other control characters, no surrogates).
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value):
        raise InvalidField("制御文字は使えません", key)
    return value.strip() or None


def _int(params: Mapping[str, str], key: str, default: int, low: int, high: int) -> int:
    text = _text(params, key)
    if text is None:
        return default
    if not text.isascii() or not text.isdigit() or not low <= int(text) <= high:
        raise InvalidField(f"{key} は {low} から {high} までの整数で指定してください", key)
    return int(text)


def _format(params: Mapping[str, str]) -> str:
    fmt = _text(params, "format") or "json"
    if fmt not in FORMATS:
        raise InvalidField("format は json か csv を指定してください", "format")
    return fmt


def _bool(params: Mapping[str, str], key: str) -> bool | None:
    text = _text(params, key)
    if text is None:
        return None
    if text.lower() not in ("true", "false", "1", "0"):
        raise InvalidField(f"{key} は true か false を指定してください", key)
    return text.lower() in ("true", "1")


def _period(params: Mapping[str, str], required: bool) -> tuple[date | None, date | None]:
    dates = []
    for key in ("from", "to"):
        text = _text(params, key)
        if text is None and required:
            raise InvalidField("期間（from と to、YYYY-MM-DD）を指定してください", key)
        # The log holds nothing outside the accepted range of dates: a wider period (0001-01-01 … 9999-12-31,
        # "everything") is clamped to it rather than refused, and never overflows a datetime.
        dates.append(clamp(parse_iso_date(text, key, bounded=False)) if text is not None else None)
    first, last = dates
    if first and last and first > last:
        raise InvalidDate("期間の開始が終了より後です", "from")
    return first, last


def _describe(parameters: Mapping[str, Any]) -> str:
    return redact(" ".join(f"{k}={v}" for k, v in parameters.items() if v is not None))[:500]


# --- the log search -----------------------------------------------------------------------------------------------

LOG_COLUMNS = (
    Column("seq", "通番"),
    Column("at", "日時"),
    Column("staff_id", "職員ID"),
    Column("staff_name", "職員名"),
    Column("role", "権限"),
    Column("terminal", "端末"),
    Column("procedure", "事務"),
    Column("action", "操作"),
    Column("targets", "対象宛名番号"),
    Column("my_number_shown", "個人番号表示"),
    Column("result", "結果"),
    Column("detail", "詳細"),
)


def entry_view(row: Any) -> dict[str, Any]:
    """A log entry as the auditor sees it: its own fields, the time in Japan."""
    return {
        "seq": row.seq,
        "at": jst_iso(row.at),
        "staff_id": row.staff_id,
        "staff_name": row.staff_name,
        "role": row.role,
        "terminal": row.terminal,
        "procedure": row.procedure,
        "action": row.action,
        "targets": list(row.targets or []),
        "my_number_shown": bool(row.my_number_shown),
        "result": row.result,
        "detail": row.detail,
    }


def search_log(uow_factory: UnitOfWorkFactory, actor: Actor, params: Mapping[str, str]) -> Report:
    """操作ログの検索: by period (Japan dates), staff id, action (`auth:*` for a prefix), target addressee number,
    result, terminal, whether a My Number was shown; in log order, `limit` (≤ 500) after the `after` cursor."""
    authorize(uow_factory, actor, LOG_READ, "audit:log")
    first, last = _period(params, required=False)
    target = _text(params, "target")
    if target is not None:
        target = validate_addressee_number(target, "target")
    action = _text(params, "action")
    prefix = action[:-1] if action and action.endswith("*") else None
    filters: dict[str, Any] = {
        "from": first and first.isoformat(),
        "to": last and last.isoformat(),
        "staff_id": _text(params, "staff_id"),
        "action": action,
        "target": target,
        "result": _text(params, "result"),
        "terminal": _text(params, "terminal"),
        "my_number_shown": _bool(params, "my_number_shown"),
        "after": _int(params, "after", 0, 0, 2**62),
        "limit": _int(params, "limit", DEFAULT_PAGE, 1, MAX_PAGE),
    }
    fmt = _format(params)
    with uow_factory() as uow:
        rows = uow.audit.entries(
            start=first and _start_of(first),
            end=last and _start_of(last + timedelta(days=1)),
            staff_id=filters["staff_id"],
            action=None if prefix is not None else action,
            action_prefix=prefix,
            target=target,
            result=filters["result"],
            terminal=filters["terminal"],
            my_number_shown=filters["my_number_shown"],
            after=filters["after"],
            limit=filters["limit"] + 1,
        )
        more = len(rows) > filters["limit"]
        rows = rows[: filters["limit"]]
        # Looking up who touched a person concerns that person: the target is the entry's target.
        detail = _describe({**filters, "format": fmt, "entries": len(rows)})
        uow.log(actor, LogEntry("audit:log", [target] if target else [], detail=detail))
        uow.commit()
    return Report(
        "log",
        "操作ログ",
        LOG_COLUMNS,
        [entry_view(r) for r in rows],
        {k: v for k, v in filters.items() if v is not None},
        format=fmt,
        next=str(rows[-1].seq) if more and rows else None,
    )


# --- the reports --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Query:
    start: datetime
    end: datetime
    staff_id: str | None
    settings: AuditSettings


@dataclass(frozen=True)
class _Kind:
    title: str
    columns: tuple[Column, ...]
    build: Callable[[UnitOfWork, _Query], Iterable[dict[str, Any]]]
    settings: tuple[str, ...] = ()  # the thresholds it uses, shown with the report


# Roles whose work is meant to happen outside the city's business hours: a kiosk (コンビニ交付) serves 06:30–23:00
# and on weekends and holidays by design, so its entries are left out of the after-hours report. They stay in the log
# search (`staff_id=kiosk:<id>`, or `action=kiosk:*`); the kiosk service itself refuses anything outside its own
# hours and logs it as `closed`. A connection no registered kiosk made (`kiosk:unknown`, a rogue certificate at
# night) is not exempt.
AFTER_HOURS_EXEMPT_ROLES = frozenset({"kiosk"})
UNREGISTERED_KIOSK = "kiosk:unknown"


def _after_hours(uow: UnitOfWork, q: _Query) -> Iterator[dict[str, Any]]:
    s = q.settings
    for row in uow.audit.stream(q.start, q.end, staff_id=q.staff_id):
        if row.role in AFTER_HOURS_EXEMPT_ROLES and row.staff_id != UNREGISTERED_KIOSK:
            continue
        reason = off_hours_reason(row.at, s.business_start, s.business_end)
        if reason is not None:
            yield {"reason": reason, **entry_view(row)}


def _failed_logins(uow: UnitOfWork, q: _Query) -> list[dict[str, Any]]:
    rows = [
        {
            "account": r.staff_id,
            "staff_name": r.staff_name,
            "terminal": r.terminal,
            "failed": int(r.failed),
            "rate_limited": int(r.rate_limited),
            "first_at": jst_iso(r.first_failed_at),
            "last_at": jst_iso(r.last_failed_at),
            "succeeded": int(r.ok),
        }
        for r in uow.audit.sign_ins(q.start, q.end, q.staff_id, by_terminal=True)
        if r.attempts > r.ok
    ]
    return sorted(rows, key=lambda r: (-(r["failed"] + r["rate_limited"]), r["account"], r["terminal"]))


def _logins(uow: UnitOfWork, q: _Query) -> list[dict[str, Any]]:
    return [
        {
            "staff_id": r.staff_id,
            "staff_name": r.staff_name,
            "role": r.role,
            "logins": int(r.ok),
            "failed": int(r.attempts) - int(r.ok),
            "terminals": int(r.terminals),
            "first_at": r.first_ok_at and jst_iso(r.first_ok_at),
            "last_at": r.last_ok_at and jst_iso(r.last_ok_at),
        }
        for r in uow.audit.sign_ins(q.start, q.end, q.staff_id)
    ]


@dataclass
class _Burst:
    """Searches and views of one staff member in overlapping windows that each went over a threshold."""

    staff_id: str
    staff_name: str
    last: int = -1  # the position (in time order) of the last entry taken in
    seqs: list[int] = field(default_factory=list)
    times: list[datetime] = field(default_factory=list)
    searches: int = 0
    views: int = 0
    persons: set[str] = field(default_factory=set)
    terminals: set[str] = field(default_factory=set)
    peak_searches: int = 0
    peak_persons: int = 0

    def add(self, position: int, e: Any) -> None:
        self.last = position
        self.seqs.append(e.seq)
        self.times.append(utc(e.at))
        if e.action in SEARCH_ACTIONS:
            self.searches += 1
        else:
            self.views += 1
        self.persons.update(e.targets or ())
        self.terminals.add(e.terminal)

    def row(self) -> dict[str, Any]:
        return {
            "kind": "短時間の大量検索・閲覧",
            "staff_id": self.staff_id,
            "staff_name": self.staff_name,
            "terminals": sorted(self.terminals),
            "first_at": jst_iso(min(self.times)),
            "last_at": jst_iso(max(self.times)),
            "searches": self.searches,
            "views": self.views,
            "persons": len(self.persons),
            "peak_searches": self.peak_searches,
            "peak_persons": self.peak_persons,
            "seq_from": min(self.seqs),
            "seq_to": max(self.seqs),
        }


def _bursts(entries: Iterable[Any], s: AuditSettings) -> Iterator[dict[str, Any]]:
    """Slide a window over one staff member's entries (in time order); where the searches or the distinct persons
    shown in the window go over the thresholds, collect the overlapping windows into one burst."""
    window: deque[tuple[int, Any]] = deque()
    shown: Counter[str] = Counter()
    searches = 0
    span = timedelta(minutes=s.window_minutes)
    burst: _Burst | None = None
    for position, e in enumerate(entries):
        window.append((position, e))
        searches += e.action in SEARCH_ACTIONS
        shown.update(set(e.targets or ()))
        while utc(window[0][1].at) <= utc(e.at) - span:
            _, old = window.popleft()
            searches -= old.action in SEARCH_ACTIONS
            for number in set(old.targets or ()):
                shown[number] -= 1
                if not shown[number]:
                    del shown[number]
        if searches <= s.mass_searches and len(shown) <= s.mass_persons:
            continue
        if burst is None or window[0][0] > burst.last:  # this window does not overlap the burst: a new one
            if burst is not None:
                yield burst.row()
            burst = _Burst(e.staff_id, e.staff_name)
        for p, x in window:
            if p > burst.last:
                burst.add(p, x)
        burst.peak_searches = max(burst.peak_searches, searches)
        burst.peak_persons = max(burst.peak_persons, len(shown))
    if burst is not None:
        yield burst.row()


def _mass_searches(uow: UnitOfWork, q: _Query) -> list[dict[str, Any]]:
    s = q.settings
    entries = uow.audit.stream(
        q.start,
        q.end,
        staff_id=q.staff_id,
        actions=SEARCH_ACTIONS + VIEW_ACTIONS,
        prefixes=VIEW_PREFIXES,
        results=("ok",),
        by_staff=True,
    )
    rows: list[dict[str, Any]] = []
    for _staff, group in groupby(entries, key=lambda e: e.staff_id):
        mine = list(group)
        rows.extend(_bursts(mine, s))
        for e in mine:
            if e.action in SEARCH_ACTIONS and len(e.targets or ()) > s.large_search_results:
                at = jst_iso(e.at)
                rows.append(
                    {
                        "kind": "一度に多数を表示した検索",
                        "staff_id": e.staff_id,
                        "staff_name": e.staff_name,
                        "terminals": [e.terminal],
                        "first_at": at,
                        "last_at": at,
                        "searches": 1,
                        "views": 0,
                        "persons": len(set(e.targets)),
                        "peak_searches": None,
                        "peak_persons": None,
                        "seq_from": e.seq,
                        "seq_to": e.seq,
                    }
                )
    return sorted(rows, key=lambda r: (r["first_at"], r["staff_id"], r["seq_from"]))


def search_keys(action: str, detail: str) -> list[str]:
    """The exact-number keys (住民票コード, 個人番号) a search entry used, from what the search logged."""
    if action == MY_NUMBER_SEARCH_ACTION:
        return [NUMBER_KEYS["my_number"]]
    m = _CRITERIA.search(detail or "")
    used = set(_QUOTED.findall(m[1])) if m else set()
    return [label for key, label in NUMBER_KEYS.items() if key in used]


def _number_lookups(uow: UnitOfWork, q: _Query) -> Iterator[dict[str, Any]]:
    entries = uow.audit.stream(
        q.start,
        q.end,
        staff_id=q.staff_id,
        actions=(*SEARCH_ACTIONS, MY_NUMBER_SEARCH_ACTION),
        detail_contains=(*(f"'{k}'" for k in NUMBER_KEYS), "my_number:"),
    )
    for e in entries:
        keys = search_keys(e.action, e.detail)
        if not keys:
            continue
        view = entry_view(e)
        yield {
            "at": view["at"],
            "seq": e.seq,
            "staff_id": e.staff_id,
            "staff_name": e.staff_name,
            "role": e.role,
            "terminal": e.terminal,
            "procedure": e.procedure,
            "keys": "・".join(keys),
            "result": e.result,
            "found": len(view["targets"]) if e.action in SEARCH_ACTIONS and e.result == "ok" else None,
            "targets": view["targets"],
        }


def _unrelated_lookups(uow: UnitOfWork, q: _Query) -> Iterator[dict[str, Any]]:
    """Persons a staff member viewed with no filing (or other relation) of theirs for that person within
    ± `related_days` days of the view (days in Japan)."""
    days = q.settings.related_days
    related: dict[tuple[str, str], list[date]] = {}
    margin = timedelta(days=days + 1)
    for staff_id, number, at in uow.audit.relations(q.start - margin, q.end + margin):
        related.setdefault((staff_id, number), []).append(utc(at).astimezone(JST).date())
    for dates in related.values():
        dates.sort()
    entries = uow.audit.stream(
        q.start, q.end, staff_id=q.staff_id, actions=VIEW_ACTIONS, prefixes=VIEW_PREFIXES, results=("ok",)
    )
    for e in entries:
        day = utc(e.at).astimezone(JST).date()
        for number in dict.fromkeys(e.targets or ()):
            dates = related.get((e.staff_id, number), [])
            i = bisect_left(dates, day - timedelta(days=days))
            if i < len(dates) and dates[i] <= day + timedelta(days=days):
                continue
            yield {
                "at": jst_iso(e.at),
                "seq": e.seq,
                "staff_id": e.staff_id,
                "staff_name": e.staff_name,
                "role": e.role,
                "terminal": e.terminal,
                "procedure": e.procedure,
                "action": e.action,
                "addressee_number": number,
            }


_AT = Column("at", "日時")
_SEQ = Column("seq", "通番")
_STAFF = (Column("staff_id", "職員ID"), Column("staff_name", "職員名"))

REPORTS: dict[str, _Kind] = {
    "after_hours": _Kind(
        "時間外・休日のアクセス",
        (_AT, Column("reason", "区分"), *(c for c in LOG_COLUMNS if c.key != "at")),
        _after_hours,
        ("business_start", "business_end"),
    ),
    "failed_logins": _Kind(
        "ログイン失敗（アカウント・端末別）",
        (
            Column("account", "アカウント"),
            Column("staff_name", "職員名"),
            Column("terminal", "端末"),
            Column("failed", "失敗回数"),
            Column("rate_limited", "試行制限による拒否回数"),
            Column("first_at", "初回失敗日時"),
            Column("last_at", "最終失敗日時"),
            Column("succeeded", "同端末での成功回数"),
        ),
        _failed_logins,
    ),
    "logins": _Kind(
        "ID別ログイン回数",
        (
            *_STAFF,
            Column("role", "権限"),
            Column("logins", "ログイン回数"),
            Column("failed", "失敗回数"),
            Column("terminals", "端末数"),
            Column("first_at", "初回ログイン日時"),
            Column("last_at", "最終ログイン日時"),
        ),
        _logins,
    ),
    "mass_searches": _Kind(
        "大量検索・大量閲覧",
        (
            Column("kind", "区分"),
            *_STAFF,
            Column("terminals", "端末"),
            Column("first_at", "開始日時"),
            Column("last_at", "終了日時"),
            Column("searches", "検索回数"),
            Column("views", "閲覧回数"),
            Column("persons", "表示人数"),
            Column("peak_searches", "時間枠内の最大検索回数"),
            Column("peak_persons", "時間枠内の最大表示人数"),
            Column("seq_from", "通番（始）"),
            Column("seq_to", "通番（終）"),
        ),
        _mass_searches,
        ("window_minutes", "mass_searches", "mass_persons", "large_search_results"),
    ),
    "number_lookups": _Kind(
        "住民票コード・個人番号による検索",
        (
            _AT,
            _SEQ,
            *_STAFF,
            Column("role", "権限"),
            Column("terminal", "端末"),
            Column("procedure", "事務"),
            Column("keys", "検索キー"),
            Column("result", "結果"),
            Column("found", "該当件数"),
            Column("targets", "該当宛名番号"),
        ),
        _number_lookups,
    ),
    "unrelated_lookups": _Kind(
        "届出等の関連がない閲覧（業務上必要のない検索の確認）",
        (
            _AT,
            _SEQ,
            *_STAFF,
            Column("role", "権限"),
            Column("terminal", "端末"),
            Column("procedure", "事務"),
            Column("action", "操作"),
            Column("addressee_number", "宛名番号"),
        ),
        _unrelated_lookups,
        ("related_days",),
    ),
}

# Query parameters that override a threshold for one report.
OVERRIDES = {
    "window": ("window_minutes", 1, 24 * 60),
    "searches": ("mass_searches", 0, 100_000),
    "persons": ("mass_persons", 0, 1_000_000),
    "results": ("large_search_results", 0, 100_000),
    "days": ("related_days", 0, 366),
}


def report_kinds() -> list[dict[str, str]]:
    return [{"kind": kind, "title": k.title} for kind, k in REPORTS.items()]


def report(
    uow_factory: UnitOfWorkFactory,
    actor: Actor,
    kind: str,
    params: Mapping[str, str],
    settings: AuditSettings | None = None,
) -> Report:
    """One report over a period of Japan dates (`from`, `to`, both inclusive), optionally for one staff id."""
    spec = REPORTS.get(kind)
    # The kind comes from the path: log it only when it is one of ours.
    authorize(uow_factory, actor, LOG_READ, f"audit:report:{kind}" if spec else "audit:report")
    if spec is None:
        raise NotFound("該当する帳票がありません", "kind")
    first, last = _period(params, required=True)
    assert first is not None and last is not None
    cfg = settings or AuditSettings()
    overrides: dict[str, Any] = {
        attr: _int(params, name, getattr(cfg, attr), low, high)
        for name, (attr, low, high) in OVERRIDES.items()
        if attr in spec.settings
    }
    cfg = replace(cfg, **overrides)
    fmt = _format(params)
    staff_id = _text(params, "staff_id")
    q = _Query(_start_of(first), _start_of(last + timedelta(days=1)), staff_id, cfg)
    parameters: dict[str, Any] = {"from": first.isoformat(), "to": last.isoformat(), "staff_id": staff_id}
    for attr in spec.settings:
        value = getattr(cfg, attr)
        parameters[attr] = value.strftime("%H:%M") if isinstance(value, time) else value
    with uow_factory() as uow:
        found = spec.build(uow, q)
        rows = list(islice(found, cfg.max_rows + 1))
        if isinstance(found, Generator):
            found.close()  # a cut-off stream closes its cursor now
        truncated = len(rows) > cfg.max_rows
        rows = rows[: cfg.max_rows]
        detail = _describe({**parameters, "format": fmt, "rows": len(rows), "truncated": truncated or None})
        uow.log(actor, LogEntry(f"audit:report:{kind}", detail=detail))
        uow.commit()
    return Report(
        kind,
        spec.title,
        spec.columns,
        rows,
        {k: v for k, v in parameters.items() if v is not None},
        truncated,
        fmt,
    )
