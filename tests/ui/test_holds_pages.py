"""Holds (抑止, j410) in the clerk UI without a browser: the measure form sends kind, operations and level (errors
beside their group); a person's flag names each hold; a held filing is refused at the confirmation and at 登録
(logged as held, nothing written); the approval of a held change says why it no longer applies."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient

from juki.bootstrap import Juki
from juki.policy.roles import Actor
from juki.services import filings, protection, register_queries
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


def _resident(j: Juki) -> tuple[str, str]:
    change = filings.file(j.uow, CLERK, "move-in", f.move_in([f.person()])).changes[0]
    with j.uow() as uow:
        return change["addressee_number"], uow.queries.resident(change["addressee_number"]).household_number


def _hold(j: Juki, number: str, level: str, operations: list[str] | None = None, kind: str = "hold") -> None:
    protection.set_measure(
        j.uow,
        BOSS,
        {
            "kind": kind,
            "operations": operations or ["filing"],
            "level": level,
            "subject_kind": "person",
            "subject": number,
            "reason": "居住実態の調査中",
            "requester": "市民課",
            "received_on": "2025-06-30",
            "starts_on": "2025-06-30",
        },
    )


def _log(j: Juki, action: str) -> list[Any]:
    with j.uow() as uow:
        return [r for r in uow.queries.operation_log() if r.action == action]


def _post(client: TestClient, url: str, csrf: str, values: dict[str, object]) -> Any:
    items = [("csrf_token", csrf)]
    for k, v in values.items():
        items += [(k, x) for x in v] if isinstance(v, list) else [(k, str(v))]
    return client.post(url, content=urlencode(items), headers=FORM)


def test_the_measure_form_sends_kind_operations_and_level(client, totp, j):  # type: ignore[no-untyped-def]
    number, _ = _resident(j)
    csrf = sign_in(client, totp, "supervisor")
    client.post("/ui/procedure", data={"csrf_token": csrf, "procedure": "protection"})
    page = client.get("/ui/protection").text
    assert re.search(r'name="kind"[^>]*value="support"[^>]*checked', page)  # a 支援措置 by default
    assert re.search(r'value="certificate" checked', page) and re.search(r'value="view" checked', page)
    fields = {
        "subject_kind": "person",
        "subject": number,
        "requester": "市民課",
        "received_on": "R7.6.30",
        "starts_on": "R7.6.30",
        "reason": "転出証明書の確認待ち",
        "kind": "hold",
        "level": "alert",
    }
    missing = _post(client, "/ui/protection", csrf, fields)
    assert missing.status_code == 422
    slot = re.search(r'id="err-f-operations"[^>]*>(.*?)</p>', missing.text, re.S)
    assert slot and "抑止する業務を指定してください" in unescape(slot.group(1))
    assert 'value="hold" checked' in missing.text  # what was chosen comes back

    done = _post(client, "/ui/protection", csrf, {**fields, "operations": ["filing", "view"]})
    assert done.status_code == 303
    listed = unescape(client.get(done.headers["location"]).text)
    assert (
        "その他の抑止" in listed
        and "異動入力の抑止（アラート）" in listed
        and "照会の抑止（アラート）" in listed
    )
    [measure] = protection.list_measures(j.uow, BOSS)["measures"]
    assert (measure["kind"], measure["operations"], measure["level"]) == ("hold", ["filing", "view"], "alert")


def test_a_persons_flag_names_each_hold(client, totp, j):  # type: ignore[no-untyped-def]
    number, household = _resident(j)
    _hold(j, number, "error")
    _hold(j, number, "alert", ["certificate"])
    sign_in(client, totp)
    record = unescape(client.get(f"/ui/residents/{number}").text)
    badges = re.findall(r'<span class="badge held"[^>]*>([^<]+)</span>', record)
    assert "異動入力の抑止（エラー）" in badges and "証明書発行の抑止（アラート）" in badges
    assert "異動入力（届出・職権処理・決裁）は受け付けられません" in record
    assert "支援措置の対象者です" not in record  # a hold is not a 支援措置
    assert "この世帯には抑止の対象者がいます" in unescape(client.get(f"/ui/households/{household}").text)
    assert any(number in str(e.targets) for e in _log(j, "protection:flag"))


def test_a_held_filing_is_refused_at_the_confirmation_and_at_registration(client, totp, j):  # type: ignore[no-untyped-def]
    number, household = _resident(j)
    _hold(j, number, "error")
    csrf = sign_in(client, totp)
    values = {
        "household_number": household,
        "filed_on": "R7.6.30",
        "planned_on": "R7.7.5",
        "addressee_numbers": [number],
        "destination.address": "東京都武蔵野市吉祥寺本町一丁目1番1号",
        "destination.municipality_code": "132039",
    }
    confirm = _post(client, "/ui/filings/move-out/confirm", csrf, values)
    assert confirm.status_code == 403 and 'id="held"' in confirm.text
    assert "異動入力が抑止されています" in confirm.text and number in confirm.text
    assert 'value="東京都武蔵野市吉祥寺本町一丁目1番1号"' in confirm.text  # what was typed is kept
    assert [e.result for e in _log(j, "filing:preview:move-out")] == ["held"]

    submitted = _post(client, "/ui/filings/move-out", csrf, values)  # 登録 without the confirmation
    assert submitted.status_code == 403 and 'id="held"' in submitted.text
    assert [e.result for e in _log(j, "filing:move-out")] == ["held"]
    assert register_queries.get_resident(j.uow, CLERK, number)["version"] == 1  # nothing written


def test_an_alert_level_hold_is_a_warning_on_the_confirmation(client, totp, j):  # type: ignore[no-untyped-def]
    number, household = _resident(j)
    _hold(j, number, "alert")
    csrf = sign_in(client, totp)
    values = {
        "household_number": household,
        "filed_on": "R7.6.30",
        "planned_on": "R7.7.5",
        "addressee_numbers": [number],
        "destination.address": "東京都武蔵野市吉祥寺本町一丁目1番1号",
        "destination.municipality_code": "132039",
    }
    confirm = _post(client, "/ui/filings/move-out/confirm", csrf, values)
    assert confirm.status_code == 200 and 'class="notice hold"' in confirm.text
    assert "異動入力の抑止（アラート）" in unescape(confirm.text)
    alerts = protection.list_alerts(j.uow, BOSS)["alerts"]
    assert [a for a in alerts if a["kind"] == "hold_alert"] == []  # the preview's alert was rolled back


def test_the_approval_of_a_held_change_says_why_it_no_longer_applies(client, totp, j):  # type: ignore[no-untyped-def]
    number, _ = _resident(j)
    body = {
        "filed_on": "2025-06-30",
        "changed_on": "2025-06-30",
        "reason": "実態調査により居住の事実なし",
        "addressee_numbers": [number],
    }
    pending = filings.file(j.uow, CLERK, "ex-officio-removal", body)
    _hold(j, number, "error")
    sign_in(client, totp, "supervisor")
    page = unescape(client.get(f"/ui/approvals/{pending.filing_id}").text)
    assert "現在の記録には適用できません" in page and "protected_record" in page
    assert re.search(r"<button[^>]*disabled[^>]*>承認して反映する", page)


def test_a_hold_that_hides_the_record_is_not_called_a_support_measure(client, totp, j):  # type: ignore[no-untyped-def]
    number, _ = _resident(j)
    _hold(j, number, "error", ["view"])
    csrf = sign_in(client, totp, "supervisor")
    client.post("/ui/procedure", data={"csrf_token": csrf, "procedure": "protection"})
    record = unescape(client.get(f"/ui/residents/{number}").text)
    assert "照会の抑止（エラー）" in record and "照会は支援措置に関する事務の係長に限られます" in record
    assert "支援措置の対象者です" not in record
    sign_in(client, totp)
    assert client.get(f"/ui/residents/{number}").status_code == 404  # hidden from the counter, as before
