"""特例転出, 特例転入, 転入通知受理 and 軽微な修正 over HTTP, on SQLite and PostgreSQL: each refusal's code, the j50
date rule, the 特例転入 period (住基法24条の2), the events' `transfer` object and the one-transaction rule."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from juki.adapters import tables as t
from juki.domain.errors import DomainError
from juki.policy.roles import CS_SYSTEM, Actor
from juki.services import card_moves, filings, outbox
from juki.services.read_models import HeldMoveOut
from tests import factories as f
from tests.card_move_fakes import CODE, NOBODY, FakeCertificates, held
from tests.conftest import STAFF

CLERK = Actor(STAFF["clerk"][0], STAFF["clerk"][1], "clerk", "test")
NEXT_CITY = {"address": "大阪府大阪市北区梅田一丁目1番1号", "municipality_code": "271276"}


def error_code(res) -> str:
    assert res.headers["content-type"].startswith("application/problem+json"), res.text
    return res.json()["errors"][0]["code"]


def counts(j) -> dict[str, int]:
    tables = (t.resident_versions, t.outbox, t.filings, t.operation_log)
    with j.engine.connect() as conn:
        return {tb.name: conn.execute(select(func.count()).select_from(tb)).scalar_one() for tb in tables}


def events(j, after: int = 0) -> list[outbox.ChangeEvent]:
    return outbox.read(j.uow, after)


def moved_out(j, planned: str = "2025-06-20", card: bool = False) -> tuple[str, str]:
    """One person moved in on 2025-06-01 and moved out (planned on `planned`): (宛名番号, 住民票コード)."""
    person = f.person(family_name="転出", family_name_kana="テンシュツ")
    done = filings.file(j.uow, CLERK, "move-in", f.move_in([person]))
    number = done.changes[0]["addressee_number"]
    body: dict[str, Any] = {
        "filed_on": "2025-06-10",
        "planned_on": planned,
        "addressee_numbers": [number],
        "destination": f.OTHER,
    }
    if card:
        body["card_move_out"] = True
    filings.file(j.uow, CLERK, "move-out", body)
    return number, person["resident_code"]


def notice(code: str, moved_in_on: str = "2025-06-18", notified_on: str = "2025-06-25") -> dict[str, str]:
    return {
        "resident_code": code,
        "moved_in_on": moved_in_on,
        "destination_address": NEXT_CITY["address"],
        "destination_city_code": NEXT_CITY["municipality_code"],
        "notified_on": notified_on,
    }


# --- 特例転出 ---------------------------------------------------------------------------------------------------


def test_a_card_move_out_is_recorded_shown_and_sent_on_with_its_transfer(client, headers, j):
    done = client.post("/api/v1/filings/move-in", json=f.move_in([f.person()]), headers=headers("clerk"))
    number = done.json()["changes"][0]["addressee_number"]
    head = max(e.position for e in events(j))
    body = {
        "filed_on": "2025-06-10",
        "planned_on": "2025-06-20",
        "addressee_numbers": [number],
        "destination": f.OTHER,
        "card_move_out": True,
    }
    res = client.post("/api/v1/filings/move-out", json=body, headers=headers("clerk"))
    assert res.status_code == 201, res.text
    page = client.get(f"/api/v1/residents/{number}", headers=headers("clerk")).json()
    assert page["move_out"]["card"] is True and page["move_out"]["confirmed"] is None
    (event,) = events(j, head)
    assert event.body["transfer"] == {
        "card": True,
        "planned_on": "2025-06-20",
        "destination_city_code": "132039",
        "destination_address": f.OTHER["address"],
    }
    assert event.body["schema_version"] == 2


def test_a_card_move_out_abroad_or_without_a_city_code_is_refused_and_writes_nothing(client, headers, j):
    done = client.post("/api/v1/filings/move-in", json=f.move_in([f.person()]), headers=headers("clerk"))
    number = done.json()["changes"][0]["addressee_number"]
    before = counts(j)
    body = {
        "filed_on": "2025-06-10",
        "planned_on": "2025-06-20",
        "addressee_numbers": [number],
        "destination": {"address": "アメリカ合衆国ニューヨーク州", "country": "アメリカ合衆国"},
        "card_move_out": True,
    }
    res = client.post("/api/v1/filings/move-out", json=body, headers=headers("clerk"))
    assert res.status_code == 422 and error_code(res) == "card_move_out_destination_required"
    after = counts(j)
    assert {k: after[k] for k in ("resident_versions", "outbox", "filings")} == {
        k: before[k] for k in ("resident_versions", "outbox", "filings")
    }


def test_no_paper_move_out_certificate_is_issued_for_a_card_move_out(client, headers, j):
    number, _ = moved_out(j, card=True)
    req = {
        "kind": "move_out_certificate",
        "include": {},
        "addressee_numbers": [number],
        "requester": {"type": "self", "name": "転出 太郎", "addressee_number": number},
        "purpose": "転入届のため",
    }
    res = client.post("/api/v1/certificates", json=req, headers=headers("clerk"))
    assert res.status_code == 409 and error_code(res) == "card_move_out_no_certificate"
    data = client.get(f"/api/v1/residents/{number}/move-out-certificate", headers=headers("clerk"))
    assert data.status_code == 409 and error_code(data) == "card_move_out_no_certificate"
    paper, _ = moved_out(j)  # a 転出 on paper keeps its 転出証明書 data
    shown = client.get(f"/api/v1/residents/{paper}/move-out-certificate", headers=headers("clerk"))
    assert shown.status_code == 200 and shown.json()["move_out"]["card"] is False


# --- 転入通知受理 -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moved_in_on", "removed_on"), [("2025-06-18", "2025-06-18"), ("2025-06-24", "2025-06-20")]
)
def test_a_paper_notice_confirms_the_move_out_in_one_transaction(client, headers, j, moved_in_on, removed_on):
    number, code = moved_out(j, planned="2025-06-20")
    head = max(e.position for e in events(j))
    headers("clerk")  # signed in before counting: the sign-in is logged too
    before = counts(j)
    res = client.post(
        "/api/v1/filings/move-out-confirmations", json=notice(code, moved_in_on), headers=headers("clerk")
    )
    assert res.status_code == 201, res.text
    filing_id = res.json()["filing_id"]
    after = counts(j)
    # one version, one filing, one outbox row and one log entry, written together
    assert {k: after[k] - before[k] for k in after} == {
        "resident_versions": 1,
        "outbox": 1,
        "filings": 1,
        "operation_log": 1,
    }
    page = client.get(f"/api/v1/residents/{number}", headers=headers("clerk")).json()
    assert page["status"] == "removed" and page["removal"]["removed_on"] == removed_on  # j50
    assert page["move_out"]["planned_on"] == "2025-06-20"  # j680: the 予定 stays
    assert page["move_out"]["destination"]["municipality_code"] == "132039"
    confirmed = page["move_out"]["confirmed"]
    assert confirmed["moved_in_on"] == moved_in_on and confirmed["notified_on"] == "2025-06-25"
    assert confirmed["destination"]["municipality_code"] == "271276"
    (event,) = events(j, head)
    assert (event.event, event.change_reason, event.filing_id) == (
        "MoveOutConfirmed",
        "転入通知受理",
        filing_id,
    )
    assert event.body["transfer"] == {
        "moved_in_on": moved_in_on,
        "removed_on": removed_on,
        "destination_city_code": "271276",
        "destination_address": NEXT_CITY["address"],
    }
    history = client.get(f"/api/v1/residents/{number}/history", headers=headers("clerk")).json()
    assert [v["change_reason"] for v in history["versions"]][-1] == "転入通知受理"


def test_the_cs_records_a_notice_and_a_repeat_is_refused_as_already_confirmed(client, headers, j):
    _, code = moved_out(j)
    sent = card_moves.MoveInNotice(code, date(2025, 6, 18), NEXT_CITY["address"], "271276", date(2025, 6, 25))
    filing_id = card_moves.confirm_move_out(j.uow, CS_SYSTEM, sent)
    assert filing_id
    headers("clerk")  # signed in before counting: the sign-in is logged too
    before = counts(j)
    again = client.post("/api/v1/filings/move-out-confirmations", json=notice(code), headers=headers("clerk"))
    assert again.status_code == 409 and error_code(again) == "move_out_already_confirmed"
    after = counts(j)
    assert after["resident_versions"] == before["resident_versions"] and after["outbox"] == before["outbox"]
    assert after["operation_log"] == before["operation_log"] + 1  # the refusal is logged, nothing else


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"resident_code": NOBODY}, 404, "move_out_not_found"),
        ({"moved_in_on": "2025-05-31"}, 422, "moved_in_before_last_address"),
        ({"moved_in_on": "2025-06-26"}, 422, "invalid_date"),  # after the 転入通知日
        ({"notified_on": "2025-07-01"}, 422, "invalid_date"),  # in the future
        ({"destination_city_code": "271277"}, 422, "invalid_field"),  # a wrong check digit
        ({"resident_code": "12345"}, 422, "invalid_resident_code"),
    ],
)
def test_a_notice_that_cannot_be_right_is_refused_with_its_code(client, headers, j, change, status, code):
    _, resident_code = moved_out(j)
    before = counts(j)
    res = client.post(
        "/api/v1/filings/move-out-confirmations",
        json={**notice(resident_code), **change},
        headers=headers("clerk"),
    )
    assert res.status_code == status and error_code(res) == code, res.text
    after = counts(j)
    assert all(after[k] == before[k] for k in ("resident_versions", "outbox", "filings"))


def test_a_person_still_here_has_no_move_out_to_confirm(client, headers, j):
    person = f.person()
    filings.file(j.uow, CLERK, "move-in", f.move_in([person]))
    res = client.post(
        "/api/v1/filings/move-out-confirmations",
        json=notice(person["resident_code"]),
        headers=headers("clerk"),
    )
    assert res.status_code == 404 and error_code(res) == "move_out_not_found"


# --- 特例転入 ---------------------------------------------------------------------------------------------------


def card_move_in(
    h: HeldMoveOut, filed_on: str = "2025-06-25", changed_on: str = "2025-06-21"
) -> dict[str, Any]:
    """The form as the counter sends it, filled from the 転出証明書情報 (no 個人番号 in it)."""
    person = {
        "family_name": h.family_name,
        "given_name": h.given_name,
        "family_name_kana": h.family_name_kana,
        "given_name_kana": h.given_name_kana,
        "birth_date": h.birth_date.isoformat(),
        "sex": card_moves.SEX[h.sex],
        "relationship": "世帯主",
        "resident_code": h.resident_code,
    }
    return f.move_in(
        [person],
        filed_on=filed_on,
        changed_on=changed_on,
        previous_address={"address": h.previous_address, "municipality_code": h.previous_city_code},
        card_move_in=True,
        moveout_certificate_id=h.certificate_id,
    )


def test_without_a_cs_the_lookup_says_no_move_out_certificates_are_held(client, headers, j):
    j.moveout_certificates = None
    res = client.post(
        "/api/v1/move-out-certificates/lookup",
        json={"resident_code": CODE},
        headers=headers("clerk"),
    )
    assert res.status_code == 409 and error_code(res) == "moveout_certificates_unavailable"
    filed = client.post("/api/v1/filings/move-in", json=card_move_in(held()), headers=headers("clerk"))
    assert filed.status_code == 409 and error_code(filed) == "moveout_certificates_unavailable"


def test_the_counter_finds_a_held_certificate_by_card_or_by_kana_and_birth_date(client, headers, j):
    j.moveout_certificates = FakeCertificates(held())
    by_code = client.post(
        "/api/v1/move-out-certificates/lookup",
        json={"resident_code": CODE},
        headers=headers("clerk"),
    )
    assert by_code.status_code == 200, by_code.text
    (found,) = by_code.json()["certificates"]
    assert (
        found["certificate_id"] == "MC-0001" and found["has_my_number"] is True and found["sex"] == "female"
    )
    assert "123456789018" not in by_code.text and "my_number" not in found
    by_name = client.post(
        "/api/v1/move-out-certificates/lookup",
        json={"family_name_kana": "とくれい", "birth_date": "1990-02-03"},
        headers=headers("clerk"),
    )
    assert [c["certificate_id"] for c in by_name.json()["certificates"]] == ["MC-0001"]
    nothing = client.post("/api/v1/move-out-certificates/lookup", json={}, headers=headers("clerk"))
    assert nothing.status_code == 422 and error_code(nothing) == "insufficient_search_criteria"


def test_a_card_move_in_carries_the_my_number_and_marks_the_certificate_used(client, headers, j):
    port = j.moveout_certificates = FakeCertificates(held())
    head = max((e.position for e in events(j)), default=0)
    res = client.post("/api/v1/filings/move-in", json=card_move_in(held()), headers=headers("clerk"))
    assert res.status_code == 201, res.text
    number = res.json()["changes"][0]["addressee_number"]
    assert port.used == [("MC-0001", number)]
    shown = client.get(f"/api/v1/residents/{number}?include=my_number", headers=headers("clerk")).json()
    assert shown["my_number"] == "123456789018" and shown["resident_code"] == CODE
    (event,) = events(j, head)
    assert event.body["transfer"] == {
        "card": True,
        "previous_city_code": "132039",
        "previous_address": "東京都武蔵野市吉祥寺本町一丁目1番1号",
        "moveout_certificate_id": "MC-0001",
    }
    assert event.body["has_my_number"] and event.my_number_sealed


@pytest.mark.parametrize(
    ("planned_on", "changed_on", "ok"),
    [
        (date(2025, 6, 20), "2025-06-16", True),  # 転入日 + 14 = 6/30 comes first: the last day
        (date(2025, 6, 20), "2025-06-15", False),  # 転入日 + 14 = 6/29: over
        (date(2025, 5, 31), "2025-06-28", True),  # 転出予定日 + 30 = 6/30 comes first: the last day
        (date(2025, 5, 30), "2025-06-28", False),  # 転出予定日 + 30 = 6/29: over
    ],
)
def test_the_card_move_in_period_is_the_earlier_of_two_deadlines(
    client, headers, j, planned_on, changed_on, ok
):
    h = held(planned_on=planned_on)
    port = j.moveout_certificates = FakeCertificates(h)
    before = counts(j)
    res = client.post(
        "/api/v1/filings/move-in", json=card_move_in(h, "2025-06-30", changed_on), headers=headers("clerk")
    )
    if ok:
        assert res.status_code == 201, res.text
        assert len(port.used) == 1
        return
    assert res.status_code == 422 and error_code(res) == "card_move_in_period_over", res.text
    assert port.used == []
    after = counts(j)
    assert all(after[k] == before[k] for k in ("resident_versions", "outbox", "filings"))


def test_the_confirmation_step_checks_the_period_and_the_certificate_as_the_filing_will(j):
    """確認画面 (ui_queries.preview through card_moves.preview_move_in): an out-of-period 特例転入 is refused there,
    before 登録, and one in period previews the person the certificate names."""
    h = held(planned_on=date(2025, 5, 30))
    port = FakeCertificates(h)
    with pytest.raises(DomainError) as over:
        card_moves.preview_move_in(j.uow, port, CLERK, card_move_in(h, "2025-06-30", "2025-06-28"))
    assert over.value.code == "card_move_in_period_over"
    with pytest.raises(DomainError) as unknown:
        card_moves.preview_move_in(
            j.uow, port, CLERK, {**card_move_in(h), "moveout_certificate_id": "no-such-certificate"}
        )
    assert unknown.value.code == "moveout_certificate_not_found"
    shown = card_moves.preview_move_in(j.uow, port, CLERK, card_move_in(h, "2025-06-25", "2025-06-21"))
    [change] = shown["changes"]
    assert change["after"]["resident_code"] == h.resident_code and port.used == []


def test_a_card_move_in_of_someone_already_resident_is_refused(client, headers, j):
    h = held()
    j.moveout_certificates = FakeCertificates(h)
    first = client.post("/api/v1/filings/move-in", json=card_move_in(h), headers=headers("clerk"))
    assert first.status_code == 201, first.text
    again = client.post("/api/v1/filings/move-in", json=card_move_in(h), headers=headers("clerk"))
    assert again.status_code == 409 and error_code(again) in ("already_resident", "duplicate_resident_code")


def test_a_card_move_in_with_an_unknown_certificate_is_refused(client, headers, j):
    j.moveout_certificates = FakeCertificates(held())
    body = {**card_move_in(held()), "moveout_certificate_id": "MC-9999"}
    res = client.post("/api/v1/filings/move-in", json=body, headers=headers("clerk"))
    assert res.status_code == 404 and error_code(res) == "moveout_certificate_not_found"


def test_a_person_protected_by_the_previous_city_arrives_under_a_provisional_measure(client, headers, j):
    h = held(provisional_protection=True)
    j.moveout_certificates = FakeCertificates(h)
    res = client.post("/api/v1/filings/move-in", json=card_move_in(h), headers=headers("clerk"))
    assert res.status_code == 201, res.text
    number = res.json()["changes"][0]["addressee_number"]
    assert "provisional_protection_set" in [w["code"] for w in res.json()["warnings"]]
    with j.engine.connect() as conn:
        rows = conn.execute(select(t.protection_measures)).all()
    (measure,) = [r for r in rows if r.subject == number]
    assert measure.provisional and measure.kind == "support" and measure.state == "active"
    changed = [e for e in events(j) if e.event == "ProtectionChanged" and e.addressee_number == number]
    assert changed and changed[0].body["provisional"] is True
    # the clerk no longer sees the person: the measure is in force
    hidden = client.get(f"/api/v1/residents/{number}", headers=headers("clerk"))
    assert hidden.status_code == 404


# --- 軽微な修正 -------------------------------------------------------------------------------------------------


def correction(number: str, **items: Any) -> dict[str, Any]:
    return {
        "filed_on": "2025-06-20",
        "changed_on": "2025-06-20",
        "reason": "住基ネット統一文字への表記の修正",
        "addressee_number": number,
        "corrections": items,
        "change_reason": "軽微な修正",
    }


def test_a_minor_correction_of_a_name_is_approved_and_recorded_as_such(client, headers, j):
    done = filings.file(j.uow, CLERK, "move-in", f.move_in([f.person()]))
    number = done.changes[0]["addressee_number"]
    entered = client.post(
        "/api/v1/filings/ex-officio-correction",
        json=correction(number, family_name="山﨑"),
        headers=headers("clerk"),
    )
    assert entered.status_code == 202, entered.text
    approved = client.post(
        f"/api/v1/approvals/{entered.json()['filing_id']}/approve", headers=headers("supervisor")
    )
    assert approved.status_code == 201, approved.text
    assert approved.json()["changes"][0]["change_reason"] == "軽微な修正"
    last = events(j)[-1]
    assert last.event == "MinorCorrectionRecorded" and last.body["transfer"] is None


@pytest.mark.parametrize("items", [{"birth_date": "1980-04-02"}, {"sex": "female"}, {"relationship": "妻"}])
def test_a_minor_correction_of_anything_else_is_refused_at_entry(client, headers, j, items):
    done = filings.file(j.uow, CLERK, "move-in", f.move_in([f.person()]))
    number = done.changes[0]["addressee_number"]
    res = client.post(
        "/api/v1/filings/ex-officio-correction", json=correction(number, **items), headers=headers("clerk")
    )
    assert res.status_code == 422 and error_code(res) == "minor_correction_not_allowed"
    assert res.json()["errors"][0]["field"] == "corrections." + next(iter(items))
