"""符号 and 照会 through a network in memory, over the 中間サーバー's real database (both engines): answered with
exactly the items asked and never a My Number; refused when the list does not allow it, for a forged 符号 or a
replayed query id; held for a supervisor when the person is under a 支援措置; every step in the 情報提供等記録."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import text

from juki.domain.errors import Forbidden
from juki.intermediate import wire
from juki.intermediate.adapters import tables as t
from juki.intermediate.services import link_codes, provision_log, replicas, staff
from juki.services import protection
from tests import factories as f
from tests.intermediate.support import CLERK, KYOKAI, PROTECTOR, REVIEWER, World, link_code_for
from tests.leakcheck import spellings


def _family(world: World, size: int = 2) -> tuple[list[str], list[dict]]:
    people, persons, _ = world.move_in(f.family_of_four()[:size])
    world.with_link_codes()
    return people, persons


def _no_my_number(world: World, persons: list[dict]) -> None:
    text_sent = json.dumps([a.to_json() for a in world.network.answers], ensure_ascii=False)
    for person in persons:
        assert not any(s in text_sent for s in spellings(person["my_number"]))


def _log(world: World) -> list[tuple[str, str, str]]:
    return [(r.action, r.query_id, r.status) for r in world.rows(t.provision_log)]


def test_a_move_in_gets_its_link_codes_through_the_cs(world: World):
    people, persons = _family(world)
    assert sorted(world.requester.requests.values()) == sorted(p["my_number"] for p in persons)
    numbers = [world.unified(p) or "" for p in people]
    with world.ims.transaction() as store:
        states = {store.unified(n).link_code_state for n in numbers}  # type: ignore[union-attr]
        assert states == {link_codes.ISSUED}
        assert store.unified_by_link_code(link_code_for(persons[0]["my_number"])) is not None
    assert world.run().link_codes.serials == 0  # nothing asked twice


def test_a_permitted_query_is_answered_with_exactly_the_items_asked(world: World):
    people, persons = _family(world)
    world.network.ask("Q-1", link_code_for(persons[1]["my_number"]), items=("世帯主氏名",))
    world.run()
    answer = world.network.final("Q-1")
    assert answer == wire.QueryAnswer("Q-1", wire.ANSWERED, {"世帯主氏名": "山田\u3000太郎"}, wire.PROVIDED)
    world.network.ask("Q-2", link_code_for(persons[0]["my_number"]))  # items null: every item allowed
    world.run()
    assert world.network.final("Q-2").data == {"世帯主該当": "1", "世帯主氏名": None, "世帯主との続柄": None}  # type: ignore[union-attr]
    _no_my_number(world, persons)
    assert [a for a, q, _ in _log(world) if q == "Q-1"] == ["query", "answered"]
    entry = world.rows(t.provision_log)[1]
    assert entry.procedure == "健康保険法による保険給付の支給に関する事務" and entry.items == ["世帯主氏名"]
    assert entry.link_code == link_code_for(
        persons[1]["my_number"]
    ) and entry.unified_number == world.unified(people[1])


def test_a_basis_written_with_other_spaces_still_matches(world: World):
    _, persons = _family(world, 1)
    world.network.ask("Q-S", link_code_for(persons[0]["my_number"]), "独立行政法人日本学生支援機構",
                      "番号法第19条第8号別表第2の106の項")  # fmt: skip
    world.run()
    assert world.network.final("Q-S").status == wire.ANSWERED  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("body", "basis", "items", "information"),
    [
        ("株式会社どこか", KYOKAI[1], None, "住民票関係情報"),  # not on the list
        (KYOKAI[0], "番号法第19条第8号別表第2の1の項", None, "住民票関係情報"),  # another row's basis
        (KYOKAI[0], KYOKAI[1], ("世帯主氏名", "個人番号"), "住民票関係情報"),  # an item not allowed
        (KYOKAI[0], KYOKAI[1], None, "地方税関係情報"),  # information not on the row
        (
            "小平市教育委員会 学務課",
            "小平市個人番号の利用並びに特定個人情報の利用及び提供に関する条例",
            None,
            "住民票関係情報",
        ),
    ],  # row 59: the 庁内連携, never the network
)
def test_an_unpermitted_query_is_refused_and_logged(world: World, body, basis, items, information):
    _, persons = _family(world, 1)
    world.network.ask("Q-X", link_code_for(persons[0]["my_number"]), body, basis, items, information)
    world.run()
    assert world.network.final("Q-X") == wire.QueryAnswer("Q-X", wire.REFUSED, None, wire.NOT_PERMITTED)
    assert _log(world) == [("query", "Q-X", "received"), ("refused", "Q-X", wire.REFUSED)]


def test_a_forged_link_code_is_refused(world: World):
    _family(world, 1)
    world.network.ask("Q-F", "ABCDEFGHJKLMNPQRSTUVWXYZ")
    world.run()
    assert world.network.final("Q-F") == wire.QueryAnswer("Q-F", wire.REFUSED, None, wire.UNKNOWN_LINK_CODE)


def test_a_replayed_query_id_is_refused_and_the_first_answer_stands(world: World):
    _, persons = _family(world, 1)
    code = link_code_for(persons[0]["my_number"])
    world.network.ask("Q-R", code)
    world.run()
    first = world.network.final("Q-R")
    world.network.ask("Q-R", code)
    world.run()
    assert world.network.last("Q-R") == wire.QueryAnswer("Q-R", wire.REFUSED, None, wire.DUPLICATE_QUERY)
    assert world.network.final("Q-R") == first and first.status == wire.ANSWERED  # type: ignore[union-attr]
    assert [s for a, q, s in _log(world) if a != "query"] == [wire.ANSWERED, wire.REFUSED]


def test_a_message_read_twice_is_handled_once(world: World):
    _, persons = _family(world, 1)
    world.network.ask("Q-T", link_code_for(persons[0]["my_number"]))
    world.run()
    with world.ims.engine.begin() as conn:  # the cursor lost (as after a crash before it was kept)
        conn.execute(text("UPDATE ims_cursors SET position = 0"))
    world.run()
    assert len([a for a in world.network.answers if a.query_id == "Q-T"]) == 1
    assert len(world.rows(t.queries)) == 1


def test_a_protected_person_is_held_then_released_by_a_supervisor(world: World):
    people, persons = _family(world)
    protection.set_measure(world.j.uow, PROTECTOR, f.support_measure(people[1]))
    world.network.ask("Q-P", link_code_for(persons[1]["my_number"]), items=("世帯主氏名", "世帯主との続柄"))
    world.run()
    assert world.network.last("Q-P") == wire.QueryAnswer("Q-P", wire.PENDING, None, wire.HELD_FOR_REVIEW)
    assert world.network.final("Q-P") is None
    queue = staff.review_queue(world.ims.transaction, REVIEWER)
    assert [(q["query_id"], q["addressee_numbers"]) for q in queue] == [("Q-P", [people[1]])]
    staff.release(world.ims.transaction, REVIEWER, queue[0]["id"])
    assert world.relay.send_answers() == 1
    assert world.network.final("Q-P") == wire.QueryAnswer(
        "Q-P", wire.ANSWERED, {"世帯主氏名": "山田\u3000太郎", "世帯主との続柄": "妻"}, wire.PROVIDED
    )
    assert staff.review_queue(world.ims.transaction, REVIEWER) == []
    held = [r for r in world.rows(t.provision_log) if r.query_id == "Q-P"]
    assert [(r.action, r.staff_id) for r in held] == [("query", ""), ("held", ""), ("released", "super1")]
    _no_my_number(world, persons)


def test_a_member_whose_householder_is_protected_is_held_too(world: World):
    people, persons = _family(world)
    protection.set_measure(world.j.uow, PROTECTOR, f.support_measure(people[0]))
    world.network.ask("Q-H", link_code_for(persons[1]["my_number"]), items=("世帯主氏名",))
    world.network.ask("Q-K", link_code_for(persons[1]["my_number"]), items=("世帯主との続柄",))
    world.run()
    assert world.network.last("Q-H").status == wire.PENDING
    assert world.network.final("Q-K").status == wire.ANSWERED  # type: ignore[union-attr]


def test_a_supervisor_refuses_and_the_requester_reads_only_not_provided(world: World):
    people, persons = _family(world, 1)
    protection.set_measure(world.j.uow, PROTECTOR, f.support_measure(people[0]))
    world.network.ask("Q-N", link_code_for(persons[0]["my_number"]))
    world.run()
    (held,) = staff.review_queue(world.ims.transaction, REVIEWER)
    staff.refuse(world.ims.transaction, REVIEWER, held["id"], "DV等支援措置のため")
    world.run()
    assert world.network.final("Q-N") == wire.QueryAnswer("Q-N", wire.REFUSED, None, wire.NOT_PROVIDED)
    assert "DV" not in json.dumps([a.to_json() for a in world.network.answers], ensure_ascii=False)
    assert "DV" not in json.dumps(
        [list(r) for r in world.rows(t.provision_log)], ensure_ascii=False, default=str
    )


def test_a_measure_ended_answers_automatically_again(world: World):
    people, persons = _family(world, 1)
    measure = protection.set_measure(world.j.uow, PROTECTOR, f.support_measure(people[0]))
    protection.end(
        world.j.uow, PROTECTOR, measure["measure_id"], {"ended_on": "2025-06-10", "end_reason": "not_needed"}
    )
    world.network.ask("Q-E", link_code_for(persons[0]["my_number"]))
    world.run()
    assert world.network.final("Q-E").status == wire.ANSWERED  # type: ignore[union-attr]


def test_no_auto_reply_by_hand_holds_answers_until_cleared(world: World):
    people, persons = _family(world, 1)
    staff.set_no_auto_reply(world.ims.transaction, REVIEWER, people[0], True, "本人からの申出")
    world.network.ask("Q-M1", link_code_for(persons[0]["my_number"]))
    world.run()
    assert world.network.last("Q-M1").status == wire.PENDING
    staff.set_no_auto_reply(world.ims.transaction, REVIEWER, people[0], False, "申出の取下げ")
    world.network.ask("Q-M2", link_code_for(persons[0]["my_number"]))
    world.run()
    assert world.network.final("Q-M2").status == wire.ANSWERED  # type: ignore[union-attr]
    state = staff.person_state(world.ims.transaction, REVIEWER, people[0])
    assert state["link_code_state"] == "issued" and state["unified_number"].startswith("13211******")


def test_answers_wait_while_the_network_is_down(world: World):
    _people, persons = _family(world, 1)
    world.network.ask("Q-D", link_code_for(persons[0]["my_number"]))
    world.network.answers_down = True
    assert world.run().network_down
    assert world.network.final("Q-D") is None
    assert staff.overview(world.ims.transaction, REVIEWER)["answers_waiting"] == 1
    world.network.answers_down = False
    assert world.run().sent == 1
    assert world.network.final("Q-D").status == wire.ANSWERED  # type: ignore[union-attr]
    assert world.run().sent == 0  # sent once


def test_an_answer_the_network_does_not_know_is_not_sent_again(world: World, monkeypatch: pytest.MonkeyPatch):
    _, persons = _family(world, 1)
    world.network.ask("Q-U", link_code_for(persons[0]["my_number"]))
    world.network.ask("Q-U2", link_code_for(persons[0]["my_number"]))

    real = world.network.answer

    def answer(given: wire.QueryAnswer) -> bool:
        if given.query_id == "Q-U":
            raise wire.UnknownQuery("no such query")
        return real(given)

    monkeypatch.setattr(world.network, "answer", answer)
    world.run()
    assert world.network.final("Q-U2") is not None  # the next answer was not held up
    assert staff.overview(world.ims.transaction, REVIEWER)["answers_waiting"] == 0


def test_a_release_while_the_network_is_down_goes_at_the_next_pass(world: World):
    people, persons = _family(world, 1)
    staff.set_no_auto_reply(world.ims.transaction, REVIEWER, people[0], True, "本人からの申出")
    world.network.ask("Q-G", link_code_for(persons[0]["my_number"]))
    world.run()
    (held,) = staff.review_queue(world.ims.transaction, REVIEWER)
    world.network.down = True
    staff.release(world.ims.transaction, REVIEWER, held["id"])
    assert world.relay.send_answers() == 0
    world.network.down = False
    world.run()
    assert world.network.final("Q-G").status == wire.ANSWERED  # type: ignore[union-attr]


def test_a_query_is_answered_within_a_second_by_the_inbox_loop(world: World):
    _, persons = _family(world, 1)
    world.relay.start(interval=60, wait=0.05)
    try:
        world.network.ask("Q-FAST", link_code_for(persons[0]["my_number"]))
        deadline = time.monotonic() + 1.0
        while world.network.final("Q-FAST") is None and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        world.relay.stop()
    assert world.network.final("Q-FAST").status == wire.ANSWERED  # type: ignore[union-attr]


def test_a_cs_that_cannot_take_the_request_gets_the_same_serial_again_after_the_backoff(world: World):
    world.move_in(f.family_of_four()[:1])
    world.requester.fail = True
    world.run()
    assert world.requester.requests == {} and len(world.network.serials_given) == 1
    world.requester.fail = False
    world.run()
    assert world.requester.requests == {}  # within the backoff: the CS is not asked at every pass
    world.move_back(t.serials, "updated_at", timedelta(hours=1))  # the backoff is over
    world.run()
    assert list(world.requester.requests) == world.network.serials_given


def test_staff_ask_again_with_a_new_serial_and_the_old_one_is_not_taken(world: World):
    people, _, _ = world.move_in(f.family_of_four()[:1])
    world.run()
    (old,) = world.network.serials_given
    staff.request_link_code_again(world.ims.transaction, REVIEWER, people[0])
    world.run()
    assert len(world.network.serials_given) == 2
    world.network.issue(old, "OLDCODEOLDCODEOLDCODEOLD")
    world.run()
    assert staff.person_state(world.ims.transaction, REVIEWER, people[0])["link_code_state"] == "requested"
    world.requester.deliver()
    world.run()
    assert staff.person_state(world.ims.transaction, REVIEWER, people[0])["link_code_state"] == "issued"


def test_a_malformed_replica_message_is_refused_and_nothing_is_written(world: World):
    people, _ = _family(world, 1)
    number = world.unified(people[0])
    versions = world.replica_versions()
    bad = {"message_id": "RM-bad", "segments": [{"operation": "登録",
           "record_key": {"unified_addressee_number": number, "info_code": "JR01"},
           "items": [{"code": "JR01-001", "value": "2", "null_reason": None}]}]}  # fmt: skip
    with world.ims.transaction() as store:
        done = replicas.register_message(store, bad)
    assert not done.accepted and "JR01-001" in done.reason
    assert world.replica_versions() == versions
    assert [(m.message_id, m.result) for m in world.rows(t.replica_messages)][-1] == ("RM-bad", "refused")


def test_the_log_chain_verifies_and_detects_tampering(world: World):
    _, persons = _family(world, 1)
    world.network.ask("Q-V", link_code_for(persons[0]["my_number"]))
    world.network.ask("Q-W", "FORGEDFORGEDFORGEDFORGED")
    world.run()
    assert staff.verify_chain(world.ims.transaction, REVIEWER) == {
        "ok": True,
        "entries": 4,
        "first_broken": None,
    }
    with world.ims.engine.begin() as conn:  # an administrator goes around the triggers
        if conn.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER ims_provision_log_no_update"))
        else:
            conn.execute(text("ALTER TABLE ims_provision_log DISABLE TRIGGER ims_provision_log_append_only"))
        conn.execute(text("UPDATE ims_provision_log SET requester = '別の機関' WHERE seq = 2"))
    assert staff.verify_chain(world.ims.transaction, REVIEWER) == {
        "ok": False,
        "entries": 1,
        "first_broken": 2,
    }


def test_the_log_is_append_only(world: World):
    _, persons = _family(world, 1)
    world.network.ask("Q-A", link_code_for(persons[0]["my_number"]))
    world.run()
    with pytest.raises(Exception, match="append-only"), world.ims.engine.begin() as conn:
        conn.execute(text("DELETE FROM ims_provision_log"))


def test_a_residents_own_history(world: World):
    people, persons = _family(world)
    world.network.ask("Q-O1", link_code_for(persons[0]["my_number"]), items=("世帯主該当",))
    world.network.ask("Q-O2", link_code_for(persons[1]["my_number"]))
    world.run()
    mine = provision_log.provisions_for(world.ims, people[0])
    assert [(e.requester, e.procedure, e.items, e.status) for e in mine] == [
        (KYOKAI[0], "健康保険法による保険給付の支給に関する事務", ("世帯主該当",), wire.ANSWERED)
    ]
    assert provision_log.provisions_for(world.ims, "9999999999") == []


def test_staff_functions_check_the_permission_and_log_the_refusal(world: World):
    people, _ = _family(world, 1)
    with pytest.raises(Forbidden):
        staff.set_no_auto_reply(world.ims.transaction, CLERK, people[0], True, "理由")
    with pytest.raises(Forbidden):
        staff.search_provision_log(world.ims.transaction, CLERK, staff.LogSearch())
    assert [(r.action, r.result) for r in world.rows(t.log) if r.result == "denied"] == [
        ("no_auto_reply", "denied"), ("provision_log", "denied"),
    ]  # fmt: skip
    overview = staff.overview(world.ims.transaction, REVIEWER)
    assert overview["link_codes"]["issued"] == 1 and overview["review_queue"] == 0


def test_the_provision_log_search(world: World):
    people, persons = _family(world)
    world.network.ask("Q-L1", link_code_for(persons[0]["my_number"]))
    world.network.ask("Q-L2", link_code_for(persons[1]["my_number"]), "株式会社どこか")
    world.run()
    mine = staff.search_provision_log(
        world.ims.transaction, REVIEWER, staff.LogSearch(addressee_number=people[1])
    )
    assert [(e["query_id"], e["action"]) for e in mine] == [("Q-L2", "query"), ("Q-L2", "refused")]
    by_body = staff.search_provision_log(
        world.ims.transaction, REVIEWER, staff.LogSearch(requester=KYOKAI[0])
    )
    assert {e["query_id"] for e in by_body} == {"Q-L1"}
    assert all(e["retain_until"].startswith("2032") or e["retain_until"].startswith("2033") for e in by_body)
