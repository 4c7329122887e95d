"""The auditor's log search and reports (j1370) on both engines, over entries with controlled times."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime, time
from typing import Any

import pytest
from sqlalchemy import select

from juki.adapters import tables as t
from juki.adapters.uow import SqlUnitOfWork
from juki.domain.dates import JST
from juki.domain.errors import Forbidden, InvalidDate, InvalidField, NotFound
from juki.domain.identifiers import make_addressee_number
from juki.policy.roles import Actor
from juki.services import audit_reports as ar
from juki.services import filings, register_queries
from juki.services.audit import LogEntry
from juki.services.audit_hours import AuditSettings, off_hours_reason
from juki.services.audit_log_search import search_log
from juki.services.audit_queries import verify_chain
from juki.services.audit_report_table import Report, csv_bytes
from tests import factories as f

AUDITOR = Actor("audit1", "監査 三郎", "auditor", "監査端末")
CLERK = Actor("clerk1", "窓口 一郎", "clerk", "窓口1")
CLERK2 = Actor("clerk2", "窓口 二郎", "clerk", "窓口2")
SUPERVISOR = Actor("super1", "係長 花子", "supervisor", "係長席")
N1, N2 = make_addressee_number(1), make_addressee_number(2)


def jst(*args: int) -> datetime:
    return datetime(*args, tzinfo=JST)  # type: ignore[misc]


def at(j, when: datetime) -> Callable[[], SqlUnitOfWork]:
    """A unit-of-work factory whose clock stands at `when` (and whose today is that day in Japan)."""
    return lambda: SqlUnitOfWork(
        j.engine, j.vault, today=when.astimezone(JST).date(), now=when.astimezone(UTC), event_key=j.event_key
    )


def log(j, when: datetime, actor: Actor, action: str, targets: tuple[str, ...] = (), **kw: Any) -> int:
    with at(j, when)() as uow:
        uow.log(actor, LogEntry(action, targets, **kw))
        uow.commit()
    with j.engine.connect() as conn:
        return int(
            conn.execute(select(t.operation_log.c.seq).order_by(t.operation_log.c.seq.desc())).first()[0]
        )


def run(j, kind: str, **params: str) -> Report:
    return ar.report(j.uow, AUDITOR, kind, params)


def log_rows(j, after: int = 0) -> list[Any]:
    with j.engine.connect() as conn:
        return list(
            conn.execute(
                select(t.operation_log).where(t.operation_log.c.seq > after).order_by(t.operation_log.c.seq)
            )
        )


def last_seq(j) -> int:
    rows = log_rows(j)
    return rows[-1].seq if rows else 0


# --- business hours, weekends, holidays, 年末年始 (pure) ------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "reason"),
    [
        (jst(2025, 6, 30, 10, 0), None),  # Monday
        (jst(2025, 6, 30, 8, 30), None),  # the first minute of business hours
        (jst(2025, 6, 30, 17, 14, 59), None),
        (jst(2025, 6, 30, 8, 29, 59), "始業前"),
        (jst(2025, 6, 30, 17, 15), "終業後"),
        (jst(2025, 6, 30, 18, 0), "終業後"),
        (jst(2025, 6, 28, 10, 0), "土曜日"),
        (jst(2025, 6, 29, 10, 0), "日曜日"),
        (jst(2025, 5, 5, 10, 0), "祝日（こどもの日）"),
        (jst(2025, 5, 6, 10, 0), "祝日（みどりの日 振替休日）"),
        (jst(2024, 12, 30, 10, 0), "年末年始"),  # a Monday
        (jst(2025, 1, 3, 10, 0), "年末年始"),
        (jst(2025, 1, 6, 10, 0), None),  # the first working day
        (jst(2024, 12, 27, 10, 0), None),
    ],
)
def test_off_hours_reason_names_why_a_moment_is_outside_business_hours(when, reason):
    assert off_hours_reason(when.astimezone(UTC)) == reason


def test_a_utc_time_is_judged_by_its_hour_in_japan():
    # 00:30 UTC on a Monday is 09:30 in Japan (inside); 23:00 UTC on a Friday is Saturday 08:00 in Japan.
    assert off_hours_reason(datetime(2025, 6, 30, 0, 30, tzinfo=UTC)) is None
    assert off_hours_reason(datetime(2025, 6, 27, 23, 0, tzinfo=UTC)) == "土曜日"
    assert off_hours_reason(datetime(2025, 6, 30, 0, 30)) is None  # SQLite's naive UTC


def test_business_hours_come_from_the_settings():
    s = AuditSettings.parse("09:00", "17:00")
    assert (s.business_start, s.business_end) == (time(9), time(17))
    assert off_hours_reason(jst(2025, 6, 30, 8, 45), s.business_start, s.business_end) == "始業前"
    assert off_hours_reason(jst(2025, 6, 30, 17, 5), s.business_start, s.business_end) == "終業後"
    with pytest.raises(ValueError):
        AuditSettings.parse("17:00", "09:00")


# --- the after-hours report ---------------------------------------------------------------------------------------


def test_after_hours_report_finds_off_hours_weekend_holiday_and_year_end_accesses_only(j):
    inside = [
        log(j, jst(2025, 6, 30, 10, 0), CLERK, "resident:view", (N1,)),
        log(j, jst(2025, 1, 6, 9, 0), CLERK, "auth:login"),
        log(j, jst(2025, 6, 30, 17, 14, 59), CLERK, "auth:logout"),
    ]
    outside = {
        log(j, jst(2025, 6, 30, 18, 0), CLERK, "resident:view", (N1,)): "終業後",
        log(j, jst(2025, 6, 30, 7, 0), CLERK2, "auth:login", result="failed"): "始業前",
        log(j, jst(2025, 6, 28, 10, 0), CLERK, "resident:search", (N1,)): "土曜日",
        log(j, jst(2025, 5, 5, 10, 0), SUPERVISOR, "household:view", (N1,)): "祝日（こどもの日）",
        log(j, jst(2024, 12, 30, 10, 0), CLERK, "filing:list"): "年末年始",
    }
    # Outside the period in Japan time, though inside it by UTC date (2025-06-30 15:30 UTC) and the other way.
    log(j, jst(2025, 7, 1, 0, 30), CLERK, "resident:view", (N1,))
    log(j, jst(2024, 11, 30, 23, 59), CLERK, "resident:view", (N1,))

    report = run(j, "after_hours", **{"from": "2024-12-01", "to": "2025-06-30"})

    assert {r["seq"]: r["reason"] for r in report.rows} == outside
    assert not set(inside) & {r["seq"] for r in report.rows}
    evening = next(r for r in report.rows if r["reason"] == "終業後")
    assert evening["at"] == "2025-06-30T18:00:00+09:00"
    assert evening["staff_id"] == "clerk1" and evening["terminal"] == "窓口1"
    assert evening["action"] == "resident:view" and evening["targets"] == [N1]
    assert report.parameters["business_start"] == "08:30" and report.parameters["business_end"] == "17:15"


def test_after_hours_report_uses_the_business_hours_it_is_given(j):
    seq = log(j, jst(2025, 6, 30, 17, 30), CLERK, "resident:view", (N1,))
    period = {"from": "2025-06-30", "to": "2025-06-30"}
    assert [r["seq"] for r in run(j, "after_hours", **period).rows] == [seq]
    late = AuditSettings.parse("08:30", "18:00")
    assert ar.report(j.uow, AUDITOR, "after_hours", period, late).rows == []


def test_after_hours_report_leaves_out_kiosks_which_serve_until_23_by_design(j):
    from juki.services.kiosk_desk import kiosk_actor

    shop = kiosk_actor("kiosk-a", "コンビニ交付端末 小平駅前店")
    stranger = Actor("kiosk:unknown", "未登録の端末", "kiosk", "203.0.113.9", procedure="kiosk_issuance")
    log(j, jst(2025, 6, 30, 21, 0), shop, "kiosk:card_auth", (N1,))  # a weekday evening
    log(j, jst(2025, 6, 30, 21, 1), shop, "certificate:issue", (N1,))
    log(j, jst(2025, 6, 28, 7, 0), shop, "kiosk:issue", (N1,))  # a Saturday morning
    rogue = log(
        j, jst(2025, 6, 29, 23, 30), stranger, "kiosk:connect", result="denied"
    )  # no registered kiosk
    clerk = log(j, jst(2025, 6, 30, 21, 2), CLERK, "resident:view", (N1,))  # staff at the same hour: reported

    report = run(j, "after_hours", **{"from": "2025-06-28", "to": "2025-06-30"})

    assert [(r["seq"], r["role"]) for r in report.rows] == [(rogue, "kiosk"), (clerk, "clerk")]
    kiosk_entries = search_log(j.uow, AUDITOR, {"staff_id": "kiosk:kiosk-a", "from": "2025-06-28"})
    assert len(kiosk_entries.rows) == 3  # still in the log, for the log search


def test_a_report_can_be_limited_to_one_staff_member(j):
    mine = log(j, jst(2025, 6, 28, 10, 0), CLERK, "resident:view", (N1,))
    log(j, jst(2025, 6, 28, 11, 0), CLERK2, "resident:view", (N1,))
    report = run(j, "after_hours", **{"from": "2025-06-28", "to": "2025-06-28", "staff_id": "clerk1"})
    assert [r["seq"] for r in report.rows] == [mine]


def test_a_long_report_is_cut_and_says_so(j):
    for minute in range(4):
        log(j, jst(2025, 6, 28, 10, minute), CLERK, "resident:view", (N1,))
    small = AuditSettings(max_rows=3)
    report = ar.report(j.uow, AUDITOR, "after_hours", {"from": "2025-06-28", "to": "2025-06-28"}, small)
    assert len(report.rows) == 3 and report.truncated
    assert report.as_dict()["truncated"] is True


# --- sign-ins -----------------------------------------------------------------------------------------------------


def _sign_ins(j) -> None:
    nobody = Actor("nobody", "(不明)", "none", "外部端末")
    for minute in range(3):
        log(j, jst(2025, 6, 2, 9, minute), CLERK, "auth:login", result="failed")
    log(j, jst(2025, 6, 2, 9, 5), CLERK, "auth:login")
    log(j, jst(2025, 6, 3, 9, 0), SUPERVISOR, "auth:login")
    log(j, jst(2025, 6, 4, 9, 0), Actor("super1", "係長 花子", "supervisor", "係長席2"), "auth:login")
    log(j, jst(2025, 6, 3, 22, 0), nobody, "auth:login", result="failed")
    log(j, jst(2025, 6, 3, 22, 1), nobody, "auth:login", result="failed")
    log(j, jst(2025, 6, 3, 22, 2), nobody, "auth:login", result="rate_limited")
    log(j, jst(2025, 6, 3, 10, 0), CLERK, "auth:logout")
    log(j, jst(2025, 6, 10, 9, 0), CLERK2, "auth:login", result="failed")  # outside the period


def test_failed_logins_are_grouped_by_account_and_terminal_with_counts_and_times(j):
    _sign_ins(j)
    report = run(j, "failed_logins", **{"from": "2025-06-01", "to": "2025-06-07"})
    assert report.rows == [
        {
            "account": "clerk1",
            "staff_name": "窓口 一郎",
            "terminal": "窓口1",
            "failed": 3,
            "rate_limited": 0,
            "first_at": "2025-06-02T09:00:00+09:00",
            "last_at": "2025-06-02T09:02:00+09:00",
            "succeeded": 1,
        },
        {
            "account": "nobody",
            "staff_name": "(不明)",
            "terminal": "外部端末",
            "failed": 2,
            "rate_limited": 1,
            "first_at": "2025-06-03T22:00:00+09:00",
            "last_at": "2025-06-03T22:02:00+09:00",
            "succeeded": 0,
        },
    ]


def test_logins_per_id_count_sign_ins_failures_and_terminals(j):
    _sign_ins(j)
    report = run(j, "logins", **{"from": "2025-06-01", "to": "2025-06-07"})
    by_id = {r["staff_id"]: r for r in report.rows}
    assert set(by_id) == {"clerk1", "super1", "nobody"}
    assert (by_id["clerk1"]["logins"], by_id["clerk1"]["failed"], by_id["clerk1"]["terminals"]) == (1, 3, 1)
    assert by_id["clerk1"]["first_at"] == by_id["clerk1"]["last_at"] == "2025-06-02T09:05:00+09:00"
    assert (by_id["super1"]["logins"], by_id["super1"]["failed"], by_id["super1"]["terminals"]) == (2, 0, 2)
    assert by_id["super1"]["first_at"] == "2025-06-03T09:00:00+09:00"
    assert by_id["super1"]["last_at"] == "2025-06-04T09:00:00+09:00"
    assert (by_id["nobody"]["logins"], by_id["nobody"]["failed"], by_id["nobody"]["last_at"]) == (0, 3, None)


# --- mass searches ------------------------------------------------------------------------------------------------


def _numbers(start: int, count: int) -> tuple[str, ...]:
    return tuple(make_addressee_number(n) for n in range(start, start + count))


def test_mass_searches_finds_bursts_over_a_sliding_window_and_single_large_searches(j):
    # clerk1: four searches between 10:50 and 11:10 (two in each clock hour: only a sliding window sees four).
    burst = [
        log(j, jst(2025, 6, 2, 10, m), CLERK, "resident:search", _numbers(100 + m, 1)) for m in (50, 55)
    ] + [log(j, jst(2025, 6, 2, 11, m), CLERK, "resident:search", _numbers(200 + m, 1)) for m in (5, 10)]
    # clerk1 again the next day: three searches in an hour is not over the threshold.
    for m in (0, 10, 20):
        log(j, jst(2025, 6, 3, 10, m), CLERK, "resident:search", _numbers(300 + m, 1))
    # clerk2: four searches, but seventy minutes apart.
    for h in range(4):
        log(j, jst(2025, 6, 2, 9 + h, 10 * h), CLERK2, "resident:search", _numbers(400 + h, 1))
    # super1: views of six different persons within forty minutes (one household view shows two).
    views = [
        log(j, jst(2025, 6, 4, 14, 0), SUPERVISOR, "resident:view", _numbers(500, 1)),
        log(j, jst(2025, 6, 4, 14, 10), SUPERVISOR, "resident:history", _numbers(501, 1)),
        log(j, jst(2025, 6, 4, 14, 20), SUPERVISOR, "household:view", _numbers(502, 2)),
        log(j, jst(2025, 6, 4, 14, 30), SUPERVISOR, "resident:view", _numbers(500, 1)),  # again: still 4
        log(j, jst(2025, 6, 4, 14, 40), SUPERVISOR, "resident:view", _numbers(504, 2)),
    ]
    log(j, jst(2025, 6, 4, 14, 45), SUPERVISOR, "resident:view", _numbers(600, 9), result="denied")
    # clerk2: one search showing five persons.
    wide = log(j, jst(2025, 6, 5, 10, 0), CLERK2, "resident:search", _numbers(700, 5))

    report = run(
        j,
        "mass_searches",
        **{"from": "2025-06-01", "to": "2025-06-07"},
        searches="3",
        persons="5",
        results="4",
    )

    assert [(r["kind"], r["staff_id"], r["seq_from"], r["seq_to"]) for r in report.rows] == [
        ("短時間の大量検索・閲覧", "clerk1", burst[0], burst[-1]),
        ("短時間の大量検索・閲覧", "super1", views[0], views[-1]),
        ("一度に多数を表示した検索", "clerk2", wide, wide),
    ]
    searching, viewing, single = report.rows
    assert (searching["searches"], searching["views"], searching["persons"]) == (4, 0, 4)
    assert searching["first_at"] == "2025-06-02T10:50:00+09:00"
    assert searching["last_at"] == "2025-06-02T11:10:00+09:00"
    assert searching["peak_searches"] == 4
    assert (viewing["searches"], viewing["views"], viewing["persons"], viewing["peak_persons"]) == (
        0,
        5,
        6,
        6,
    )
    assert viewing["terminals"] == ["係長席"]
    assert (single["persons"], single["first_at"]) == (5, "2025-06-05T10:00:00+09:00")
    assert report.parameters["mass_searches"] == 3 and report.parameters["window_minutes"] == 60


def test_overlapping_windows_over_the_threshold_are_one_burst_and_separate_ones_are_two(j):
    first = [
        log(j, jst(2025, 6, 2, 10, 5 * i), CLERK, "resident:search", _numbers(10 + i, 1)) for i in range(6)
    ]
    # 10:55 and 11:10: the windows ending there still reach back into the burst and go over (so it grows).
    first += [log(j, jst(2025, 6, 2, 10, 55), CLERK, "resident:search", _numbers(20, 1))]
    first += [log(j, jst(2025, 6, 2, 11, 10), CLERK, "resident:search", _numbers(21, 1))]
    second = [log(j, jst(2025, 6, 2, 15, i), CLERK, "resident:search", _numbers(30 + i, 1)) for i in range(4)]

    report = run(j, "mass_searches", **{"from": "2025-06-02", "to": "2025-06-02", "searches": "3"})

    assert [(r["seq_from"], r["seq_to"], r["searches"], r["peak_searches"]) for r in report.rows] == [
        (first[0], first[-1], 8, 7),
        (second[0], second[-1], 4, 4),
    ]


def test_mass_searches_default_thresholds_do_not_flag_ordinary_work(j):
    for m in range(0, 60, 5):
        log(j, jst(2025, 6, 2, 10, m), CLERK, "resident:search", _numbers(100 + m, 3))
    assert run(j, "mass_searches", **{"from": "2025-06-02", "to": "2025-06-02"}).rows == []
    flagged = run(j, "mass_searches", **{"from": "2025-06-02", "to": "2025-06-02", "searches": "11"})
    assert [r["searches"] for r in flagged.rows] == [12]


# --- look-ups by number -------------------------------------------------------------------------------------------


def test_number_lookups_lists_searches_by_resident_code_or_my_number_and_refusals(j):
    people = [f.person()]
    moved = filings.file(at(j, jst(2025, 6, 2, 10, 0)), CLERK, "move-in", f.move_in(people))
    number = moved.changes[0]["addressee_number"]
    when = at(j, jst(2025, 6, 3, 10, 0))
    register_queries.search(when, CLERK, {"resident_code": people[0]["resident_code"]})
    register_queries.search(when, CLERK2, {"my_number": people[0]["my_number"]})
    register_queries.search(when, CLERK, {"name": "山田 太郎", "birth_date": "1980-04-01"})  # not by number
    register_queries.search(when, CLERK, {"resident_code": f.person()["resident_code"]})  # nobody's
    inquiry = Actor("clerk1", "窓口 一郎", "clerk", "窓口1", procedure="resident_inquiry")
    with pytest.raises(Forbidden):
        register_queries.search(when, inquiry, {"my_number": people[0]["my_number"]})

    report = run(j, "number_lookups", **{"from": "2025-06-01", "to": "2025-06-07"})

    assert [(r["staff_id"], r["keys"], r["result"], r["found"], r["targets"]) for r in report.rows] == [
        ("clerk1", "住民票コード", "ok", 1, [number]),
        ("clerk2", "個人番号", "ok", 1, [number]),
        ("clerk1", "住民票コード", "ok", 0, []),
        ("clerk1", "個人番号", "denied", None, []),
    ]
    assert report.rows[0]["at"] == "2025-06-03T10:00:00+09:00"
    assert people[0]["my_number"] not in repr(report.as_dict())


def test_search_keys_reads_the_criteria_a_search_logged_as_facts():
    assert ar.search_keys("resident:search", {"criteria": ["my_number", "resident_code"], "results": 1}) == [
        "住民票コード",
        "個人番号",
    ]
    assert ar.search_keys("resident:search", {"criteria": ["address", "name"], "results": 3}) == []
    assert ar.search_keys("resident:search:my_number", None, "my_number:search") == ["個人番号"]
    assert ar.search_keys("resident:search", {"criteria": ["addressee_number"], "results": 1}) == ["宛名番号"]
    assert ar.search_keys("resident:search", {"criteria": ["residence_card_number"], "results": 0}) == [
        "在留カード番号"
    ]


def test_search_keys_reads_an_entry_written_before_facts_from_its_detail():
    assert ar.search_keys("resident:search", None, "criteria=['my_number', 'resident_code'] results=1") == [
        "住民票コード",
        "個人番号",
    ]
    assert ar.search_keys("resident:search", None, "criteria=['address', 'name'] results=3") == []
    assert ar.search_keys("resident:search", None, "criteria=['addressee_number'] results=1") == ["宛名番号"]
    assert ar.search_keys("resident:search", None, "criteria=['residence_card_number'] results=0") == [
        "在留カード番号"
    ]
    # Facts, once an entry has them, are what counts: the sentence for people is not parsed.
    assert ar.search_keys("resident:search", {"criteria": ["name"]}, "criteria=['resident_code']") == []


# --- look-ups with no related filing ------------------------------------------------------------------------------


def test_unrelated_lookups_lists_views_without_a_filing_of_the_same_staff_for_the_person_near_that_day(j):
    family = f.family_of_four()
    moved = filings.file(at(j, jst(2025, 6, 10, 10, 0)), CLERK, "move-in", f.move_in(family))
    a, b = moved.changes[0]["addressee_number"], moved.changes[1]["addressee_number"]
    # An ex officio correction for b entered by clerk2, approved by the supervisor.
    pending = filings.file(
        at(j, jst(2025, 6, 12, 10, 0)),
        CLERK2,
        "ex-officio-correction",
        {
            "filed_on": "2025-06-12",
            "changed_on": "2025-06-12",
            "reason": "戸籍照合により誤記を修正",
            "addressee_number": b,
            "corrections": {"given_name": "華子"},
        },
    )
    filings.decide(at(j, jst(2025, 6, 13, 10, 0)), SUPERVISOR, pending.filing_id, approve=True)

    related = [
        log(j, jst(2025, 6, 10, 11, 0), CLERK, "resident:view", (a,)),  # the day of the move-in
        log(j, jst(2025, 6, 17, 16, 0), CLERK, "resident:history", (a,)),  # seven days later
        log(j, jst(2025, 6, 12, 9, 0), CLERK2, "resident:view", (b,)),  # before entering the correction
        log(j, jst(2025, 6, 13, 9, 0), SUPERVISOR, "resident:view", (b,)),  # before approving it
    ]
    unrelated = {
        log(j, jst(2025, 6, 18, 9, 0), CLERK, "resident:view", (a,)): ("clerk1", a),  # eight days later
        log(j, jst(2025, 6, 11, 9, 0), CLERK2, "resident:view", (a,)): ("clerk2", a),  # not clerk2's filing
        log(j, jst(2025, 6, 20, 9, 0), SUPERVISOR, "certificate:issue", (a,)): ("super1", a),
    }
    household = log(j, jst(2025, 6, 13, 9, 30), SUPERVISOR, "household:view", (a, b))  # a is not super1's
    unrelated[household] = ("super1", a)
    log(j, jst(2025, 6, 11, 9, 0), CLERK2, "resident:view", ("0000000000",), result="denied")  # nothing shown

    report = run(j, "unrelated_lookups", **{"from": "2025-06-01", "to": "2025-06-30"})

    assert {r["seq"]: (r["staff_id"], r["addressee_number"]) for r in report.rows} == unrelated
    assert not set(related) & {r["seq"] for r in report.rows}
    assert report.parameters["related_days"] == 7
    # A narrower window makes the history a week later unrelated too.
    narrow = run(j, "unrelated_lookups", **{"from": "2025-06-01", "to": "2025-06-30", "days": "3"})
    assert related[1] in {r["seq"] for r in narrow.rows}


def test_a_data_subject_request_relates_its_handlers_to_the_person(j):
    from juki.services import subject_requests

    moved = filings.file(at(j, jst(2025, 6, 2, 10, 0)), CLERK, "move-in", f.move_in([f.person()]))
    a = moved.changes[0]["addressee_number"]
    view = log(j, jst(2025, 6, 20, 9, 0), CLERK2, "resident:view", (a,))
    assert view in {
        r["seq"] for r in run(j, "unrelated_lookups", **{"from": "2025-06-01", "to": "2025-06-30"}).rows
    }
    handler = Actor("clerk2", "窓口 二郎", "clerk", "窓口2", procedure="subject_request")
    subject_requests.create(
        at(j, jst(2025, 6, 20, 9, 30)),
        handler,
        {
            "kind": "disclosure",
            "addressee_number": a,
            "requester": {"type": "self", "name": "山田 太郎"},
            "identity_check": {"document": "driver_license"},
            "received_on": "2025-06-20",
            "text": "自分の住民票の閲覧記録を知りたい",
        },
    )
    rows = run(j, "unrelated_lookups", **{"from": "2025-06-01", "to": "2025-06-30"}).rows
    assert view not in {r["seq"] for r in rows}


# --- the log search -----------------------------------------------------------------------------------------------


def test_log_search_filters_by_period_staff_action_target_and_result_and_pages_by_cursor(j):
    seqs = [
        log(j, jst(2025, 6, 2, 10, 0), CLERK, "resident:view", (N1,)),
        log(j, jst(2025, 6, 2, 11, 0), CLERK, "resident:search", (N1, N2)),
        log(j, jst(2025, 6, 3, 10, 0), CLERK2, "resident:view", (N2,)),
        log(j, jst(2025, 6, 3, 23, 30), CLERK, "auth:login", result="failed"),
        log(j, jst(2025, 6, 4, 10, 0), SUPERVISOR, "resident:view", (N1,), my_number_shown=True),
    ]

    def found(**params: str) -> list[int]:
        return [e["seq"] for e in search_log(j.uow, AUDITOR, params).rows]

    assert found(**{"from": "2025-06-03", "to": "2025-06-03"}) == seqs[2:4]
    assert found(**{"to": "2025-06-02"}) == seqs[:2]
    assert found(staff_id="clerk1") == [seqs[0], seqs[1], seqs[3]]
    assert found(action="resident:view") == [seqs[0], seqs[2], seqs[4]]
    assert found(action="resident:*") == [seqs[0], seqs[1], seqs[2], seqs[4]]
    assert found(target=N1) == [seqs[0], seqs[1], seqs[4]]
    assert found(result="failed") == [seqs[3]]
    assert found(my_number_shown="true") == [seqs[4]]
    assert found(terminal="窓口2") == [seqs[2]]

    page = search_log(j.uow, AUDITOR, {"limit": "2", "to": "2025-06-30"})
    assert [e["seq"] for e in page.rows] == seqs[:2] and page.next == str(seqs[1])
    page = search_log(j.uow, AUDITOR, {"limit": "2", "after": page.next or "", "to": "2025-06-30"})
    assert [e["seq"] for e in page.rows] == seqs[2:4] and page.next == str(seqs[3])
    page = search_log(j.uow, AUDITOR, {"limit": "2", "after": page.next or "", "to": "2025-06-30"})
    assert [e["seq"] for e in page.rows] == seqs[4:] and page.next is None

    entry = search_log(j.uow, AUDITOR, {"target": N2, "staff_id": "clerk2"}).rows[0]
    assert entry == {
        "seq": seqs[2],
        "at": "2025-06-03T10:00:00+09:00",
        "staff_id": "clerk2",
        "staff_name": "窓口 二郎",
        "role": "clerk",
        "terminal": "窓口2",
        "procedure": "住民基本台帳に関する事務",
        "action": "resident:view",
        "targets": [N2],
        "my_number_shown": False,
        "result": "ok",
        "detail": "",
    }


@pytest.mark.parametrize(
    ("params", "error", "field"),
    [
        ({"limit": "501"}, InvalidField, "limit"),
        ({"limit": "0"}, InvalidField, "limit"),
        ({"after": "-1"}, InvalidField, "after"),
        ({"from": "2025/06/01"}, InvalidField, "from"),
        ({"from": "2025-02-30"}, InvalidDate, "from"),
        ({"from": "2025-06-02", "to": "2025-06-01"}, InvalidDate, "from"),
        ({"target": "12345"}, InvalidField, "target"),
        ({"my_number_shown": "maybe"}, InvalidField, "my_number_shown"),
        ({"format": "xlsx"}, InvalidField, "format"),
        ({"staff_id": "a\x00b"}, InvalidField, "staff_id"),
    ],
)
def test_log_search_refuses_bad_parameters(j, params, error, field):
    with pytest.raises(error) as caught:
        search_log(j.uow, AUDITOR, params)
    assert caught.value.field == field  # type: ignore[attr-defined]


def test_reports_need_a_period_and_a_known_kind(j):
    with pytest.raises(InvalidField):
        run(j, "after_hours", to="2025-06-30")
    with pytest.raises(NotFound):
        run(j, "everything", **{"from": "2025-06-01", "to": "2025-06-30"})
    with pytest.raises(InvalidField):
        run(j, "mass_searches", **{"from": "2025-06-01", "to": "2025-06-30", "searches": "many"})


# --- every look is logged; only the auditor may look --------------------------------------------------------------


def test_every_report_and_log_search_is_itself_logged_and_the_chain_holds(j):
    seq = last_seq(j)
    search_log(j.uow, AUDITOR, {"target": N1, "from": "2025-06-01"})
    for kind in ar.REPORTS:
        run(j, kind, **{"from": "2025-06-01", "to": "2025-06-30", "format": "csv"})
    rows = log_rows(j, seq)
    assert [r.action for r in rows] == ["audit:log", *(f"audit:report:{k}" for k in ar.REPORTS)]
    assert {(r.staff_id, r.role, r.result, r.procedure) for r in rows} == {
        ("audit1", "auditor", "ok", "操作ログの監査")
    }
    assert list(rows[0].targets) == [N1] and f"target={N1}" in rows[0].detail
    assert "from=2025-06-01 to=2025-06-30" in rows[1].detail and "format=csv" in rows[1].detail
    assert verify_chain(j.uow) == (last_seq(j), None)


@pytest.mark.parametrize("actor", [CLERK, SUPERVISOR, Actor("admin1", "管理 四郎", "admin", "t")])
def test_only_the_auditor_may_search_the_log_or_run_a_report_and_refusals_are_logged(j, actor):
    log(j, jst(2025, 6, 28, 10, 0), CLERK, "resident:view", (N1,))
    seq = last_seq(j)
    with pytest.raises(Forbidden):
        search_log(j.uow, actor, {})
    with pytest.raises(Forbidden):
        ar.report(j.uow, actor, "after_hours", {"from": "2025-06-01", "to": "2025-06-30"})
    with pytest.raises(Forbidden):
        ar.report(j.uow, actor, "no-such-report", {})
    rows = log_rows(j, seq)
    assert [(r.action, r.result, r.staff_id, r.detail) for r in rows] == [
        ("audit:log", "denied", actor.staff_id, "log:read"),
        ("audit:report:after_hours", "denied", actor.staff_id, "log:read"),
        ("audit:report", "denied", actor.staff_id, "log:read"),
    ]


# --- CSV ----------------------------------------------------------------------------------------------------------


def _parse(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "no BOM: Excel in Japan would read it as Shift_JIS"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_csv_has_a_bom_japanese_headers_and_the_rows(j):
    seq = log(j, jst(2025, 6, 28, 10, 0), CLERK, "household:view", (N1, N2))
    report = run(j, "after_hours", **{"from": "2025-06-28", "to": "2025-06-28", "format": "csv"})
    assert report.format == "csv" and report.filename == "juki_after_hours_20250628-20250628.csv"
    header, *rows = _parse(csv_bytes(report))
    assert header[:4] == ["日時", "区分", "通番", "職員ID"]
    assert header == [c.label for c in report.columns]
    assert rows == [
        [
            "2025-06-28T10:00:00+09:00",
            "土曜日",
            str(seq),
            "clerk1",
            "窓口 一郎",
            "clerk",
            "窓口1",
            "住民基本台帳に関する事務",
            "household:view",
            f"{N1} {N2}",
            "いいえ",
            "ok",
            "",
        ]
    ]
    assert b"\r\n" in csv_bytes(report)


def test_csv_defuses_cells_a_spreadsheet_would_run_as_formulas(j):
    typed = Actor("=HYPERLINK(1)", "(不明)", "none", "+cmd|calc")
    log(j, jst(2025, 6, 28, 3, 0), typed, "auth:login", result="failed")
    report = run(j, "failed_logins", **{"from": "2025-06-28", "to": "2025-06-28"})
    _, row = _parse(csv_bytes(report))
    assert row[:3] == ["'=HYPERLINK(1)", "(不明)", "'+cmd|calc"]
    assert report.rows[0]["account"] == "=HYPERLINK(1)"  # JSON keeps what was logged


def test_every_report_renders_as_csv_with_its_japanese_headers(j):
    _sign_ins(j)
    for kind, spec in ar.REPORTS.items():
        report = run(j, kind, **{"from": "2025-06-01", "to": "2025-06-30"})
        header, *rows = _parse(csv_bytes(report))
        assert header == [c.label for c in spec.columns]
        assert all(any("\u3040" <= ch <= "\u9fff" for ch in label) for label in header), header
        assert len(rows) == len(report.rows)
