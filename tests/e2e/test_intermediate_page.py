"""/ui/intermediate without a browser, on both engines: the counts and a person's 符号 state (no 符号, no My Number;
自動応答不可 only for the supervisor); a protected person not found for a clerk; the review queue's 提供する and
提供しない (a reason required) landing back with what was done; the 情報提供等記録 and its 改ざん検査; CSRF kept; a
role acting for another 事務 offered the switch; the menu's link only for roles with `intermediate:read`."""

from __future__ import annotations

from collections.abc import Iterator
from html import unescape

import pytest
from fastapi.testclient import TestClient

from juki.bootstrap import Juki
from juki.intermediate import wire
from juki.services import filings, protection
from juki.web.app import create_app
from tests import factories as f
from tests.e2e.role_cases.common import CLERK
from tests.e2e.role_cases.intermediate import Ims, attach
from tests.intermediate.support import PROTECTOR
from tests.leakcheck import spellings
from tests.ui.test_session import sign_in

PAGE = "/ui/intermediate"


@pytest.fixture
def ims(j: Juki) -> Iterator[Ims]:
    attach(j)
    yield Ims(j)
    j.intermediate.dispose()


@pytest.fixture
def page_client(j: Juki, ims: Ims) -> Iterator[TestClient]:
    with TestClient(create_app(j), follow_redirects=False) as c:
        yield c


@pytest.fixture
def family(j: Juki, ims: Ims) -> tuple[list[str], list[dict]]:
    people = f.family_of_four()[:2]
    done = filings.file(j.uow, CLERK, "move-in", f.move_in(people))
    ims.with_link_codes()
    return [c["addressee_number"] for c in done.changes], people


def act_for(client: TestClient, totp, role: str) -> str:
    """Signed in (a one-time code is good once: once per role and test), acting for the 中間サーバー's 事務."""
    csrf = sign_in(client, totp, role)
    switch(client, csrf)
    return csrf


def switch(client: TestClient, csrf: str, procedure: str = "intermediate") -> None:
    res = client.post("/ui/procedure", data={"csrf_token": csrf, "procedure": procedure, "next": PAGE})
    assert res.status_code == 303, res.text


def test_the_page_shows_the_counts_and_a_persons_state(page_client, totp, ims, family):
    (_head, wife), people = family
    act_for(page_client, totp, "clerk")
    page = unescape(page_client.get(PAGE).text)
    assert '<a href="/ui/intermediate" aria-current="page">中間サーバー</a>' in page
    assert '<td data-group="issued"><strong>2</strong>人</td>' in page
    assert '<td data-group="pending"><strong>0</strong>人</td>' in page
    res = page_client.get(PAGE, params={"addressee_number": wife})
    shown = unescape(res.text)
    assert res.status_code == 200 and 'data-state="issued"' in shown and "取得済" in shown
    assert "13211******0002" in shown and "山田\u3000太郎" in shown
    assert "自動応答不可" not in shown.split('id="person"')[1]  # the clerk is not told
    assert "符号を再要求" not in shown  # intermediate:review only
    assert ims.link_code(wife) not in shown
    assert not any(s in shown for p in people for s in spellings(p["my_number"]))


def test_a_protected_person_is_not_found_for_the_clerk(page_client, totp, j, ims, family):
    (head, wife), _ = family
    protection.set_measure(j.uow, PROTECTOR, f.support_measure(wife))
    act_for(page_client, totp, "clerk")
    res = page_client.get(PAGE, params={"addressee_number": wife})
    assert res.status_code == 404
    assert (
        "中間サーバーにこの宛名番号の記録がありません" in unescape(res.text)
        and 'data-state="' not in res.text
    )
    assert page_client.get(PAGE, params={"addressee_number": head}).status_code == 200


def test_the_supervisor_sees_no_auto_reply_sets_it_and_asks_a_link_code_again(page_client, totp, j, ims):
    done = filings.file(j.uow, CLERK, "move-in", f.move_in([f.person()]))
    number = done.changes[0]["addressee_number"]
    ims.run()  # the 符号 asked, J-LIS has not answered
    csrf = act_for(page_client, totp, "supervisor")
    shown = unescape(page_client.get(PAGE, params={"addressee_number": number}).text)
    assert 'data-no-auto-reply="off"' in shown and "符号を再要求" in shown
    url = f"{PAGE}/persons/{number}/no-auto-reply"
    refused = page_client.post(url, data={"csrf_token": csrf, "on": "1", "reason": ""})
    assert refused.status_code == 422 and "理由を" in unescape(refused.text)
    res = page_client.post(url, data={"csrf_token": csrf, "on": "1", "reason": "本人からの申出"})
    assert res.status_code == 303
    shown = unescape(page_client.get(res.headers["location"]).text)
    assert (
        "自動応答不可を設定しました" in shown and 'data-no-auto-reply="on"' in shown and "手動で設定" in shown
    )
    res = page_client.post(f"{PAGE}/persons/{number}/link-code-request", data={"csrf_token": csrf})
    assert res.status_code == 303 and "done=link_code" in res.headers["location"]
    ims.run()
    assert len(ims.network.serials_given) == 2
    nocsrf = page_client.post(f"{PAGE}/persons/{number}/link-code-request", data={})
    assert nocsrf.status_code == 403


def test_a_held_answer_is_released_or_refused_from_the_queue(page_client, totp, ims, family):
    (head, wife), _ = family
    first, second = ims.held(wife), ims.held(head)
    csrf = act_for(page_client, totp, "supervisor")
    page = unescape(page_client.get(f"{PAGE}/reviews").text)
    assert f'id="q-{first}"' in page and f'id="q-{second}"' in page and "全国健康保険協会" in page
    assert f'<a href="/ui/residents/{wife}">{wife}</a>' in page
    assert "次の送信で提供します" in page
    res = page_client.post(f"{PAGE}/reviews/{first}/release", data={"csrf_token": csrf})
    assert res.status_code == 303 and res.headers["location"] == f"{PAGE}/reviews?done=released"
    page = unescape(page_client.get(res.headers["location"]).text)
    assert "提供することとしました。次の送信で提供します" in page and f'id="q-{first}"' not in page
    no_reason = page_client.post(f"{PAGE}/reviews/{second}/refuse", data={"csrf_token": csrf, "reason": " "})
    assert no_reason.status_code == 422 and "理由を" in unescape(no_reason.text)
    res = page_client.post(f"{PAGE}/reviews/{second}/refuse", data={"csrf_token": csrf, "reason": "確認中"})
    assert res.status_code == 303 and res.headers["location"] == f"{PAGE}/reviews?done=refused"
    gone = page_client.post(f"{PAGE}/reviews/{second}/release", data={"csrf_token": csrf})
    assert gone.status_code == 409 and "審査待ちではありません" in unescape(gone.text)
    unknown = page_client.post(f"{PAGE}/reviews/424242/release", data={"csrf_token": csrf})
    assert unknown.status_code == 404
    ims.run()
    statuses = {a.status for a in ims.network.answers if a.status != wire.PENDING}
    assert statuses == {wire.ANSWERED, wire.REFUSED}


def test_the_records_and_their_check(page_client, totp, ims, family):
    (head, wife), _ = family
    asked = ims.ask(wife)
    act_for(page_client, totp, "supervisor")
    page = unescape(page_client.get(f"{PAGE}/records", params={"addressee_number": wife}).text)
    assert asked in page and "記録（2件）" in page and "照会受付" in page and "提供" in page
    page = unescape(page_client.get(f"{PAGE}/records", params={"addressee_number": head}).text)
    assert "記録（0件）" in page
    checked = unescape(page_client.get(f"{PAGE}/records", params={"verify": "1"}).text)
    assert 'data-ok="1"' in checked and "異常はありません（2件の記録を検査しました）" in checked
    bad = unescape(page_client.get(f"{PAGE}/records", params={"start": "2025-02-30"}).text)
    assert "日付の形式が正しくありません" in bad


def test_a_role_acting_for_another_procedure_is_offered_the_switch(page_client, totp, ims):
    csrf = sign_in(page_client, totp, "clerk")  # acting for 住民基本台帳に関する事務
    res = page_client.get(PAGE)
    assert res.status_code == 403 and "情報提供ネットワークシステムによる情報提供に関する事務" in unescape(
        res.text
    )
    switch(page_client, csrf)
    assert page_client.get(PAGE).status_code == 200
    assert page_client.get(f"{PAGE}/reviews").status_code == 403  # the supervisor's
    assert page_client.get(f"{PAGE}/records").status_code == 403
    sign_in(page_client, totp, "auditor")
    assert "中間サーバー</a>" not in page_client.get("/ui/audit").text
    assert page_client.get(f"{PAGE}/records").status_code == 200  # the auditor's own procedure (監査)


def test_what_has_waited_longer_than_a_day_is_flagged(page_client, totp, j, ims):
    from datetime import timedelta

    from sqlalchemy import select

    from juki.intermediate.adapters import tables as it

    ims.requester.fail = True  # the CS does not take the 符号 requests
    filings.file(j.uow, CLERK, "move-in", f.move_in(f.family_of_four()[:1]))
    ims.run()
    act_for(page_client, totp, "clerk")
    assert 'id="late"' not in page_client.get(PAGE).text
    with j.intermediate.engine.begin() as conn:  # two days later, nothing has moved
        c = it.unified.c
        for number, at in conn.execute(select(c.unified_number, c.created_at)).all():
            conn.execute(
                it.unified.update().where(c.unified_number == number).values(created_at=at - timedelta(2))
            )
    page = unescape(page_client.get(PAGE).text)
    assert "1日以上滞留しています: 符号未取得 1人・未送信の回答 0件・審査待ち 0件" in page
