"""Intake: the register's events into the 本人確認情報ファイル and the notice queue, on both engines."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from sqlalchemy import select, text

from juki.cs.adapters import tables as t
from juki.cs.services import intake
from juki.services import filings, outbox
from tests import factories as f
from tests.cs.support import CITY, CLERK, notices, rows, states, take_in
from tests.leakcheck import spellings


def test_a_move_in_becomes_one_queued_move_in_notice_per_person(j, cs):
    done = filings.file(j.uow, CLERK, "move-in", f.move_in())
    assert take_in(j, cs) == 4
    people = [c["addressee_number"] for c in done.changes]
    assert states(cs) == [(p, "転入", 1, "queued") for p in people]
    first = notices(cs)[0]
    assert first.items["異動事由"] == "転入" and first.items["更新順番号"] == "1"
    assert (first.items["操作者ID"], first.items["操作端末ID"]) == ("clerk1", "counter-3")
    assert first.items["依頼管理番号"] == done.filing_id
    file = rows(cs, t.identity, t.identity.c.addressee_number)
    assert [r.sequence for r in file] == [1, 1, 1, 1] and all(r.in_scope and r.status == "0" for r in file)
    assert len(rows(cs, t.identity_history, t.identity_history.c.id)) == 4


def test_the_my_number_is_in_the_file_encrypted_with_the_cs_key_only(j, cs):
    body = f.move_in(f.family_of_four()[:1])
    number = body["persons"][0]["my_number"]
    filings.file(j.uow, CLERK, "move-in", body)
    take_in(j, cs)
    with cs.engine.connect() as conn:
        dumped = [json.dumps(list(map(str, r)), ensure_ascii=False) for table in t.metadata.sorted_tables
                  for r in conn.execute(select(table))]  # fmt: skip
    assert number not in spellings("\n".join(dumped))
    person = notices(cs)[0].addressee_number
    with cs.transaction() as store:
        current = store.current(person)
    assert current is not None and current.items["個人番号"] == number


def test_an_event_seen_again_is_not_applied_twice(j, cs):
    filings.file(j.uow, CLERK, "move-in", f.move_in())
    take_in(j, cs)
    before = states(cs)
    # a crash between the CS's commit and the outbox's acknowledgement: the same events come again
    with cs.transaction() as store:
        again = [intake.take_in(store, e, j.event_key, CITY) for e in outbox.read(j.uow, 0)]
    assert again == [False] * 4
    assert states(cs) == before and take_in(j, cs) == 0
    assert len(rows(cs, t.identity_history, t.identity_history.c.id)) == 4


def test_the_registers_cursor_moves_only_after_the_cs_has_committed(j, cs):
    filings.file(j.uow, CLERK, "move-in", f.move_in())
    assert len(outbox.pending(j.uow, "cs")) == 4
    take_in(j, cs)
    assert outbox.pending(j.uow, "cs") == []


def test_a_move_within_of_the_whole_household_is_one_move_within_per_person(j, cs):
    done = filings.file(j.uow, CLERK, "move-in", f.move_in(f.family_of_four()[:2]))
    take_in(j, cs)
    body = {
        "filed_on": "2025-06-20", "changed_on": "2025-06-19", "household_number": done.household_number,
        "addressee_numbers": [c["addressee_number"] for c in done.changes],
        "address": {"address": "東京都小平市学園東町一丁目1番1号"},
    }  # fmt: skip
    filings.file(j.uow, CLERK, "move-within", body)
    take_in(j, cs)
    assert [s[1:] for s in states(cs)[2:]] == [("転居", 2, "queued")] * 2
    assert notices(cs)[2].items["住所"] == "東京都小平市学園東町一丁目1番1号"


def test_part_of_a_household_moving_within_into_a_new_one_is_a_move_within_and_a_household_change(j, cs):
    done = filings.file(j.uow, CLERK, "move-in", f.move_in(f.family_of_four()[:3]))
    head, wife, son = (c["addressee_number"] for c in done.changes)
    take_in(j, cs)
    body = {
        "filed_on": "2025-06-20", "changed_on": "2025-06-19", "household_number": done.household_number,
        "addressee_numbers": [son], "address": {"address": "東京都小平市学園東町一丁目1番1号"},
        "new_household": True, "householder": son,
        "new_relationships": {head: "世帯主", wife: "妻", son: "世帯主"},
    }  # fmt: skip
    filings.file(j.uow, CLERK, "move-within", body)
    take_in(j, cs)
    his = [s for s in states(cs) if s[0] == son]
    assert his == [(son, "転入", 1, "queued"), (son, "転居", 2, "queued"), (son, "世帯変更", 3, "queued")]
    moved, household = (n for n in notices(cs) if n.addressee_number == son and n.sequence in (2, 3))
    assert moved.items["続柄"] == "子" and household.items["続柄"] == "世帯主"
    assert household.items["住所"] == moved.items["住所"] == "東京都小平市学園東町一丁目1番1号"


def test_a_move_in_without_a_resident_code_goes_to_the_error_queue_and_later_changes_wait(j, cs):
    person = f.person()
    person.pop("resident_code")
    done = filings.file(j.uow, CLERK, "move-in", f.move_in([person]))
    (number,) = (c["addressee_number"] for c in done.changes)
    take_in(j, cs)
    entry = notices(cs)[0]
    assert (entry.state, entry.error_code, entry.error_item, entry.sequence) == (
        "error", "missing_resident_code", "住民票コード", None,
    )  # fmt: skip
    with cs.transaction() as store:
        assert store.current(number) is None  # not applied to the file
    body = {
        "filed_on": "2025-06-20", "changed_on": "2025-06-19", "household_number": done.household_number,
        "addressee_numbers": [number], "address": {"address": "東京都小平市学園東町一丁目1番1号"},
    }  # fmt: skip
    filings.file(j.uow, CLERK, "move-within", body)
    take_in(j, cs)
    assert [s[1:] for s in states(cs)] == [("転入", None, "error"), ("転居", None, "held")]


def test_a_household_change_that_leaves_a_persons_items_is_no_notice(j, cs):
    done = filings.file(j.uow, CLERK, "move-in", f.move_in(f.family_of_four()[:2]))
    head, wife = (c["addressee_number"] for c in done.changes)
    take_in(j, cs)
    filings.file(j.uow, CLERK, "household-change", {
        "filed_on": "2025-06-20", "changed_on": "2025-06-19", "type": "householder_change",
        "household_number": done.household_number, "new_householder": wife,
        "new_relationships": {head: "夫", wife: "世帯主"},
    })  # fmt: skip
    take_in(j, cs)
    assert [s[1:] for s in states(cs)[2:]] == [("世帯変更", 2, "queued")] * 2


def test_history_is_append_only(j, cs):
    filings.file(j.uow, CLERK, "move-in", f.move_in(f.family_of_four()[:1]))
    take_in(j, cs)
    for statement in (
        "UPDATE cs_identity_history SET sequence = 9",
        "DELETE FROM cs_log",
        "DELETE FROM cs_seen_events",
    ):
        with pytest.raises(Exception, match="append-only"), cs.engine.begin() as conn:
            conn.execute(text(statement))


def test_an_event_of_a_schema_the_cs_does_not_know_is_logged_and_passed_over(j, cs):
    filings.file(j.uow, CLERK, "move-in", f.move_in(f.family_of_four()[:1]))
    (event,) = outbox.read(j.uow, 0)
    unknown = replace(event, body=event.body | {"schema_version": 99})
    with cs.transaction() as store:
        assert intake.take_in(store, unknown, j.event_key, CITY)
    assert notices(cs) == []
    assert [(r.action, r.result) for r in rows(cs, t.log, t.log.c.id)] == [("intake", "unknown_schema")]


def test_an_event_without_a_sealed_number_keeps_the_one_the_cs_holds_or_is_logged(j, cs):
    done = filings.file(j.uow, CLERK, "move-in", f.move_in(f.family_of_four()[:1]))
    (number,) = (c["addressee_number"] for c in done.changes)
    (event,) = outbox.read(j.uow, 0)
    unsealed = replace(event, my_number_sealed=None)  # as a row written before events sealed it (schema 1)
    with cs.transaction() as store:
        intake.take_in(store, unsealed, j.event_key, CITY)
    assert next(r.result for r in rows(cs, t.log, t.log.c.id)) == "my_number_unavailable"
    with cs.transaction() as store:
        current = store.current(number)
    assert current is not None and current.items["個人番号"] is None


def test_a_batch_that_fails_half_way_leaves_nothing_and_is_taken_in_whole_next_time(j, cs, monkeypatch):
    filings.file(j.uow, CLERK, "move-in", f.move_in())
    real = intake.admit
    seen: list[str] = []

    def failing(store, change):  # type: ignore[no-untyped-def]
        seen.append(change.addressee_number)
        if len(seen) == 3:
            raise RuntimeError("the CS stopped")
        real(store, change)

    monkeypatch.setattr(intake, "admit", failing)
    with pytest.raises(RuntimeError):
        take_in(j, cs)
    assert notices(cs) == [] and len(outbox.pending(j.uow, "cs")) == 4
    monkeypatch.setattr(intake, "admit", real)
    assert take_in(j, cs) == 4 and len(notices(cs)) == 4
