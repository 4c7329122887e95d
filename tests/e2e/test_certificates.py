"""Certificates over HTTP: the PDF, its 発行番号, 住基法第12条, 支援措置, the issuance record, the log,
and the public verification that shows no personal data."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from juki.adapters import tables as t
from juki.domain.identifiers import make_addressee_number
from juki.policy.roles import Actor
from juki.services import filings
from tests import factories as f
from tests.conftest import STAFF

CLERK = Actor(STAFF["clerk"][0], STAFF["clerk"][1], "clerk", "test")
SUPER = Actor(STAFF["supervisor"][0], STAFF["supervisor"][1], "supervisor", "test", procedure="protection")
NUMBER = re.compile(r"\d{8}-\d{6}")
needs_poppler = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils is not installed")


def pdf_text(pdf: bytes) -> str:
    """The PDF's text as a reader copies it (kept in memory: a file with a My Number would be a leak at rest)."""
    done = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True)
    return re.sub(r"[ \u3000]+", " ", done.stdout.decode("utf-8"))


def pages_of(pdf: bytes) -> list[str]:
    return pdf_text(pdf).split("\f")[:-1]


@pytest.fixture
def family(j):
    people = f.family_of_four()
    first = filings.file(j.uow, CLERK, "move-in", f.move_in(people))
    numbers = [c["addressee_number"] for c in first.changes]
    return people, numbers, first.household_number


def body(household: str | None = None, numbers: list[str] | None = None, **over):
    b = {
        "kind": "residence_certificate",
        "include": {},
        "requester": {
            "type": "self",
            "name": "山田 太郎",
            "addressee_number": over.pop("requester_number", ""),
        },
        "purpose": "年金の手続のため",
    }
    if household:
        b["household_number"] = household
    if numbers:
        b["addressee_numbers"] = numbers
    b.update(over)
    return b


def log_rows(j, action: str):
    with j.engine.connect() as conn:
        q = select(t.operation_log).where(t.operation_log.c.action == action).order_by(t.operation_log.c.seq)
        return list(conn.execute(q).all())


def issuances(j):
    with j.engine.connect() as conn:
        q = select(t.certificate_issuances).order_by(t.certificate_issuances.c.issuance_number)
        return list(conn.execute(q).all())


@needs_poppler
def test_a_household_certificate_is_a_pdf_with_its_number_on_every_page_and_verifies(
    client, headers, j, family
):
    people, numbers, household = family
    res = client.post(
        "/api/v1/certificates",
        json=body(household, requester_number=numbers[0], include={"householder_and_relationship": True}),
        headers=headers("clerk"),
    )
    assert res.status_code == 201, res.text
    assert res.headers["content-type"] == "application/pdf"
    assert res.content.startswith(b"%PDF-")
    number = res.headers["x-issuance-number"]
    assert NUMBER.fullmatch(number) and number.startswith("20250630-")
    assert res.headers["x-content-sha256"] == hashlib.sha256(res.content).hexdigest()
    assert res.headers["x-issuance-fee"] == "300"
    content = pdf_text(res.content)
    for name in ("山田 太郎", "山田 花子", "山田 一郎", "山田 桜"):
        assert name in content
    assert "世帯主" in content and "妻" in content  # asked for
    assert "この写しは、世帯全員の住民票の原本と相違ないことを証明する。" in content
    assert "令和7年6月30日" in content and "東京都小平市長" in content
    for p in people:  # neither number was asked for
        assert p["my_number"] not in content and p["resident_code"] not in content
    pages = pages_of(res.content)
    assert pages and all(number in page for page in pages)

    check = client.get(f"/verify/{number}")  # no sign-in
    assert check.status_code == 200, check.text
    answer = check.json()
    assert answer["issuance_number"] == number and answer["kind"] == "residence_certificate"
    assert answer["sha256"] == hashlib.sha256(res.content).hexdigest()
    assert answer["issued_at"] and answer["disposed"] is False
    for personal in ("山田", *numbers, household):  # nothing about the persons
        assert personal not in check.text
    digest = hashlib.sha256(res.content).hexdigest()
    assert client.get(f"/verify/{number}?sha256={digest}").json()["matches"] is True
    assert client.get(f"/verify/{number}?sha256={'0' * 64}").json()["matches"] is False
    # Sent as a stream: the leak check remembers twelve-digit runs of a bytes body as numbers a test made, and a
    # PDF's binary parts (the same embedded font subset) recur in every later PDF.
    sent = client.post(
        f"/verify/{number}", content=iter([res.content]), headers={"content-type": "application/pdf"}
    )
    assert sent.status_code == 200 and sent.json()["matches"] is True
    forged = client.post(f"/verify/{number}", content=iter([res.content + b"\n% edited"]))
    assert forged.json()["matches"] is False


def test_an_unknown_or_malformed_issuance_number_is_not_found(client):
    for number in ("20250630-999999", "x", "../etc"):
        res = client.get(f"/verify/{number}")
        assert res.status_code == 404
        assert res.json()["errors"][0]["code"] == "not_found"


def test_issuance_numbers_are_sequential_per_day_and_each_copy_has_its_own(client, headers, j, family):
    _, numbers, household = family
    first = client.post(
        "/api/v1/certificates", json=body(household, requester_number=numbers[0]), headers=headers("clerk")
    )
    two = client.post(
        "/api/v1/certificates",
        json=body(household, requester_number=numbers[0], copies=2),
        headers=headers("clerk"),
    )
    assert two.status_code == 201, two.text
    a = first.headers["x-issuance-number"]
    copies = two.headers["x-issuance-numbers"].split(",")
    assert a == "20250630-000001" and copies == ["20250630-000002", "20250630-000003"]
    assert two.headers["x-issuance-fee"] == "600"
    rows = issuances(j)
    assert [r.copy_no for r in rows] == [1, 1, 2] and {r.copies for r in rows[1:]} == {2}
    assert {r.sha256 for r in rows[1:]} == {hashlib.sha256(two.content).hexdigest()}
    for n in copies:
        assert client.get(f"/verify/{n}").json()["copy"]["of"] == 2


def test_the_issuance_is_recorded_and_logged_without_personal_data(client, headers, j, family):
    _, numbers, household = family
    res = client.post(
        "/api/v1/certificates",
        json=body(
            household,
            requester_number=numbers[0],
            include={"honseki": True, "resident_code": True},
            identity_check={"document": "運転免許証"},
        ),
        headers={**headers("clerk"), "X-Juki-Terminal": "counter-3"},
    )
    assert res.status_code == 201, res.text
    (row,) = issuances(j)
    assert row.issuance_number == res.headers["x-issuance-number"]
    assert row.kind == "residence_certificate" and row.layout == "household"
    assert row.addressee_numbers == numbers and row.household_number == household
    assert {"honseki", "resident_code", "name", "address"} <= set(row.items)
    assert "my_number" not in row.items and row.my_number_printed is False
    assert (row.terminal, row.staff_id, row.requester_type) == ("counter-3", "clerk1", "self")
    assert row.identity_document == "運転免許証" and row.fee == 300 and row.channel == "counter"
    assert row.sha256 == hashlib.sha256(res.content).hexdigest()
    assert row.requester_addressee_number == numbers[0]
    (entry,) = log_rows(j, "certificate:issue")
    assert entry.result == "ok" and entry.my_number_shown is False and list(entry.targets) == numbers
    assert (
        row.issuance_number in entry.detail
        and "fee=300" in entry.detail
        and "terminal=counter-3" in entry.detail
    )
    assert "resident_code" in entry.detail


def test_issuance_records_are_append_only(client, headers, j, family):
    _, numbers, household = family
    res = client.post(
        "/api/v1/certificates", json=body(household, requester_number=numbers[0]), headers=headers("clerk")
    )
    number = res.headers["x-issuance-number"]
    refused = client.post(
        f"/api/v1/certificates/{number}/disposal", json={"reason": "記載誤り"}, headers=headers("clerk")
    )
    assert refused.status_code == 403  # taking a certificate back is the supervisor's decision
    done = client.post(
        f"/api/v1/certificates/{number}/disposal", json={"reason": "記載誤り"}, headers=headers("supervisor")
    )
    assert done.status_code == 201
    for statement in (
        "UPDATE certificate_issuances SET purpose = 'x'",
        "DELETE FROM certificate_issuances",
        "UPDATE certificate_disposals SET reason = 'x'",
        "DELETE FROM certificate_disposals",
    ):
        with pytest.raises(DBAPIError, match="append-only"), j.engine.begin() as conn:
            conn.execute(text(statement))
    assert len(issuances(j)) == 1


# --- 住基法第12条: who may have which items ----------------------------------------------------------------------


@needs_poppler
def test_a_my_number_is_printed_for_the_person_who_asks_and_logged(client, headers, j, family):
    people, numbers, _household = family
    res = client.post(
        "/api/v1/certificates",
        json=body(
            numbers=[numbers[0]],
            requester_number=numbers[0],
            include={"my_number": True, "resident_code": True},
        ),
        headers=headers("clerk"),
    )
    assert res.status_code == 201, res.text
    content = pdf_text(res.content)
    assert people[0]["my_number"] in content and people[0]["resident_code"] in content
    assert people[1]["my_number"] not in content  # only the persons on it
    (entry,) = log_rows(j, "certificate:issue")
    assert entry.my_number_shown is True and people[0]["my_number"] not in entry.detail
    assert issuances(j)[0].my_number_printed is True


@pytest.mark.parametrize(
    ("requester", "item"),
    [
        ({"type": "third_party", "name": "債権者 株式会社", "reason": "債権回収のため"}, "my_number"),
        ({"type": "third_party", "name": "債権者 株式会社", "reason": "債権回収のため"}, "resident_code"),
        ({"type": "official", "name": "東京都福祉局", "reason": "生活保護法第29条"}, "my_number"),
        ({"type": "official", "name": "東京都福祉局", "reason": "生活保護法第29条"}, "resident_code"),
        ("agent", "my_number"),
        ("agent", "resident_code"),
    ],
)
def test_the_two_numbers_are_refused_to_anyone_but_the_person_or_household(
    client, headers, j, family, requester, item
):
    _people, numbers, household = family
    if requester == "agent":
        requester = {"type": "agent", "name": "代理 人", "addressee_number": numbers[0]}
    payload = body(household, include={item: True}, requester=requester)
    payload["identity_check"] = {"document": "運転免許証", "authority_document": "委任状"}
    res = client.post("/api/v1/certificates", json=payload, headers=headers("clerk"))
    assert res.status_code == 403, res.text
    assert res.json()["errors"][0]["code"] == "forbidden"
    assert not issuances(j)
    (entry,) = log_rows(j, "certificate:issue")
    assert entry.result == "denied" and entry.my_number_shown is False


def test_a_procedure_without_my_numbers_cannot_print_one(client, headers, j, family):
    _, numbers, household = family
    res = client.post(
        "/api/v1/certificates",
        json=body(household, requester_number=numbers[0], include={"my_number": True}),
        headers={**headers("clerk"), "X-Juki-Procedure": "resident_inquiry"},
    )
    assert res.status_code == 403 and res.json()["errors"][0]["code"] == "forbidden"
    assert not issuances(j)


@needs_poppler
def test_a_third_party_with_a_reason_gets_the_record_without_the_numbers(client, headers, j, family):
    people, numbers, _ = family
    payload = body(
        numbers=[numbers[1]],
        requester={"type": "third_party", "name": "弁護士 甲野", "reason": "相続手続の相手方の住所確認"},
        include={"householder_and_relationship": True, "honseki": True},
    )
    res = client.post("/api/v1/certificates", json=payload, headers=headers("clerk"))
    assert res.status_code == 201, res.text
    content = pdf_text(res.content)
    assert "山田 花子" in content and "山田 太郎" not in content.split("世帯主")[0]
    assert people[1]["my_number"] not in content and people[1]["resident_code"] not in content
    assert "世帯全員" not in content  # one member: not the whole household


@pytest.mark.parametrize(
    ("requester", "field"),
    [
        ({"type": "third_party", "name": "債権者"}, "requester.reason"),
        ({"type": "official", "name": "東京都"}, "requester.reason"),
        (
            {"type": "agent", "name": "代理 人", "addressee_number": "0000000000"},
            "requester.addressee_number",
        ),
        ({"type": "self", "name": "山田 太郎"}, "requester.addressee_number"),
        ({"type": "neighbour", "name": "隣人"}, "requester.type"),
    ],
)
def test_requests_missing_what_the_law_asks_are_invalid(client, headers, family, requester, field):
    _, _, household = family
    res = client.post(
        "/api/v1/certificates", json=body(household, requester=requester), headers=headers("clerk")
    )
    assert res.status_code == 422, res.text
    assert res.json()["errors"][0]["code"] in ("invalid_field", "not_found")


def test_an_agent_needs_a_power_of_attorney(client, headers, family):
    _, numbers, household = family
    payload = body(household, requester={"type": "agent", "name": "代理 人", "addressee_number": numbers[0]})
    res = client.post("/api/v1/certificates", json=payload, headers=headers("clerk"))
    assert res.status_code == 422
    assert res.json()["errors"][0]["field"] == "identity_check.authority_document"
    payload["identity_check"] = {"document": "運転免許証", "authority_document": "委任状"}
    assert client.post("/api/v1/certificates", json=payload, headers=headers("clerk")).status_code == 201


def test_self_and_household_requesters_must_be_of_the_household(client, headers, j, family):
    _, numbers, household = family
    other = filings.file(
        j.uow, CLERK, "move-in", f.move_in([f.person(family_name="鈴木", family_name_kana="スズキ")])
    )
    stranger = other.changes[0]["addressee_number"]
    as_member = body(
        household, requester={"type": "household_member", "name": "鈴木 太郎", "addressee_number": stranger}
    )
    res = client.post("/api/v1/certificates", json=as_member, headers=headers("clerk"))
    assert res.status_code == 403 and res.json()["errors"][0]["code"] == "forbidden"
    wrong_name = body(
        household, requester={"type": "self", "name": "山田 次郎", "addressee_number": numbers[0]}
    )
    assert client.post("/api/v1/certificates", json=wrong_name, headers=headers("clerk")).status_code == 403
    member = body(
        household, requester={"type": "household_member", "name": "山田 花子", "addressee_number": numbers[1]}
    )
    assert client.post("/api/v1/certificates", json=member, headers=headers("clerk")).status_code == 201
    assert [r.result for r in log_rows(j, "certificate:issue")] == ["denied", "denied", "ok"]


def test_a_protected_person_is_refused_to_a_third_party_and_issued_to_the_person(client, headers, j, family):
    from juki.services import protection

    _, numbers, _household = family
    protection.set_measure(j.uow, SUPER, f.support_measure(numbers[1]))
    third = body(
        numbers=[numbers[1]], requester={"type": "third_party", "name": "甲野", "reason": "訴訟の提起のため"}
    )
    res = client.post("/api/v1/certificates", json=third, headers=headers("clerk"))
    assert res.status_code == 403, res.text
    assert res.json()["errors"][0]["code"] == "protected_record"
    assert not issuances(j)
    own = body(
        numbers=[numbers[1]], requester={"type": "self", "name": "山田 花子", "addressee_number": numbers[1]}
    )
    assert client.post("/api/v1/certificates", json=own, headers=headers("clerk")).status_code == 201


# --- kinds, removed records, history -----------------------------------------------------------------------------


def _move_out(j, number: str, planned: str = "2025-06-25") -> None:
    filings.file(
        j.uow,
        CLERK,
        "move-out",
        {
            "filed_on": "2025-06-20",
            "planned_on": planned,
            "addressee_numbers": [number],
            "destination": f.OTHER,
        },
    )


@needs_poppler
def test_a_removed_record_and_a_move_out_certificate_of_someone_who_left(client, headers, j, family):
    _, numbers, household = family
    _move_out(j, numbers[3])
    req = {"type": "household_member", "name": "山田 太郎", "addressee_number": numbers[0]}
    current = client.post(
        "/api/v1/certificates", json=body(numbers=[numbers[3]], requester=req), headers=headers("clerk")
    )
    assert current.status_code == 409 and current.json()["errors"][0]["code"] == "not_resident"
    removed = client.post(
        "/api/v1/certificates",
        json=body(numbers=[numbers[3]], requester=req, kind="removed_record_certificate"),
        headers=headers("clerk"),
    )
    assert removed.status_code == 201, removed.text
    content = pdf_text(removed.content)
    assert "除" in content and "転出" in content and "武蔵野市" in content
    assert "除票の原本と相違ない" in content
    moved = client.post(
        "/api/v1/certificates",
        json=body(numbers=[numbers[3]], requester=req, kind="move_out_certificate"),
        headers=headers("clerk"),
    )
    assert moved.status_code == 201, moved.text
    assert moved.headers["x-issuance-fee"] == "0"
    content = pdf_text(moved.content)
    assert "転出予定年月日" in content and "令和7年6月25日" in content and "武蔵野市" in content
    # The household's own certificate no longer lists her.
    hh = client.post("/api/v1/certificates", json=body(household, requester=req), headers=headers("clerk"))
    assert "山田 桜" not in pdf_text(hh.content)


@needs_poppler
def test_before_the_planned_date_a_leaver_is_still_on_the_household_certificate(client, headers, j, family):
    _, numbers, household = family
    _move_out(j, numbers[3], planned="2025-07-10")  # after "today" (2025-06-30)
    req = {"type": "self", "name": "山田 太郎", "addressee_number": numbers[0]}
    res = client.post("/api/v1/certificates", json=body(household, requester=req), headers=headers("clerk"))
    content = pdf_text(res.content)
    assert "山田 桜" in content and "武蔵野市吉祥寺本町一丁目1番1号" in content  # 従前の住所 only
    assert "転出" not in content  # the items the 転出届 recorded are left out (j1000)
    removed = client.post(
        "/api/v1/certificates",
        json=body(numbers=[numbers[3]], requester=req, kind="removed_record_certificate"),
        headers=headers("clerk"),
    )
    assert removed.status_code == 422  # no 除票 yet


@needs_poppler
def test_history_is_printed_only_when_asked(client, headers, j, family):
    _, numbers, household = family
    filings.file(
        j.uow,
        CLERK,
        "move-within",
        {
            "filed_on": "2025-06-20",
            "changed_on": "2025-06-15",
            "household_number": household,
            "addressee_numbers": numbers,
            "address": {"address": "東京都小平市花小金井南町三丁目5番12号"},
        },
    )
    req = {"type": "self", "name": "山田 太郎", "addressee_number": numbers[0]}
    plain = pdf_text(
        client.post(
            "/api/v1/certificates", json=body(household, requester=req), headers=headers("clerk")
        ).content
    )
    assert "異動履歴" not in plain and "転居" not in plain
    full = pdf_text(
        client.post(
            "/api/v1/certificates",
            json=body(household, requester=req, include={"history": True}),
            headers=headers("clerk"),
        ).content
    )
    assert "異動履歴" in full and "転居" in full and "転入" in full


@needs_poppler
def test_an_entry_certificate_certifies_the_chosen_items(client, headers, family):
    _, numbers, _ = family
    req = {"type": "self", "name": "山田 太郎", "addressee_number": numbers[0]}
    res = client.post(
        "/api/v1/certificates",
        json=body(numbers=[numbers[0]], requester=req, kind="entry_certificate", items=["name", "address"]),
        headers=headers("clerk"),
    )
    assert res.status_code == 201, res.text
    content = pdf_text(res.content)
    assert (
        "住民票記載事項証明書" in content
        and "上記の事項は、住民票に記載されていることを証明する。" in content
    )
    assert "山田 太郎" in content and "小川町" in content and "昭和55年" not in content


@needs_poppler
def test_a_public_body_gets_a_free_certificate_marked_official(client, headers, family):
    _, _numbers, household = family
    res = client.post(
        "/api/v1/certificates",
        json=body(
            household, requester={"type": "official", "name": "東京都福祉局", "reason": "生活保護法第29条"}
        ),
        headers=headers("clerk"),
    )
    assert res.status_code == 201 and res.headers["x-issuance-fee"] == "0"
    assert "公用" in pdf_text(res.content)


@needs_poppler
def test_five_persons_take_two_pages_with_the_statement_on_the_last_only(client, headers, j, family):
    _, numbers, household = family
    filings.file(
        j.uow,
        CLERK,
        "birth",
        {
            "filed_on": "2025-06-12",
            "birth_date": "2025-06-10",
            "household_number": household,
            "person": {
                k: v
                for k, v in f.person("子", given_name="蓮", given_name_kana="レン").items()
                if k != "my_number"
            }
            | {"birth_date": "2025-06-10"},
        },
    )
    req = {"type": "self", "name": "山田 太郎", "addressee_number": numbers[0]}
    res = client.post("/api/v1/certificates", json=body(household, requester=req), headers=headers("clerk"))
    pages = pages_of(res.content)
    assert len(pages) == 2 and res.headers["x-issuance-pages"] == "2"
    number = res.headers["x-issuance-number"]
    assert all(number in p for p in pages)
    assert "1/2" in pages[0] and "2/2" in pages[1]
    assert "相違ないことを証明する" not in pages[0] and "相違ないことを証明する" in pages[1]
    assert pages[0].count("氏名") == 4 and pages[1].count("氏名") == 1


def test_issuance_records_list_and_a_disposal_shows_on_verify(client, headers, j, family):
    _, numbers, household = family
    req = {"type": "self", "name": "山田 太郎", "addressee_number": numbers[0]}
    res = client.post("/api/v1/certificates", json=body(household, requester=req), headers=headers("clerk"))
    number = res.headers["x-issuance-number"]
    listed = client.get(f"/api/v1/certificates?addressee_number={numbers[2]}", headers=headers("clerk"))
    assert listed.status_code == 200
    assert [i["issuance_number"] for i in listed.json()["issuances"]] == [number]
    done = client.post(
        f"/api/v1/certificates/{number}/disposal",
        json={"reason": "氏名の誤記"},
        headers=headers("supervisor"),
    )
    assert done.status_code == 201 and done.json()["disposal"]["staff_id"] == "super1"
    again = client.post(
        f"/api/v1/certificates/{number}/disposal", json={"reason": "重ねて"}, headers=headers("supervisor")
    )
    assert again.status_code == 409
    assert client.get(f"/verify/{number}").json()["disposed"] is True
    assert [r.result for r in log_rows(j, "certificate:dispose")] == ["ok"]


def test_the_contract_fields_only_are_enough_and_unknown_fields_are_refused(client, headers, family):
    _, numbers, household = family
    minimal = {
        "kind": "residence_certificate",
        "household_number": household,
        "requester": {"type": "self", "name": "山田 太郎", "addressee_number": numbers[0]},
        "purpose": "手続",
    }
    assert client.post("/api/v1/certificates", json=minimal, headers=headers("clerk")).status_code == 201
    res = client.post("/api/v1/certificates", json={**minimal, "colour": "red"}, headers=headers("clerk"))
    assert res.status_code == 422 and res.json()["errors"][0]["code"] == "invalid_field"
    both = {**minimal, "addressee_numbers": [numbers[0]]}
    assert client.post("/api/v1/certificates", json=both, headers=headers("clerk")).status_code == 422


def test_an_unknown_person_is_not_found(client, headers, family):
    _, _numbers, _ = family
    res = client.post(
        "/api/v1/certificates",
        json=body(
            numbers=[make_addressee_number(99999)],
            requester={"type": "third_party", "name": "甲", "reason": "訴訟"},
        ),
        headers=headers("clerk"),
    )
    assert res.status_code == 404 and res.json()["errors"][0]["code"] == "not_found"


def test_a_protected_persons_issuance_history_looks_not_found(client, headers, j, family):
    _, numbers, household = family
    res = client.post(
        "/api/v1/certificates", json=body(household, requester_number=numbers[0]), headers=headers("clerk")
    )
    assert res.status_code == 201, res.text
    listed = client.get(f"/api/v1/certificates?addressee_number={numbers[0]}", headers=headers("clerk"))
    assert listed.status_code == 200 and len(listed.json()["issuances"]) == 1
    measure = client.post(
        "/api/v1/protection-measures",
        json={"subject_kind": "person", "subject": numbers[0], "reason": "DV", "requester": "本人",
              "received_on": "2025-06-20", "starts_on": "2025-06-20"},
        headers={**headers("supervisor"), "X-Juki-Procedure": "protection"},
    )  # fmt: skip
    assert measure.status_code == 201
    hidden = client.get(f"/api/v1/certificates?addressee_number={numbers[0]}", headers=headers("clerk"))
    assert hidden.status_code == 404 and hidden.json()["errors"][0]["code"] == "not_found"


def test_a_preview_checks_everything_and_keeps_nothing(j, family):
    from sqlalchemy import func, select

    from juki.adapters import tables as t
    from juki.services import certificates

    _, numbers, household = family
    with j.engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(t.certificate_issuances)).scalar_one()
    documents = certificates.preview(
        j.uow, CLERK, body(household, requester_number=numbers[0]), j.certificate_office
    )
    assert len(documents) == 1 and documents[0].issuance_number
    with j.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.certificate_issuances)).scalar_one() == before
    issued = certificates.issue(
        j.uow, CLERK, body(household, requester_number=numbers[0]), j.certificate_office
    )
    assert issued.issuance_number == documents[0].issuance_number  # the previewed number was not used up
