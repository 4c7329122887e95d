"""The auditor's reports over the operation log (標準仕様書 j1370 アクセスログ管理).

j1370 asks for online search of the log (services/audit_log_search.py) and for analysis outputs: off-hours and
holiday access, failed logins, logins per ID, bulk searches, searches by number. The PIA adds the check that no one
looks people up without a business need (業務上必要のない検索又は抽出が行われていないことを確認する). Each is a
`Report` (services/audit_report_table.py): Japanese column headers and plain rows, which the JSON API, the CSV
download (`csv_bytes`) and a page can all render.

Only what is in the log is shown (who, when, where, what, which addressee numbers, the result): never a
resident's record. Only the auditor (`log:read`) may look, and every look is itself logged. Periods are dates in
Japan time; the period is filtered in SQL and the rows streamed and classified here, from the entries' fields and
facts — never from `detail`, which is written for people (but see `search_keys`).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter, deque
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from itertools import groupby, islice
from typing import Any

from juki.domain.dates import JST
from juki.domain.errors import AuditReportNotFound
from juki.policy.roles import LOG_READ, Actor
from juki.services.audit import Facts, LogEntry, utc
from juki.services.audit_hours import AuditSettings, jst_iso, off_hours_reason, start_of
from juki.services.audit_log_search import LOG_COLUMNS, entry_view, search_log
from juki.services.audit_params import describe, given, int_param, output_format, period, text_param
from juki.services.audit_report_table import Cell, Column, Report, TableRow, csv_bytes
from juki.services.authorization import authorize
from juki.services.ports import AuditStore
from juki.services.read_models import LogRecord
from juki.services.unit_of_work import UnitOfWorkFactory

# The web layer reaches the auditor's views through this module.
__all__ = [
    "REPORTS",
    "AuditSettings",
    "Report",
    "csv_bytes",
    "report",
    "report_kinds",
    "search_keys",
    "search_log",
]

# What the register's reads log (services/register_queries.py), and the CS operator's searches and national queries
# (cs/services/search.py). A certificate's issue will log as `certificate:…`.
SEARCH_ACTIONS = ("resident:search", "cs:search", "cs:national_query")
VIEW_ACTIONS = ("resident:view", "resident:history", "household:view")
VIEW_PREFIXES = ("certificate:",)
# A search's facts name its criteria (`{"criteria": ["name", "resident_code"], "results": 3}`); a refused My Number
# search logs its own action. j1370 "searches by 宛名番号 etc.": every exact look-up by a number.
NUMBER_KEYS = {
    "addressee_number": "宛名番号",
    "household_number": "世帯番号",
    "resident_code": "住民票コード",
    "residence_card_number": "在留カード番号",
    "my_number": "個人番号",
}
MY_NUMBER_SEARCH_ACTION = "resident:search:my_number"
# A search logged before the log had facts (migration 0015) said its criteria only in `detail`.
_CRITERIA = re.compile(r"criteria=\[([^\]]*)\]")
_QUOTED = re.compile(r"'([A-Za-z_]+)'")

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
    build: Callable[[AuditStore, _Query], Iterable[TableRow]]
    settings: tuple[str, ...] = ()  # the thresholds it uses, shown with the report


# Roles whose work is meant to happen outside the city's business hours: a kiosk (コンビニ交付) serves 06:30–23:00
# and on weekends and holidays by design, so its entries are left out of the after-hours report. They stay in the log
# search (`staff_id=kiosk:<id>`, or `action=kiosk:*`); the kiosk service itself refuses anything outside its own
# hours and logs it as `closed`. A connection no registered kiosk made (`kiosk:unknown`, a rogue certificate at
# night) is not exempt.
AFTER_HOURS_EXEMPT_ROLES = frozenset({"kiosk"})
UNREGISTERED_KIOSK = "kiosk:unknown"


def _after_hours(log: AuditStore, q: _Query) -> Iterator[TableRow]:
    s = q.settings
    for row in log.stream(q.start, q.end, staff_id=q.staff_id):
        if row.role in AFTER_HOURS_EXEMPT_ROLES and row.staff_id != UNREGISTERED_KIOSK:
            continue
        reason = off_hours_reason(row.at, s.business_start, s.business_end)
        if reason is not None:
            yield {"reason": reason, **entry_view(row)}


def _jst_or_none(at: datetime | None) -> str | None:
    return None if at is None else jst_iso(at)


def _failed_logins(log: AuditStore, q: _Query) -> list[TableRow]:
    tallies = [r for r in log.sign_ins(q.start, q.end, q.staff_id, by_terminal=True) if r.attempts > r.ok]
    tallies.sort(key=lambda r: (-(r.failed + r.rate_limited), r.staff_id, r.terminal or ""))
    return [
        {
            "account": r.staff_id,
            "staff_name": r.staff_name,
            "terminal": r.terminal,
            "failed": r.failed,
            "rate_limited": r.rate_limited,
            "first_at": _jst_or_none(r.first_failed_at),
            "last_at": _jst_or_none(r.last_failed_at),
            "succeeded": r.ok,
        }
        for r in tallies
    ]


def _logins(log: AuditStore, q: _Query) -> list[TableRow]:
    return [
        {
            "staff_id": r.staff_id,
            "staff_name": r.staff_name,
            "role": r.role,
            "logins": r.ok,
            "failed": r.attempts - r.ok,
            "terminals": r.terminals,
            "first_at": _jst_or_none(r.first_ok_at),
            "last_at": _jst_or_none(r.last_ok_at),
        }
        for r in log.sign_ins(q.start, q.end, q.staff_id)
    ]


# A report row with what it is ordered by: (first time in Japan, staff id, first seq).
_KeyedRow = tuple[tuple[str, str, int], TableRow]


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

    def add(self, position: int, e: LogRecord) -> None:
        self.last = position
        self.seqs.append(e.seq)
        self.times.append(e.at)
        if e.action in SEARCH_ACTIONS:
            self.searches += 1
        else:
            self.views += 1
        self.persons.update(e.targets)
        self.terminals.add(e.terminal)

    def keyed_row(self) -> _KeyedRow:
        first_at = jst_iso(min(self.times))
        return (first_at, self.staff_id, min(self.seqs)), {
            "kind": "短時間の大量検索・閲覧",
            "staff_id": self.staff_id,
            "staff_name": self.staff_name,
            "terminals": sorted(self.terminals),
            "first_at": first_at,
            "last_at": jst_iso(max(self.times)),
            "searches": self.searches,
            "views": self.views,
            "persons": len(self.persons),
            "peak_searches": self.peak_searches,
            "peak_persons": self.peak_persons,
            "seq_from": min(self.seqs),
            "seq_to": max(self.seqs),
        }


def _bursts(entries: Iterable[LogRecord], s: AuditSettings) -> Iterator[_Burst]:
    """Slide a window over one staff member's entries (in time order); where the searches or the distinct persons
    shown in the window go over the thresholds, collect the overlapping windows into one burst."""
    window: deque[tuple[int, LogRecord]] = deque()
    shown: Counter[str] = Counter()
    searches = 0
    span = timedelta(minutes=s.window_minutes)
    burst: _Burst | None = None
    for position, e in enumerate(entries):
        window.append((position, e))
        searches += e.action in SEARCH_ACTIONS
        shown.update(set(e.targets))
        while window[0][1].at <= e.at - span:
            _, old = window.popleft()
            searches -= old.action in SEARCH_ACTIONS
            for number in set(old.targets):
                shown[number] -= 1
                if not shown[number]:
                    del shown[number]
        if searches <= s.mass_searches and len(shown) <= s.mass_persons:
            continue
        if burst is None or window[0][0] > burst.last:  # this window does not overlap the burst: a new one
            if burst is not None:
                yield burst
            burst = _Burst(e.staff_id, e.staff_name)
        for p, x in window:
            if p > burst.last:
                burst.add(p, x)
        burst.peak_searches = max(burst.peak_searches, searches)
        burst.peak_persons = max(burst.peak_persons, len(shown))
    if burst is not None:
        yield burst


def _mass_searches(log: AuditStore, q: _Query) -> list[TableRow]:
    s = q.settings
    entries = log.stream(
        q.start,
        q.end,
        staff_id=q.staff_id,
        actions=SEARCH_ACTIONS + VIEW_ACTIONS,
        prefixes=VIEW_PREFIXES,
        results=("ok",),
        by_staff=True,
    )
    found: list[_KeyedRow] = []
    for _staff, group in groupby(entries, key=lambda e: e.staff_id):
        mine = list(group)
        found.extend(burst.keyed_row() for burst in _bursts(mine, s))
        found.extend(_large_search(e) for e in mine if _is_large_search(e, s))
    return [row for _key, row in sorted(found, key=lambda keyed: keyed[0])]


def _is_large_search(e: LogRecord, s: AuditSettings) -> bool:
    return e.action in SEARCH_ACTIONS and len(e.targets) > s.large_search_results


def _large_search(e: LogRecord) -> _KeyedRow:
    at = jst_iso(e.at)
    return (at, e.staff_id, e.seq), {
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


def search_keys(action: str, facts: Facts | None, detail: str = "") -> list[str]:
    """The exact-number keys (住民票コード, 個人番号) a search entry used: the criteria its facts name.

    An entry without facts was written before the log had them (migration 0015): the log is kept for years and
    the report must still cover such a period, so its criteria are read from its `detail` as that search wrote it.
    """
    if action == MY_NUMBER_SEARCH_ACTION:
        return [NUMBER_KEYS["my_number"]]
    if facts is None:
        m = _CRITERIA.search(detail)
        used = set(_QUOTED.findall(m[1])) if m else set()
    else:
        criteria = facts.get("criteria")
        used = set(criteria) if isinstance(criteria, list) else set()
    return [label for key, label in NUMBER_KEYS.items() if key in used]


def _number_lookups(log: AuditStore, q: _Query) -> Iterator[TableRow]:
    entries = log.stream(
        q.start,
        q.end,
        staff_id=q.staff_id,
        actions=(*SEARCH_ACTIONS, MY_NUMBER_SEARCH_ACTION),
        facts_mention=tuple(NUMBER_KEYS),
    )
    for e in entries:
        keys = search_keys(e.action, e.facts, e.detail)
        if not keys:
            continue
        yield {
            "at": jst_iso(e.at),
            "seq": e.seq,
            "staff_id": e.staff_id,
            "staff_name": e.staff_name,
            "role": e.role,
            "terminal": e.terminal,
            "procedure": e.procedure,
            "keys": "・".join(keys),
            "result": e.result,
            "found": len(e.targets) if e.action in SEARCH_ACTIONS and e.result == "ok" else None,
            "targets": list(e.targets),
        }


def _unrelated_lookups(log: AuditStore, q: _Query) -> Iterator[TableRow]:
    """Persons a staff member viewed with no filing (or other relation) of theirs for that person within
    ± `related_days` days of the view (days in Japan)."""
    days = q.settings.related_days
    related: dict[tuple[str, str], list[date]] = {}
    margin = timedelta(days=days + 1)
    for staff_id, number, at in log.relations(q.start - margin, q.end + margin):
        related.setdefault((staff_id, number), []).append(utc(at).astimezone(JST).date())
    for dates in related.values():
        dates.sort()
    entries = log.stream(
        q.start, q.end, staff_id=q.staff_id, actions=VIEW_ACTIONS, prefixes=VIEW_PREFIXES, results=("ok",)
    )
    for e in entries:
        day = e.at.astimezone(JST).date()
        for number in dict.fromkeys(e.targets):
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


def _settings(spec: _Kind, params: Mapping[str, str], settings: AuditSettings | None) -> AuditSettings:
    """The report's thresholds: the register's settings, each overridden by its query parameter if given."""
    cfg = settings or AuditSettings()
    overrides: dict[str, Any] = {
        attr: int_param(params, name, getattr(cfg, attr), low, high)
        for name, (attr, low, high) in OVERRIDES.items()
        if attr in spec.settings
    }
    return replace(cfg, **overrides)


def _rows(spec: _Kind, log: AuditStore, q: _Query) -> tuple[list[TableRow], bool]:
    """At most `max_rows` rows, and whether there were more."""
    found = spec.build(log, q)
    rows = list(islice(found, q.settings.max_rows + 1))
    if isinstance(found, Generator):
        found.close()  # a cut-off stream closes its cursor now
    return rows[: q.settings.max_rows], len(rows) > q.settings.max_rows


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
        raise AuditReportNotFound()
    first, last = period(params, required=True)
    assert first is not None and last is not None
    cfg = _settings(spec, params, settings)
    fmt = output_format(params)
    staff_id = text_param(params, "staff_id")
    q = _Query(start_of(first), start_of(last + timedelta(days=1)), staff_id, cfg)
    parameters: dict[str, Cell] = {"from": first.isoformat(), "to": last.isoformat(), "staff_id": staff_id}
    for attr in spec.settings:
        value = getattr(cfg, attr)
        parameters[attr] = value.strftime("%H:%M") if isinstance(value, time) else value
    with uow_factory() as uow:
        rows, truncated = _rows(spec, uow.audit, q)
        detail = describe({**parameters, "format": fmt, "rows": len(rows), "truncated": truncated or None})
        facts: Facts = {
            "parameters": given(parameters),
            "format": fmt,
            "rows": len(rows),
            "truncated": truncated,
        }
        uow.log(actor, LogEntry(f"audit:report:{kind}", detail=detail, facts=facts))
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
