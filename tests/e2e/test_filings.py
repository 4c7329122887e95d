"""Every filing kind through HTTP, with its logic checks (API.md, 住基法第22条〜第25条)."""

from __future__ import annotations

from typing import Any

from tests import factories as f


def file(client, headers, kind: str, body: dict[str, Any], role: str = "clerk", status: int = 201) -> dict:
    res = client.post(f"/api/v1/filings/{kind}", json=body, headers=headers(role))
    assert res.status_code == status, res.text
    return res.json()


def error_code(res) -> str:
    assert res.headers["content-type"].startswith("application/problem+json"), res.text
    return res.json()["errors"][0]["code"]


def family(client, headers) -> tuple[str, list[str]]:
    body = file(client, headers, "move-in", f.move_in())
    return body["household_number"], [c["addressee_number"] for c in body["changes"]]


def resident(client, headers, number: str) -> dict:
    res = client.get(f"/api/v1/residents/{number}", headers=headers("clerk"))
    assert res.status_code == 200, res.text
    return res.json()


NEW_ADDRESS = "東京都小平市花小金井南町三丁目5番12号"


def move_household(client, headers, hh: str, numbers: list[str]) -> dict:
    """転居 of the whole household to NEW_ADDRESS."""
    body = {
        "filed_on": "2025-06-20",
        "changed_on": "2025-06-15",
        "household_number": hh,
        "addressee_numbers": numbers,
        "address": {"address": NEW_ADDRESS},
    }
    return file(client, headers, "move-within", body)


def members(client, headers, hh: str) -> list[tuple[str, str]]:
    body = client.get(f"/api/v1/households/{hh}", headers=headers("clerk")).json()
    return [(m["addressee_number"], m["relationship"]) for m in body["members"]]


# --- move-in ----------------------------------------------------------------------------------------------


def test_move_in_records_dates_and_previous_address(client, headers):
    hh, numbers = family(client, headers)
    rec = resident(client, headers, numbers[0])
    assert rec["status"] == "active" and rec["version"] == 1
    assert rec["resident_since"] == rec["address_since"] == "2025-06-01"
    assert rec["previous_address"]["municipality_code"] == "132039"
    assert rec["address"]["postal_code"] == "1870032"
    assert rec["household_number"] == hh
    assert "my_number" not in rec


def test_move_in_from_abroad_is_recorded_as_kokugai_tennyu(client, headers):
    body = f.move_in(
        [f.person()],
        previous_address={"address": "アメリカ合衆国カリフォルニア州", "country": "アメリカ合衆国"},
    )
    assert file(client, headers, "move-in", body)["changes"][0]["change_reason"] == "国外転入"


def test_move_in_of_an_active_resident_is_refused_as_already_resident(client, headers):
    people = [f.person()]
    file(client, headers, "move-in", f.move_in(people))
    res = client.post("/api/v1/filings/move-in", json=f.move_in(people), headers=headers("clerk"))
    assert res.status_code == 409 and error_code(res) == "already_resident"


def test_my_number_held_by_another_person_is_a_duplicate(client, headers):
    first = f.person()
    file(client, headers, "move-in", f.move_in([first]))
    other = f.person(family_name="佐藤", family_name_kana="サトウ", my_number=first["my_number"])
    res = client.post("/api/v1/filings/move-in", json=f.move_in([other]), headers=headers("clerk"))
    assert res.status_code == 409 and error_code(res) == "duplicate_my_number"


def test_a_new_household_without_householder_is_refused(client, headers):
    res = client.post("/api/v1/filings/move-in", json=f.move_in([f.person("子")]), headers=headers("clerk"))
    assert res.status_code == 409 and error_code(res) == "householder_required"


def test_a_new_household_with_two_householders_is_refused(client, headers):
    two = [f.person(), f.person(given_name="次郎", given_name_kana="ジロウ")]
    res = client.post("/api/v1/filings/move-in", json=f.move_in(two), headers=headers("clerk"))
    assert res.status_code == 409 and error_code(res) == "multiple_householders"


def test_joining_an_existing_household_adds_members_at_the_end(client, headers):
    hh, _numbers = family(client, headers)
    mother = f.person("母", given_name="梅", given_name_kana="ウメ", sex="female", birth_date="1950-01-01")
    body = file(client, headers, "move-in", f.move_in([mother], household={"household_number": hh}))
    assert members(client, headers, hh)[-1] == (body["changes"][0]["addressee_number"], "母")


def test_move_in_dated_after_the_filing_is_an_invalid_date(client, headers):
    res = client.post(
        "/api/v1/filings/move-in", json=f.move_in(changed_on="2025-06-05"), headers=headers("clerk")
    )
    assert res.status_code == 422 and error_code(res) == "invalid_date"


def test_a_filing_dated_in_the_future_is_an_invalid_date(client, headers):
    body = f.move_in(filed_on="2025-07-02", changed_on="2025-07-01")
    res = client.post("/api/v1/filings/move-in", json=body, headers=headers("clerk"))
    assert res.status_code == 422 and error_code(res) == "invalid_date"


def test_a_person_born_after_moving_in_is_an_invalid_date(client, headers):
    body = f.move_in([f.person(birth_date="2025-06-02")])
    res = client.post("/api/v1/filings/move-in", json=body, headers=headers("clerk"))
    assert res.status_code == 422 and error_code(res) == "invalid_date"


def test_a_filing_more_than_fourteen_days_late_is_accepted_and_listed(client, headers):
    body = file(client, headers, "move-in", f.move_in([f.person()], changed_on="2025-05-01"))
    assert body["late"] is True
    listed = client.get("/api/v1/filings?late=true", headers=headers("clerk")).json()["filings"]
    assert [x["filing_id"] for x in listed] == [body["filing_id"]]


def test_a_returning_resident_gets_the_old_addressee_number_back(client, headers):
    p = f.person()
    first = file(client, headers, "move-in", f.move_in([p], filed_on="2025-01-10", changed_on="2025-01-10"))
    number = first["changes"][0]["addressee_number"]
    file(
        client,
        headers,
        "move-out",
        {
            "filed_on": "2025-02-01",
            "planned_on": "2025-02-10",
            "addressee_numbers": [number],
            "destination": f.OTHER,
        },
    )
    again = file(client, headers, "move-in", f.move_in([p]))
    assert again["changes"][0]["addressee_number"] == number
    assert again["changes"][0]["version"] == 3


# --- move-within ------------------------------------------------------------------------------------------


def test_move_within_of_the_whole_household_changes_the_address_only(client, headers):
    hh, numbers = family(client, headers)
    new = "東京都小平市花小金井南町三丁目5番12号"
    body = file(
        client,
        headers,
        "move-within",
        {
            "filed_on": "2025-06-20",
            "changed_on": "2025-06-15",
            "household_number": hh,
            "addressee_numbers": numbers,
            "address": {"address": new},
        },
    )
    assert {c["change_reason"] for c in body["changes"]} == {"転居"}
    rec = resident(client, headers, numbers[1])
    assert rec["address"]["address"] == new and rec["address_since"] == "2025-06-15"
    assert rec["resident_since"] == "2025-06-01"
    assert rec["previous_address"]["address"] == f.ADDRESS


def test_move_within_that_changes_a_name_is_refused_as_non_address_change(client, headers):
    hh, numbers = family(client, headers)
    body = {
        "filed_on": "2025-06-20",
        "changed_on": "2025-06-15",
        "household_number": hh,
        "addressee_numbers": numbers,
        "address": {"address": "東京都小平市花小金井南町三丁目5番12号"},
        "family_name": "佐藤",
    }
    res = client.post("/api/v1/filings/move-within", json=body, headers=headers("clerk"))
    assert res.status_code == 422 and error_code(res) == "non_address_change"


def test_part_of_a_household_moving_needs_a_new_or_joined_household(client, headers):
    hh, numbers = family(client, headers)
    body = {
        "filed_on": "2025-06-20",
        "changed_on": "2025-06-15",
        "household_number": hh,
        "addressee_numbers": [numbers[2]],
        "address": {"address": "東京都小平市花小金井南町三丁目5番12号"},
    }
    res = client.post("/api/v1/filings/move-within", json=body, headers=headers("clerk"))
    assert res.status_code == 422 and error_code(res) == "invalid_field"
    body.update(new_household=True, householder=numbers[2])
    moved = file(client, headers, "move-within", body)
    assert moved["household_number"] != hh
    assert members(client, headers, moved["household_number"]) == [(numbers[2], "世帯主")]
    assert [n for n, _ in members(client, headers, hh)] == numbers[:2] + numbers[3:]


# --- move-out and death: householder succession -------------------------------------------------------------


def test_move_out_removes_the_record_and_keeps_the_move_out_certificate_data(client, headers):
    _hh, numbers = family(client, headers)
    file(
        client,
        headers,
        "move-out",
        {
            "filed_on": "2025-06-20",
            "planned_on": "2025-06-25",
            "addressee_numbers": [numbers[3]],
            "destination": f.OTHER,
        },
    )
    rec = resident(client, headers, numbers[3])
    assert rec["status"] == "removed"
    assert rec["removal"] == {"reason": "転出", "removed_on": "2025-06-25"}
    cert = client.get(f"/api/v1/residents/{numbers[3]}/move-out-certificate", headers=headers("clerk")).json()
    assert cert["move_out"]["destination"]["municipality_code"] == "132039"
    assert cert["move_out"]["planned_on"] == "2025-06-25"


def test_householder_leaving_two_members_warns_and_leaves_the_household_without_one(client, headers):
    """標準仕様書 j100/j490, API.md: accepted with the warning `householder_required`; no 世帯主 until a 世帯主変更."""
    hh, numbers = family(client, headers)
    body = {
        "filed_on": "2025-06-20",
        "planned_on": "2025-06-25",
        "addressee_numbers": [numbers[0]],
        "destination": f.OTHER,
    }
    done = file(client, headers, "move-out", body)
    assert done["changes"] == [{"addressee_number": numbers[0], "change_reason": "転出", "version": 2}]
    assert [w["code"] for w in done["warnings"]] == ["householder_required"]
    assert members(client, headers, hh) == [(numbers[1], "妻"), (numbers[2], "子"), (numbers[3], "子")]
    assert client.get(f"/api/v1/households/{hh}", headers=headers("clerk")).json()["householder"] is None
    change = {
        "filed_on": "2025-06-28",
        "changed_on": "2025-06-28",
        "type": "householder_change",
        "household_number": hh,
        "new_householder": numbers[1],
    }
    assert file(client, headers, "household-change", change)["warnings"] == []
    assert members(client, headers, hh)[0] == (numbers[1], "世帯主")


def test_householder_leaving_two_members_hands_over_to_the_one_named(client, headers):
    hh, numbers = family(client, headers)
    body = {
        "filed_on": "2025-06-20",
        "planned_on": "2025-06-25",
        "addressee_numbers": [numbers[0]],
        "destination": f.OTHER,
        "new_householder": numbers[1],
    }
    done = file(client, headers, "move-out", body)
    assert done["changes"][0] == {"addressee_number": numbers[0], "change_reason": "転出", "version": 2}
    assert done["warnings"] == []
    assert members(client, headers, hh) == [(numbers[1], "世帯主"), (numbers[2], "子"), (numbers[3], "子")]


def test_death_of_the_householder_with_one_survivor_makes_the_survivor_householder(client, headers):
    couple = f.family_of_four()[:2]
    body = file(client, headers, "move-in", f.move_in(couple))
    hh, (husband, wife) = body["household_number"], [c["addressee_number"] for c in body["changes"]]
    done = file(
        client,
        headers,
        "death",
        {"filed_on": "2025-06-20", "died_on": "2025-06-18", "addressee_number": husband},
    )
    assert [(c["addressee_number"], c["change_reason"]) for c in done["changes"]] == [
        (husband, "死亡"),
        (wife, "世帯主変更"),
    ]
    assert members(client, headers, hh) == [(wife, "世帯主")]
    assert resident(client, headers, husband)["removal"] == {"reason": "死亡", "removed_on": "2025-06-18"}
    assert [w["code"] for w in done["warnings"]] == ["householder_change_notice"]  # 世帯主変更通知書 (j490)


def test_death_before_birth_is_an_invalid_date(client, headers):
    _, numbers = family(client, headers)
    res = client.post(
        "/api/v1/filings/death",
        json={"filed_on": "2025-06-20", "died_on": "2009-01-01", "addressee_number": numbers[2]},
        headers=headers("clerk"),
    )
    assert res.status_code == 422 and error_code(res) == "invalid_date"


def test_a_removed_person_cannot_die_again(client, headers):
    _, numbers = family(client, headers)
    body = {"filed_on": "2025-06-20", "died_on": "2025-06-18", "addressee_number": numbers[3]}
    file(client, headers, "death", body)
    res = client.post("/api/v1/filings/death", json=body, headers=headers("clerk"))
    assert res.status_code == 409 and error_code(res) == "not_resident"


# --- birth ------------------------------------------------------------------------------------------------


def test_a_birth_adds_the_child_to_the_household_without_a_my_number(client, headers):
    hh, _ = family(client, headers)
    child = f.person("子", given_name="蓮", given_name_kana="レン", birth_date="2025-06-10")
    child.pop("my_number")
    child.pop("birth_date")
    body = file(
        client,
        headers,
        "birth",
        {"filed_on": "2025-06-12", "birth_date": "2025-06-10", "household_number": hh, "person": child},
    )
    number = body["changes"][0]["addressee_number"]
    assert body["changes"][0]["change_reason"] == "出生"
    rec = client.get(f"/api/v1/residents/{number}?include=my_number", headers=headers("clerk")).json()
    assert rec["my_number"] is None and rec["resident_since"] == "2025-06-10"
    assert members(client, headers, hh)[-1] == (number, "子")


def test_a_birth_whose_person_date_differs_is_an_invalid_date(client, headers):
    hh, _ = family(client, headers)
    child = f.person("子", birth_date="2025-06-09")
    res = client.post(
        "/api/v1/filings/birth",
        json={"filed_on": "2025-06-12", "birth_date": "2025-06-10", "household_number": hh, "person": child},
        headers=headers("clerk"),
    )
    assert res.status_code == 422 and error_code(res) == "invalid_date"


# --- household change -------------------------------------------------------------------------------------


def test_householder_change_gives_the_old_head_the_inverse_relationship(client, headers):
    hh, numbers = family(client, headers)
    body = file(
        client,
        headers,
        "household-change",
        {
            "filed_on": "2025-06-20",
            "changed_on": "2025-06-20",
            "type": "householder_change",
            "household_number": hh,
            "new_householder": numbers[1],
        },
    )
    assert {c["change_reason"] for c in body["changes"]} == {"世帯主変更"}
    assert dict(members(client, headers, hh)) == {
        numbers[1]: "世帯主",
        numbers[0]: "夫",
        numbers[2]: "子",
        numbers[3]: "子",
    }
    answer = client.get(f"/api/v1/households/{hh}", headers=headers("clerk")).json()
    # The new 世帯主 comes first, and `position` is the rank in 記載順 (never 0 or below, j1010).
    assert [(m["addressee_number"], m["position"]) for m in answer["members"]][:2] == [
        (numbers[1], 1),
        (numbers[0], 2),
    ]
    assert [m["position"] for m in answer["members"]] == [1, 2, 3, 4]


def split_off(client, headers, hh: str, number: str) -> dict:
    """世帯分離: one member leaves to head a household of their own at the same address."""
    body = {
        "filed_on": "2025-06-20",
        "changed_on": "2025-06-20",
        "type": "split",
        "household_number": hh,
        "addressee_numbers": [number],
        "householder": number,
    }
    return file(client, headers, "household-change", body)


def test_split_and_merge_move_members_between_households(client, headers):
    hh, numbers = family(client, headers)
    split = split_off(client, headers, hh, numbers[2])
    new = split["household_number"]
    assert members(client, headers, new) == [(numbers[2], "世帯主")]
    merged = file(
        client,
        headers,
        "household-change",
        {
            "filed_on": "2025-06-21",
            "changed_on": "2025-06-21",
            "type": "merge",
            "household_number": new,
            "into_household_number": hh,
            "new_relationships": {numbers[2]: "子"},
        },
    )
    assert merged["changes"][0]["change_reason"] == "世帯合併"
    assert (numbers[2], "子") in members(client, headers, hh)
    assert client.get(f"/api/v1/households/{new}", headers=headers("clerk")).json()["members"] == []


def test_merge_without_relationships_names_who_needs_one(client, headers):
    hh, numbers = family(client, headers)
    split = split_off(client, headers, hh, numbers[2])
    res = client.post(
        "/api/v1/filings/household-change",
        json={
            "filed_on": "2025-06-21",
            "changed_on": "2025-06-21",
            "type": "merge",
            "household_number": split["household_number"],
            "into_household_number": hh,
        },
        headers=headers("clerk"),
    )
    assert res.status_code == 422
    assert res.json()["errors"][0]["field"] == "new_relationships" and numbers[2] in res.json()["detail"]


# --- ex officio and approval --------------------------------------------------------------------------------


def test_ex_officio_correction_waits_for_a_different_supervisor(client, headers):
    _, numbers = family(client, headers)
    body = {
        "filed_on": "2025-06-20",
        "changed_on": "2025-06-20",
        "reason": "戸籍照合により誤記を修正",
        "addressee_number": numbers[0],
        "corrections": {"given_name": "太朗"},
    }
    pending = file(client, headers, "ex-officio-correction", body, role="supervisor", status=202)
    assert pending["approval_state"] == "pending"
    assert resident(client, headers, numbers[0])["given_name"] == "太郎"
    own = client.post(f"/api/v1/approvals/{pending['filing_id']}/approve", headers=headers("supervisor"))
    assert own.status_code == 403 and error_code(own) == "forbidden"
    by_clerk = client.post(f"/api/v1/approvals/{pending['filing_id']}/approve", headers=headers("clerk"))
    assert by_clerk.status_code == 403
    other = file(client, headers, "ex-officio-correction", body, role="clerk", status=202)
    done = client.post(f"/api/v1/approvals/{other['filing_id']}/approve", headers=headers("supervisor"))
    assert done.status_code == 201, done.text
    assert done.json()["changes"][0]["change_reason"] == "職権修正"
    assert resident(client, headers, numbers[0])["given_name"] == "太朗"


def test_a_returned_ex_officio_change_never_takes_effect(client, headers):
    _, numbers = family(client, headers)
    body = {
        "filed_on": "2025-06-20",
        "changed_on": "2025-06-20",
        "reason": "実態調査により居住の事実なし",
        "addressee_numbers": [numbers[3]],
    }
    pending = file(client, headers, "ex-officio-removal", body, status=202)
    res = client.post(
        f"/api/v1/approvals/{pending['filing_id']}/return",
        json={"comment": "調査記録不足"},
        headers=headers("supervisor"),
    )
    assert res.json()["approval_state"] == "returned"
    again = client.post(f"/api/v1/approvals/{pending['filing_id']}/approve", headers=headers("supervisor"))
    assert again.status_code == 404
    assert resident(client, headers, numbers[3])["status"] == "active"


def test_ex_officio_removal_and_restoration_round_trip(client, headers):
    _, numbers = family(client, headers)
    removal = file(
        client,
        headers,
        "ex-officio-removal",
        {
            "filed_on": "2025-06-20",
            "changed_on": "2025-06-20",
            "reason": "居住実態なし",
            "addressee_numbers": [numbers[3]],
        },
        status=202,
    )
    client.post(f"/api/v1/approvals/{removal['filing_id']}/approve", headers=headers("supervisor"))
    assert resident(client, headers, numbers[3])["removal"]["reason"] == "職権消除"
    back = file(
        client,
        headers,
        "ex-officio-restoration",
        {
            "filed_on": "2025-06-25",
            "changed_on": "2025-06-25",
            "reason": "誤って消除したため回復",
            "addressee_number": numbers[3],
        },
        status=202,
    )
    client.post(f"/api/v1/approvals/{back['filing_id']}/approve", headers=headers("supervisor"))
    rec = resident(client, headers, numbers[3])
    assert rec["status"] == "active" and rec["removal"] is None and rec["version"] == 3


# --- history and cancellation --------------------------------------------------------------------------------


def test_history_is_full_snapshots_oldest_first(client, headers):
    hh, numbers = family(client, headers)
    move_household(client, headers, hh, numbers)
    versions = client.get(f"/api/v1/residents/{numbers[0]}/history", headers=headers("clerk")).json()[
        "versions"
    ]
    assert [v["version"] for v in versions] == [1, 2]
    assert [v["change_reason"] for v in versions] == ["転入", "転居"]
    assert versions[0]["record"]["address"]["address"] == f.ADDRESS
    assert versions[1]["record"]["family_name"] == "山田"  # every item, not only what changed
    assert "my_number" not in versions[0]["record"]


def test_cancelling_a_filing_appends_the_earlier_state(client, headers):
    hh, numbers = family(client, headers)
    moved = move_household(client, headers, hh, numbers)
    res = client.post(
        f"/api/v1/filings/{moved['filing_id']}/cancel",
        json={"filed_on": "2025-06-21", "reason": "届出人の申出により取消し"},
        headers=headers("supervisor"),
    )
    assert res.status_code == 201, res.text
    versions = client.get(f"/api/v1/residents/{numbers[0]}/history", headers=headers("clerk")).json()[
        "versions"
    ]
    assert [v["change_reason"] for v in versions] == ["転入", "転居", "取消（修正）"]
    assert versions[2]["record"]["address"]["address"] == f.ADDRESS


def test_cancelling_a_move_in_takes_the_people_off_again(client, headers):
    body = file(client, headers, "move-in", f.move_in([f.person()]))
    number = body["changes"][0]["addressee_number"]
    res = client.post(
        f"/api/v1/filings/{body['filing_id']}/cancel",
        json={"filed_on": "2025-06-21", "reason": "誤って受理したため"},
        headers=headers("supervisor"),
    )
    assert res.json()["changes"][0]["change_reason"] == "取消（減）"
    assert resident(client, headers, number)["status"] == "removed"


def test_a_possible_same_person_is_warned_about_but_accepted(client, headers):
    first = f.person()
    file(client, headers, "move-in", f.move_in([first]))
    twin = f.person()  # same name, sex and birth date; different numbers
    body = file(
        client, headers, "move-in", f.move_in([twin], address={"address": "東京都小平市天神町一丁目1番1号"})
    )
    assert body["warnings"][0]["code"] == "possible_same_person"


def test_the_householder_moving_away_within_the_city_hands_over_the_household(client, headers):
    hh, numbers = family(client, headers)
    body = {
        "filed_on": "2025-06-20",
        "changed_on": "2025-06-15",
        "household_number": hh,
        "addressee_numbers": [numbers[0]],
        "address": {"address": "東京都小平市花小金井南町三丁目5番12号"},
        "new_household": True,
        "householder": numbers[0],
    }
    moved = file(client, headers, "move-within", dict(body, new_householder=numbers[1]))
    assert members(client, headers, moved["household_number"]) == [(numbers[0], "世帯主")]
    assert members(client, headers, hh)[0] == (numbers[1], "世帯主")
    hh2, numbers2 = family(client, headers)  # without a successor named: warned, and no 世帯主 is left
    body.update(household_number=hh2, addressee_numbers=[numbers2[0]], householder=numbers2[0])
    alone = file(
        client, headers, "move-within", dict(body, address={"address": "東京都小平市天神町一丁目1番1号"})
    )
    assert [w["code"] for w in alone["warnings"]] == ["householder_required"]
    assert "世帯主" not in dict(members(client, headers, hh2)).values()


def test_a_foreign_resident_with_an_unknown_birth_day_keeps_the_text_and_the_internal_date(client, headers):
    p = f.person(
        family_name="ＳＭＩＴＨ",
        given_name="ＪＯＨＮ",
        family_name_kana="スミス",
        given_name_kana="ジョン",
        birth_date="1990-01-01",
        birth_date_unknown="1990年月日不詳",
        honseki=None,
        foreign={
            "nationality": "英国",
            "article_30_45_category": "中長期在留者",
            "status_of_residence": "技術・人文知識・国際業務",
            "stay_expires_on": "2027-03-31",
            "residence_card_number": "AB12345678CD",
        },
    )
    p.pop("honseki")
    body = file(
        client,
        headers,
        "move-in",
        f.move_in([p], previous_address={"address": "英国ロンドン", "country": "英国"}),
    )
    rec = resident(client, headers, body["changes"][0]["addressee_number"])
    assert rec["birth_date_unknown"] == "1990年月日不詳" and rec["birth_date"] == "1990-01-01"
    assert rec["foreign"]["residence_card_number"] == "AB12345678CD"
    assert body["changes"][0]["change_reason"] == "国外転入"


# --- identifiers name one person for life (標準仕様書 j600) --------------------------------------------------------


def counts(j) -> dict[str, int]:
    from sqlalchemy import func, select

    from juki.adapters import tables as t

    with j.engine.connect() as conn:
        return {
            name: conn.execute(select(func.count()).select_from(t.metadata.tables[name])).scalar_one()
            for name in ("residents", "resident_versions", "filings", "outbox")
        }


def dead(client, headers) -> tuple[dict[str, Any], str]:
    """A person who moved in and died: their filing body and 宛名番号."""
    p = f.person()
    first = file(client, headers, "move-in", f.move_in([p], filed_on="2025-01-10", changed_on="2025-01-10"))
    number = first["changes"][0]["addressee_number"]
    file(
        client,
        headers,
        "death",
        {"filed_on": "2025-02-01", "died_on": "2025-01-31", "addressee_number": number},
    )
    return p, number


def test_a_dead_persons_my_number_cannot_be_taken_over_and_the_removed_record_stays(client, headers, j):
    p, number = dead(client, headers)
    before = counts(j)
    stranger = f.person(
        family_name="佐藤", family_name_kana="サトウ", birth_date="1991-02-03", my_number=p["my_number"]
    )
    res = client.post("/api/v1/filings/move-in", json=f.move_in([stranger]), headers=headers("clerk"))
    assert res.status_code == 409 and error_code(res) == "duplicate_my_number", res.text
    assert res.json()["errors"][0]["field"] == "persons.0.my_number" and "死亡" in res.json()["detail"]
    assert counts(j) == before
    rec = resident(client, headers, number)
    assert rec["status"] == "removed" and rec["family_name"] == "山田" and rec["version"] == 2
    found = client.get(
        "/api/v1/residents?name=山田 太郎&birth_date=1980-04-01", headers=headers("clerk")
    ).json()["results"]
    assert number in [r["addressee_number"] for r in found]
    same = client.post("/api/v1/filings/move-in", json=f.move_in([p]), headers=headers("clerk"))
    assert same.status_code == 409 and error_code(same) == "duplicate_my_number"  # the dead never return


def test_a_birth_with_a_dead_persons_numbers_is_refused(client, headers, j):
    p, _ = dead(client, headers)
    hh, _ = family(client, headers)
    before = counts(j)
    for key, code in (("resident_code", "duplicate_resident_code"), ("my_number", "duplicate_my_number")):
        child = {
            k: v
            for k, v in f.person("子", given_name="蓮", given_name_kana="レン").items()
            if k != "birth_date"
        }
        child.pop("my_number")
        child.pop("resident_code")
        child[key] = p[key]
        birth = {
            "filed_on": "2025-06-12",
            "birth_date": "2025-06-10",
            "household_number": hh,
            "person": child,
        }
        res = client.post("/api/v1/filings/birth", json=birth, headers=headers("clerk"))
        assert res.status_code == 409 and error_code(res) == code, res.text
    assert counts(j) == before


def test_a_returning_resident_needs_the_same_birth_date_and_may_have_a_new_name(client, headers):
    p = f.person()
    first = file(client, headers, "move-in", f.move_in([p], filed_on="2025-01-10", changed_on="2025-01-10"))
    number = first["changes"][0]["addressee_number"]
    out = {"filed_on": "2025-02-01", "planned_on": "2025-02-10", "addressee_numbers": [number]}
    file(client, headers, "move-out", dict(out, destination=f.OTHER))
    other = dict(p, birth_date="1981-04-01")
    res = client.post("/api/v1/filings/move-in", json=f.move_in([other]), headers=headers("clerk"))
    assert res.status_code == 409 and error_code(res) == "duplicate_my_number"
    assert "生年月日" in res.json()["detail"]
    married = dict(p, family_name="佐藤", family_name_kana="サトウ")
    again = file(client, headers, "move-in", f.move_in([married]))
    assert again["changes"][0]["addressee_number"] == number
    assert [w["code"] for w in again["warnings"]] == ["returning_resident_differs"]


def test_ex_officio_entry_with_a_dead_persons_number_is_refused_at_entry(client, headers, j):
    p, _ = dead(client, headers)
    before = counts(j)
    body = {
        "filed_on": "2025-06-20",
        "changed_on": "2025-06-20",
        "reason": "実態調査により居住を確認",
        "address": {"address": f.ADDRESS},
        "persons": [dict(p, given_name="次郎", given_name_kana="ジロウ")],
    }
    res = client.post("/api/v1/filings/ex-officio-entry", json=body, headers=headers("clerk"))
    assert res.status_code == 409 and error_code(res) == "duplicate_my_number"
    assert counts(j) == before


# --- a late 転出 is recorded by 職権 (標準仕様書 j640) ----------------------------------------------------------------


def test_a_move_out_filed_more_than_fourteen_days_late_is_recorded_ex_officio(client, headers):
    _hh, numbers = family(client, headers)
    body = {
        "filed_on": "2025-06-30",
        "planned_on": "2025-06-15",
        "addressee_numbers": [numbers[3]],
        "destination": f.OTHER,
    }
    done = file(client, headers, "move-out", body)
    assert done["late"] is True
    assert done["changes"][0]["change_reason"] == "職権消除"
    assert "late_move_out_recorded_ex_officio" in [w["code"] for w in done["warnings"]]
    rec = resident(client, headers, numbers[3])
    assert rec["removal"] == {"reason": "転出", "removed_on": "2025-06-15"}
    history = client.get(f"/api/v1/residents/{numbers[3]}/history", headers=headers("clerk")).json()
    assert [v["change_reason"] for v in history["versions"]] == ["転入", "職権消除"]


# --- refusals are logged ----------------------------------------------------------------------------------------


def test_a_refused_filing_leaves_an_operation_log_entry_with_its_code_only(client, headers, j):
    from sqlalchemy import select

    from juki.adapters import tables as t

    first = f.person()
    file(client, headers, "move-in", f.move_in([first]))
    other = f.person(family_name="佐藤", family_name_kana="サトウ", my_number=first["my_number"])
    res = client.post("/api/v1/filings/move-in", json=f.move_in([other]), headers=headers("clerk"))
    assert res.status_code == 409
    bad_date = client.post(
        "/api/v1/filings/move-in", json=f.move_in(changed_on="2025-06-05"), headers=headers("clerk")
    )
    assert bad_date.status_code == 422
    log = t.operation_log.c
    with j.engine.connect() as conn:
        rows = conn.execute(
            select(log.action, log.result, log.detail, log.targets)
            .where(log.result == "refused")
            .order_by(log.seq)
        ).all()
    assert [(r.action, r.result, r.detail) for r in rows] == [
        ("filing:move-in", "refused", "duplicate_my_number persons.0.my_number"),
        ("filing:move-in", "refused", "invalid_date changed_on"),
    ]
    assert all(list(r.targets) == [] for r in rows)
