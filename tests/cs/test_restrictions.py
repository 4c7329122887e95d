"""支援措置 and certificate holds travel to the CS (標準仕様書 j410, j440), on both engines.

A measure that concerns other systems is written to the outbox as `ProtectionChanged` in the transaction that sets,
extends, confirms or ends it; the CS takes it in and keeps a restriction per person, lifted on the end date; the
notices to the prefecture are not changed by it; no event and no CS table holds a My Number or an address.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select, text

from juki.adapters import tables as rt
from juki.adapters.uow import SqlUnitOfWork
from juki.cs.adapters import tables as t
from juki.cs.services import intake, restrictions
from juki.domain.events import PROTECTION_CHANGED, SCHEMA_VERSION
from juki.policy.roles import Actor
from juki.services import filings, outbox, protection
from tests import factories as f
from tests.cs.support import CITY, CLERK, notices, rows, take_in
from tests.leakcheck import spellings

BOSS = Actor("super1", "係長 花子", "supervisor", "desk-1", procedure="protection")
BODY_KEYS = {
    "schema_version", "event", "measure_id", "restriction", "action", "in_force_from", "in_force_until",
    "ends_on", "provisional", "changed_on", "recorded_by", "addressee_number", "persons", "has_my_number",
}  # fmt: skip


def _family(j: Any) -> tuple[list[str], str, list[str]]:
    body = f.move_in()
    done = filings.file(j.uow, CLERK, "move-in", body)
    numbers = [c["addressee_number"] for c in done.changes]
    return numbers, done.household_number, [p["my_number"] for p in body["persons"] if p.get("my_number")]


def _protection_events(j: Any, after: int = 0) -> list[outbox.ChangeEvent]:
    return [e for e in outbox.read(j.uow, after) if e.event == PROTECTION_CHANGED]


def _head(j: Any) -> int:
    events = outbox.read(j.uow, 0)
    return events[-1].position if events else 0


def _restricted(cs: Any, person: str, day: date) -> bool:
    with cs.transaction() as store:
        return restrictions.restricted(store, person, day)


def test_setting_a_measure_emits_one_event_pointing_at_the_persons_current_version(j):
    numbers, household, _ = _family(j)
    after = _head(j)
    measure = protection.set_measure(j.uow, BOSS, f.support_measure(numbers[1]))
    events = _protection_events(j, after)
    assert len(events) == 1 and len(outbox.read(j.uow, after)) == 1
    event = events[0]
    assert (event.addressee_number, event.version, event.household_number) == (numbers[1], 1, household)
    assert event.filing_id == measure["measure_id"] and event.change_reason == "protection:set"
    body = event.body
    assert set(body) == BODY_KEYS and body["schema_version"] == SCHEMA_VERSION
    assert (body["restriction"], body["action"], body["in_force_from"]) == ("support", "set", "2025-06-01")
    assert body["in_force_until"] is None and body["persons"] == [numbers[1]] and not body["has_my_number"]
    assert event.my_number_sealed is None and event.record == {}


def test_a_failure_after_the_measure_rolls_back_the_measure_and_its_event(j, monkeypatch):
    numbers, _, _ = _family(j)
    after = _head(j)

    def broken_log(self: SqlUnitOfWork, *args: Any) -> None:
        raise RuntimeError("the operation log is down")

    monkeypatch.setattr(SqlUnitOfWork, "log", broken_log)
    with pytest.raises(RuntimeError):
        protection.set_measure(j.uow, BOSS, f.support_measure(numbers[1]))
    monkeypatch.undo()
    assert outbox.read(j.uow, after) == []
    with j.uow() as uow:
        assert uow.controls.measures() == []


def test_the_cs_restricts_the_person_after_intake_and_sends_no_notice_for_it(j, cs):
    numbers, _, _ = _family(j)
    take_in(j, cs)
    before = [(n.addressee_number, n.kind, n.state) for n in notices(cs)]
    history = len(rows(cs, t.identity_history, t.identity_history.c.id))
    measure = protection.set_measure(j.uow, BOSS, f.support_measure(numbers[1]))
    assert take_in(j, cs) == 1
    assert _restricted(cs, numbers[1], date(2025, 6, 1))
    assert not _restricted(cs, numbers[1], date(2025, 5, 31))  # not before it starts
    assert not any(_restricted(cs, n, date(2025, 6, 2)) for n in numbers if n != numbers[1])
    assert [
        (n.addressee_number, n.kind, n.state) for n in notices(cs)
    ] == before  # the 住基ネット holds everyone
    assert len(rows(cs, t.identity_history, t.identity_history.c.id)) == history
    with cs.transaction() as store:
        held = restrictions.in_force(store, numbers[1], date(2025, 6, 2))
        assert restrictions.restricted_persons(store, date(2025, 6, 2)) == [numbers[1]]
    assert [(r.measure_id, r.restriction, r.in_force_until) for r in held] == [
        (measure["measure_id"], "support", None)
    ]


def test_an_event_taken_in_again_is_not_kept_twice(j, cs):
    numbers, _, _ = _family(j)
    protection.set_measure(j.uow, BOSS, f.support_measure(numbers[0]))
    take_in(j, cs)
    with cs.transaction() as store:
        again = [intake.take_in(store, e, j.event_key, CITY) for e in _protection_events(j)]
    assert again == [False]
    assert len(rows(cs, t.restrictions, t.restrictions.c.id)) == 1


def test_a_household_measure_restricts_every_member(j, cs):
    numbers, household, _ = _family(j)
    protection.set_measure(j.uow, BOSS, f.support_measure(household, "household"))
    events = _protection_events(j)
    assert sorted(e.addressee_number for e in events) == sorted(numbers)
    assert all(sorted(e.body["persons"]) == sorted(numbers) for e in events)
    take_in(j, cs)
    assert all(_restricted(cs, n, date(2025, 6, 2)) for n in numbers)


def test_ending_a_measure_lifts_the_restriction_on_its_end_date(j, cs):
    numbers, _, _ = _family(j)
    measure = protection.set_measure(j.uow, BOSS, f.support_measure(numbers[1]))
    take_in(j, cs)
    protection.end(j.uow, BOSS, measure["measure_id"], {"end_reason": "request", "ended_on": "2025-07-01"})
    ended = _protection_events(j)[-1].body
    assert (ended["action"], ended["in_force_until"], ended["changed_on"]) == (
        "ended",
        "2025-07-01",
        "2025-07-01",
    )
    assert take_in(j, cs) == 1
    assert _restricted(cs, numbers[1], date(2025, 6, 30))
    assert not _restricted(cs, numbers[1], date(2025, 7, 1))
    assert len(rows(cs, t.restrictions, t.restrictions.c.id)) == 2  # history: the set and the end, both kept


def test_extension_and_confirmation_travel_a_temporary_release_does_not(j):
    numbers, _, _ = _family(j)
    measure_id = protection.set_measure(j.uow, BOSS, f.support_measure(numbers[1], provisional=True))[
        "measure_id"
    ]
    protection.confirm(j.uow, BOSS, measure_id)
    protection.release(j.uow, BOSS, measure_id, {"minutes": 30, "reason": "本人の来庁"})
    actions = [(e.body["action"], e.body["provisional"]) for e in _protection_events(j)]
    assert actions == [("set", True), ("confirmed", False)]


def test_a_certificate_hold_travels_a_filing_hold_stays_in_the_register(j, cs):
    numbers, _, _ = _family(j)
    hold = {"kind": "hold", "level": "error"}
    protection.set_measure(j.uow, BOSS, f.support_measure(numbers[0], operations=["filing"], **hold))
    protection.set_measure(j.uow, BOSS, f.support_measure(numbers[0], operations=["certificate"], level="alert",
                                                          kind="hold"))  # fmt: skip
    assert _protection_events(j) == []
    protection.set_measure(j.uow, BOSS, f.support_measure(numbers[2], operations=["certificate"], **hold))
    assert [e.body["restriction"] for e in _protection_events(j)] == ["certificate_hold"]
    take_in(j, cs)
    assert _restricted(cs, numbers[2], date(2025, 6, 2)) and not _restricted(cs, numbers[0], date(2025, 6, 2))


def test_a_cancellation_check_does_not_count_a_measure_as_a_later_change(j):
    numbers, household, _ = _family(j)
    protection.set_measure(j.uow, BOSS, f.support_measure(household, "household"))
    filing_id = outbox.read(j.uow, 0)[0].filing_id
    with j.uow() as uow:
        assert uow.reader.later_change(filing_id, numbers, [household], []) is None


def test_no_event_and_no_cs_table_holds_a_my_number_an_address_or_the_reason(j, cs):
    _, household, my_numbers = _family(j)
    assert my_numbers
    protection.set_measure(
        j.uow, BOSS, f.support_measure(household, "household", reason="避難先 東京都港区芝公園")
    )
    take_in(j, cs)
    bodies = json.dumps([e.body for e in _protection_events(j)], ensure_ascii=False)
    with cs.engine.connect() as conn:
        kept = json.dumps(
            [list(map(str, r)) for r in conn.execute(select(t.restrictions))], ensure_ascii=False
        )
        logged = json.dumps([r.message for r in conn.execute(select(t.log))], ensure_ascii=False)
    for written in (bodies, kept, logged):
        assert not set(my_numbers) & spellings(written)
        assert f.ADDRESS not in written and "避難先" not in written and "港区" not in written
    with j.engine.connect() as conn:
        sealed = conn.execute(
            select(func.count()).where(
                rt.outbox.c.event == PROTECTION_CHANGED, rt.outbox.c.my_number_sealed.is_not(None)
            )
        ).scalar_one()
    assert sealed == 0


def test_a_protected_persons_move_out_is_notified_and_the_restriction_stays(j, cs):
    numbers, _, _ = _family(j)
    protection.set_measure(j.uow, BOSS, f.support_measure(numbers[2], provisional=True))
    body = {"filed_on": "2025-06-25", "planned_on": "2025-07-01", "addressee_numbers": [numbers[2]],
            "destination": f.OTHER}  # fmt: skip
    filings.file(j.uow, CLERK, "move-out", body)
    take_in(j, cs)
    assert [n.kind for n in notices(cs) if n.addressee_number == numbers[2]] == ["転入", "転出"]
    with cs.transaction() as store:
        (kept,) = restrictions.in_force(store, numbers[2], date(2025, 7, 2))
    assert kept.provisional and kept.restriction == "support"  # j440: it goes with the 転出証明書情報


def test_the_restrictions_are_append_only(j, cs):
    numbers, _, _ = _family(j)
    protection.set_measure(j.uow, BOSS, f.support_measure(numbers[0]))
    take_in(j, cs)
    for statement in (
        "UPDATE cs_restrictions SET in_force_until = '2025-06-02'",
        "DELETE FROM cs_restrictions",
    ):
        with pytest.raises(Exception, match="append-only"), cs.engine.begin() as conn:
            conn.execute(text(statement))
