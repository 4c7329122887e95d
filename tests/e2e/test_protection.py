"""支援措置: protected records look not found to those without the permission, every access alerts
the supervisors, certificates go only to the person or their household, a temporary release lapses by itself."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from juki.adapters import tables as t
from juki.domain.errors import ProtectedRecord
from juki.policy.roles import Actor
from juki.services import filings, protection
from juki.web.app import create_app
from tests import factories as f
from tests.conftest import STAFF
from tests.e2e.role_cases.common import CLERK
from tests.ui.test_session import sign_in

PROTECTION = {"X-Juki-Procedure": "protection"}
SUPERVISOR = Actor(
    STAFF["supervisor"][0], STAFF["supervisor"][1], "supervisor", "test", procedure="protection"
)


@pytest.fixture
def family(j):
    result = filings.file(j.uow, CLERK, "move-in", f.move_in(f.family_of_four()))
    return result.household_number, [c["addressee_number"] for c in result.changes]


def _protect(client, headers, who: str, subject_kind: str = "person", **over):
    body = {
        "subject_kind": subject_kind,
        "subject": who,
        "reason": "DV被害による支援措置申出",
        "requester": "本人",
        "received_on": "2025-06-20",
        "starts_on": "R7.6.20",
        **over,
    }
    return client.post(
        "/api/v1/protection-measures", json=body, headers={**headers("supervisor"), **PROTECTION}
    )


def _alerts(j) -> list:
    with j.engine.connect() as conn:
        return list(conn.execute(select(t.alerts).order_by(t.alerts.c.alert_id)).all())


def test_a_protected_person_looks_not_found_to_a_clerk_and_each_access_alerts(client, headers, j, family):
    household, people = family
    wife = people[1]
    res = _protect(client, headers, wife)
    assert res.status_code == 201, res.text
    measure = res.json()
    assert measure["ends_on"] == "2026-06-19" and measure["state"] == "active"  # one year by default

    clerk = headers("clerk")
    before = len(_alerts(j))
    viewed = client.get(f"/api/v1/residents/{wife}", headers=clerk)
    assert viewed.status_code == 404 and viewed.json()["errors"][0]["code"] == "not_found"
    assert "花子" not in viewed.text
    assert client.get(f"/api/v1/residents/{wife}/history", headers=clerk).status_code == 404
    seen_household = client.get(f"/api/v1/households/{household}", headers=clerk)  # without her
    assert seen_household.status_code == 200 and wife not in seen_household.text
    husband_search = client.get("/api/v1/residents?name=山田&birth_date=1980-04-01", headers=clerk)
    assert wife not in str(husband_search.json())
    # every one of these was an access: each raised an alert naming the person, none shows the clerk the record
    alerts = _alerts(j)[before:]
    assert [a.kind for a in alerts] == ["protected_hidden"] * 3
    assert {a.subject for a in alerts} == {wife}
    assert all(a.staff_id == STAFF["clerk"][0] for a in alerts)

    # the supervisor acting for the protection procedure sees it, and that access alerts too
    sup = {**headers("supervisor"), **PROTECTION}
    seen = client.get(f"/api/v1/residents/{wife}", headers=sup)
    assert seen.status_code == 200 and seen.json()["addressee_number"] == wife
    assert _alerts(j)[-1].kind == "protected_access"
    # … but not when acting for ordinary register work
    assert client.get(f"/api/v1/residents/{wife}", headers=headers("supervisor")).status_code == 404

    listed = client.get("/api/v1/alerts", headers=sup).json()["alerts"]
    assert len(listed) == len(_alerts(j))
    ack = client.post(f"/api/v1/alerts/{listed[0]['alert_id']}/acknowledge", headers=sup)
    assert ack.status_code == 200
    assert len(client.get("/api/v1/alerts", headers=sup).json()["alerts"]) == len(listed) - 1
    everything = client.get("/api/v1/alerts?all=true", headers=sup).json()["alerts"]
    assert [a["acknowledged_by"] for a in everything][:1] == [STAFF["supervisor"][0]] and len(
        everything
    ) == len(listed)
    again = client.post(f"/api/v1/alerts/{listed[0]['alert_id']}/acknowledge", headers=sup)
    assert again.status_code == 404


def test_search_hides_a_protected_person_but_not_a_namesake(client, headers, j):
    def sato():
        return f.person(
            family_name="佐藤", family_name_kana="サトウ", given_name="恵", given_name_kana="メグミ"
        )

    protected = filings.file(j.uow, CLERK, "move-in", f.move_in([sato()])).changes[0]["addressee_number"]
    namesake = filings.file(j.uow, CLERK, "move-in", f.move_in([sato()])).changes[0]["addressee_number"]
    query = "/api/v1/residents?name=佐藤 恵&birth_date=1980-04-01"
    before = [r["addressee_number"] for r in client.get(query, headers=headers("clerk")).json()["results"]]
    assert sorted(before) == sorted([protected, namesake])
    assert _protect(client, headers, protected).status_code == 201
    after = [r["addressee_number"] for r in client.get(query, headers=headers("clerk")).json()["results"]]
    assert after == [namesake]


def test_a_household_measure_protects_every_member(client, headers, j, family):
    household, people = family
    assert _protect(client, headers, household, subject_kind="household").status_code == 201
    for number in people[:3]:
        assert client.get(f"/api/v1/residents/{number}", headers=headers("clerk")).status_code == 404


def test_a_temporary_release_lets_ordinary_work_see_the_record_until_it_lapses(client, headers, j, family):
    _, people = family
    wife = people[1]
    measure = _protect(client, headers, wife).json()
    sup = {**headers("supervisor"), **PROTECTION}
    res = client.post(
        f"/api/v1/protection-measures/{measure['measure_id']}/release",
        json={"minutes": 30, "reason": "本人による転居届の受付"},
        headers=sup,
    )
    assert res.status_code == 200 and res.json()["released_until"]
    seen = client.get(f"/api/v1/residents/{wife}", headers=headers("clerk"))
    assert seen.status_code == 200
    assert _alerts(j)[-1].kind == "protected_access"  # still an alert: the clerk's access is reported
    # other systems never treat a temporary release as a release (j410)
    with j.uow() as uow:
        assert protection.in_force_for(uow, [(wife, people[0])], for_other_systems=True) == {wife}
        assert protection.in_force_for(uow, [(wife, people[0])]) == set()
    with j.engine.begin() as conn:  # thirty minutes pass
        conn.execute(
            update(t.protection_measures).values(released_until=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert client.get(f"/api/v1/residents/{wife}", headers=headers("clerk")).status_code == 404


def test_ending_a_measure_makes_the_record_visible_again(client, headers, j, family):
    _, people = family
    measure = _protect(client, headers, people[1]).json()
    sup = {**headers("supervisor"), **PROTECTION}
    ended = client.post(
        f"/api/v1/protection-measures/{measure['measure_id']}/end",
        json={"end_reason": "request", "ended_on": "2025-06-28"},
        headers=sup,
    )
    assert ended.status_code == 200 and ended.json()["state"] == "ended"
    assert client.get(f"/api/v1/residents/{people[1]}", headers=headers("clerk")).status_code == 200
    again = client.post(f"/api/v1/protection-measures/{measure['measure_id']}/extend", headers=sup)
    assert again.status_code == 422  # an ended measure cannot be extended


def test_extension_only_from_a_month_before_the_end(client, headers, j, family):
    _, people = family
    sup = {**headers("supervisor"), **PROTECTION}
    fresh = _protect(client, headers, people[1]).json()
    early = client.post(f"/api/v1/protection-measures/{fresh['measure_id']}/extend", headers=sup)
    assert early.status_code == 422 and early.json()["errors"][0]["code"] == "invalid_date"
    old = _protect(client, headers, people[0], starts_on="2024-07-10", received_on="2024-07-01").json()
    assert old["warning"] == "ends_within_month"  # today is 2025-06-30, the end 2025-07-09
    extended = client.post(f"/api/v1/protection-measures/{old['measure_id']}/extend", headers=sup)
    assert extended.status_code == 200 and extended.json()["ends_on"] == "2026-07-09"


def test_a_measure_on_nobody_is_not_found(client, headers, j):
    from juki.domain.identifiers import make_addressee_number

    res = _protect(client, headers, make_addressee_number(99_999))
    assert res.status_code == 404 and res.json()["errors"][0]["code"] == "not_found"


@pytest.mark.parametrize(
    ("over", "code"),
    [
        ({"subject_kind": "street"}, "invalid_field"),
        ({"subject": "0000000001"}, "invalid_field"),  # a wrong check digit
        ({"starts_on": "2025-13-01"}, "invalid_date"),
        ({"ends_on": "2027-06-20"}, "invalid_date"),
        ({"reason": ""}, "invalid_field"),
        ({"reason": "申出人 1234-5678-9018 の件"}, "invalid_field"),  # free text never holds a My Number
    ],
)
def test_bad_measures_are_refused_and_change_nothing(client, headers, j, family, over, code):
    res = _protect(client, headers, family[1][1], **over)
    assert res.status_code == 422, res.text
    assert res.json()["errors"][0]["code"] == code
    with j.engine.connect() as conn:
        assert conn.execute(select(t.protection_measures)).all() == []


def test_certificates_go_only_to_the_person_or_their_household(client, headers, j, family):
    household, people = family
    _protect(client, headers, people[1])
    pairs = [(people[1], household)]
    protection.check_certificate(j.uow, CLERK, pairs, people[1])  # the person themself
    protection.check_certificate(j.uow, CLERK, pairs, people[0])  # a member of their household
    stranger = filings.file(
        j.uow, CLERK, "move-in", f.move_in([f.person(family_name="田中", family_name_kana="タナカ")])
    )
    with pytest.raises(ProtectedRecord):
        protection.check_certificate(j.uow, CLERK, pairs, stranger.changes[0]["addressee_number"])
    with pytest.raises(ProtectedRecord):
        protection.check_certificate(j.uow, CLERK, pairs, None)  # an agent or a third party
    # a person nobody protects is issued to anyone
    protection.check_certificate(j.uow, CLERK, [(people[0], household)], None)


def test_a_clerk_cannot_set_or_list_measures(client, headers, j, family):
    res = client.get("/api/v1/protection-measures", headers={**headers("clerk"), **PROTECTION})
    assert res.status_code == 403
    made = _protect(client, headers, family[1][1])
    assert made.status_code == 201
    bad = client.post(
        "/api/v1/protection-measures",
        json={"subject_kind": "person", "subject": family[1][0], "reason": "x", "requester": "x",
              "received_on": "2025-06-20", "starts_on": "2025-06-20"},
        headers={**headers("clerk"), **PROTECTION},
    )  # fmt: skip
    assert bad.status_code == 403


# --- other holds (抑止, j410) ------------------------------------------------------------------------------------


def _move_within(client, headers, household, numbers):
    return client.post(
        "/api/v1/filings/move-within",
        json={
            "filed_on": "2025-06-20",
            "changed_on": "2025-06-15",
            "household_number": household,
            "addressee_numbers": numbers,
            "address": {"address": "東京都小平市花小金井南町三丁目5番12号"},
        },
        headers=headers("clerk"),
    )


def test_a_blocking_hold_on_filings_refuses_any_filing_that_changes_the_person(client, headers, j, family):
    household, people = family
    res = _protect(client, headers, people[0], kind="hold", operations=["filing"], reason="実態調査中")
    assert res.status_code == 201, res.text
    assert (res.json()["kind"], res.json()["operations"], res.json()["level"]) == (
        "hold",
        ["filing"],
        "error",
    )
    with j.engine.connect() as conn:
        before = conn.execute(select(t.resident_versions)).all()
    refused = _move_within(client, headers, household, people)
    assert refused.status_code == 403 and refused.json()["errors"][0]["code"] == "protected_record"
    with j.engine.connect() as conn:
        assert conn.execute(select(t.resident_versions)).all() == before
        [entry] = conn.execute(select(t.operation_log).where(t.operation_log.c.result == "held")).all()
    assert entry.action == "filing:move-within" and list(entry.targets) == [people[0]]
    # a filing-only hold hides nothing: the person is still seen
    assert client.get(f"/api/v1/residents/{people[0]}", headers=headers("clerk")).status_code == 200


def test_an_alert_level_hold_lets_the_filing_through_with_a_warning_and_an_alert(client, headers, j, family):
    household, people = family
    made = _protect(
        client, headers, people[0], kind="hold", operations=["filing"], level="alert", reason="確認事項あり"
    )
    assert made.status_code == 201, made.text
    before = len(_alerts(j))
    done = _move_within(client, headers, household, people)
    assert done.status_code == 201, done.text
    assert [w["code"] for w in done.json()["warnings"]] == ["hold"]
    assert [(a.kind, a.subject) for a in _alerts(j)[before:]] == [("hold_alert", people[0])]


def test_an_ex_officio_change_is_held_at_entry_and_at_approval(client, headers, j, family):
    _, people = family
    body = {"filed_on": "2025-06-20", "changed_on": "2025-06-20", "reason": "誤記修正",
            "addressee_number": people[1], "corrections": {"given_name": "華子"}}  # fmt: skip
    pending = client.post("/api/v1/filings/ex-officio-correction", json=body, headers=headers("clerk"))
    assert pending.status_code == 202
    _protect(client, headers, people[1], kind="hold", operations=["filing"], reason="調査中")
    again = client.post("/api/v1/filings/ex-officio-correction", json=body, headers=headers("clerk"))
    assert again.status_code == 403
    approve = client.post(
        f"/api/v1/approvals/{pending.json()['filing_id']}/approve", headers=headers("supervisor")
    )
    assert approve.status_code == 403 and approve.json()["errors"][0]["code"] == "protected_record"
    listed = client.get("/api/v1/approvals", headers=headers("supervisor")).json()["filings"]
    assert pending.json()["filing_id"] in {f["filing_id"] for f in listed}  # still waiting, nothing applied


def test_an_alert_level_hold_on_views_shows_the_record_and_alerts(client, headers, j, family):
    _, people = family
    _protect(client, headers, people[2], kind="hold", operations=["view"], level="alert", reason="照会注意")
    before = len(_alerts(j))
    assert client.get(f"/api/v1/residents/{people[2]}", headers=headers("clerk")).status_code == 200
    assert [(a.kind, a.subject) for a in _alerts(j)[before:]] == [("protected_access", people[2])]


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"kind": "hold"}, "operations"),  # a hold names what it holds
        ({"kind": "other"}, "kind"),
        ({"operations": ["print"]}, "operations"),
        ({"operations": []}, "operations"),
        ({"level": "warn"}, "level"),
    ],
)
def test_bad_holds_are_refused(client, headers, j, family, over, field):
    res = _protect(client, headers, family[1][0], **over)
    assert res.status_code == 422 and res.json()["errors"][0]["field"] == field


# --- dates mean what they say (j410) ------------------------------------------------------------------------------


def test_a_measure_starting_tomorrow_waits_for_its_day(client, headers, j, family):
    _, people = family
    made = _protect(client, headers, people[1], starts_on="2025-07-01", received_on="2025-06-28")
    assert made.status_code == 201, made.text
    assert made.json()["in_force"] is False
    assert client.get(f"/api/v1/residents/{people[1]}", headers=headers("clerk")).status_code == 200
    with replace(j, today=date(2025, 7, 1)).uow() as uow:  # the next day
        assert protection.in_force_for(uow, [(people[1], family[0])]) == {people[1]}


def test_an_end_recorded_for_a_later_day_lifts_the_measure_on_that_day(client, headers, j, family):
    household, people = family
    measure = _protect(client, headers, people[1]).json()
    ended = client.post(
        f"/api/v1/protection-measures/{measure['measure_id']}/end",
        json={"end_reason": "not_needed", "ended_on": "2025-07-10"},
        headers={**headers("supervisor"), **PROTECTION},
    )
    assert ended.status_code == 200, ended.text
    assert ended.json()["state"] == "ended" and ended.json()["in_force"] is True
    assert client.get(f"/api/v1/residents/{people[1]}", headers=headers("clerk")).status_code == 404
    for day, hidden in ((date(2025, 7, 9), {people[1]}), (date(2025, 7, 10), set())):
        with replace(j, today=day).uow() as uow:
            assert protection.in_force_for(uow, [(people[1], household)]) == hidden, day


# --- every read screens (j440): filings, warnings, households -------------------------------------------------------


def test_a_filing_naming_a_protected_person_hides_them_from_staff_who_may_not_see_them(client, headers, j):
    single = filings.file(
        j.uow, CLERK, "move-in", f.move_in([f.person(given_name="恵", given_name_kana="メグミ")])
    )
    family = filings.file(j.uow, CLERK, "move-in", f.move_in())
    alone, wife = single.changes[0]["addressee_number"], family.changes[1]["addressee_number"]
    for number in (alone, wife):
        assert _protect(client, headers, number).status_code == 201
    clerk = headers("clerk")
    hidden = client.get(f"/api/v1/filings/{single.filing_id}", headers=clerk)
    assert hidden.status_code == 404 and "恵" not in hidden.text  # names no one else: it looks not found
    shown = client.get(f"/api/v1/filings/{family.filing_id}", headers=clerk)
    assert shown.status_code == 200, shown.text
    assert wife not in shown.text and "花子" not in shown.text and "1982-07-07" not in shown.text
    assert len(shown.json()["changes"]) == 3 and shown.json()["payload"] is None
    listed = client.get("/api/v1/filings", headers=clerk)
    ids = [x["filing_id"] for x in listed.json()["filings"]]
    assert single.filing_id not in ids and family.filing_id in ids
    assert "花子" not in listed.text and "恵" not in listed.text and wife not in listed.text
    sup = {**headers("supervisor"), **PROTECTION}  # who may see them sees the whole filing
    whole = client.get(f"/api/v1/filings/{family.filing_id}", headers=sup).json()
    assert len(whole["changes"]) == 4 and whole["payload"]["persons"][1]["given_name"] == "花子"


def test_a_same_name_warning_does_not_name_a_protected_namesake(client, headers, j):
    first = filings.file(j.uow, CLERK, "move-in", f.move_in([f.person()]))
    protected = first.changes[0]["addressee_number"]
    assert _protect(client, headers, protected).status_code == 201
    before = len(_alerts(j))
    again = client.post(
        "/api/v1/filings/move-in", json=f.move_in([f.person(my_number=None, resident_code=None)]),
        headers=headers("clerk"),
    )  # fmt: skip
    assert again.status_code == 201, again.text
    assert protected not in again.text
    assert "possible_same_person" not in {w["code"] for w in again.json()["warnings"]}
    assert [(a.kind, a.subject) for a in _alerts(j)[before:]] == [("protected_hidden", protected)]


def test_a_household_shows_staff_its_members_but_the_protected_one(client, headers, totp, j, family):
    household, people = family
    assert _protect(client, headers, people[1]).status_code == 201
    res = client.get(f"/api/v1/households/{household}", headers=headers("clerk"))
    assert res.status_code == 200, res.text
    body = res.json()
    assert [m["addressee_number"] for m in body["members"]] == [people[0], people[2], people[3]]
    assert body["householder"] == people[0]
    assert people[1] not in res.text and "花子" not in res.text and "1982-07-07" not in res.text
    with TestClient(create_app(j), follow_redirects=False) as browser:  # the clerk UI's household page too
        sign_in(browser, totp, "clerk2")  # (another clerk: each one-time code signs in once)
        page = browser.get(f"/ui/households/{household}")
    assert page.status_code == 200 and "花子" not in page.text and "一郎" in page.text
    whole = client.get(f"/api/v1/households/{household}", headers={**headers("supervisor"), **PROTECTION})
    assert len(whole.json()["members"]) == 4


def test_a_protected_householder_is_not_named_as_householder(client, headers, j, family):
    household, people = family
    assert _protect(client, headers, people[0]).status_code == 201
    body = client.get(f"/api/v1/households/{household}", headers=headers("clerk")).json()
    assert body["householder"] is None
    assert [m["addressee_number"] for m in body["members"]] == people[1:]
    # (not the 宛名番号 itself: a household number may have the same digits)
    assert "太郎" not in str(body) and "1980-04-01" not in str(body)


def test_a_household_whose_current_members_are_all_protected_looks_not_found(client, headers, j, family):
    household, _ = family
    assert _protect(client, headers, household, subject_kind="household").status_code == 201
    res = client.get(f"/api/v1/households/{household}", headers=headers("clerk"))
    assert res.status_code == 404 and "小川町" not in res.text


def test_a_certificate_printing_a_protected_householders_name_goes_only_to_the_household(
    client, headers, j, family
):
    _, people = family
    assert _protect(client, headers, people[0]).status_code == 201  # the 世帯主
    third = {"type": "third_party", "name": "弁護士 甲野", "reason": "相続手続の相手方の住所確認"}
    wife = {"kind": "residence_certificate", "addressee_numbers": [people[1]], "requester": third,
            "purpose": "相続手続のため"}  # fmt: skip
    with_head = {**wife, "include": {"householder_and_relationship": True}}
    refused = client.post("/api/v1/certificates", json=with_head, headers=headers("clerk"))
    assert refused.status_code == 403 and refused.json()["errors"][0]["code"] == "protected_record"
    assert client.post("/api/v1/certificates", json=wife, headers=headers("clerk")).status_code == 201
    own = {**with_head, "requester": {"type": "self", "name": "山田 花子", "addressee_number": people[1]}}
    assert client.post("/api/v1/certificates", json=own, headers=headers("clerk")).status_code == 201
