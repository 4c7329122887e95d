"""記載順位の変更 (標準仕様書 j1010) through HTTP: `POST /api/v1/households/{n}/member-order` puts the members in the
standard order or the clerk's; only members whose place changes get a new version (`記載順位の変更`), written with
its filing, log entry and outbox rows; bad input writes nothing; the history keeps the old order; certificates
print the new one; holds and 支援措置 apply as to any filing."""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import Any

import pytest
from sqlalchemy import select

from juki.adapters import tables as t
from juki.domain.identifiers import make_addressee_number, make_household_number
from tests import factories as f

REASON = "記載順位の変更"
NEW_ADDRESS = "東京都小平市花小金井南町三丁目5番12号"
SUPPORT = {"X-Juki-Procedure": "protection"}
TABLES = ("residents", "resident_versions", "filings", "outbox", "households")


# --- helpers ------------------------------------------------------------------------------------------------


def out_of_order_family(client, headers) -> tuple[str, dict[str, str]]:
    """A family that moved in listed as 世帯主, 子 (2013), 妻, 子 (2010): stored in that order (positions 1–4)."""
    people = f.family_of_four()
    res = client.post(
        "/api/v1/filings/move-in",
        json=f.move_in([people[0], people[3], people[1], people[2]]),
        headers=headers("clerk"),
    )
    assert res.status_code == 201, res.text
    numbers = [c["addressee_number"] for c in res.json()["changes"]]
    return res.json()["household_number"], dict(zip(("太郎", "桜", "花子", "一郎"), numbers, strict=True))


def reorder(client, headers, household: str, body: dict[str, Any], role: str = "clerk", **extra):
    return client.post(
        f"/api/v1/households/{household}/member-order", json=body, headers={**headers(role), **extra}
    )


def household(client, headers, number: str) -> dict[str, Any]:
    res = client.get(f"/api/v1/households/{number}", headers=headers("clerk"))
    assert res.status_code == 200, res.text
    return res.json()


def order_of(client, headers, number: str) -> list[str]:
    return [m["addressee_number"] for m in household(client, headers, number)["members"]]


def history(client, headers, number: str) -> list[dict[str, Any]]:
    res = client.get(f"/api/v1/residents/{number}/history", headers=headers("clerk"))
    assert res.status_code == 200, res.text
    return res.json()["versions"]


def rows(j) -> dict[str, list[str]]:
    with j.engine.connect() as conn:
        return {
            name: sorted(repr(tuple(r)) for r in conn.execute(select(t.metadata.tables[name])).all())
            for name in TABLES
        }


def log_rows(j, action: str) -> list[Any]:
    with j.engine.connect() as conn:
        q = select(t.operation_log).where(t.operation_log.c.action == action).order_by(t.operation_log.c.seq)
        return list(conn.execute(q).all())


def problem(res, status: int, code: str, field: str | None = None) -> None:
    assert res.status_code == status, res.text
    assert res.headers["content-type"].startswith("application/problem+json"), res.text
    error = res.json()["errors"][0]
    assert error["code"] == code, res.text
    if field is not None:
        assert error["field"] == field, res.text


def _protect(client, headers, subject: str, **over: Any):
    body = {
        "subject_kind": "person",
        "subject": subject,
        "reason": "DV被害による支援措置申出",
        "requester": "本人",
        "received_on": "2025-06-20",
        "starts_on": "2025-06-20",
        **over,
    }
    res = client.post("/api/v1/protection-measures", json=body, headers={**headers("supervisor"), **SUPPORT})
    assert res.status_code == 201, res.text


# --- the standard order ---------------------------------------------------------------------------------------


def test_the_standard_order_is_stored_with_new_versions_of_the_moved_members_only(client, headers, j):
    hh, n = out_of_order_family(client, headers)
    assert order_of(client, headers, hh) == [n["太郎"], n["桜"], n["花子"], n["一郎"]]
    before = household(client, headers, hh)["version"]

    res = reorder(client, headers, hh, {"mode": "standard"})

    assert res.status_code == 200, res.text
    answer = res.json()
    assert [m["addressee_number"] for m in answer["members"]] == [n["太郎"], n["花子"], n["一郎"], n["桜"]]
    assert [m["position"] for m in answer["members"]] == [1, 2, 3, 4]
    assert [m["relationship"] for m in answer["members"]] == ["世帯主", "妻", "子", "子"]
    # 太郎 stays first: only the other three move, each with version 2
    assert sorted(
        (c["addressee_number"], c["change_reason"], c["version"]) for c in answer["changes"]
    ) == sorted((n[name], REASON, 2) for name in ("花子", "一郎", "桜"))
    assert answer["filing_id"] and answer["household_number"] == hh
    assert answer["version"] == before + 1 == household(client, headers, hh)["version"]
    assert order_of(client, headers, hh) == [n["太郎"], n["花子"], n["一郎"], n["桜"]]

    # the history keeps the old place; the new version changes the position and nothing else
    versions = history(client, headers, n["桜"])
    assert [v["change_reason"] for v in versions] == ["転入", REASON]
    assert (versions[0]["record"]["position"], versions[1]["record"]["position"]) == (2, 4)
    old, new = dict(versions[0]["record"]), dict(versions[1]["record"])
    old.pop("position")
    new.pop("position")
    assert old == new
    assert versions[1]["changed_on"] == "2025-06-01"  # the last 異動日: an order has no legal date of its own
    assert versions[1]["filed_on"] == "2025-06-30" and versions[1]["filing_id"] == answer["filing_id"]
    assert [v["change_reason"] for v in history(client, headers, n["太郎"])] == ["転入"]

    # one filing, one outbox row per changed member, one log entry naming the household's members
    with j.engine.connect() as conn:
        filing = conn.execute(select(t.filings).where(t.filings.c.filing_id == answer["filing_id"])).one()
        outbox = conn.execute(select(t.outbox).where(t.outbox.c.filing_id == answer["filing_id"])).all()
    assert (filing.kind, filing.change_reason, filing.household_number) == ("member-order", REASON, hh)
    assert filing.payload == {"mode": "standard"} and filing.approval_state == "none"
    assert sorted((o.addressee_number, o.change_reason, o.version) for o in outbox) == sorted(
        (n[name], REASON, 2) for name in ("花子", "一郎", "桜")
    )
    [entry] = log_rows(j, "filing:member-order")
    assert entry.result == "ok" and entry.detail == answer["filing_id"]
    assert set(entry.targets) == set(n.values())


def test_a_household_already_in_the_standard_order_is_left_as_it_is(client, headers, j):
    hh, n = out_of_order_family(client, headers)
    assert reorder(client, headers, hh, {"mode": "standard"}).status_code == 200
    before = rows(j)

    again = reorder(client, headers, hh, {"mode": "standard"})

    assert again.status_code == 200, again.text
    assert again.json()["filing_id"] is None and again.json()["changes"] == []
    assert [m["addressee_number"] for m in again.json()["members"]] == [
        n["太郎"],
        n["花子"],
        n["一郎"],
        n["桜"],
    ]
    assert rows(j) == before
    assert [e.detail for e in log_rows(j, "filing:member-order")][-1] == "unchanged"


def test_a_new_member_still_joins_at_the_end_and_a_reorder_places_them(client, headers):
    hh, n = out_of_order_family(client, headers)
    assert reorder(client, headers, hh, {"mode": "standard"}).status_code == 200
    # an elder son moves back in: he joins at the end, as the standard allows
    son = f.person("子", given_name="健", given_name_kana="ケン", birth_date="2005-05-05")
    joined = client.post(
        "/api/v1/filings/move-in",
        json=f.move_in(
            [son], household={"household_number": hh}, filed_on="2025-06-25", changed_on="2025-06-24"
        ),
        headers=headers("clerk"),
    )
    assert joined.status_code == 201, joined.text
    ken = joined.json()["changes"][0]["addressee_number"]
    members = household(client, headers, hh)["members"]
    assert members[-1]["addressee_number"] == ken and members[-1]["position"] == 5

    # re-sorting puts him with the children, by birth date (the eldest)
    res = reorder(client, headers, hh, {"mode": "standard"})
    assert res.status_code == 200, res.text
    assert [m["addressee_number"] for m in res.json()["members"]] == [
        n["太郎"],
        n["花子"],
        ken,
        n["一郎"],
        n["桜"],
    ]
    assert order_of(client, headers, hh) == [n["太郎"], n["花子"], ken, n["一郎"], n["桜"]]


def test_a_filing_dated_before_the_reorder_is_still_accepted(client, headers):
    hh, n = out_of_order_family(client, headers)
    assert reorder(client, headers, hh, {"mode": "standard"}).status_code == 200
    died = client.post(
        "/api/v1/filings/death",
        json={"filed_on": "2025-06-30", "died_on": "2025-06-20", "addressee_number": n["桜"]},
        headers=headers("clerk"),
    )
    assert died.status_code == 201, died.text
    assert order_of(client, headers, hh) == [n["太郎"], n["花子"], n["一郎"]]


# --- the clerk's own order ------------------------------------------------------------------------------------


def test_a_manual_order_is_stored_and_only_the_moved_members_change(client, headers):
    hh, n = out_of_order_family(client, headers)
    wanted = [n["太郎"], n["桜"], n["一郎"], n["花子"]]  # 桜 stays second; the others move
    version = household(client, headers, hh)["version"]

    res = reorder(client, headers, hh, {"mode": "manual", "addressee_numbers": wanted, "version": version})

    assert res.status_code == 200, res.text
    assert [m["addressee_number"] for m in res.json()["members"]] == wanted
    assert {c["addressee_number"] for c in res.json()["changes"]} == {n["一郎"], n["花子"]}
    assert order_of(client, headers, hh) == wanted
    assert [v["change_reason"] for v in history(client, headers, n["桜"])] == ["転入"]


def test_a_reorder_can_be_cancelled_like_any_filing(client, headers):
    hh, n = out_of_order_family(client, headers)
    done = reorder(client, headers, hh, {"mode": "standard"}).json()
    res = client.post(
        f"/api/v1/filings/{done['filing_id']}/cancel",
        json={"filed_on": "2025-06-30", "reason": "並べ替えの誤り"},
        headers=headers("supervisor"),
    )
    assert res.status_code == 201, res.text
    assert order_of(client, headers, hh) == [n["太郎"], n["桜"], n["花子"], n["一郎"]]
    # undoing an order is itself a change of order: no 取消（修正） in the person's 異動履歴
    assert history(client, headers, n["桜"])[-1]["change_reason"] == REASON


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils is not installed")
def test_a_reorder_is_not_printed_as_history(client, headers):
    hh, n = out_of_order_family(client, headers)
    reorder(client, headers, hh, {"mode": "standard"})
    assert history(client, headers, n["桜"])[-1]["change_reason"] == REASON  # kept in the record's history
    res = client.post(
        "/api/v1/certificates",
        json={
            "kind": "residence_certificate",
            "addressee_numbers": [n["桜"]],
            "include": {"history": True},
            "requester": {"type": "household_member", "name": "山田 太郎", "addressee_number": n["太郎"]},
            "purpose": "手続のため",
        },
        headers=headers("clerk"),
    )
    assert res.status_code == 201, res.text
    text = subprocess.run(["pdftotext", "-", "-"], input=res.content, capture_output=True, check=True).stdout
    printed = text.decode("utf-8")
    assert "転入" in printed and REASON not in printed and "記載順位" not in printed


# --- the certificate prints the stored order -------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils is not installed")
def test_the_household_certificate_prints_the_members_in_the_new_order(client, headers):
    hh, n = out_of_order_family(client, headers)

    def printed() -> list[str]:
        res = client.post(
            "/api/v1/certificates",
            json={
                "kind": "residence_certificate",
                "household_number": hh,
                "include": {},
                "requester": {"type": "self", "name": "山田 太郎", "addressee_number": n["太郎"]},
                "purpose": "年金の手続のため",
            },
            headers=headers("clerk"),
        )
        assert res.status_code == 201, res.text
        done = subprocess.run(
            ["pdftotext", "-layout", "-", "-"], input=res.content, capture_output=True, check=True
        )
        text = re.sub(r"[ \u3000]+", " ", done.stdout.decode("utf-8"))
        found = {name: text.find(f"山田 {name}") for name in n}
        assert all(at >= 0 for at in found.values()), text
        return sorted(found, key=lambda name: found[name])

    assert printed() == ["太郎", "桜", "花子", "一郎"]
    assert reorder(client, headers, hh, {"mode": "standard"}).status_code == 200
    assert printed() == ["太郎", "花子", "一郎", "桜"]
    wanted = [n["太郎"], n["桜"], n["一郎"], n["花子"]]
    assert reorder(client, headers, hh, {"mode": "manual", "addressee_numbers": wanted}).status_code == 200
    assert printed() == ["太郎", "桜", "一郎", "花子"]


# --- bad input: a stable code, nothing written ------------------------------------------------------------------


def _bad_bodies(n: dict[str, str]) -> list[tuple[str, dict[str, Any], int, str, str | None]]:
    stranger = make_addressee_number(987654)
    full = [n["太郎"], n["花子"], n["一郎"], n["桜"]]
    return [
        ("member left out", {"mode": "manual", "addressee_numbers": full[:3]}, 422, "invalid_field", "addressee_numbers"),
        ("member twice", {"mode": "manual", "addressee_numbers": [*full, full[1]]}, 422, "invalid_field", "addressee_numbers.4"),
        ("not of the household", {"mode": "manual", "addressee_numbers": [*full[:3], stranger]}, 422, "invalid_field", "addressee_numbers.3"),
        ("householder not first", {"mode": "manual", "addressee_numbers": [full[1], full[0], *full[2:]]}, 422, "invalid_field", "addressee_numbers.0"),
        ("bad check digit", {"mode": "manual", "addressee_numbers": [*full[:3], full[3][:-1] + str((int(full[3][-1]) + 1) % 10)]}, 422, "invalid_field", "addressee_numbers.3"),
        ("empty manual list", {"mode": "manual", "addressee_numbers": []}, 422, "invalid_field", "addressee_numbers"),
        ("manual without list", {"mode": "manual"}, 422, "invalid_field", "addressee_numbers"),
        ("standard with a list", {"mode": "standard", "addressee_numbers": full}, 422, "invalid_field", "addressee_numbers"),
        ("unknown mode", {"mode": "alphabetical"}, 422, "invalid_field", "mode"),
        ("no mode", {}, 422, "invalid_field", "mode"),
        ("extra field", {"mode": "standard", "position": 1}, 422, "invalid_field", "position"),
        ("number not a string", {"mode": "manual", "addressee_numbers": [1, 2, 3, 4]}, 422, "invalid_field", None),
        ("version not a number", {"mode": "standard", "version": "1"}, 422, "invalid_field", "version"),
        ("stale version", {"mode": "standard", "version": 1}, 409, "conflict", "version"),
    ]  # fmt: skip


def test_bad_input_is_refused_with_a_stable_code_and_changes_nothing(client, headers, j):
    hh, n = out_of_order_family(client, headers)
    client.post(  # the household's version moves on: a caller holding version 1 is out of date
        "/api/v1/filings/move-within",
        json={"filed_on": "2025-06-20", "changed_on": "2025-06-15", "household_number": hh,
              "addressee_numbers": list(n.values()), "address": {"address": NEW_ADDRESS}},
        headers=headers("clerk"),
    )  # fmt: skip
    assert household(client, headers, hh)["version"] > 1
    before = rows(j)
    for name, body, status, code, field in _bad_bodies(n):
        res = reorder(client, headers, hh, body)
        problem(res, status, code, field)
        assert rows(j) == before, name
    assert order_of(client, headers, hh) == [n["太郎"], n["桜"], n["花子"], n["一郎"]]
    # and the same household still takes a good request
    assert reorder(client, headers, hh, {"mode": "standard"}).status_code == 200


def test_an_unknown_or_malformed_household_is_refused(client, headers, j):
    before = rows(j)
    problem(reorder(client, headers, make_household_number(777777), {"mode": "standard"}), 404, "not_found")
    problem(reorder(client, headers, "12345", {"mode": "standard"}), 422, "invalid_field", "household_number")
    assert rows(j) == before


def test_a_household_whose_members_all_left_is_not_found(client, headers):
    res = client.post("/api/v1/filings/move-in", json=f.move_in([f.person()]), headers=headers("clerk"))
    hh, number = res.json()["household_number"], res.json()["changes"][0]["addressee_number"]
    gone = client.post(
        "/api/v1/filings/death",
        json={"filed_on": "2025-06-30", "died_on": "2025-06-29", "addressee_number": number},
        headers=headers("clerk"),
    )
    assert gone.status_code == 201, gone.text
    problem(reorder(client, headers, hh, {"mode": "standard"}), 404, "not_found")


# --- permission, holds, 支援措置 ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["auditor", "admin", "department"])
def test_roles_that_do_not_file_may_not_reorder(client, headers, j, role):
    hh, _ = out_of_order_family(client, headers)
    before = rows(j)
    problem(reorder(client, headers, hh, {"mode": "standard"}, role=role), 403, "forbidden")
    assert rows(j) == before


def test_a_blocking_hold_on_a_member_who_would_move_refuses_the_reorder(client, headers, j):
    hh, n = out_of_order_family(client, headers)
    _protect(client, headers, n["花子"], kind="hold", operations=["filing"], reason="実態調査中")
    before = rows(j)
    problem(reorder(client, headers, hh, {"mode": "standard"}), 403, "protected_record")
    assert rows(j) == before
    [entry] = log_rows(j, "filing:member-order")
    assert entry.result == "held" and list(entry.targets) == [n["花子"]]
    # the hold is on 花子's changes: an order that leaves her where she is (third) goes through
    wanted = [n["太郎"], n["一郎"], n["花子"], n["桜"]]
    res = reorder(client, headers, hh, {"mode": "manual", "addressee_numbers": wanted})
    assert res.status_code == 200, res.text
    assert {c["addressee_number"] for c in res.json()["changes"]} == {n["一郎"], n["桜"]}


def test_an_alert_level_hold_lets_the_reorder_through_with_a_warning(client, headers):
    hh, n = out_of_order_family(client, headers)
    _protect(
        client, headers, n["桜"], kind="hold", operations=["filing"], level="alert", reason="確認事項あり"
    )
    res = reorder(client, headers, hh, {"mode": "standard"})
    assert res.status_code == 200, res.text
    assert [w["code"] for w in res.json()["warnings"]] == ["hold"]


def test_a_household_with_a_protected_member_looks_not_found_to_a_clerk(client, headers, j):
    hh, n = out_of_order_family(client, headers)
    _protect(client, headers, n["花子"])
    before = rows(j)
    res = reorder(client, headers, hh, {"mode": "standard"})
    problem(res, 404, "not_found")
    assert "花子" not in res.text and n["花子"] not in res.text
    assert rows(j) == before
    assert log_rows(j, "filing:member-order")[-1].result == "hidden"
