"""The 中間サーバー's relay when things go wrong, on both engines: two relays over one 中間サーバー (the demo's and
`juki intermediate serve`, or the passes and the inbox loop) decide each 照会 once and hand each person one serial;
a relay that dies between handling an inbox message and moving the cursor handles it once when it starts again
(at-least-once delivery, idempotent handling); and what has waited longer than a day is counted for staff."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from juki.intermediate import wire
from juki.intermediate.adapters import tables as t
from juki.intermediate.adapters.store import SqlImsStore
from juki.intermediate.services import link_codes, staff
from juki.intermediate.services.relay import Relay
from tests import factories as f
from tests.intermediate.support import CITY, REVIEWER, World, link_code_for


def _together(*relays: Relay) -> None:
    """One pass of each relay, started at the same moment on threads of their own."""
    start = threading.Barrier(len(relays))

    def run(relay: Relay) -> None:
        start.wait()
        relay.run_safely()

    threads = [threading.Thread(target=run, args=(r,)) for r in relays]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)


def _count(world: World, table: t.Table) -> int:
    with world.ims.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_two_relays_hand_each_person_one_serial_and_decide_each_query_once(world: World):
    people, persons, _ = world.move_in(f.family_of_four())
    other = Relay(world.j.uow, world.ims.transaction, world.j.event_key, CITY, world.network, world.requester)
    world.network.down = True
    world.run()  # taken in; every person waits for a serial
    world.network.down = False
    for _ in range(2):
        _together(world.relay, other)
    assert len(world.requester.requests) == len(
        people
    )  # one serial handed per person, whichever relay took it
    handed = [r.unified_number for r in world.rows(t.serials) if r.state == link_codes.HANDED]
    assert sorted(handed) == sorted(str(world.unified(p)) for p in people)
    world.requester.deliver()
    for _ in range(2):
        _together(world.relay, other)
    asked = [f"Q-{i}" for i in range(8)]
    for i, query_id in enumerate(asked):
        world.network.ask(query_id, link_code_for(persons[i % len(persons)]["my_number"]))
    for _ in range(3):
        _together(world.relay, other)
    assert Counter(r.query_id for r in world.rows(t.queries)) == Counter(asked)  # decided once each
    assert all(world.network.final(q).status == wire.ANSWERED for q in asked)  # type: ignore[union-attr]
    assert _count(world, t.provision_log) == 2 * len(asked)  # the 照会 and its answer, once
    assert staff.verify_chain(world.ims.transaction, REVIEWER)["ok"]


def test_a_relay_that_dies_before_moving_the_cursor_handles_the_message_once_again(
    world: World, monkeypatch: pytest.MonkeyPatch
):
    _, persons, _ = world.move_in(f.family_of_four()[:1])
    world.with_link_codes()
    world.network.ask("Q-C", link_code_for(persons[0]["my_number"]))

    def dies(self: SqlImsStore, name: str, position: int) -> None:
        raise RuntimeError("the process died")

    with monkeypatch.context() as patched:
        patched.setattr(SqlImsStore, "set_cursor", dies)
        with pytest.raises(RuntimeError):
            world.run()
    assert world.rows(t.queries) == [] and world.network.answers == []  # nothing of it was kept
    world.run()
    world.run()
    assert [r.query_id for r in world.rows(t.queries)] == ["Q-C"]
    assert [a.query_id for a in world.network.answers] == ["Q-C"]  # answered once
    assert _count(world, t.provision_log) == 2


def test_the_overview_counts_what_has_waited_longer_than_a_day(world: World):
    _, persons, _ = world.move_in(f.family_of_four()[:1])
    world.with_link_codes()
    world.network.answers_down = True
    world.network.ask("Q-O", link_code_for(persons[0]["my_number"]))
    world.requester.fail = True
    world.move_in([f.person(family_name="佐藤", given_name="次郎")])
    world.run()
    counts = staff.overview(world.ims.transaction, REVIEWER)["waiting_over_a_day"]
    assert counts == {"link_codes": 0, "answers": 0, "review_queue": 0}
    world.move_back(t.unified, "created_at", timedelta(days=2))  # two days later, nothing has moved
    world.move_back(t.queries, "received_at", timedelta(days=2))
    counts = staff.overview(world.ims.transaction, REVIEWER)["waiting_over_a_day"]
    assert counts == {
        "link_codes": 1,
        "answers": 1,
        "review_queue": 0,
    }  # the 符号 that never came, the answer
