"""The comparison of the CS's file with the register (標準仕様書 j1100): none after a clean intake; a planted
difference found, by person and item; a person one side lacks reported; the run in both logs and its report kept
(append-only). The CS itself (`CS_SYSTEM`, `register:compare`) compares a person under a 支援措置 like anyone —
no false `(登録なし)`, no alert — while a staff actor's reads stay screened."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError

from juki.adapters import tables as rt
from juki.cs.adapters import tables as t
from juki.cs.services import comparison
from juki.cs.services.comparison import MISSING, RegisterQueries, compare
from juki.domain.errors import Forbidden
from juki.policy.roles import CS_SYSTEM, Actor
from juki.services import filings, protection, register_queries
from tests import factories as f
from tests.cs.support import CITY, CLERK, CS_OPERATOR, SUPERVISOR, deliver, rows, take_in

PROTECTOR = Actor("super1", "係長 花子", "supervisor", "desk-1", procedure="protection")


def _compare(j, cs):  # type: ignore[no-untyped-def]
    return compare(j.uow, cs.transaction, RegisterQueries(j.uow, SUPERVISOR), SUPERVISOR, CITY)


def test_after_a_clean_intake_the_file_and_the_register_agree(j, cs, prefecture):
    done = filings.file(j.uow, CLERK, "move-in", f.move_in())
    numbers = [c["addressee_number"] for c in done.changes]
    filings.file(j.uow, CLERK, "move-within", {
        "filed_on": "2025-06-20", "changed_on": "2025-06-19", "household_number": done.household_number,
        "addressee_numbers": numbers, "address": {"address": "東京都小平市学園東町一丁目1番1号"},
    })  # fmt: skip
    filings.file(j.uow, CLERK, "death", {"filed_on": "2025-06-25", "died_on": "2025-06-24",
                                         "addressee_number": numbers[3]})  # fmt: skip
    take_in(j, cs)
    deliver(cs, prefecture)
    report = _compare(j, cs)
    assert report.persons == 3 and report.differences == []  # the dead person is out of scope on both sides


def test_a_planted_difference_is_reported_by_person_and_item_without_its_value(j, cs):
    done = filings.file(j.uow, CLERK, "move-in", f.move_in(f.family_of_four()[:2]))
    take_in(j, cs)
    head = done.changes[0]["addressee_number"]
    (row,) = [r for r in rows(cs, t.identity, t.identity.c.addressee_number) if r.addressee_number == head]
    broken = dict(row.items) | {"住所": "東京都小平市どこか一丁目1番1号", "性別": "女"}
    with cs.engine.begin() as conn:  # what a broken consumer would leave
        conn.execute(update(t.identity).where(t.identity.c.addressee_number == head).values(items=broken))
    report = _compare(j, cs)
    assert [(d.addressee_number, d.item) for d in report.differences] == [(head, "性別"), (head, "住所")]
    assert "どこか" not in str(report.to_json())
    with j.engine.connect() as conn:
        logged = conn.execute(
            select(rt.operation_log).where(rt.operation_log.c.action == "cs:comparison")
        ).all()
    assert len(logged) == 1 and logged[0].targets == [head]
    assert [r.action for r in rows(cs, t.log, t.log.c.id)][-1] == "comparison"


def test_a_person_the_cs_never_took_in_is_reported_missing(j, cs):
    done = filings.file(j.uow, CLERK, "move-in", f.move_in(f.family_of_four()[:1]))
    report = _compare(j, cs)  # the intake has not run: the register has a person the CS lacks
    assert [(d.addressee_number, d.item) for d in report.differences] == [
        (done.changes[0]["addressee_number"], MISSING)
    ]


def test_a_different_my_number_is_found(j, cs):
    filings.file(j.uow, CLERK, "move-in", f.move_in(f.family_of_four()[:1]))
    take_in(j, cs)
    (row,) = rows(cs, t.identity, t.identity.c.addressee_number)
    with cs.engine.begin() as conn:
        conn.execute(update(t.identity).values(my_number=cs.vault.encrypt("123456789018")))
    assert [d.item for d in _compare(j, cs).differences] == ["個人番号"]
    assert row


def _as_the_cs(j, cs, at: datetime | None = None):  # type: ignore[no-untyped-def]
    return compare(j.uow, cs.transaction, RegisterQueries(j.uow, CS_SYSTEM), CS_SYSTEM, CITY, at)


def _protected_family(j, cs) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """Two persons taken in; the first then under a 支援措置 (blocking views)."""
    done = filings.file(j.uow, CLERK, "move-in", f.move_in(f.family_of_four()[:2]))
    take_in(j, cs)
    protected, other = (str(c["addressee_number"]) for c in done.changes)
    protection.set_measure(j.uow, PROTECTOR, f.support_measure(protected))
    return protected, other


def _alerts(j) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(a["kind"], a["subject"]) for a in protection.list_alerts(j.uow, PROTECTOR)["alerts"]]


def test_the_cs_compares_a_protected_person_without_a_false_difference_or_an_alert(j, cs):
    _protected_family(j, cs)
    with j.engine.connect() as conn:  # before the run (the template's stock was handed over as the CS)
        before = conn.execute(select(func.max(rt.operation_log.c.seq))).scalar_one()
    report = _as_the_cs(j, cs)
    assert report.persons == 2 and report.differences == []
    assert _alerts(j) == []
    with j.engine.connect() as conn:
        logged = conn.execute(
            select(rt.operation_log).where(
                rt.operation_log.c.staff_id == "cs", rt.operation_log.c.seq > before
            )
        ).all()
    assert [(r.action, r.result, r.facts) for r in logged] == [
        ("cs:comparison", "ok", {"persons": 2, "differences": 0})
    ]  # one entry for the run: no per-person read, no 個人番号 shown


def test_a_planted_difference_of_a_protected_person_is_still_found(j, cs):
    protected, _ = _protected_family(j, cs)
    (row,) = [
        r for r in rows(cs, t.identity, t.identity.c.addressee_number) if r.addressee_number == protected
    ]
    with cs.engine.begin() as conn:
        conn.execute(
            update(t.identity)
            .where(t.identity.c.addressee_number == protected)
            .values(items=dict(row.items) | {"性別": "女" if row.items["性別"] != "女" else "男"})
        )
    report = _as_the_cs(j, cs)
    assert [(d.addressee_number, d.item) for d in report.differences] == [(protected, "性別")]
    assert _alerts(j) == []


def test_a_staff_actor_still_reads_through_the_screening(j, cs):
    protected, _ = _protected_family(j, cs)
    assert [(d.addressee_number, d.item) for d in _compare(j, cs).differences] == [(protected, MISSING)]
    assert ("protected_hidden", protected) in _alerts(j)


def test_the_cs_holds_no_other_read_of_the_register(j):
    done = filings.file(j.uow, CLERK, "move-in", f.move_in(f.family_of_four()[:1]))
    with pytest.raises(Forbidden):
        register_queries.get_resident(j.uow, CS_SYSTEM, str(done.changes[0]["addressee_number"]))


def test_each_report_is_kept_append_only_with_items_and_no_value(j, cs):
    done = filings.file(j.uow, CLERK, "move-in", f.move_in(f.family_of_four()[:1]))
    number = str(done.changes[0]["addressee_number"])
    at = datetime(2026, 12, 5, 17, 0, tzinfo=UTC)
    _as_the_cs(j, cs, at)  # the intake has not run: the register has a person the CS lacks
    with cs.transaction() as store:
        kept = store.latest_comparison()
    assert kept is not None and (kept.at, kept.persons, kept.staff_id) == (at, 1, "cs")
    assert [(d["addressee_number"], d["item"]) for d in kept.differences] == [(number, MISSING)]
    take_in(j, cs)
    _as_the_cs(j, cs, datetime(2026, 12, 6, 17, 0, tzinfo=UTC))
    latest = comparison.latest(j.uow, cs.transaction, CS_OPERATOR)
    assert latest is not None and latest.differences == [] and len(rows(cs, t.comparisons)) == 2
    with pytest.raises(DBAPIError), cs.engine.begin() as conn:
        conn.execute(update(t.comparisons).values(persons=0))
    with pytest.raises(Forbidden):
        comparison.latest(j.uow, cs.transaction, CLERK)
