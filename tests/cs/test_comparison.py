"""The comparison of the CS's file with the register (標準仕様書 j1100): none after a clean intake; a planted
difference found, by person and item; a person one side lacks reported; the run in both logs."""

from __future__ import annotations

from sqlalchemy import select, update

from juki.adapters import tables as rt
from juki.cs.adapters import tables as t
from juki.cs.services.comparison import MISSING, RegisterQueries, compare
from juki.services import filings
from tests import factories as f
from tests.cs.support import CITY, CLERK, SUPERVISOR, deliver, rows, take_in


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
