"""The register's events into the 中間サーバー (on both engines): the 団体内統合宛名番号, the per-person state and the
副本 of 住民票関係情報, kept current for every member of a household a change touches."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from juki.intermediate.adapters import tables as t
from juki.intermediate.domain import unified
from juki.intermediate.services import addressees, intake
from juki.services import filings, protection
from tests import factories as f
from tests.intermediate.support import CITY, PROTECTOR, SUPERVISOR, World
from tests.leakcheck import spellings


def test_a_move_in_gives_each_person_a_unified_number_and_a_replica(world: World):
    people, _persons, _ = world.move_in()
    assert world.run().taken == 4
    numbers = [world.unified(p) for p in people]
    assert all(n and unified.is_valid(n, CITY) and n.startswith("13211") for n in numbers)
    assert len(set(numbers)) == 4
    assert world.values(people[0]) == {"世帯主該当": "1", "世帯主氏名": None, "世帯主との続柄": None}
    assert world.values(people[1]) == {
        "世帯主該当": "0",
        "世帯主氏名": "山田\u3000太郎",
        "世帯主との続柄": "妻",
    }
    head = world.replica(people[0])
    assert head is not None and head["世帯主氏名"]["null_reason"] == "01"
    assert {v["version"] for v in head.values()} == {1}


def test_the_ims_tables_hold_no_my_number_in_the_clear(world: World):
    _, persons, _ = world.move_in()
    world.run()
    with world.ims.engine.connect() as conn:
        dump = " ".join(
            str(row) for name in t.metadata.tables for row in conn.execute(text(f"SELECT * FROM {name}"))
        )
    for person in persons:
        assert not any(s in dump for s in spellings(person["my_number"]))
    assert all(row.my_number.startswith("k1:") for row in world.rows(t.unified))


def test_a_householders_new_name_reaches_every_members_replica(world: World):
    people, _, _ = world.move_in()
    world.run()
    pending = world.file("ex-officio-correction", {
        "filed_on": "2025-06-26", "changed_on": "2025-06-26", "reason": "誤記",
        "addressee_number": people[0], "corrections": {"given_name": "太朗"},
    })  # fmt: skip
    filings.decide(world.j.uow, SUPERVISOR, pending.filing_id, True)
    world.run()
    for member in people[1:]:
        found = world.replica(member)
        assert found is not None
        assert found["世帯主氏名"]["value"] == "山田\u3000太朗" and found["世帯主氏名"]["version"] == 2
        assert found["世帯主との続柄"]["version"] == 1  # unchanged items keep their version
    assert world.values(people[0])["世帯主該当"] == "1"


def test_a_new_householder_changes_the_members_replica(world: World):
    people, _, household = world.move_in(f.family_of_four()[:3])
    head, wife, child = people
    world.run()
    world.file("household-change", {
        "filed_on": "2025-06-20", "changed_on": "2025-06-19", "type": "householder_change",
        "household_number": household, "new_householder": wife,
        "new_relationships": {head: "夫", wife: "世帯主", child: "子"},
    })  # fmt: skip
    world.run()
    assert world.values(wife) == {"世帯主該当": "1", "世帯主氏名": None, "世帯主との続柄": None}
    assert world.values(head) == {"世帯主該当": "0", "世帯主氏名": "山田\u3000花子", "世帯主との続柄": "夫"}
    assert world.values(child)["世帯主氏名"] == "山田\u3000花子"


def test_a_removed_resident_keeps_the_last_replica(world: World):
    people, _, _ = world.move_in(f.family_of_four()[:2])
    world.run()
    before = world.values(people[1])
    world.file("move-out", {"filed_on": "2025-06-25", "planned_on": "2025-07-01", "addressee_numbers": [people[1]],
                            "destination": f.OTHER})  # fmt: skip
    world.run()
    assert world.values(people[1]) == before
    with world.ims.transaction() as store:
        assert store.person(people[1]).removed  # type: ignore[union-attr]


def test_a_returning_resident_keeps_the_unified_number_and_nobody_else_gets_it(world: World):
    person = f.person()
    first = world.file("move-in", f.move_in([person], filed_on="2025-01-10", changed_on="2025-01-10"))
    people = [c["addressee_number"] for c in first.changes]
    world.run()
    number = world.unified(people[0])
    world.file("move-out", {"filed_on": "2025-02-01", "planned_on": "2025-02-10", "addressee_numbers": people,
                            "destination": f.OTHER})  # fmt: skip
    world.run()
    newcomer, _, _ = world.move_in([f.person(family_name="佐藤")])
    world.run()
    assert world.unified(newcomer[0]) not in (None, number)  # a removed person's number is not handed on
    done = world.file("move-in", f.move_in([person]))
    world.run()
    again = [c["addressee_number"] for c in done.changes]
    assert again == people and world.unified(again[0]) == number
    assert world.values(again[0])["世帯主該当"] == "1"  # the 副本 follows the return
    assert len(world.rows(t.unified)) == 2


def test_the_same_my_number_from_another_system_gets_the_same_unified_number(world: World):
    people, persons, _ = world.move_in(f.family_of_four()[:1])
    world.run()
    before, number = len(world.rows(t.unified)), world.unified(people[0])
    with world.ims.transaction() as store:
        addressees.register(
            store, CITY, "国民健康保険", "K-000123", persons[0]["my_number"], {"name": "山田　太郎"}
        )
        assert addressees.unified_of(store, "国民健康保険", "K-000123") == number
        assert addressees.addressees_of(store, number or "", "国民健康保険") == ["K-000123"]
    assert len(world.rows(t.unified)) == before


def test_a_new_my_number_for_the_same_addressee_keeps_the_unified_number(world: World):
    people, persons, _ = world.move_in(f.family_of_four()[:1])
    world.run()
    number = world.unified(people[0])
    replacement = f.person()["my_number"]
    with world.ims.transaction() as store:
        addressees.register(store, CITY, addressees.REGISTER_SYSTEM, people[0], replacement, {})
        assert store.unified_by_index(store.seal_my_number(replacement)[1]).unified_number == number  # type: ignore[union-attr]
        assert store.unified_by_index(store.seal_my_number(persons[0]["my_number"])[1]) is None


def test_a_person_without_a_my_number_gets_no_unified_number(world: World):
    person = {k: v for k, v in f.person().items() if k != "my_number"}
    people, _, _ = world.move_in([person])
    world.run()
    assert world.unified(people[0]) is None and world.replica(people[0]) is None
    with world.ims.transaction() as store:
        assert store.person(people[0]) is not None


def test_unified_numbers_are_never_reused_and_follow_one_sequence(world: World):
    world.move_in(f.family_of_four()[:2])
    world.run()
    world.move_in(f.family_of_four()[:1])
    world.run()
    numbers = sorted(r.unified_number for r in world.rows(t.unified))
    assert [int(n[5:]) for n in numbers] == [1, 2, 3]
    assert all(re.fullmatch(r"13211\d{10}", n) for n in numbers)


def test_intake_is_idempotent(world: World):
    world.move_in()
    world.run()
    versions = world.replica_versions()
    with world.ims.transaction() as store:  # the same events again (a crash before the acknowledgement)
        touched = intake.Touched()
        from juki.services import outbox

        taken = [
            intake.take_in(store, e, world.j.event_key, CITY, touched) for e in outbox.read(world.j.uow, 0)
        ]
        intake.rebuild(store, touched)
    assert not any(taken) and world.replica_versions() == versions


def test_a_support_measure_is_taken_in_once(world: World):
    people, _, _ = world.move_in(f.family_of_four()[:2])
    protection.set_measure(world.j.uow, PROTECTOR, f.support_measure(people[1]))
    world.run()
    with world.ims.transaction() as store:
        assert [p.restriction for p in store.protections(people[1])] == ["support"]
        assert store.protections(people[0]) == []


@pytest.mark.parametrize(
    "statement", ["UPDATE ims_replicas SET record_version = 9", "DELETE FROM ims_seen_events"]
)
def test_the_replica_and_the_seen_events_are_append_only(world: World, statement: str):
    world.move_in(f.family_of_four()[:1])
    world.run()
    with pytest.raises(Exception, match="append-only"), world.ims.engine.begin() as conn:
        conn.execute(text(statement))
