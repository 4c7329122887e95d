"""証明書の発行 in the clerk UI without a browser: the form from a person's and a household's page, the dry-run
confirmation, 発行 with the PDF handed over once, 住基法第12条 and 支援措置 refused beside the fields (logged, nothing
issued), the 交付履歴 and a supervisor's 処分; CSRF and the idle lock as on every page."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator
from html import unescape
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from juki.adapters import tables as t
from juki.bootstrap import Juki
from juki.policy.roles import Actor
from juki.services import filings, protection
from juki.web.app import create_app
from tests import factories as f
from tests.e2e.role_cases.common import CLERK
from tests.ui.test_session import sign_in

BOSS = Actor("super1", "係長 花子", "supervisor", "test", procedure="protection")
FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture
def client(j: Juki) -> Iterator[TestClient]:
    with TestClient(create_app(j), follow_redirects=False) as c:
        yield c


@pytest.fixture
def family(j: Juki) -> tuple[list[str], str]:
    result = filings.file(j.uow, CLERK, "move-in", f.move_in(f.family_of_four()))
    return [c["addressee_number"] for c in result.changes], result.household_number


def _post(client: TestClient, url: str, csrf: str, values: dict[str, Any]) -> Any:
    items = [("csrf_token", csrf)]
    for k, v in values.items():
        items += [(k, x) for x in v] if isinstance(v, list) else [(k, str(v))]
    return client.post(url, content=urlencode(items), headers=FORM)


def _form_values(html: str) -> dict[str, Any]:
    """What the page's form would send as it stands (checked boxes, chosen options, typed values)."""
    values: dict[str, Any] = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if not name or name.group(1) == "csrf_token":
            continue
        kind = re.search(r'type="([^"]+)"', tag)
        if kind and kind.group(1) in ("checkbox", "radio") and not re.search(r"\schecked", tag):
            continue
        key, text = name.group(1), unescape(value.group(1)) if value else ""
        if key == "addressee_numbers":
            values.setdefault(key, []).append(text)
        else:
            values[key] = text
    for select_name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', body)
        values[select_name] = chosen.group(1) if chosen else ""
    return values


def _issuances(j: Juki) -> list[Any]:
    with j.engine.connect() as conn:
        return list(conn.execute(select(t.certificate_issuances)).all())


def _log(j: Juki, action: str) -> list[Any]:
    with j.uow() as uow:
        return [r for r in uow.queries.operation_log() if r.action == action]


def _error(html: str, slot: str) -> str:
    m = re.search(rf'id="err-f-{re.escape(slot)}"[^>]*>(.*?)</p>', html, re.S)
    assert m, f"no error slot for {slot}"
    return unescape(re.sub(r"<[^>]+>", "", m.group(1))).strip()


def _confirm_and_issue(client: TestClient, csrf: str, values: dict[str, Any]) -> Any:
    page = _post(client, "/ui/certificates/confirm", csrf, values)
    assert page.status_code == 200, page.text
    return _post(client, "/ui/certificates", csrf, _form_values(page.text))


def test_a_clerk_issues_a_household_certificate_and_gets_the_pdf_once(client, totp, j, family):
    numbers, household = family
    csrf = sign_in(client, totp)
    person = client.get(f"/ui/residents/{numbers[0]}").text
    assert f'href="/ui/certificates/new?addressee_number={numbers[0]}"' in person
    assert f'hx-get="/ui/residents/{numbers[0]}/certificates"' in person  # 交付履歴, loaded in place
    assert (
        f'href="/ui/certificates/new?household_number={household}"'
        in client.get(f"/ui/households/{household}").text
    )

    form = client.get(f"/ui/certificates/new?addressee_number={numbers[0]}")
    assert form.status_code == 200
    values = _form_values(form.text)
    assert values["kind"] == "residence_certificate" and values["layout"] == "household"
    assert values["addressee_numbers"] == numbers  # 世帯: every current member by default
    assert values["requester.type"] == "self" and values["requester.addressee_number"] == numbers[0]
    values.update(
        {
            "include.householder_and_relationship": "1",
            "requester.name": "山田　太郎",
            "identity_check.document": "運転免許証",
            "purpose": "年金の手続のため",
        }
    )
    confirm = _post(client, "/ui/certificates/confirm", csrf, values)
    assert confirm.status_code == 200, confirm.text
    text = unescape(confirm.text)
    assert "住民票の写し" in text and "世帯主・続柄" in text and "300円" in text
    assert "記載しない" in text  # no My Number
    for name in ("山田 太郎", "山田 花子", "山田 一郎", "山田 桜"):
        assert name in text
    assert "世帯全員の住民票の原本と相違ない" in text
    assert not _issuances(j)  # the dry run issued nothing
    assert [e.result for e in _log(j, "certificate:issue")] == []

    confirmed = _form_values(confirm.text)
    assert confirmed["_once"]  # the confirmation's own 発行
    issued = _post(client, "/ui/certificates", csrf, confirmed)
    assert issued.status_code == 303, issued.text
    where = issued.headers["location"]
    twice = _post(
        client, "/ui/certificates", csrf, confirmed
    )  # pressed again, or 戻る and 発行: no second one
    assert twice.status_code == 303 and twice.headers["location"] == where
    number = where.rsplit("/", 1)[-1]
    assert re.fullmatch(r"\d{8}-\d{6}", number)
    result = client.get(where)
    assert result.status_code == 200
    assert number in result.text and "300円" in result.text and f'href="/verify/{number}' in result.text
    pdf = client.get(f"{where}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["x-issuance-number"] == number
    digest = hashlib.sha256(pdf.content).hexdigest()
    assert client.get(f"/verify/{number}?sha256={digest}").json()["matches"] is True
    again = client.get(f"{where}/pdf")  # once only: nothing is issued or given again
    assert again.status_code == 410 and "すでに渡した" in unescape(again.text)
    assert "PDFは取得済み" in client.get(where).text
    rows = _issuances(j)
    assert len(rows) == 1 and rows[0].issuance_number == number and rows[0].requester_type == "self"
    assert rows[0].identity_document == "運転免許証" and rows[0].items == sorted(rows[0].items)
    assert [e.result for e in _log(j, "certificate:issue")] == ["ok"]

    listed = client.get(f"/ui/residents/{numbers[1]}/certificates", headers={"HX-Request": "true"})
    assert listed.status_code == 200 and number in listed.text and "<html" not in listed.text
    assert "処分する" not in listed.text  # the clerk records no disposal


def test_a_third_party_asking_for_the_resident_code_is_refused_beside_the_box(client, totp, j, family):
    numbers, household = family
    csrf = sign_in(client, totp)
    values = _form_values(client.get(f"/ui/certificates/new?household_number={household}").text)
    values.update(
        {
            "addressee_numbers": [numbers[0]],
            "requester.type": "third_party",
            "requester.name": "甲野 一郎",
            "requester.reason": "債権回収のため（債務者の住所確認）",
            "include.resident_code": "1",
            "purpose": "訴訟の提起",
        }
    )
    inline = _post(client, "/ui/certificates/validate", csrf, values)  # as soon as the box is ticked
    assert "住民票コード・個人番号を記載できません" in _error(inline.text, "include-resident_code")
    refused = _post(client, "/ui/certificates/confirm", csrf, values)
    assert refused.status_code == 403
    assert "第三者（第12条の3）の請求には住民票コード・個人番号を記載できません" in _error(
        refused.text, "include-resident_code"
    )
    assert "（forbidden）" in _error(refused.text, "include-resident_code")
    assert not _issuances(j)
    assert [e.result for e in _log(j, "certificate:issue")] == ["denied"]  # logged by the service
    # Without the number the same request goes through: a 第三者 pays, and no number is printed.
    values.pop("include.resident_code")
    issued = _confirm_and_issue(client, csrf, values)
    assert issued.status_code == 303
    assert _issuances(j)[0].requester_type == "third_party"


def test_each_rule_of_the_request_shows_beside_its_field(client, totp, j, family):
    numbers, _ = family
    csrf = sign_in(client, totp)
    values = _form_values(client.get(f"/ui/certificates/new?addressee_number={numbers[0]}").text)
    values.update({"requester.name": "山田 次郎", "purpose": "年金の手続のため"})
    wrong_name = _post(client, "/ui/certificates/confirm", csrf, values)
    assert "住民票の記載と一致しません" in _error(wrong_name.text, "requester-name")
    name_input = re.search(r'<input[^>]*id="f-requester-name"[^>]*>', wrong_name.text)
    assert name_input and "autofocus" in name_input.group(0)
    values.update({"requester.name": "山田 太郎", "purpose": "", "copies": "11"})
    blank = _post(client, "/ui/certificates/confirm", csrf, values)
    assert "1〜10" in _error(blank.text, "copies")
    values.update({"copies": "２", "addressee_numbers": []})  # full-width digits are numbers too
    nobody = _post(client, "/ui/certificates/confirm", csrf, values)
    assert "宛名番号を1〜50件" in _error(nobody.text, "addressee_numbers")
    values.update({"addressee_numbers": numbers[1:], "purpose": "年金の手続のため"})
    not_self = _post(client, "/ui/certificates/confirm", csrf, values)
    assert "本人の請求には本人を含めてください" in _error(not_self.text, "requester-type")
    values.update({"requester.type": "agent", "requester.name": "代理 人子"})
    agent = _post(client, "/ui/certificates/confirm", csrf, values)
    assert "委任状が必要です" in _error(agent.text, "identity_check-authority_document")
    values.update({"identity_check.authority_document": "委任状"})
    ok = _post(client, "/ui/certificates/confirm", csrf, values)
    assert ok.status_code == 200 and "600円" in ok.text and "委任状" in ok.text
    assert not _issuances(j)


def test_my_number_for_the_person_is_said_before_it_is_printed(client, totp, j, family):
    numbers, _ = family
    csrf = sign_in(client, totp)
    values = _form_values(client.get(f"/ui/certificates/new?addressee_number={numbers[0]}").text)
    values.update(
        {
            "addressee_numbers": [numbers[0]],
            "layout": "individual",
            "include.my_number": "1",
            "requester.name": "山田 太郎",
            "purpose": "勤務先への提出",
        }
    )
    confirm = _post(client, "/ui/certificates/confirm", csrf, values)
    assert confirm.status_code == 200
    assert "個人番号を記載します" in confirm.text and "記載する</strong>" in confirm.text
    issued = _post(client, "/ui/certificates", csrf, _form_values(confirm.text))
    page = client.get(issued.headers["location"]).text
    assert "記載した</strong>" in page
    assert _issuances(j)[0].my_number_printed is True


def test_a_protected_person_is_refused_to_a_third_party_and_issued_to_the_person(client, totp, j, family):
    numbers, household = family
    protection.set_measure(
        j.uow,
        BOSS,
        {
            "subject_kind": "person",
            "subject": numbers[1],
            "reason": "DV",
            "requester": "本人",
            "received_on": "2025-06-20",
            "starts_on": "2025-06-20",
        },
    )
    csrf = sign_in(client, totp)
    shown = client.get(f"/ui/certificates/new?household_number={household}")
    # to the counter the household's form offers the other members only (the protected one is left out)
    assert shown.status_code == 200 and numbers[1] not in shown.text and numbers[0] in shown.text

    csrf = sign_in(client, totp, "supervisor")
    _post(client, "/ui/procedure", csrf, {"procedure": "protection", "next": "/ui/"})
    form = client.get(f"/ui/certificates/new?addressee_number={numbers[1]}")
    assert form.status_code == 200 and "支援措置" in form.text
    values = _form_values(form.text)
    values.update(
        {
            "addressee_numbers": [numbers[1]],
            "requester.type": "third_party",
            "requester.name": "甲野 一郎",
            "requester.reason": "訴訟の提起のため",
            "purpose": "訴訟",
        }
    )
    refused = _post(client, "/ui/certificates/confirm", csrf, values)
    assert refused.status_code == 403
    found = re.search(r'<div class="error-box refused".*?</div>', refused.text, re.S)
    assert found
    box = unescape(found.group(0))
    assert "交付できません" in box and "protected_record" in box and "DV" not in box
    assert "支援措置の対象者を含むため交付できません" in _error(refused.text, "addressee_numbers")
    assert not _issuances(j)
    issued = _post(client, "/ui/certificates", csrf, values)  # 発行 without a confirmation: confirmed first
    assert issued.status_code == 403 and not _issuances(j)
    values.update({"requester.type": "self", "requester.name": "山田 花子"})
    values["requester.addressee_number"] = numbers[1]
    ok = _confirm_and_issue(client, csrf, values)
    assert ok.status_code == 303 and len(_issuances(j)) == 1


def test_a_supervisor_records_a_disposal_and_verify_says_so(client, totp, j, family):
    numbers, _ = family
    csrf = sign_in(client, totp)
    values = _form_values(client.get(f"/ui/certificates/new?addressee_number={numbers[0]}").text)
    values.update({"requester.name": "山田 太郎", "purpose": "年金の手続のため"})
    issued = _confirm_and_issue(client, csrf, values)
    number = issued.headers["location"].rsplit("/", 1)[-1]
    by_clerk = _post(
        client,
        f"/ui/certificates/{number}/disposal",
        csrf,
        {"_addressee_number": numbers[0], "reason": "誤交付"},
    )
    assert by_clerk.status_code == 403 and not client.get(f"/verify/{number}").json()["disposed"]

    csrf = sign_in(client, totp, "supervisor")
    page = client.get(f"/ui/residents/{numbers[0]}/certificates")
    assert page.status_code == 200 and "処分する" in page.text and number in page.text
    blank = _post(
        client, f"/ui/certificates/{number}/disposal", csrf, {"_addressee_number": numbers[0], "reason": ""}
    )
    assert blank.status_code == 422 and "必須項目です" in _error(blank.text, f"{number}-reason")
    done = _post(
        client,
        f"/ui/certificates/{number}/disposal",
        csrf,
        {"_addressee_number": numbers[0], "reason": "請求者の取り違えにより回収"},
    )
    assert done.status_code == 303
    listed = client.get(done.headers["location"])
    assert "処分を記録しました" in listed.text and "処分済み" in listed.text
    assert "請求者の取り違えにより回収" in listed.text
    assert client.get(f"/verify/{number}").json()["disposed"] is True


def test_issuing_needs_the_csrf_token_and_an_unlocked_screen(client, totp, j, family, monkeypatch):
    numbers, _ = family
    csrf = sign_in(client, totp)
    values = _form_values(client.get(f"/ui/certificates/new?addressee_number={numbers[0]}").text)
    values.update({"requester.name": "山田 太郎", "purpose": "年金の手続のため"})
    forged = _post(client, "/ui/certificates", "not-the-token", values)
    assert forged.status_code == 403 and not _issuances(j)
    unconfirmed = _post(client, "/ui/certificates", csrf, {**values, "_once": "made-up"})
    assert unconfirmed.status_code == 200 and "確認の有効期限が切れました" in unconfirmed.text
    assert not _issuances(j)  # shown the confirmation again, nothing issued
    issued = _confirm_and_issue(client, csrf, values)
    where = issued.headers["location"]
    later = time.time() + j.settings.idle_lock_seconds + 1
    monkeypatch.setattr(time, "time", lambda: later)
    locked = client.get(f"{where}/pdf")
    assert locked.status_code == 303 and locked.headers["location"].startswith("/ui/lock")
    again = _post(client, "/ui/certificates", csrf, values)
    assert again.status_code == 303 and again.headers["location"].startswith("/ui/lock")
    assert len(_issuances(j)) == 1


def test_the_pages_hold_no_inline_script_or_style(client, totp, j, family):
    numbers, _ = family
    csrf = sign_in(client, totp)
    form = client.get(f"/ui/certificates/new?addressee_number={numbers[0]}").text
    values = _form_values(form)
    values.update({"requester.name": "山田 太郎", "purpose": "年金の手続のため"})
    confirm = _post(client, "/ui/certificates/confirm", csrf, values).text
    for html in (form, confirm):
        assert "<script>" not in html and " style=" not in html and not re.search(r"\son[a-z]+=", html)


def test_a_removed_record_and_a_move_out_certificate_from_the_page_of_someone_who_left(
    client, totp, j, family
):
    numbers, _ = family
    filings.file(
        j.uow,
        CLERK,
        "move-out",
        {
            "filed_on": "2025-06-20",
            "planned_on": "2025-06-25",
            "addressee_numbers": [numbers[3]],
            "destination": f.OTHER,
        },
    )
    csrf = sign_in(client, totp)
    values = _form_values(client.get(f"/ui/certificates/new?addressee_number={numbers[3]}").text)
    assert values["kind"] == "removed_record_certificate" and values["addressee_numbers"] == [numbers[3]]
    values.update(
        {
            "kind": "residence_certificate",
            "requester.type": "household_member",
            "requester.addressee_number": numbers[0],
            "requester.name": "山田 太郎",
            "purpose": "転出先での手続のため",
        }
    )
    current = _post(client, "/ui/certificates/confirm", csrf, values)
    assert current.status_code == 409 and "除票の写しを請求してください" in _error(
        current.text, "addressee_numbers"
    )
    values["kind"] = "move_out_certificate"
    confirm = _post(client, "/ui/certificates/confirm", csrf, values)
    text = unescape(confirm.text)
    assert confirm.status_code == 200 and "転出証明書" in text and "0円" in text and "個人票" in text
    issued = _post(client, "/ui/certificates", csrf, _form_values(confirm.text))
    assert "0円" in client.get(issued.headers["location"]).text
    assert _issuances(j)[0].kind == "move_out_certificate" and _issuances(j)[0].fee == 0


def test_an_entry_certificate_certifies_the_items_chosen(client, totp, j, family):
    numbers, _ = family
    csrf = sign_in(client, totp)
    values = _form_values(client.get(f"/ui/certificates/new?addressee_number={numbers[0]}").text)
    for code in ("birth_date", "sex", "resident_since", "address_since", "previous_address"):
        values.pop(f"items.{code}")
    values.update(
        {
            "kind": "entry_certificate",
            "addressee_numbers": [numbers[0]],
            "requester.name": "山田 太郎",
            "purpose": "勤務先への提出",
        }
    )
    confirm = _post(client, "/ui/certificates/confirm", csrf, values)
    listed = re.search(r'<dd class="items">(.*?)</dd>', confirm.text, re.S)
    assert listed
    items = unescape(listed.group(1))
    assert re.findall(r'<span class="badge item">(.*?)</span>', items) == ["氏名", "住所"]
    assert "住民票に記載されていることを証明する" in unescape(confirm.text)
    for code in ("name", "address"):
        values.pop(f"items.{code}")
    none = _post(client, "/ui/certificates/confirm", csrf, values)
    assert "1つ以上" in _error(none.text, "items")
