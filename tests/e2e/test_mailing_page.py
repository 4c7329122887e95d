"""/ui/mailing without a browser, on both engines: a refusal is shown on the page with its code and reason and
changes nothing; a form's action lands back on the list with what was done; the page keeps CSRF; a role without the
register's reading is offered the switch."""

from __future__ import annotations

from collections.abc import Iterator
from html import unescape

import pytest
from fastapi.testclient import TestClient

from juki.bootstrap import Juki
from juki.services import filings
from juki.web.app import create_app
from tests import factories as f
from tests.e2e.role_cases.common import CLERK
from tests.e2e.test_mailing import assign, born, record
from tests.ui.test_session import sign_in


@pytest.fixture
def page_client(j: Juki) -> Iterator[TestClient]:
    with TestClient(create_app(j), follow_redirects=False) as c:
        yield c


@pytest.fixture
def family(j: Juki) -> dict[str, object]:
    result = filings.file(j.uow, CLERK, "move-in", f.move_in())
    return {"household": result.household_number, "members": [c["addressee_number"] for c in result.changes]}


def test_a_refused_release_is_shown_with_its_reason_and_a_flag_change_lands_back_on_the_list(
    page_client, totp, j, family
):  # type: ignore[no-untyped-def]
    head = family["members"][0]
    child = born(j, family["household"])
    filings.file(
        j.uow, CLERK, "death", {"filed_on": "2025-06-20", "died_on": "2025-06-18", "addressee_number": head}
    )
    held = assign(j, child)
    csrf = sign_in(page_client, totp, "clerk")

    page = unescape(page_client.get("/ui/mailing").text)
    assert f'id="r-{held}"' in page and "世帯主がいない（送付先氏名がない）" in page
    res = page_client.post(f"/ui/mailing/{held}/release", data={"csrf_token": csrf})
    assert res.status_code == 409
    assert "mailing_record_held" in res.text and "まだ送付できません" in unescape(res.text)
    assert record(j, held).state == "held"
    res = page_client.post(f"/ui/mailing/{held}/release", data={})  # no CSRF secret: refused, nothing done
    assert res.status_code == 403 and record(j, held).state == "held"

    res = page_client.post(
        f"/ui/mailing/{held}/flags",
        data={
            "csrf_token": csrf,
            "print_category": "通常",
            "special_circumstance": "施設入所",
            "state": "held",
        },
    )
    assert res.status_code == 303 and res.headers["location"] == "/ui/mailing?state=held&done=flags"
    assert record(j, held).flags() == ("通常", "施設入所")
    assert "印字区分・特殊事情を設定しました" in unescape(page_client.get(res.headers["location"]).text)


def test_a_role_that_does_not_read_the_register_is_offered_the_switch(page_client, totp):  # type: ignore[no-untyped-def]
    sign_in(page_client, totp, "auditor")
    res = page_client.get("/ui/mailing")
    assert res.status_code == 403 and "送付先情報" not in res.text.split("<main", 1)[1]
