"""/api/v1/intermediate on both engines, over a 中間サーバー of the test's own with a network in memory: the counts by
符号 state, a person's state (masked unified number, never the 符号 or a My Number; 自動応答不可 only to the roles
that may see protection), a protected person not found for a clerk, the review queue released and refused (the
reason kept in the city), 自動応答不可 by hand, a 符号 asked again, the 情報提供等記録 and its chain's check, and bad
input refused with the stable codes. Every role against every endpoint is in role_cases/intermediate.py."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from juki.adapters import tables as rt
from juki.domain.identifiers import addressee_number_check_digit
from juki.intermediate import wire
from juki.services import filings, protection
from tests import factories as f
from tests.e2e.role_cases.common import CLERK
from tests.e2e.role_cases.intermediate import PROCEDURE, Ims, attach
from tests.intermediate.support import PROTECTOR
from tests.leakcheck import spellings

BASE = "/api/v1/intermediate"


@pytest.fixture
def ims(j) -> Iterator[Ims]:
    attach(j)
    yield Ims(j)
    j.intermediate.dispose()


@pytest.fixture
def family(j, ims: Ims) -> tuple[list[str], list[dict]]:
    people = f.family_of_four()[:2]
    done = filings.file(j.uow, CLERK, "move-in", f.move_in(people))
    ims.with_link_codes()
    return [c["addressee_number"] for c in done.changes], people


def _as(headers, role: str) -> dict[str, str]:
    return {**headers(role), **(PROCEDURE if role != "auditor" else {})}


def _codes(res) -> list[str]:
    return [e["code"] for e in res.json()["errors"]]


def _other_number(number: str) -> str:
    """A well-formed 宛名番号 nobody holds."""
    body = f"{(int(number[:-1]) + 7919) % 10**9:09d}"
    return body + addressee_number_check_digit(body)


def test_the_overview_counts_persons_by_link_code_state(client, headers, j, ims):
    no_number = {
        k: v for k, v in f.person(family_name="高橋", family_name_kana="タカハシ").items() if k != "my_number"
    }
    filings.file(j.uow, CLERK, "move-in", f.move_in(f.family_of_four()[:3]))
    filings.file(j.uow, CLERK, "move-in", f.move_in([no_number]))
    ims.run()  # the 符号 asked, not issued yet
    res = client.get(f"{BASE}/overview", headers=_as(headers, "clerk"))
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["link_code_groups"] == {"issued": 0, "pending": 3, "none": 1}
    assert body["link_codes"]["requested"] == 3 and body["review_queue"] == 0
    ims.requester.deliver()
    ims.run()
    body = client.get(f"{BASE}/overview", headers=_as(headers, "clerk")).json()
    assert body["link_code_groups"] == {"issued": 3, "pending": 0, "none": 1}


def test_a_persons_state_shows_the_masked_number_and_never_the_link_code(client, headers, ims, family):
    (_head, wife), people = family
    res = client.get(f"{BASE}/persons/{wife}", headers=_as(headers, "clerk"))
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["link_code_state"] == "issued" and body["unified_number"].startswith("13211******")
    assert body["replica"]["items"]["世帯主氏名"]["value"] == "山田\u3000太郎"
    assert "no_auto_reply" not in body  # a clerk is not told of 自動応答不可 (it tells of a 支援措置)
    assert ims.link_code(wife) not in res.text
    assert not any(s in res.text for p in people for s in spellings(p["my_number"]))
    seen = client.get(f"{BASE}/persons/{wife}", headers=_as(headers, "supervisor")).json()
    assert seen["no_auto_reply"] is False and seen["no_auto_reply_by_hand"] is False


def test_a_protected_person_is_not_found_for_a_clerk_as_an_unknown_one_is(client, headers, j, ims, family):
    (head, wife), _ = family
    protection.set_measure(j.uow, PROTECTOR, f.support_measure(wife))
    hidden = client.get(f"{BASE}/persons/{wife}", headers=_as(headers, "clerk"))
    unknown = client.get(f"{BASE}/persons/{_other_number(wife)}", headers=_as(headers, "clerk"))
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.json()["errors"] == unknown.json()["errors"]
    assert wife not in hidden.text
    with j.engine.connect() as conn:
        alerts = conn.execute(select(rt.alerts).where(rt.alerts.c.subject == wife)).all()
    assert [a.kind for a in alerts] == ["protected_hidden"]
    assert client.get(f"{BASE}/persons/{head}", headers=_as(headers, "clerk")).status_code == 200


def test_a_held_answer_is_released_and_goes_at_the_next_pass(client, headers, ims, family):
    (_head, wife), _ = family
    row = ims.held(wife)
    queue = client.get(f"{BASE}/reviews", headers=_as(headers, "supervisor"))
    assert queue.status_code == 200, queue.text
    [review] = queue.json()["reviews"]
    assert review["id"] == row and review["addressee_numbers"] == [wife]
    assert review["requester"] == "全国健康保険協会" and review["items"] == ["世帯主氏名"]
    res = client.post(f"{BASE}/reviews/{row}/release", headers=_as(headers, "supervisor"))
    assert res.status_code == 200, res.text
    assert res.json()["state"] == "released" and res.json()["sent_now"] is False
    query_id = review["query_id"]
    assert ims.network.final(query_id) is None  # no relay runs in this app: the next pass sends it
    ims.run()
    assert ims.network.final(query_id) == wire.QueryAnswer(
        query_id, wire.ANSWERED, {"世帯主氏名": "山田\u3000太郎"}, wire.PROVIDED
    )
    again = client.post(f"{BASE}/reviews/{row}/release", headers=_as(headers, "supervisor"))
    assert again.status_code == 409 and _codes(again) == ["conflict"]
    assert client.get(f"{BASE}/reviews", headers=_as(headers, "supervisor")).json()["reviews"] == []


def test_a_running_relay_sends_a_release_at_once(client, headers, ims, family):
    (_, wife), _ = family
    row = ims.held(wife)
    client.app.state.intermediate_relay = ims.relay
    res = client.post(f"{BASE}/reviews/{row}/release", headers=_as(headers, "supervisor"))
    assert res.status_code == 200 and res.json()["sent_now"] is True
    assert ims.network.final(res.json()["query_id"]).status == wire.ANSWERED


def test_a_refusal_needs_a_reason_that_never_leaves_the_city(client, headers, ims, family):
    (_, wife), _ = family
    row = ims.held(wife)
    auth = _as(headers, "supervisor")
    missing = client.post(f"{BASE}/reviews/{row}/refuse", json={}, headers=auth)
    blank = client.post(f"{BASE}/reviews/{row}/refuse", json={"reason": "  "}, headers=auth)
    assert missing.status_code == blank.status_code == 422
    assert _codes(missing) == _codes(blank) == ["invalid_field"]
    assert blank.json()["errors"][0]["field"] == "reason"
    res = client.post(f"{BASE}/reviews/{row}/refuse", json={"reason": "DV等支援措置の確認中"}, headers=auth)
    assert res.status_code == 200 and res.json()["state"] == "withheld"
    ims.run()
    query_id = res.json()["query_id"]
    assert ims.network.final(query_id) == wire.QueryAnswer(query_id, wire.REFUSED, None, wire.NOT_PROVIDED)
    sent = json.dumps([a.to_json() for a in ims.network.answers], ensure_ascii=False)
    records = client.get(f"{BASE}/records", headers=_as(headers, "auditor")).text
    assert "DV" not in sent and "DV" not in records


@pytest.mark.parametrize("review_id", ["999999", "abc", "0", "１２"])
def test_an_unknown_review_is_not_found(client, headers, ims, family, review_id):
    auth = _as(headers, "supervisor")
    for action, body in (("release", None), ("refuse", {"reason": "理由"})):
        res = client.post(f"{BASE}/reviews/{review_id}/{action}", json=body, headers=auth)
        assert res.status_code == 404 and _codes(res) == ["not_found"], res.text


def test_bad_addressee_numbers_and_bodies_are_refused(client, headers, ims, family):
    (head, _), _ = family
    auth = _as(headers, "supervisor")
    malformed = client.get(f"{BASE}/persons/12345", headers=auth)
    assert malformed.status_code == 422 and _codes(malformed) == ["invalid_field"]
    unknown = client.post(f"{BASE}/persons/{_other_number(head)}/link-code-request", headers=auth)
    assert unknown.status_code == 404 and _codes(unknown) == ["not_found"]
    issued = client.post(f"{BASE}/persons/{head}/link-code-request", headers=auth)
    assert issued.status_code == 409 and _codes(issued) == ["conflict"]  # 符号は取得済み
    for body in (
        {"reason": "申出"},
        {"on": "yes", "reason": "申出"},
        {"on": True, "reason": ""},
        {"on": True},
    ):
        res = client.post(f"{BASE}/persons/{head}/no-auto-reply", json=body, headers=auth)
        assert res.status_code == 422 and _codes(res) == ["invalid_field"], (body, res.text)
    dates = client.get(f"{BASE}/records?from=2025-02-30", headers=_as(headers, "auditor"))
    assert dates.status_code == 422 and _codes(dates) == ["invalid_field"]


def test_no_auto_reply_by_hand_holds_the_next_answer_and_shows_to_the_supervisor(
    client, headers, ims, family
):
    (head, _), _ = family
    auth = _as(headers, "supervisor")
    res = client.post(
        f"{BASE}/persons/{head}/no-auto-reply", json={"on": True, "reason": "本人の申出"}, headers=auth
    )
    assert res.status_code == 200 and res.json() == {"addressee_number": head, "no_auto_reply": True}
    seen = client.get(f"{BASE}/persons/{head}", headers=auth).json()
    assert seen["no_auto_reply"] is True and seen["no_auto_reply_by_hand"] is True
    query_id = ims.ask(head)
    assert ims.network.last(query_id).status == wire.PENDING
    assert "no_auto_reply" not in client.get(f"{BASE}/persons/{head}", headers=_as(headers, "clerk")).json()


def test_a_link_code_that_has_not_come_is_asked_again_with_a_new_serial(client, headers, j, ims):
    done = filings.file(j.uow, CLERK, "move-in", f.move_in([f.person()]))
    number = done.changes[0]["addressee_number"]
    ims.run()  # a serial asked; J-LIS has not answered
    assert len(ims.network.serials_given) == 1
    res = client.post(f"{BASE}/persons/{number}/link-code-request", headers=_as(headers, "supervisor"))
    assert res.status_code == 200 and res.json()["link_code_state"] == "waiting"
    ims.run()
    assert len(ims.network.serials_given) == 2
    clerk = client.post(f"{BASE}/persons/{number}/link-code-request", headers=_as(headers, "clerk"))
    assert clerk.status_code == 403 and _codes(clerk) == ["forbidden"]


def test_the_records_are_searched_and_their_chain_checked(client, headers, ims, family):
    (head, wife), _ = family
    first, second = ims.ask(head), ims.ask(wife)
    auth = _as(headers, "auditor")
    every = client.get(f"{BASE}/records", headers=auth).json()["records"]
    assert [(r["query_id"], r["action"]) for r in every] == [
        (first, "query"),
        (first, "answered"),
        (second, "query"),
        (second, "answered"),
    ]
    mine = client.get(f"{BASE}/records", params={"addressee_number": wife}, headers=auth).json()["records"]
    assert {r["query_id"] for r in mine} == {second}
    assert all(r["unified_number"].startswith("13211******") for r in mine)
    nobody = client.get(f"{BASE}/records", params={"requester": "株式会社どこか"}, headers=auth).json()
    assert nobody["records"] == []
    window = client.get(f"{BASE}/records", params={"from": "2000-01-01", "to": "2000-12-31"}, headers=auth)
    assert window.json()["records"] == []
    wide = client.get(f"{BASE}/records", params={"from": "0001-01-01", "to": "9999-12-31"}, headers=auth)
    assert len(wide.json()["records"]) == 4  # the calendar's ends: no bound
    check = client.get(f"{BASE}/records/verify", headers=auth)
    assert check.status_code == 200 and check.json() == {"ok": True, "entries": 4, "first_broken": None}
    supervisor = client.get(f"{BASE}/records", headers=_as(headers, "supervisor"))
    assert supervisor.status_code == 200 and len(supervisor.json()["records"]) == 4
    clerk = client.get(f"{BASE}/records", headers=_as(headers, "clerk"))
    assert clerk.status_code == 403
