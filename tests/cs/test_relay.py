"""The CS's relay (cs/services/relay.py): a pass takes in the register's changes and delivers; without a link the
notices stay queued; a failed pass is logged without its text and the next pass catches up; the thread stops."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from juki.cs.services.relay import Relay, RelayPass
from juki.cs.wire import PrefectureClient
from juki.services import filings
from tests import factories as f
from tests.cs.fakes import FakePrefecture
from tests.cs.support import CITY, CLERK, states


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
