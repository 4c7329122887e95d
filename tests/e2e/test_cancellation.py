"""取消し (標準仕様書 j980): any change chosen from the history, for the whole household or part of it, restored in
full (its 届出日 and 異動日 too); refused, naming the later change, where a later change builds on it. And j40:
the history of a 特別養子縁組 or a 性別変更 is not printed on certificates by default."""

from __future__ import annotations

import re
import subprocess

import pytest
from sqlalchemy import select

from juki.adapters import tables as t
from tests import factories as f
from tests.e2e.test_filings import error_code, family, file, members, resident


def cancel(client, headers, filing_id: str, status: int = 201, **body) -> dict:
    res = client.post(
        f"/api/v1/filings/{filing_id}/cancel",
        json={"filed_on": "2025-06-25", "reason": "届出人の申出により取消し", **body},
        headers=headers("supervisor"),
    )
    assert res.status_code == status, res.text
    return res.json()


def history(client, headers, number: str) -> list[dict]:
    res = client.get(f"/api/v1/residents/{number}/history", headers=headers("clerk"))
    return res.json()["versions"]


def householder_change(client, headers, hh: str, new: str, on: str = "2025-06-20") -> dict:
    body = {"filed_on": on, "changed_on": on, "type": "householder_change", "household_number": hh}
    return file(client, headers, "household-change", dict(body, new_householder=new))


def certificate_text(client, headers, hh: str, requester: str, **include: bool) -> str:
    body = {
        "kind": "residence_certificate",
        "household_number": hh,
        "include": {"householder_and_relationship": True, **include},
        "requester": {"type": "self", "name": "山田 太郎", "addressee_number": requester},
        "purpose": "年金の手続のため",
    }
    res = client.post("/api/v1/certificates", json=body, headers=headers("clerk"))
    assert res.status_code == 201, res.text
    done = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=res.content, capture_output=True, check=True
    )
    return done.stdout.decode("utf-8").replace("\u3000", " ")


def test_cancelling_a_householder_change_restores_the_filing_date_the_certificate_prints(client, headers):
    hh, numbers = family(client, headers)  # moved in: 届出日 2025-06-02
    changed = householder_change(client, headers, hh, numbers[1])
    done = cancel(client, headers, changed["filing_id"])
    assert {c["change_reason"] for c in done["changes"]} == {"取消（修正）"}
    assert dict(members(client, headers, hh))[numbers[0]] == "世帯主"
    for number in numbers:
        rec = resident(client, headers, number)
        assert rec["filed_on"] == "2025-06-02", (number, rec["filed_on"])
        last = history(client, headers, number)[-1]
        if last["change_reason"] == "取消（修正）":  # the cancellation's own date is its history entry's
            assert last["filed_on"] == "2025-06-25" and last["changed_on"] == "2025-06-20"
    text = certificate_text(client, headers, hh, numbers[0], history=True)
    filed = re.findall(r"^届出日\s+(\S+)", text, re.M)
    assert filed and set(filed) == {"令和7年6月2日"}, filed  # each member's 届出日, as before the change
    assert "取消（修正）（令和7年6月25日届出）" in text  # the cancellation's own date, on its history line


def test_a_cancelled_change_gives_its_date_back_so_an_earlier_one_can_follow(client, headers, j):
    hh, numbers = family(client, headers)
    moved = file(
        client,
        headers,
        "move-within",
        {
            "filed_on": "2025-06-20",
            "changed_on": "2025-06-15",
            "household_number": hh,
            "addressee_numbers": numbers,
            "address": {"address": "東京都小平市花小金井南町三丁目5番12号"},
        },
    )
    cancel(client, headers, moved["filing_id"])
    rec = resident(client, headers, numbers[0])
    assert rec["address_since"] == "2025-06-01" and rec["filed_on"] == "2025-06-02"
    with j.engine.connect() as conn:
        row = conn.execute(select(t.households).where(t.households.c.household_number == hh)).one()
    assert row.address == rec["address"]["address"] == f.ADDRESS  # the household went back with them
    earlier = {
        "filed_on": "2025-06-26",
        "changed_on": "2025-06-10",
        "household_number": hh,
        "addressee_numbers": numbers,
        "address": {"address": "東京都小平市天神町一丁目1番1号"},
    }
    file(client, headers, "move-within", earlier)


def test_cancelling_a_move_out_brings_the_person_back_as_torikeshi_zou(client, headers):
    hh, numbers = family(client, headers)
    out = file(
        client,
        headers,
        "move-out",
        {
            "filed_on": "2025-06-20",
            "planned_on": "2025-06-22",
            "addressee_numbers": [numbers[3]],
            "destination": f.OTHER,
        },
    )
    done = cancel(client, headers, out["filing_id"])
    assert done["changes"] == [{"addressee_number": numbers[3], "change_reason": "取消（増）", "version": 3}]
    rec = resident(client, headers, numbers[3])
    assert rec["status"] == "active" and rec["removal"] is None and rec["filed_on"] == "2025-06-02"
    assert members(client, headers, hh)[-1] == (numbers[3], "子")


def test_cancelling_a_death_restores_the_householder_and_undoes_the_succession(client, headers):
    body = file(client, headers, "move-in", f.move_in(f.family_of_four()[:2]))
    hh, (husband, wife) = body["household_number"], [c["addressee_number"] for c in body["changes"]]
    death = file(
        client,
        headers,
        "death",
        {"filed_on": "2025-06-20", "died_on": "2025-06-18", "addressee_number": husband},
    )
    done = cancel(client, headers, death["filing_id"])
    assert [(c["addressee_number"], c["change_reason"]) for c in done["changes"]] == [
        (husband, "取消（増）"),
        (wife, "取消（修正）"),
    ]
    assert members(client, headers, hh) == [(husband, "世帯主"), (wife, "妻")]
    assert resident(client, headers, husband)["removal"] is None


def test_part_of_a_move_in_can_be_cancelled_then_the_rest(client, headers):
    body = file(client, headers, "move-in", f.move_in())
    hh, numbers = body["household_number"], [c["addressee_number"] for c in body["changes"]]
    part = cancel(client, headers, body["filing_id"], addressee_numbers=[numbers[3]])
    assert part["changes"] == [{"addressee_number": numbers[3], "change_reason": "取消（減）", "version": 2}]
    assert [n for n, _ in members(client, headers, hh)] == numbers[:3]
    wrong = cancel(client, headers, body["filing_id"], status=422, addressee_numbers=["0000000000"])
    assert wrong["errors"][0]["field"] == "addressee_numbers.0"
    rest = cancel(client, headers, body["filing_id"], addressee_numbers=numbers[:3])
    assert {c["change_reason"] for c in rest["changes"]} == {"取消（減）"}
    assert members(client, headers, hh) == []


def test_a_reason_holding_a_number_shaped_like_a_my_number_is_refused(client, headers):
    """Reasons are stored in plain, so the one free-text check of intake refuses a 12-digit number in any spelling,
    for a cancellation as for an ex officio change; nothing is cancelled."""
    body = file(client, headers, "move-in", f.move_in())
    refused = cancel(
        client, headers, body["filing_id"], status=422, reason="番号１２３４ ５６７８ ９０１８の誤り"
    )
    assert refused["errors"][0] == {**refused["errors"][0], "code": "invalid_field", "field": "reason"}
    assert "１２３４" not in str(refused)
    cancel(client, headers, body["filing_id"])  # the filing was left as it was, so it can still be cancelled


def test_an_earlier_change_is_cancelled_unless_a_later_one_builds_on_it(client, headers):
    hh, numbers = family(client, headers)
    other_hh, other = family(client, headers)
    changed = householder_change(client, headers, hh, numbers[1])
    householder_change(client, headers, other_hh, other[1], on="2025-06-21")  # later, but elsewhere
    # the first change is not the latest filing, and nothing later builds on it: it can be cancelled
    cancel(client, headers, changed["filing_id"])
    again = householder_change(client, headers, hh, numbers[1], on="2025-06-26")
    child = f.person("子", given_name="蓮", given_name_kana="レン")
    for key in ("my_number", "resident_code", "birth_date"):
        child.pop(key)
    birth = file(
        client,
        headers,
        "birth",
        {"filed_on": "2025-06-28", "birth_date": "2025-06-27", "household_number": hh, "person": child},
    )
    res = cancel(client, headers, again["filing_id"], status=409)
    assert res["errors"][0]["code"] == "later_change_exists" and birth["filing_id"] in res["detail"]
    moved = cancel(client, headers, birth["filing_id"])  # the latest first, then the one before it
    assert moved["changes"][0]["change_reason"] == "取消（減）"
    cancel(client, headers, again["filing_id"])


def test_a_change_of_a_person_changed_since_is_refused_naming_the_later_filing(client, headers):
    hh, numbers = family(client, headers)
    split = file(
        client,
        headers,
        "household-change",
        {
            "filed_on": "2025-06-20",
            "changed_on": "2025-06-20",
            "type": "split",
            "household_number": hh,
            "addressee_numbers": [numbers[2]],
            "householder": numbers[2],
        },
    )
    out = file(
        client,
        headers,
        "move-out",
        {
            "filed_on": "2025-06-22",
            "planned_on": "2025-06-22",
            "addressee_numbers": [numbers[2]],
            "destination": f.OTHER,
        },
    )
    res = client.post(
        f"/api/v1/filings/{split['filing_id']}/cancel",
        json={"filed_on": "2025-06-25", "reason": "誤り"},
        headers=headers("supervisor"),
    )
    assert res.status_code == 409 and error_code(res) == "later_change_exists"
    assert out["filing_id"] in res.json()["detail"]


# --- j40: changes whose history certificates do not print by default ------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "corrections"),
    [
        ("性別変更", {"sex": "female"}),
        ("特別養子縁組", {"relationship": "子"}),
        ("特別養子縁組解消", {"relationship": "子"}),
    ],
)
def test_a_gender_change_or_special_adoption_is_recorded_as_such_and_not_printed(
    client, headers, reason, corrections
):
    hh, numbers = family(client, headers)
    body = {
        "filed_on": "2025-06-20",
        "changed_on": "2025-06-20",
        "reason": "戸籍の届出の通知による",
        "addressee_number": numbers[2],
        "corrections": corrections,
        "change_reason": reason,
    }
    pending = file(client, headers, "ex-officio-correction", body, status=202)
    done = client.post(f"/api/v1/approvals/{pending['filing_id']}/approve", headers=headers("supervisor"))
    assert done.status_code == 201, done.text
    assert done.json()["changes"][0]["change_reason"] == reason
    assert history(client, headers, numbers[2])[-1]["change_reason"] == reason
    text = certificate_text(client, headers, hh, numbers[0], history=True)
    assert "転入" in text and reason not in text
    assert "職権修正" not in text  # not printed under another name either


def test_an_unknown_correction_reason_is_refused(client, headers):
    _, numbers = family(client, headers)
    body = {
        "filed_on": "2025-06-20",
        "changed_on": "2025-06-20",
        "reason": "誤記",
        "addressee_number": numbers[0],
        "corrections": {"given_name": "太朗"},
        "change_reason": "転入",
    }
    res = client.post("/api/v1/filings/ex-officio-correction", json=body, headers=headers("clerk"))
    assert res.status_code == 422 and error_code(res) == "invalid_field"
    assert res.json()["errors"][0]["field"] == "change_reason"
