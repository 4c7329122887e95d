"""The auditor's screens and data-subject requests, without a browser (the services' own tests cover the rules)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape

import pytest
from fastapi.testclient import TestClient

from juki.bootstrap import Juki
from juki.domain.dates import to_wareki_short, today_jst
from juki.web.app import create_app
from tests.ui.test_filing_pages import _family
from tests.ui.test_session import sign_in


@pytest.fixture
def client(j: Juki) -> Iterator[TestClient]:
    with TestClient(create_app(j), follow_redirects=False) as c:
        yield c


def test_the_auditor_lands_on_the_log_and_sees_who_did_what(client, totp, j):  # type: ignore[no-untyped-def]
    _, members = _family(j)
    sign_in(client, totp, "auditor")
    assert client.get("/ui/").headers["location"] == "/ui/audit"
    page = client.get("/ui/audit")
    assert page.status_code == 200 and "操作ログの検索" in page.text
    assert 'href="/ui/filings/move-in/new"' not in page.text  # no register work in the auditor's menu
    day = to_wareki_short(today_jst())  # log entries carry the real time, not the register's fixed today
    found = unescape(
        client.get(f"/ui/audit?from={day}&to={today_jst().isoformat()}&target={members[0]}").text
    )
    assert "filing:move-in" in found and "職員ID" in found
    csv = client.get(f"/ui/audit?from={day}&to={day}&target={members[0]}&csv=1")
    assert csv.headers["content-type"].startswith("text/csv") and csv.content.startswith(b"\xef\xbb\xbf")
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert "通番" in lines[0] and any("filing:move-in" in line for line in lines[1:])
    bad = client.get("/ui/audit?from=令和7年2月30日")
    assert bad.status_code == 422 and "invalid_date" in bad.text


def test_the_auditor_runs_a_report_on_the_page_and_as_csv(client, totp, j):  # type: ignore[no-untyped-def]
    _family(j)
    sign_in(client, totp, "auditor")
    listing = unescape(client.get("/ui/audit/reports").text)
    assert "失敗" in listing or "ログイン" in listing  # the report kinds are offered by their titles
    page = unescape(client.get("/ui/audit/reports?kind=logins&from=R7.6.1&to=R7.6.30").text)
    assert "CSVで出力" in page
    csv = client.get("/ui/audit/reports?kind=logins&from=R7.6.1&to=R7.6.30&csv=1")
    assert csv.status_code == 200 and csv.content.startswith(b"\xef\xbb\xbf")


def test_a_clerk_cannot_read_the_log(client, totp):  # type: ignore[no-untyped-def]
    sign_in(client, totp, "clerk")
    assert client.get("/ui/audit?from=R7.6.1").status_code == 403


def test_a_disclosure_request_from_counter_to_answer(client, totp, j):  # type: ignore[no-untyped-def]
    _, members = _family(j)
    csrf = sign_in(client, totp, "clerk")
    offer = client.get(f"/ui/requests/new?addressee_number={members[0]}")
    assert offer.status_code == 403 and "切り替えて開く" in offer.text  # another 事務: one click away
    switched = client.post(
        "/ui/procedure",
        data={
            "csrf_token": csrf,
            "procedure": "subject_request",
            "next": f"/ui/requests/new?addressee_number={members[0]}",
        },
    )
    form = client.get(switched.headers["location"])
    assert form.status_code == 200 and f'value="{members[0]}"' in form.text
    body = {
        "csrf_token": csrf,
        "kind": "disclosure",
        "addressee_number": members[0],
        "received_on": "R7.6.30",
        "text": "住民票に記録されている自分の情報と、それを利用した記録の開示を求めます",
        "requester.type": "self",
        "requester.name": "山田 太郎",
        "identity_check.document": "driver_license",
    }
    missing = client.post("/ui/requests", data={**body, "requester.name": ""})
    assert missing.status_code == 422 and 'id="err-f-requester-name"' in missing.text
    assert "必須項目です" in re.search(r'id="err-f-requester-name"[^>]*>(.*?)</p>', missing.text, re.S).group(
        1
    )  # type: ignore[union-attr]
    made = client.post("/ui/requests", data=body)
    assert made.status_code == 303
    request_url = made.headers["location"].split("?")[0]
    page = unescape(client.get(request_url).text)
    assert (
        "開示請求" in page and "運転免許証" in page and "決定を記録する" not in page
    )  # the clerk records only

    csrf = sign_in(client, totp, "supervisor")
    client.post(
        "/ui/procedure", data={"csrf_token": csrf, "procedure": "subject_request", "next": request_url}
    )
    package = unescape(client.get(f"{request_url}/disclosure").text)
    assert "利用した職員" in package and "窓口 一郎" in package
    decided = client.post(
        f"{request_url}/decide", data={"csrf_token": csrf, "decision": "disclose", "decided_on": "R7.6.30"}
    )
    assert decided.status_code == 303
    answered = client.post(f"{request_url}/answer", data={"csrf_token": csrf, "answered_on": "R7.6.30"})
    assert answered.status_code == 303
    assert "通知済み" in unescape(client.get(request_url).text)
    refused = client.post(f"{request_url}/decide", data={"csrf_token": csrf, "decision": "refuse"})
    assert refused.status_code == 422 and "invalid_state" in refused.text
