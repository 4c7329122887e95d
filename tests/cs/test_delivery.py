"""Delivery to the prefecture: per person strictly in order, backoff while it is down, refusals into the error
queue, a resend after a lost answer not applied twice — on both engines, with the fake prefecture."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from juki.cs.adapters import tables as t
from juki.cs.services.delivery import Backoff
from juki.cs.wire import Refused
from juki.services import filings
from tests import factories as f
from tests.cs.support import CLERK, deliver, notices, rows, states, take_in

LATER = datetime.now(UTC) + timedelta(days=1)


def _family_moves_in_and_within(j) -> tuple[list[str], list[str]]:  # type: ignore[no-untyped-def]
    """Two persons, each with a 転入 (sequence 1) and a 転居 (sequence 2); their 住民票コード and 宛名番号."""
    body = f.move_in(f.family_of_four()[:2])
    done = filings.file(j.uow, CLERK, "move-in", body)
    people = [c["addressee_number"] for c in done.changes]
    filings.file(j.uow, CLERK, "move-within", {
        "filed_on": "2025-06-20", "changed_on": "2025-06-19", "household_number": done.household_number,
        "addressee_numbers": people, "address": {"address": "東京都小平市学園東町一丁目1番1号"},
    })  # fmt: skip
    return [p["resident_code"] for p in body["persons"]], people


def test_queued_notices_arrive_in_each_persons_order_and_are_acknowledged(j, cs, prefecture):
    codes, _ = _family_moves_in_and_within(j)
    take_in(j, cs)
    report = deliver(cs, prefecture)
    assert len(report.acknowledged) == 4
    for code in codes:
        assert [(s, k) for c, s, k in prefecture.kinds() if c == code] == [(1, "転入"), (2, "転居")]
    assert {s[3] for s in states(cs)} == {"acknowledged"}
    assert prefecture.held[codes[0]]["住所"] == "東京都小平市学園東町一丁目1番1号"


def test_while_the_prefecture_is_down_notices_wait_with_a_growing_capped_backoff(j, cs, prefecture):
    codes, _ = _family_moves_in_and_within(j)
    take_in(j, cs)
    prefecture.down = True
    start = datetime(2025, 7, 1, tzinfo=UTC)
    backoff = Backoff(timedelta(seconds=10), timedelta(seconds=25))
    report = deliver(cs, prefecture, backoff=backoff, now=start)
    assert len(report.unreachable) == 2 and not report.acknowledged  # each person's first; the second waits
    first = notices(cs)[0]
    assert (first.state, first.attempts, first.error_code) == ("queued", 1, "unreachable")
    assert first.next_attempt_at.replace(tzinfo=UTC) == start + timedelta(seconds=10)
    assert (
        deliver(cs, prefecture, backoff=backoff, now=start + timedelta(seconds=5)).unreachable == []
    )  # not yet
    deliver(cs, prefecture, backoff=backoff, now=start + timedelta(seconds=10))
    deliver(cs, prefecture, backoff=backoff, now=start + timedelta(seconds=30))
    waits = [n.next_attempt_at.replace(tzinfo=UTC) - start for n in notices(cs)[:1]]
    assert waits == [timedelta(seconds=30 + 25)]  # 10, 20, then capped at 25
    prefecture.down = False
    deliver(cs, prefecture, now=LATER)
    assert sorted(prefecture.kinds()) == sorted(
        (c, s, k) for c in codes for s, k in ((1, "転入"), (2, "転居"))
    )
    assert len(prefecture.received) == 4  # none lost, none twice


def test_a_refused_notice_goes_to_the_error_queue_and_stops_that_person_only(j, cs, prefecture):
    codes, people = _family_moves_in_and_within(j)
    take_in(j, cs)
    prefecture.refuse[(codes[0], 1)] = Refused("logic_error", "漢字氏名", "山田 太郎 is odd")
    report = deliver(cs, prefecture)
    assert len(report.refused) == 1 and len(report.acknowledged) == 2
    mine = [s for s in states(cs) if s[0] == people[0]]
    assert [s[3] for s in mine] == ["error", "queued"]  # the 転居 waits behind the refused 転入
    refused = notices(cs)[0]
    assert (refused.error_code, refused.error_item) == ("logic_error", "漢字氏名")
    assert "山田" not in refused.error_message  # the prefecture's words are not kept: they may quote a value
    assert [k for c, _, k in prefecture.kinds() if c == codes[1]] == ["転入", "転居"]


def test_a_notice_whose_answer_was_lost_is_sent_again_and_acknowledged_as_a_duplicate(j, cs, prefecture):
    body = f.move_in(f.family_of_four()[:1])
    filings.file(j.uow, CLERK, "move-in", body)
    take_in(j, cs)
    prefecture.lose_answer_once = True
    deliver(cs, prefecture)
    assert notices(cs)[0].state == "queued"
    deliver(cs, prefecture, now=LATER)
    assert notices(cs)[0].state == "acknowledged" and len(prefecture.received) == 2
    assert prefecture.sequences == {body["persons"][0]["resident_code"]: 1}  # applied once
    answers = [r.result for r in rows(cs, t.log, t.log.c.id) if r.action == "answer"]
    assert answers == ["unreachable", "duplicate"]


def test_a_notice_marked_sent_when_the_process_died_is_sent_again(j, cs, prefecture):
    filings.file(j.uow, CLERK, "move-in", f.move_in(f.family_of_four()[:1]))
    take_in(j, cs)
    entry = notices(cs)[0]
    with cs.transaction() as store:  # what a crash after the hand-over leaves
        store.change_entry(entry.id, {"state": "sent", "attempts": 1})
    deliver(cs, prefecture)
    assert notices(cs)[0].state == "acknowledged" and notices(cs)[0].attempts == 2


def test_a_death_is_notified_and_the_person_then_leaves_the_files_scope(j, cs, prefecture):
    done = filings.file(j.uow, CLERK, "move-in", f.move_in(f.family_of_four()[:2]))
    head, wife = (c["addressee_number"] for c in done.changes)
    filings.file(j.uow, CLERK, "death", {
        "filed_on": "2025-06-20", "died_on": "2025-06-19", "addressee_number": head,
    })  # fmt: skip
    take_in(j, cs)
    his = [n for n in notices(cs) if n.addressee_number == head]
    assert [n.kind for n in his] == ["転入", "死亡"] and his[1].items["レコード状況フラグ"] == "2"
    with cs.transaction() as store:
        assert head in [c.addressee_number for c in store.in_scope()]  # until the prefecture has it
    deliver(cs, prefecture)
    with cs.transaction() as store:
        assert [c.addressee_number for c in store.in_scope()] == [wife]
        kept = store.current(head)
    assert kept is not None and not kept.in_scope and kept.status == "2"
    assert (
        len([h for h in rows(cs, t.identity_history, t.identity_history.c.id) if h.addressee_number == head])
        == 2
    )
