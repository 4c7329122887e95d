"""The CS's relay (cs/services/relay.py): a pass takes in the register's changes and delivers; without a link the
notices stay queued; a failed pass is logged without its text and the next pass catches up; the thread stops;
the daily comparison with the register (j1100) runs at its hour in Japan and at a start after a missed one, on a
clock the test moves."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest

from juki.cs.adapters import tables as t
from juki.cs.services.comparison import MISSING
from juki.cs.services.relay import Relay, RelayPass
from juki.cs.wire import PrefectureClient
from juki.services import filings
from tests import factories as f
from tests.cs.fakes import FakePrefecture
from tests.cs.support import CITY, CLERK, rows, states


def _relay(j, cs, prefecture: FakePrefecture | None = None) -> Relay:  # type: ignore[no-untyped-def]
    @contextmanager
    def connect() -> Iterator[PrefectureClient]:
        assert prefecture is not None
        yield prefecture

    return Relay(j.uow, cs.transaction, j.event_key, CITY, connect if prefecture else None)


def test_a_pass_takes_in_and_delivers_every_change(j, cs, prefecture):
    filings.file(j.uow, CLERK, "move-in", f.move_in())
    assert _relay(j, cs, prefecture).run_once() == RelayPass(taken=4, acknowledged=4)
    assert {s[3] for s in states(cs)} == {"acknowledged"}
    assert [k for _, _, k in prefecture.kinds()] == ["転入"] * 4
    assert _relay(j, cs, prefecture).run_once() == RelayPass(taken=0)


def test_without_a_link_the_notices_stay_queued(j, cs):
    filings.file(j.uow, CLERK, "move-in", f.move_in())
    assert _relay(j, cs).run_once() == RelayPass(taken=4)
    assert {s[3] for s in states(cs)} == {"queued"}


def test_a_failed_pass_is_logged_without_its_text_and_the_next_one_catches_up(j, cs, prefecture, caplog):
    filings.file(j.uow, CLERK, "move-in", f.move_in())

    @contextmanager
    def broken() -> Iterator[PrefectureClient]:
        raise ValueError("a secret value in the message")
        yield prefecture  # pragma: no cover

    relay = Relay(j.uow, cs.transaction, j.event_key, CITY, broken)
    with caplog.at_level(logging.ERROR, logger="juki.cs.relay"):
        assert relay.run_safely() is None
    assert "ValueError" in caplog.text and "secret" not in caplog.text
    assert {s[3] for s in states(cs)} == {"queued"}  # taken in before the link failed
    assert _relay(j, cs, prefecture).run_once() == RelayPass(taken=0, acknowledged=4)


def test_the_relay_thread_delivers_what_is_filed_until_it_is_stopped(j, cs, prefecture):
    relay = _relay(j, cs, prefecture)
    relay.start(0.05)
    try:
        filings.file(j.uow, CLERK, "move-in", f.move_in([f.person()]))
        deadline = time.monotonic() + 10
        while not prefecture.received and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        relay.stop()
    assert [k for _, _, k in prefecture.kinds()] == ["転入"]
    filings.file(
        j.uow, CLERK, "move-in", f.move_in([f.person(family_name="佐藤", family_name_kana="サトウ")])
    )
    time.sleep(0.2)
    assert len(prefecture.received) == 1  # stopped: nothing more goes


class FakeClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def move(self, **delta: float) -> None:
        self.at += timedelta(**delta)


JST_0100 = datetime(2026, 12, 5, 16, 0, tzinfo=UTC)  # 2026-12-06 01:00 in Japan


def _kept(cs) -> list[datetime]:  # type: ignore[no-untyped-def]
    return [
        r.at if r.at.tzinfo else r.at.replace(tzinfo=UTC) for r in rows(cs, t.comparisons, t.comparisons.c.id)
    ]


def test_the_comparison_runs_at_start_then_daily_at_its_hour_in_japan(j, cs):
    clock = FakeClock(JST_0100)
    relay = Relay(j.uow, cs.transaction, j.event_key, CITY, clock=clock)
    assert relay.compare_if_due() is not None  # none kept yet: at the start
    assert relay.compare_if_due() is None
    clock.move(minutes=59)  # 01:59
    assert relay.compare_if_due() is None
    clock.move(minutes=1)  # 02:00
    assert relay.compare_if_due() is not None and relay.compare_if_due() is None
    clock.move(hours=23, minutes=59)  # 01:59 the next day
    assert relay.compare_if_due() is None
    clock.move(minutes=1)
    assert relay.compare_if_due() is not None
    assert _kept(cs) == [JST_0100, JST_0100 + timedelta(hours=1), JST_0100 + timedelta(days=1, hours=1)]


def test_a_start_after_a_missed_hour_compares_at_once_and_the_hour_is_configurable(j, cs):
    clock = FakeClock(JST_0100)
    Relay(j.uow, cs.transaction, j.event_key, CITY, clock=clock).compare_if_due()
    clock.move(days=2)  # the CS was down over two nights: the report is older than a day
    restarted = Relay(j.uow, cs.transaction, j.event_key, CITY, clock=clock, compare_hour=5)
    assert restarted.compare_if_due() is not None and restarted.compare_if_due() is None
    clock.move(hours=3, minutes=59)  # 04:59
    assert restarted.compare_if_due() is None
    clock.move(minutes=1)  # 05:00
    assert restarted.compare_if_due() is not None
    with pytest.raises(ValueError):
        Relay(j.uow, cs.transaction, j.event_key, CITY, compare_hour=24)


def test_the_relay_thread_compares_after_its_pass_and_a_difference_is_kept(j, cs):
    done = filings.file(j.uow, CLERK, "move-in", f.move_in([f.person()]))
    relay = Relay(j.uow, cs.transaction, j.event_key, CITY, clock=FakeClock(JST_0100))
    relay.run_once()
    with cs.engine.begin() as conn:  # a broken consumer: the CS lost the person after taking them in
        conn.execute(t.identity.delete())
    relay.start(0.05)
    try:
        deadline = time.monotonic() + 10
        while not _kept(cs) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        relay.stop()
    (kept,) = rows(cs, t.comparisons, t.comparisons.c.id)
    assert [(d["addressee_number"], d["item"]) for d in kept.differences] == [
        (done.changes[0]["addressee_number"], MISSING)
    ]


def test_a_failed_comparison_is_logged_without_its_text_and_stays_due(j, cs, caplog, monkeypatch):
    relay = Relay(j.uow, cs.transaction, j.event_key, CITY, clock=FakeClock(JST_0100))

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("a secret value in the message")

    monkeypatch.setattr("juki.cs.services.comparison.compare", broken)
    with caplog.at_level(logging.ERROR, logger="juki.cs.relay"):
        assert relay.compare_safely() is None
    assert "ValueError" in caplog.text and "secret" not in caplog.text
    monkeypatch.undo()
    assert relay.compare_safely() is not None
