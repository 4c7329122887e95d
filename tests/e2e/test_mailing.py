"""送付先情報 end to end, on SQLite and PostgreSQL: the record built in the transaction that sets the number; what the
CS takes and reports; the counter's lists (screened for 支援措置), flags, release and rebuild over the API; the 居所
for delivery of a protected person; each refusal's stable code; the operation log by ids only."""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest

from juki.adapters import tables as t
from juki.bootstrap import Juki, build
from juki.domain import mailing as m
from juki.domain.errors import InvalidField
from juki.domain.identifiers import generate_my_number
from juki.policy.roles import CS_SYSTEM, Actor
from juki.services import filings, mailing, numbers, protection
from tests import factories as f
from tests.conftest import STAFF, TODAY
from tests.e2e.role_cases.common import CLERK

BOSS = Actor(STAFF["supervisor"][0], STAFF["supervisor"][1], "supervisor", "test", procedure="protection")
PROTECTION = {"X-Juki-Procedure": "protection"}
RESIDENCE = {"postal_code": "187-0001", "address": "東京都小平市大沼町一丁目1番1号　みどり荘3号"}
KATAGAKI = "コーポ小川201"
_rng = random.Random(2300)
_names = itertools.count(1)


@pytest.fixture
def family(j: Juki) -> dict[str, Any]:
    """A family of four moved in (an address with a 方書): its household and 宛名番号, householder first."""
    body = f.move_in(address={"address": f.ADDRESS, "katagaki": KATAGAKI})
    result = filings.file(j.uow, CLERK, "move-in", body)
    return {"household": result.household_number, "members": [c["addressee_number"] for c in result.changes]}


def born(j: Juki, household: str) -> str:
    """A child born into the household: a 生成要求 waits for J-LIS (番号法8条)."""
    name = "".join("十一二三四五六七八九"[int(d)] for d in str(next(_names)))
    child = f.person("子", given_name=f"{name}郎", given_name_kana="ロウ")
    for key in ("my_number", "resident_code", "birth_date"):
        child.pop(key)
    body = {
        "filed_on": "2025-06-12",
        "birth_date": "2025-06-10",
        "household_number": household,
        "person": child,
    }
    return str(filings.file(j.uow, CLERK, "birth", body).changes[0]["addressee_number"])


def assign(j: Juki, number: str, hook: numbers.OnAssigned | None = None) -> str | None:
    """J-LIS's answer handed over as the CS does, with the mailing hook: the person's open record now."""
    [request] = [r for r in numbers.open_requests(j.uow, CS_SYSTEM) if r.addressee_number == number]
    answer = numbers.NumberAnswer(request.request_id, request.resident_code, generate_my_number(_rng))
    numbers.assign(j.uow, CS_SYSTEM, answer, on_assigned=hook or mailing.on_assigned(j.settings))
    opens = records_of(j, number)
    return opens[-1].record_id if opens else None


def records_of(j: Juki, number: str) -> list[m.MailingRecord]:
    with j.uow() as uow:
        return uow.mailing.open_records_of(number)


def record(j: Juki, record_id: str) -> m.MailingRecord:
    with j.uow() as uow:
        found = uow.mailing.record(record_id)
    assert found is not None
    return found


def log(j: Juki, prefix: str = "mailing:") -> list[Any]:
    with j.uow() as uow:
        return [r for r in uow.queries.operation_log() if r.action.startswith(prefix)]


def listed(client, headers, state: str, role: str = "clerk", **extra: str) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    res = client.get(f"/api/v1/mailing-records?state={state}", headers={**headers(role), **extra})
    assert res.status_code == 200, res.text
    return list(res.json()["records"])


def protect(j: Juki, number: str) -> str:
    return str(protection.set_measure(j.uow, BOSS, f.support_measure(number))["measure_id"])


def error(res: Any, status: int) -> dict[str, Any]:
    assert res.status_code == status, res.text
    assert res.headers["content-type"].startswith("application/problem+json")
    return dict(res.json()["errors"][0])


# --- the hook ----------------------------------------------------------------------------------------------------


def test_the_number_and_its_mailing_record_commit_in_one_transaction(j, family):
    child = born(j, family["household"])
    record_id = assign(j, child)
    assert record_id is not None
    with j.uow() as uow:
        assert uow.queries.resident(child).has_my_number
    built = record(j, record_id)
    assert (built.state, built.hold_reason, built.addressee) == (m.READY, None, family["members"][0])
    assert [e.detail["hold_reason"] for e in built.events] == [None]
    [entry] = log(j, "mailing:build")
    assert entry.staff_id == CS_SYSTEM.staff_id and list(entry.targets) == [child]
    assert entry.detail == f"{record_id} ready"  # ids and states only: no name, no address


def test_a_hook_that_fails_leaves_neither_the_number_nor_a_record(j, family):
    child = born(j, family["household"])
    build_record = mailing.on_assigned(j.settings)

    def failing(uow, assigned):  # type: ignore[no-untyped-def]
        build_record(uow, assigned)
        raise RuntimeError("the disk is full")

    with pytest.raises(RuntimeError):
        assign(j, child, failing)
    with j.uow() as uow:
        assert not uow.queries.resident(child).has_my_number
        assert uow.numbers.open_request_of(child) is not None  # J-LIS's answer can be handed over again
    with j.engine.connect() as conn:
        assert conn.execute(t.mailing_records.select()).all() == []


# --- the CS ------------------------------------------------------------------------------------------------------


def test_the_cs_takes_a_ready_record_with_its_31_items_and_the_flags_once(j, family):
    child = born(j, family["household"])
    record_id = assign(j, child)
    [out] = mailing.ready(j.uow, CS_SYSTEM, 10)
    with j.uow() as uow:
        code = uow.queries.resident(child).resident_code
    assert (out.record_id, out.resident_code) == (record_id, code)
    assert list(out.items) == [*m.ITEMS, m.PRINT_CATEGORY, m.SPECIAL_CIRCUMSTANCE]
    assert out.items["送付先管理番号"] == record_id
    assert out.items["送付先氏名 漢字"] == "山田\u3000太郎"  # the householder's name, not the child's
    assert out.items["送付先住所 漢字"] == f"{f.ADDRESS}\u3000{KATAGAKI}"
    assert out.items["送付先郵便番号"] == "1870032" and out.items["市町村コード"] == j.settings.city_code
    assert (out.items["印字区分"], out.items["特殊事情"], out.addressed_to) == ("通常", "なし", "householder")

    mailing.delivered(j.uow, CS_SYSTEM, record_id)
    mailing.delivered(j.uow, CS_SYSTEM, record_id)  # said again after a crash: recorded once
    assert [e.state for e in record(j, record_id).events] == [m.READY, m.DELIVERED]
    assert mailing.ready(j.uow, CS_SYSTEM, 10) == []
    assert [e.action for e in log(j)] == [  # an empty answer to the CS's pass is not logged
        "mailing:build",
        "mailing:ready",
        "mailing:delivered",
    ]


def test_a_record_of_someone_who_left_is_held_never_goes_and_cannot_be_released(client, headers, j, family):
    child = born(j, family["household"])
    refused = assign(j, child)
    mailing.delivered(j.uow, CS_SYSTEM, refused)
    mailing.refused(j.uow, CS_SYSTEM, refused, "E0101", "送付先住所 漢字")
    filings.file(
        j.uow,
        CLERK,
        "move-out",
        {
            "filed_on": "2025-06-30",
            "planned_on": "2025-06-30",
            "addressee_numbers": [child],
            "destination": f.OTHER,
        },
    )
    res = client.post(f"/api/v1/mailing-records/{refused}/rebuild", headers=headers("clerk"))
    assert res.status_code == 201, res.text
    record_id = res.json()["record_id"]
    [row] = listed(client, headers, "held")
    assert (row["record_id"], row["hold_reason"], row["goes"]) == (record_id, "not_resident", False)
    assert mailing.ready(j.uow, CS_SYSTEM, 10) == []
    with pytest.raises(m.MailingRecordNotGoing):
        mailing.delivered(j.uow, CS_SYSTEM, record_id)
    with pytest.raises(m.MailingRecordNotFound):
        mailing.delivered(j.uow, CS_SYSTEM, "M20250630-m000000000")
    refusals = [e for e in log(j, "mailing:delivered") if e.result == "refused"]
    assert [e.detail for e in refusals] == ["mailing_record_not_going record_id"]

    res = client.post(f"/api/v1/mailing-records/{record_id}/release", headers=headers("clerk"))
    assert error(res, 409) == {
        "code": "mailing_record_held",
        "field": "hold_reason",
        "message": "住民でなくなっている（転出・死亡等）ため、まだ送付できません（not_resident）",
    }
    assert record(j, record_id).state == m.HELD


# --- print category and special circumstance ---------------------------------------------------------------------


def test_with_no_default_flags_a_record_waits_until_the_counter_sets_both(client, headers, j, family, db_url):
    unset = build(db_url, run_migrations=False, today=TODAY, mailing_print_category="")
    try:
        child = born(j, family["household"])
        record_id = assign(j, child, mailing.on_assigned(unset.settings))
    finally:
        unset.engine.dispose()
    assert mailing.ready(j.uow, CS_SYSTEM, 10) == []
    [row] = listed(client, headers, "ready")
    assert (row["record_id"], row["state"], row["goes"], row["print_category"]) == (
        record_id,
        "ready",
        False,
        "",
    )

    res = client.patch(f"/api/v1/mailing-records/{record_id}", json={}, headers=headers("clerk"))
    assert error(res, 422)["code"] == "invalid_field"
    res = client.patch(
        f"/api/v1/mailing-records/{record_id}", json={"print_category": "通常"}, headers=headers("clerk")
    )
    assert res.status_code == 200, res.text
    assert (res.json()["print_category"], res.json()["special_circumstance"], res.json()["goes"]) == (
        "通常",
        "なし",
        True,
    )
    [out] = mailing.ready(j.uow, CS_SYSTEM, 10)
    assert (out.record_id, out.items["印字区分"], out.items["特殊事情"]) == (record_id, "通常", "なし")
    mailing.delivered(j.uow, CS_SYSTEM, record_id)
    res = client.patch(
        f"/api/v1/mailing-records/{record_id}",
        json={"special_circumstance": "施設入所"},
        headers=headers("clerk"),
    )
    assert error(res, 409)["code"] == "mailing_record_closed"
    res = client.patch("/api/v1/mailing-records/M20250630-000000000000", json={"print_category": "通常"},
                       headers=headers("clerk"))  # fmt: skip
    assert error(res, 404)["code"] == "not_found"


def test_a_record_waiting_for_its_flags_does_not_hold_up_the_ones_behind_it(j, family, db_url):
    unset = build(db_url, run_migrations=False, today=TODAY, mailing_special_circumstance="")
    try:
        waiting = [
            assign(j, born(j, family["household"]), mailing.on_assigned(unset.settings)) for _ in range(3)
        ]
    finally:
        unset.engine.dispose()
    going = assign(j, born(j, family["household"]))
    assert [o.record_id for o in mailing.ready(j.uow, CS_SYSTEM, 2)] == [going]
    assert all(w is not None and not record(j, w).goes for w in waiting)


# --- J-LIS's refusal and the rebuild -------------------------------------------------------------------------------


def test_a_refused_record_is_listed_with_its_code_and_item_and_built_again_as_a_new_record(
    client, headers, j, family
):
    child = born(j, family["household"])
    record_id = assign(j, child)
    res = client.post(f"/api/v1/mailing-records/{record_id}/rebuild", headers=headers("clerk"))
    assert error(res, 409)["code"] == "mailing_record_not_refused"
    mailing.delivered(j.uow, CS_SYSTEM, record_id)
    with pytest.raises(InvalidField):
        mailing.refused(j.uow, CS_SYSTEM, record_id, "E0101", "住所")  # not one of the 31
    with pytest.raises(InvalidField):
        mailing.refused(j.uow, CS_SYSTEM, record_id, "東京都", None)  # a code, never a value
    mailing.refused(j.uow, CS_SYSTEM, record_id, "E0101", "送付先住所 漢字")
    mailing.refused(j.uow, CS_SYSTEM, record_id, "E0101", "送付先住所 漢字")  # said twice, recorded once
    [row] = listed(client, headers, "refused")
    assert row["record_id"] == record_id and row["refusal"] == {"code": "E0101", "item": "送付先住所 漢字"}

    res = client.post(f"/api/v1/mailing-records/{record_id}/rebuild", headers=headers("clerk"))
    assert res.status_code == 201, res.text
    new = res.json()
    assert new["record_id"] != record_id and new["state"] == "ready" and new["goes"]
    old = record(j, record_id)
    assert [e.state for e in old.events] == [m.READY, m.DELIVERED, m.REFUSED, m.REPLACED]
    assert old.events[-1].detail == {"by": new["record_id"], "why": "rebuild"}
    assert record(j, new["record_id"]).events[0].detail["replaces"] == [record_id]
    assert [o.record_id for o in mailing.ready(j.uow, CS_SYSTEM, 10)] == [new["record_id"]]
    res = client.post(f"/api/v1/mailing-records/{record_id}/rebuild", headers=headers("clerk"))
    assert error(res, 409)["code"] == "mailing_record_not_refused"
    assert listed(client, headers, "refused") == []
    rebuilds = [e for e in log(j, "mailing:rebuild") if e.result == "ok"]
    assert [(e.staff_id, list(e.targets)) for e in rebuilds] == [(CLERK.staff_id, [child])]
    assert rebuilds[0].detail == f"{new['record_id']} ready replaces {record_id}"


# --- holds and their release ---------------------------------------------------------------------------------------


def test_a_household_without_a_head_holds_the_record_until_one_is_named(client, headers, j, family):
    head, wife = family["members"][:2]
    child = born(j, family["household"])
    filings.file(
        j.uow, CLERK, "death", {"filed_on": "2025-06-20", "died_on": "2025-06-18", "addressee_number": head}
    )
    record_id = assign(j, child)
    [row] = listed(client, headers, "held")
    assert (row["record_id"], row["hold_reason"], row["destination"]["name"]) == (
        record_id,
        "no_addressee_name",
        "",
    )
    res = client.post(f"/api/v1/mailing-records/{record_id}/release", headers=headers("clerk"))
    assert error(res, 409)["code"] == "mailing_record_held"

    change = {"filed_on": "2025-06-30", "changed_on": "2025-06-30", "type": "householder_change",
              "household_number": family["household"], "new_householder": wife}  # fmt: skip
    filings.file(j.uow, CLERK, "household-change", change)
    res = client.post(f"/api/v1/mailing-records/{record_id}/release", headers=headers("clerk"))
    assert res.status_code == 200, res.text
    released = res.json()
    assert released["record_id"] != record_id  # built again: the items changed
    assert (released["state"], released["goes"]) == ("ready", True)
    assert released["destination"]["name"] == "山田\u3000花子"
    assert record(j, record_id).state == m.REPLACED
    [out] = mailing.ready(j.uow, CS_SYSTEM, 10)
    assert (out.record_id, out.items["送付先氏名 漢字"]) == (released["record_id"], "山田\u3000花子")
    res = client.post(f"/api/v1/mailing-records/{released['record_id']}/release", headers=headers("clerk"))
    assert error(res, 409)["code"] == "mailing_record_not_held"


def test_a_newer_number_replaces_a_record_not_delivered_yet_keeping_the_counters_flags(
    client, headers, j, family
):
    child = born(j, family["household"])
    first = assign(j, child)
    res = client.patch(
        f"/api/v1/mailing-records/{first}",
        json={"special_circumstance": "施設入所"},
        headers=headers("clerk"),
    )
    assert res.status_code == 200, res.text
    numbers.request_change(j.uow, CLERK, child, "漏えいのおそれがあるため")
    second = assign(j, child)
    assert second != first
    assert record(j, first).events[-1].detail == {"by": second, "why": "number"}
    [out] = mailing.ready(j.uow, CS_SYSTEM, 10)
    assert (out.record_id, out.items["特殊事情"]) == (second, "施設入所")


# --- 支援措置 -----------------------------------------------------------------------------------------------------


def test_a_protected_person_is_held_hidden_from_the_counter_and_sent_to_a_registered_residence(
    client, headers, j, family
):
    child = born(j, family["household"])
    protect(j, child)
    held = assign(j, child)
    assert record(j, held).hold_reason == m.PROTECTED_NO_RESIDENCE
    assert mailing.ready(j.uow, CS_SYSTEM, 10) == []
    assert listed(client, headers, "held") == []  # the clerk: it looks as if there were none
    alerts = protection.list_alerts(j.uow, BOSS)["alerts"]
    assert [(a["kind"], a["subject"]) for a in alerts] == [("protected_hidden", child)]
    res = client.patch(
        f"/api/v1/mailing-records/{held}", json={"print_category": "通常"}, headers=headers("clerk")
    )
    assert error(res, 404)["code"] == "not_found"
    [row] = listed(client, headers, "held", "supervisor", **PROTECTION)
    assert (row["record_id"], row["hold_reason"]) == (held, "protected_no_residence")

    url = f"/api/v1/residents/{child}/delivery-residence"
    res = client.put(url, json=RESIDENCE, headers={**headers("supervisor"), **PROTECTION})
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["residence"] == {"postal_code": "1870001", "address": RESIDENCE["address"]}
    [moved] = body["rebuilt"]
    assert record(j, held).events[-1].detail == {"by": moved, "why": "residence"}
    [out] = mailing.ready(j.uow, CS_SYSTEM, 10)
    assert (out.record_id, out.addressed_to) == (moved, "residence")  # J-LIS: no 突合 of a 居所 with the 住所
    assert out.items["送付先氏名 漢字"] == "山田\u3000" + out_name(
        j, child
    )  # the person, not the householder
    assert (out.items["送付先郵便番号"], out.items["送付先住所 漢字"]) == ("1870001", RESIDENCE["address"])
    res = client.get(url, headers={**headers("supervisor"), **PROTECTION})
    assert res.status_code == 200 and res.json()["residence"]["postal_code"] == "1870001"

    res = client.delete(url, headers={**headers("supervisor"), **PROTECTION})
    assert res.status_code == 200, res.text
    assert res.json()["residence"] is None
    [again] = res.json()["rebuilt"]
    assert record(j, again).hold_reason == m.PROTECTED_NO_RESIDENCE  # back to the household: held again
    assert mailing.ready(j.uow, CS_SYSTEM, 10) == []
    res = client.delete(url, headers={**headers("supervisor"), **PROTECTION})
    assert error(res, 409)["code"] == "delivery_residence_not_found"
    actions = [(e.action, e.result) for e in log(j, "mailing:residence")]
    assert actions == [
        ("mailing:residence:set", "ok"),
        ("mailing:residence:view", "ok"),
        ("mailing:residence:end", "ok"),
        ("mailing:residence:end", "refused"),
    ]
    assert all(RESIDENCE["address"] not in e.detail and "1870001" not in e.detail for e in log(j))


def out_name(j: Juki, number: str) -> str:
    with j.uow() as uow:
        return str(uow.queries.resident(number).given_name)


def test_a_residence_is_registered_only_for_a_person_under_protection(client, headers, j, family):
    child = born(j, family["household"])
    url = f"/api/v1/residents/{child}/delivery-residence"
    res = client.put(url, json=RESIDENCE, headers={**headers("supervisor"), **PROTECTION})
    assert error(res, 409)["code"] == "delivery_residence_not_protected"
    res = client.put(
        url, json={**RESIDENCE, "postal_code": "1870"}, headers={**headers("supervisor"), **PROTECTION}
    )
    assert error(res, 422) == {
        "code": "invalid_field",
        "field": "postal_code",
        "message": "郵便番号は7桁の数字で入力してください",
    }
    res = client.put(
        "/api/v1/residents/0000000000/delivery-residence",
        json=RESIDENCE,
        headers={**headers("supervisor"), **PROTECTION},
    )
    assert res.status_code in (404, 422), res.text
    with j.uow() as uow:
        assert uow.mailing.residence(child) is None


def test_a_family_members_record_is_hidden_while_the_householder_it_names_is_protected(
    client, headers, j, family
):
    head = family["members"][0]
    child = born(j, family["household"])
    record_id = assign(j, child)
    protect(j, head)
    assert listed(client, headers, "ready") == []  # it names the protected householder
    [row] = listed(client, headers, "ready", "supervisor", **PROTECTION)
    assert row["record_id"] == record_id and row["destination"]["name"] == "山田\u3000太郎"
    assert [o.record_id for o in mailing.ready(j.uow, CS_SYSTEM, 10)] == [
        record_id
    ]  # the CS sends it all the same


def test_the_counter_may_let_a_protected_persons_record_go_home_only_under_a_temporary_release(
    client, headers, j, family
):
    child = born(j, family["household"])
    measure = protect(j, child)
    record_id = assign(j, child)
    res = client.post(f"/api/v1/mailing-records/{record_id}/release", headers=headers("clerk"))
    assert error(res, 404)["code"] == "not_found"
    protection.release(j.uow, BOSS, measure, {"minutes": 30, "reason": "本人の申出により自宅へ送付"})
    res = client.post(f"/api/v1/mailing-records/{record_id}/release", headers=headers("clerk"))
    assert res.status_code == 200, res.text
    assert (res.json()["record_id"], res.json()["state"], res.json()["goes"]) == (record_id, "released", True)
    [out] = mailing.ready(j.uow, CS_SYSTEM, 10)
    assert (out.record_id, out.items["送付先氏名 漢字"]) == (record_id, "山田\u3000太郎")


@pytest.mark.parametrize("query", ["state=bogus", "state=replaced", "limit=0", "limit=1001", "limit=x"])
@pytest.mark.pg_sample
def test_a_list_of_an_unknown_state_or_size_is_refused(client, headers, query):
    res = client.get(f"/api/v1/mailing-records?{query}", headers=headers("clerk"))
    assert error(res, 422)["code"] == "invalid_field"
