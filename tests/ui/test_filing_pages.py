"""Every filing kind through its form, without a browser: form → confirmation (nothing written) → 登録 → the
filing's page; the register then holds what the API would have written. Also the late list and sending back."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from html import unescape
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient

from juki.bootstrap import Juki
from juki.services import register_queries
from juki.web.app import create_app
from tests import factories as f
from tests.e2e.role_cases.common import CLERK
from tests.ui.test_session import sign_in


@pytest.fixture
def client(j: Juki) -> Iterator[TestClient]:
    with TestClient(create_app(j), follow_redirects=False) as c:
        yield c


def _hidden_fields(html: str) -> list[tuple[str, str]]:
    form = html.split('class="confirm"', 1)[1]
    return [
        (k, unescape(v)) for k, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form)
    ]


@pytest.fixture
def file_form(client: TestClient, totp) -> Callable[..., str]:  # type: ignore[no-untyped-def]
    """Fill a kind's form, confirm, register; return the filing id (asserting each step's answer)."""
    state: dict[str, str] = {}

    def run(kind: str, values: dict[str, object], role: str = "clerk", expect: str = "") -> str:
        if state.get("role") != role:
            state["csrf"], state["role"] = sign_in(client, totp, role), role
        items = [("csrf_token", state["csrf"])]
        for k, v in values.items():
            items += [(k, x) for x in v] if isinstance(v, list) else [(k, str(v))]
        body = urlencode(items)
        headers = {"content-type": "application/x-www-form-urlencoded"}
        confirm = client.post(f"/ui/filings/{kind}/confirm", content=body, headers=headers)
        assert confirm.status_code == 200, re.findall(r'role="alert">([^<]+)', confirm.text)
        assert expect in unescape(confirm.text)
        done = client.post(
            f"/ui/filings/{kind}", content=urlencode(_hidden_fields(confirm.text)), headers=headers
        )
        assert done.status_code == 303, done.text
        page = client.get(done.headers["location"])
        assert page.status_code == 200 and "登録しました" in page.text
        return done.headers["location"].split("/")[-1].split("?")[0]

    return run


def _family(j: Juki) -> tuple[str, list[str]]:
    from juki.services import filings

    result = filings.file(j.uow, CLERK, "move-in", f.move_in())
    return result.household_number, [c["addressee_number"] for c in result.changes]


def test_a_move_in_from_abroad_is_recorded_as_such(file_form, j):  # type: ignore[no-untyped-def]
    filing_id = file_form(
        "move-in",
        {
            "filed_on": "R7.6.20",
            "changed_on": "R7.6.18",
            "_abroad": "1",
            "previous_address.address": "ニューヨーク州ニューヨーク市",
            "previous_address.country": "アメリカ合衆国",
            "address.address": "東京都小平市小川町一丁目100番地5",
            "_household": "new",
            "persons.0.family_name": "スミス",
            "persons.0.given_name": "ジョン",
            "persons.0.family_name_kana": "すみす",
            "persons.0.given_name_kana": "じょん",
            "persons.0.birth_date": "1985-01-02",
            "persons.0.sex": "male",
            "persons.0.relationship": "世帯主",
            "persons.0.foreign.nationality": "アメリカ合衆国",
            "persons.0.foreign.article_30_45_category": "中長期在留者",
            "persons.0.foreign.status_of_residence": "技術・人文知識・国際業務",
            "persons.0.foreign.stay_expires_on": "R10.6.1",
            "persons.0.foreign.residence_card_number": "AB12345678CD",
        },
        expect="国外転入</span>",
    )
    filing = register_queries.get_filing(j.uow, CLERK, filing_id)
    assert filing["change_reason"] == "国外転入"
    person = register_queries.get_resident(j.uow, CLERK, filing["changes"][0]["addressee_number"])
    assert person["foreign"]["residence_card_number"] == "AB12345678CD"
    assert person["previous_address"]["country"] == "アメリカ合衆国"


def test_a_late_filing_is_told_at_confirmation_and_listed(file_form, client, j):  # type: ignore[no-untyped-def]
    filing_id = file_form(
        "move-in",
        {
            "filed_on": "2025-06-30",
            "changed_on": "R7.6.1",
            "previous_address.address": "東京都武蔵野市吉祥寺本町一丁目1番1号",
            "previous_address.municipality_code": "132039",
            "address.address": "東京都小平市小川町一丁目100番地5",
            "persons.0.family_name": "遅野",
            "persons.0.given_name": "届",
            "persons.0.family_name_kana": "オソノ",
            "persons.0.given_name_kana": "トドケ",
            "persons.0.birth_date": "1990-01-01",
            "persons.0.sex": "female",
            "persons.0.relationship": "世帯主",
        },
        expect="異動日から14日を過ぎた届出です",
    )
    listed = unescape(client.get("/ui/filings?late=1").text)
    assert filing_id in listed and "29日" in listed


def test_a_move_out_of_one_member_leaves_the_others(file_form, j):  # type: ignore[no-untyped-def]
    household, members = _family(j)
    file_form(
        "move-out",
        {
            "household_number": household,
            "filed_on": "R7.6.20",
            "planned_on": "R7.6.25",
            "addressee_numbers": [members[2]],
            "destination.address": "東京都武蔵野市吉祥寺本町一丁目1番1号",
            "destination.municipality_code": "132039",
        },
        expect="転出</span>",
    )
    record = register_queries.get_resident(j.uow, CLERK, members[2])
    assert record["move_out"]["destination"]["municipality_code"] == "132039"


def test_a_household_split_by_form(file_form, j):  # type: ignore[no-untyped-def]
    household, members = _family(j)
    file_form(
        "household-change",
        {
            "household_number": household,
            "filed_on": "R7.6.20",
            "changed_on": "R7.6.19",
            "type": "split",
            "addressee_numbers": [members[2]],
            "householder": members[2],
            "new_householder": members[1],  # of another type: not sent
        },
        expect="世帯分離</span>",
    )
    record = register_queries.get_resident(j.uow, CLERK, members[2])
    assert record["relationship"] == "世帯主" and record["household_number"] != household


def test_an_ex_officio_removal_waits_and_is_sent_back_with_a_reason(file_form, client, j, totp):  # type: ignore[no-untyped-def]
    _, members = _family(j)
    filing_id = file_form(
        "ex-officio-removal",
        {
            "addressee_number": members[3],
            "addressee_numbers": [members[3]],
            "filed_on": "R7.6.20",
            "changed_on": "R7.6.20",
            "reason": "実態調査により居住の事実なし",
        },
        expect="決裁待ちになり",
    )
    csrf = sign_in(client, totp, "supervisor")
    page = unescape(client.get(f"/ui/approvals/{filing_id}").text)
    assert "職権消除" in page and "除票" in page  # the diff: 状態 現存 → 除票
    back = client.post(
        f"/ui/approvals/{filing_id}/return", data={"csrf_token": csrf, "comment": "調査記録を添付"}
    )
    assert back.headers["location"] == "/ui/approvals?returned=1"
    assert register_queries.get_filing(j.uow, CLERK, filing_id)["approval_state"] == "returned"
    assert register_queries.get_resident(j.uow, CLERK, members[3])["status"] == "active"


def test_a_domain_error_comes_back_beside_its_field_with_the_apis_code(client, totp, j):  # type: ignore[no-untyped-def]
    household, members = _family(j)
    csrf = sign_in(client, totp)
    res = client.post(
        "/ui/filings/move-out/confirm",
        data={
            "csrf_token": csrf,
            "household_number": household,
            "filed_on": "R7.6.20",
            "planned_on": "R7.6.25",
            "addressee_numbers": [members[0]],
            "new_householder": members[0],  # the one who leaves cannot take over
            "destination.address": "東京都武蔵野市吉祥寺本町一丁目1番1号",
            "destination.municipality_code": "132039",
        },
    )
    assert res.status_code == 422
    slot = re.search(r'id="err-f-new_householder"[^>]*>(.*?)</p>', res.text, re.S)
    assert slot and "invalid_field" in slot.group(1)
    assert 'id="f-new_householder" name="new_householder"' in res.text and "autofocus" in res.text


def test_the_confirmation_writes_nothing(client, totp, j):  # type: ignore[no-untyped-def]
    household, _ = _family(j)
    before = register_queries.get_household(j.uow, CLERK, household)
    csrf = sign_in(client, totp)
    res = client.post(
        "/ui/filings/birth/confirm",
        data={
            "csrf_token": csrf,
            "household_number": household,
            "filed_on": "R7.6.20",
            "birth_date": "R7.6.19",
            "person.family_name": "山田",
            "person.given_name": "未登録",
            "person.family_name_kana": "ヤマダ",
            "person.given_name_kana": "ミトウロク",
            "person.sex": "male",
            "person.relationship": "子",
        },
    )
    assert res.status_code == 200 and "出生" in res.text
    after = register_queries.get_household(j.uow, CLERK, household)
    assert after["members"] == before["members"] and after["version"] == before["version"]


def test_an_ex_officio_entry_into_a_household_starts_at_its_address_and_waits_for_approval(
    file_form, client, j
):  # type: ignore[no-untyped-def]
    household, _ = _family(j)
    filing_id = file_form(
        "ex-officio-entry",
        {
            "filed_on": "R7.6.20",
            "changed_on": "R7.6.20",
            "reason": "実態調査により居住の事実を確認",
            "address.address": "東京都小平市小川町一丁目100番地5",
            "_household": "existing",
            "household.household_number": household,
            "persons.0.family_name": "山田",
            "persons.0.given_name": "同居",
            "persons.0.family_name_kana": "ヤマダ",
            "persons.0.given_name_kana": "ドウキョ",
            "persons.0.birth_date": "1950-01-01",
            "persons.0.sex": "male",
            "persons.0.relationship": "同居人",
        },
        expect="決裁待ちになり",
    )
    assert register_queries.get_filing(j.uow, CLERK, filing_id)["approval_state"] == "pending"
    form = unescape(client.get(f"/ui/filings/ex-officio-entry/new?household_number={household}").text)
    assert 'value="東京都小平市小川町一丁目100番地5"' in form and 'value="existing" checked' in form
