"""Details of the clerk's pages (served through the app, no browser): the members' rank in 記載順, identity documents
in words, and error pages that keep the way back (the menu for a signed-in clerk, the sign-in page for anyone)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from juki.bootstrap import Juki
from juki.services import certificates, filings
from juki.web.app import create_app
from tests import factories as f
from tests.e2e.role_cases.common import CLERK
from tests.ui.test_session import sign_in


@pytest.fixture
def client(j: Juki) -> Iterator[TestClient]:
    with TestClient(create_app(j), follow_redirects=False, raise_server_exceptions=False) as c:
        yield c


def _family(j: Juki) -> tuple[str, list[str]]:
    people = [
        f.person("世帯主"),
        f.person("妻", given_name="花子", given_name_kana="ハナコ", sex="female", birth_date="1982-07-07"),
    ]
    moved = filings.file(j.uow, CLERK, "move-in", f.move_in(people))
    return moved.household_number, [c["addressee_number"] for c in moved.changes]


def _ranks(html: str) -> list[str]:
    """The 順 column of the members' table, top to bottom."""
    table = html.split("<h2>世帯員（記載順）</h2>", 1)[1].split("</table>", 1)[0]
    return re.findall(r"<tr>\s*<td>(\d+)</td>", table)


def test_a_new_householder_after_a_householder_change_is_ranked_first_not_zero(client, totp, j):
    household, (husband, wife) = _family(j)
    filings.file(
        j.uow,
        CLERK,
        "household-change",
        {
            "filed_on": "2025-06-20",
            "changed_on": "2025-06-20",
            "type": "householder_change",
            "household_number": household,
            "new_householder": wife,
        },
    )
    sign_in(client, totp)
    page = client.get(f"/ui/households/{household}")
    assert page.status_code == 200, page.text
    assert _ranks(page.text) == ["1", "2"]
    assert page.text.index(f">{wife}</a>") < page.text.index(f">{husband}</a>")
    resident = client.get(f"/ui/residents/{wife}")
    box = resident.text.split('<section class="household-box">', 1)[1].split("</table>", 1)[0]
    assert re.findall(r"<tr[^>]*>\s*<td>(\d+)</td>", box) == ["1", "2"]


def test_identity_documents_given_as_codes_are_shown_in_words(client, totp, j):
    household, (husband, _) = _family(j)
    body = {
        "kind": "residence_certificate",
        "household_number": household,
        "requester": {"type": "agent", "name": "代理 一郎", "addressee_number": husband},
        "identity_check": {"document": "driver_license", "authority_document": "power_of_attorney"},
        "purpose": "年金の手続のため",
    }
    certificates.issue(j.uow, CLERK, body, j.certificate_office)  # as the API would, with codes
    sign_in(client, totp)
    page = client.get(f"/ui/residents/{husband}/certificates")
    assert page.status_code == 200, page.text
    assert "運転免許証" in page.text and "driver_license" not in page.text


def test_an_error_page_keeps_the_menu_for_a_signed_in_clerk(client, totp, j):
    sign_in(client, totp)
    for url, status in (("/ui/residents/0000000019", 404), ("/ui/no-such-page", 404)):
        page = client.get(url)
        assert page.status_code == status, (url, page.text)
        assert page.headers["content-type"].startswith("text/html"), url
        assert '<nav class="menu"' in page.text and 'href="/ui/"' in page.text, url
        assert "ログアウト" in page.text, url


def test_an_error_page_offers_the_sign_in_page_to_anyone_else(client):
    page = client.get("/ui/no-such-page")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert 'href="/ui/login"' in page.text and '<nav class="menu"' not in page.text


def test_a_server_error_in_a_page_is_a_page_with_the_menu_and_no_internals(client, totp, j, monkeypatch):
    from juki.services import register_queries

    household, _ = _family(j)

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals at /srv/juki/src/juki/adapters/queries.py line 42")

    sign_in(client, totp)
    monkeypatch.setattr(register_queries, "get_household", broken)
    page = client.get(f"/ui/households/{household}")
    assert page.status_code == 500 and page.headers["content-type"].startswith("text/html")
    assert '<nav class="menu"' in page.text and "secret internals" not in page.text
    assert "Traceback" not in page.text and "content-security-policy" in page.headers


def test_pages_name_the_staff_who_entered_or_decided_not_their_ids(client, totp, j):
    """History, filing and issuance pages say who by name (窓口 一郎), as a person reads them; the id stays in the log."""
    household, (husband, _) = _family(j)
    certificates.issue(
        j.uow,
        CLERK,
        {
            "kind": "residence_certificate",
            "household_number": household,
            "requester": {"type": "self", "name": "山田 太郎", "addressee_number": husband},
            "purpose": "就職",
        },
        j.certificate_office,
    )
    sign_in(client, totp)
    history = client.get(f"/ui/residents/{husband}")
    assert history.status_code == 200, history.text
    assert f"入力 {CLERK.name}" in history.text and f"入力 {CLERK.staff_id}" not in history.text
    issuances = client.get(f"/ui/residents/{husband}/certificates")
    assert issuances.status_code == 200, issuances.text
    assert CLERK.name in issuances.text
