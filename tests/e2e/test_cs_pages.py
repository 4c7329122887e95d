"""The CS operator's page over HTTP: every role signs in through the UI; only the CS operator sees the notices and
the error queue and works it (correct and resend, send back, resend, discard — each a POST with the page's CSRF
token, through cs/services/errors.py, in the CS log and the register's operation log); every other role gets the
403 page that offers its own work and changes nothing. No 個人番号 on the page; a person under a 支援措置 is
listed by 住民票コード only. The latest comparison with the register (j1100) is shown: when, how many persons,
each difference by 住民票コード and item — no value, no 宛名番号."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from juki.adapters import tables as rt
from juki.bootstrap import Juki
from juki.cs.adapters import tables as t
from juki.cs.adapters.cs_db import CsDatabase
from juki.cs.services.comparison import RegisterQueries, compare
from juki.policy.roles import CS_SYSTEM, Actor
from juki.services import filings, protection
from tests import factories as f
from tests.conftest import PASSWORD, STAFF, Template
from tests.cs.page_support import with_cs
from tests.cs.support import CLERK, notices, take_in
from tests.e2e.conftest import served
from tests.leakcheck import spellings
from tests.ui.test_webauthn_pages import _code, _csrf

BASE = "http://localhost:8000"  # WebAuthn's relying party is `localhost`
ROLES = ("clerk", "supervisor", "auditor", "admin", "cs_operator", "contractor", "department")
CODE = "12345678903"  # a 住民票コード with a right check digit
PROTECTOR = Actor(
    STAFF["supervisor"][0], STAFF["supervisor"][1], "supervisor", "test", procedure="protection"
)


@pytest.fixture
def cs(j: Juki, tmp_path: Path) -> Iterator[CsDatabase]:
    db = with_cs(j, tmp_path)
    yield db
    db.dispose()


@pytest.fixture
def client(j: Juki, cs: CsDatabase) -> Iterator[TestClient]:
    with served(j) as app, TestClient(app, base_url=BASE, follow_redirects=False) as c:
        yield c


def sign_in(client: TestClient, j: Juki, template: Template, role: str) -> None:
    """Through the sign-in form (with the authenticator, for the CS operator)."""
    username = STAFF[role][0]
    page = client.get("/ui/login")
    form = {"csrf_token": _csrf(page.text), "username": username, "password": PASSWORD}
    res = client.post("/ui/login", data={**form, "otp": _code(j, template, username)})
    if role == "cs_operator":
        m = re.search(r"data-public-key='([^']+)'", res.text)
        assert m, res.text
        answer = template.authenticators[username].assertion(json.loads(unescape(m.group(1))))
        res = client.post(
            "/ui/login/webauthn",
            data={"csrf_token": _csrf(res.text), "credential": json.dumps(answer), "username": username},
        )
    assert res.status_code == 303, res.text


def errors_in_queue(j: Juki, cs: CsDatabase) -> dict[str, Any]:
    """A person moved in without a 住民票コード (an error entry) and a family member under a 支援措置 whose 転居
    lost its code (an error entry of a protected person); the rest of the family's notices queued."""
    lone = f.person(given_name="孤独")
    lone.pop("resident_code")
    filings.file(j.uow, CLERK, "move-in", f.move_in([lone]))
    family = f.family_of_four()
    done = filings.file(j.uow, CLERK, "move-in", f.move_in(family))
    wife = done.changes[1]["addressee_number"]
    take_in(j, cs)
    protection.set_measure(j.uow, PROTECTOR, f.support_measure(wife))
    with cs.engine.begin() as conn:  # the CS holds the wife; her next change comes with a broken 郵便番号
        conn.execute(t.notices.update().where(t.notices.c.addressee_number == wife).values(state="error",
                     error_code="format_error", error_item="郵便番号", error_message="郵便番号は7桁の数字です"))  # fmt: skip
    entries = {n.addressee_number: n.id for n in notices(cs) if n.state == "error"}
    return {"lone": lone, "family": family, "wife": wife, "entries": entries}


def _register_log(j: Juki) -> list[tuple[str, str, str, str]]:
    with j.engine.connect() as conn:
        rows = conn.execute(select(rt.operation_log).order_by(rt.operation_log.c.seq)).all()
    return [(r.action, r.staff_id, r.result, r.detail) for r in rows if r.action.startswith("cs:")]


def test_the_cs_operator_sees_counts_latest_notices_and_the_error_queue_without_a_my_number(
    j: Juki, cs: CsDatabase, client: TestClient, template: Template
) -> None:
    world = errors_in_queue(j, cs)
    sign_in(client, j, template, "cs_operator")
    page = client.get("/ui/cs")
    assert page.status_code == 200, page.text
    text = page.text
    for word in (
        "通知の状況",
        "送信待ち",
        "送信済み",
        "受理",
        "エラー",
        "保留",
        "エラーキュー（2件）",
        "最近の通知",
    ):
        assert word in text
    assert "住民票コードなし" in text and "形式エラー" in text and "郵便番号は7桁の数字です" in text
    assert "孤独" in text  # the name as the CS holds it
    wife = next(p for p in world["family"] if p["relationship"] == "妻")
    assert wife["given_name"] not in text and wife["given_name_kana"] not in text  # screened (j440)
    assert "支援措置の対象者のため表示しません" in text
    assert world["wife"] not in text  # no 宛名番号 either
    for person in world["family"]:
        assert person["my_number"] not in spellings(text)
    assert text.count('action="/ui/cs/errors/') >= 4
    assert ("cs:overview", "cs1", "ok", "") in _register_log(j)


def test_the_page_shows_the_latest_comparison_by_resident_code_and_item_without_a_value(
    j: Juki, cs: CsDatabase, client: TestClient, template: Template
) -> None:
    sign_in(client, j, template, "cs_operator")
    assert "照合はまだ行われていません" in client.get("/ui/cs").text
    done = filings.file(j.uow, CLERK, "move-in", f.move_in(f.family_of_four()[:2]))
    take_in(j, cs)
    head = done.changes[0]["addressee_number"]
    with cs.engine.begin() as conn:  # what a broken consumer would leave
        row = conn.execute(t.identity.select().where(t.identity.c.addressee_number == head)).one()
        broken = dict(row.items) | {"住所": "東京都小平市どこか一丁目1番1号"}
        conn.execute(t.identity.update().where(t.identity.c.addressee_number == head).values(items=broken))
    at = datetime(2026, 12, 5, 17, 0, tzinfo=UTC)  # 令和8年12月6日 02:00 in Japan
    compare(j.uow, cs.transaction, RegisterQueries(j.uow, CS_SYSTEM), CS_SYSTEM, j.settings.city_code, at)
    text = client.get("/ui/cs").text
    assert "既存住基との整合性確認" in text and "令和8年12月6日 02:00 に2人を照合しました" in text
    assert "相違は" in text and "1件" in text
    assert row.items["住民票コード"] in text and "<td>住所</td>" in text
    assert "どこか" not in text and head not in text
    assert ("cs:comparison:view", "cs1", "ok", "") in _register_log(j)


def test_the_operator_corrects_and_resends_sends_back_and_discards_through_the_page(
    j: Juki, cs: CsDatabase, client: TestClient, template: Template
) -> None:
    world = errors_in_queue(j, cs)
    lone = next(n for n in world["entries"] if n != world["wife"])
    entry = world["entries"][lone]
    sign_in(client, j, template, "cs_operator")
    page = client.get("/ui/cs")
    token = _csrf(page.text)

    # Without the page's CSRF token: refused, nothing changed.
    refused = client.post(f"/ui/cs/errors/{entry}/resend", data={})
    assert refused.status_code == 403 and notices(cs)[0].state == "error"

    # 修正して再送: a field the operator did not change is not sent as a correction.
    fields = dict(re.findall(rf'id="f-{entry}-\d+" name="(item-\d+)" value="([^"]*)"', page.text))
    assert "item-12" not in fields  # the 個人番号 (item 13) is not on the form
    res = client.post(f"/ui/cs/errors/{entry}/correct", data={**fields, "item-0": CODE, "csrf_token": token})
    assert res.status_code == 303 and res.headers["location"].startswith("/ui/cs?done=corrected")
    after = client.get(res.headers["location"])
    assert "修正して再送しました" in after.text and f"エラー番号 {entry}" in after.text
    row = next(n for n in notices(cs) if n.id == entry)
    assert (row.state, row.resident_code) == ("queued", CODE)
    logged = [a for a, _, _, _ in _register_log(j)]
    assert "cs:error_correct" in logged and "cs:error_resend" in logged

    # Nothing changed on the form: said on the page, nothing written.
    protected = world["entries"][world["wife"]]
    same = client.post(f"/ui/cs/errors/{protected}/correct", data={"csrf_token": token})
    assert same.status_code == 422 and "変更された項目がありません" in same.text

    # 既存住基へ差し戻し needs a reason; then 破棄 with one.
    no_reason = client.post(f"/ui/cs/errors/{protected}/send_back", data={"csrf_token": token})
    assert no_reason.status_code == 422 and "理由を入力してください" in no_reason.text
    back = client.post(
        f"/ui/cs/errors/{protected}/send_back", data={"csrf_token": token, "reason": "郵便番号の誤り"}
    )
    assert back.status_code == 303
    shown = client.get(back.headers["location"]).text
    assert "既存住基へ差し戻しました" in shown and "郵便番号の誤り" in shown
    gone = client.post(
        f"/ui/cs/errors/{protected}/discard", data={"csrf_token": token, "reason": "既存住基で訂正済み"}
    )
    assert gone.status_code == 303
    assert next(n for n in notices(cs) if n.id == protected).state == "discarded"
    details = [d for a, _, _, d in _register_log(j) if a == "cs:error_discard"]
    assert details and "既存住基で訂正済み" in details[0]

    # An action the state does not allow is refused in words, not with the service's state names.
    again = client.post(f"/ui/cs/errors/{protected}/resend", data={"csrf_token": token})
    assert again.status_code == 422 and "いまの状態ではこの操作ができません" in again.text
    assert "discarded" not in again.text.split("<main", 1)[1]
    assert client.post("/ui/cs/errors/999/resend", data={"csrf_token": token}).status_code == 422


@pytest.mark.parametrize("role", [r for r in ROLES if r != "cs_operator"])
def test_no_other_role_sees_or_works_the_cs_page(
    j: Juki, cs: CsDatabase, client: TestClient, template: Template, role: str
) -> None:
    world = errors_in_queue(j, cs)
    sign_in(client, j, template, role)
    page = client.get("/ui/cs")
    assert page.status_code == 403 and "この役割ではこの事務を行えません" in page.text
    assert "孤独" not in page.text and "エラーキュー" not in page.text
    token = _csrf(page.text)
    before = [(n.id, n.state, n.resident_code) for n in notices(cs)]
    for entry in world["entries"].values():
        for action, body in (
            ("correct", {"item-0": CODE}),
            ("send_back", {"reason": "x"}),
            ("resend", {}),
            ("discard", {"reason": "x"}),
        ):
            res = client.post(f"/ui/cs/errors/{entry}/{action}", data={**body, "csrf_token": token})
            assert res.status_code == 403, (action, res.status_code)
            assert "孤独" not in res.text
    assert [(n.id, n.state, n.resident_code) for n in notices(cs)] == before
    denied = [(a, s, r) for a, s, r, _ in _register_log(j) if r == "denied"]
    assert denied and {s for _, s, _ in denied} == {STAFF[role][0]}
