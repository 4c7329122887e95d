"""The search screen (標準仕様書 j330/j340): 完全一致・前方一致・部分一致, and earlier names and addresses on request —
the page without a browser, then by keyboard alone in one (j400)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import expect

from juki.bootstrap import Juki
from juki.policy.roles import Actor
from juki.services import filings
from juki.web.app import create_app
from tests import factories as f
from tests.conftest import STAFF
from tests.e2e.role_cases.common import CLERK
from tests.ui.conftest import Live, sign_in
from tests.ui.test_session import sign_in as sign_in_without_browser

SUPERVISOR = Actor(STAFF["supervisor"][0], STAFF["supervisor"][1], "supervisor", "test")


def _married_and_moved(j: Juki, family_kana: str = "スズキ", family: str = "鈴木") -> str:
    """A woman who moved in as 鈴木 花子 at 小川町一丁目, became 佐藤 (approved correction) and moved within."""
    result = filings.file(
        j.uow,
        CLERK,
        "move-in",
        f.move_in(
            [
                f.person(
                    family_name=family,
                    family_name_kana=family_kana,
                    given_name="花子",
                    given_name_kana="ハナコ",
                    sex="female",
                    birth_date="1990-02-02",
                )
            ]
        ),
    )
    number = str(result.changes[0]["addressee_number"])
    today = j.today.isoformat() if j.today else "2025-06-20"
    corrected = filings.file(
        j.uow,
        CLERK,
        "ex-officio-correction",
        {
            "filed_on": today,
            "changed_on": today,
            "reason": "婚姻による氏の変更",
            "addressee_number": number,
            "corrections": {"family_name": "佐藤", "family_name_kana": "サトウ"},
        },
    )
    filings.decide(j.uow, SUPERVISOR, corrected.filing_id, approve=True)
    filings.file(
        j.uow,
        CLERK,
        "move-within",
        {
            "filed_on": today,
            "changed_on": today,
            "household_number": result.household_number,
            "addressee_numbers": [number],
            "address": {"address": "東京都小平市花小金井南町三丁目5番12号"},
        },
    )
    return number


@pytest.fixture
def client(j: Juki) -> Iterator[TestClient]:
    with TestClient(create_app(j), follow_redirects=False) as c:
        yield c


def _rows(html: str) -> list[str]:
    body = re.search(r'<section id="results".*?</section>', html, re.S)
    assert body, "no results section"
    return [
        unescape(re.sub(r"<[^>]+>", " ", row))
        for row in re.findall(r"<tr[^>]*>.*?</tr>", body.group(0), re.S)
    ][1:]


def test_the_form_offers_the_match_and_history_and_keeps_them_when_shown_again(client, totp, j):  # type: ignore[no-untyped-def]
    number = _married_and_moved(j)
    csrf = sign_in_without_browser(client, totp)
    page = client.get("/ui/").text
    assert 'name="name_match"' in page and 'name="history"' in page and "部分一致" in page
    criteria = {"csrf_token": csrf, "name": "スズキ", "birth_date": "H2.2.2", "name_match": "exact"}
    assert _rows(client.post("/ui/search", data=criteria).text) == []
    found = client.post("/ui/search", data={**criteria, "history": "true"})
    rows = _rows(found.text)
    assert len(rows) == 1 and number in rows[0] and "佐藤" in rows[0]
    assert "履歴で一致" in rows[0] and "旧氏名 鈴木 花子" in rows[0]
    assert re.search(r'id="f-history"[^>]*checked', found.text)  # the form keeps what was asked
    prefix = client.post(
        "/ui/search",
        data={"csrf_token": csrf, "name": "サト", "address": "花小金井南町", "name_match": "prefix"},
    )
    assert re.search(r'<option value="prefix" selected>', prefix.text)
    rows = _rows(prefix.text)
    assert len(rows) == 1 and number in rows[0] and "履歴で一致" not in rows[0]


def test_the_form_finds_a_foreign_resident_by_the_name_as_on_the_residence_card(client, totp, j):  # type: ignore[no-untyped-def]
    person = f.foreign_person(
        "PHAM",
        "DUC MINH",
        "ファム",
        "ドゥック ミン",
        birth_date="1992-02-20",
        foreign={"parallel_name": "范 德明"},
    )
    number = str(filings.file(j.uow, CLERK, "move-in", f.move_in([person])).changes[0]["addressee_number"])
    csrf = sign_in_without_browser(client, totp)
    for typed in ("PHAM DUC MINH", "pham　duc  minh", "范 德明"):
        found = client.post(
            "/ui/search", data={"csrf_token": csrf, "name": typed, "birth_date": "1992-02-20"}
        )
        assert found.status_code == 200, found.text
        rows = _rows(found.text)
        assert len(rows) == 1 and number in rows[0], (typed, rows)


def test_a_match_or_history_alone_starts_no_search_and_one_criterion_is_refused(client, totp, j):  # type: ignore[no-untyped-def]
    csrf = sign_in_without_browser(client, totp)
    blank = client.post("/ui/search", data={"csrf_token": csrf, "name_match": "partial", "history": "true"})
    assert blank.status_code == 200 and "二つ以上" in blank.text and "error-box" not in blank.text
    one = client.post(
        "/ui/search", data={"csrf_token": csrf, "address": "小川町", "history": "true", "name_match": "exact"}
    )
    assert one.status_code == 422 and "insufficient_search_criteria" in one.text


def test_a_clerk_finds_a_woman_by_her_maiden_name_and_old_address_by_keyboard_alone(
    live: Live, new_page, shot
):  # type: ignore[no-untyped-def]
    number = _married_and_moved(live.j, "ミナミ", "南")
    page = new_page()
    sign_in(page, live, live.account("clerk", "窓口 検索"))
    expect(page.locator("#f-name")).to_be_focused()
    page.keyboard.type("みなみ")
    page.keyboard.press("Tab")  # 氏名の一致
    expect(page.locator("#f-name_match")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.type("H2.2.2")
    page.keyboard.press("Tab")
    page.keyboard.type("小川町1丁目")
    page.keyboard.press("Enter")
    page.locator("#results .empty").wait_for()  # today she is 佐藤 and lives elsewhere
    page.focus("#f-history")
    page.keyboard.press("Space")
    assert page.is_checked("#f-history")
    page.keyboard.press("Enter")
    row = page.locator("#results table.list tbody tr")
    row.first.wait_for()
    assert row.count() == 1
    text = row.first.inner_text()
    assert (
        number in text and "佐藤" in text and "履歴で一致" in text and "旧住所" in text and "旧氏名" in text
    )
    shot(page, "search-history")
