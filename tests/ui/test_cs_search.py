"""The CS operator's search of the 本人確認情報ファイル and query of the national server in the browser, against a
real simulated 住基ネット over mutual TLS: a search with too few items is refused inline, the answer lists exactly
the persons selected (not a person under a 支援措置), a person's detail shows the items without the 個人番号, a query
without a purpose is refused and one with it answers persons of another city — screenshots under
test-output/ui/<test>/. Every other role gets the 事務 switch page (403) on these pages."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from juki.cs.adapters import query_tables as qt
from juki.cs.adapters.cs_db import CsDatabase
from juki.cs.services import intake
from juki.cs.wire import NoticeKind
from juki.policy.roles import Actor
from juki.services import filings, protection
from juki.sim.juki_net import Running, start_in_thread
from tests import factories as f
from tests.cs.juki_net_support import cs_client, my_number, notice, resident_code
from tests.cs.page_support import with_cs
from tests.cs.support import CITY
from tests.leakcheck import spellings
from tests.ui.conftest import PASSWORD, Live, _free_port, _serve, _stop, csp_violations
from tests.ui.test_webauthn import _authenticator, _code, _enrol, _enrolment_code, _password_and_code

OTHER_CITY = {
    "市町村コード": "132039",
    "住所": "東京都武蔵野市吉祥寺本町一丁目1番1号",
    "清音化かな氏名": "ヤマタ\u3000タロオ",
}


@pytest.fixture(scope="module")
def live_net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Live, CsDatabase, Running, Path]]:
    """A served register (relying party `localhost`) with its CS, linked to a simulated 住基ネット."""
    folder = tmp_path_factory.mktemp("ui-cs-search")
    sim = start_in_thread(folder / "juki-net")
    config = folder / "juki-net.json"
    config.write_text(json.dumps({"url": sim.url, "pki": "juki-net"}), encoding="utf-8")
    port = _free_port()
    live = _serve(folder / "register.db", port=port, host="localhost", webauthn_rp_id="localhost",
                  webauthn_origin=f"http://localhost:{port}", juki_net_config=str(config))  # fmt: skip
    cs = with_cs(live.j, folder)
    yield live, cs, sim, folder
    cs.dispose()
    _stop(live)
    sim.stop()


def _world(live: Live, cs: CsDatabase, sim: Running, folder: Path) -> dict[str, Any]:
    """The family of four in 小川町一丁目 (the wife under a 支援措置), a namesake 山田 太郎 born the same day in
    学園東町, all in the CS's file; and a 山田 太郎 of 武蔵野市 born the same day at the national server."""
    clerk = Actor(live.account("clerk", "窓口 一郎"), "窓口 一郎", "clerk", "counter-1")
    family = f.family_of_four()
    done = filings.file(live.j.uow, clerk, "move-in", f.move_in(family))
    namesake = f.person()
    filings.file(
        live.j.uow,
        clerk,
        "move-in",
        f.move_in([namesake], address={"address": "東京都小平市学園東町一丁目2番3号"}),
    )
    boss = Actor("super-x", "係長", "supervisor", "desk-1", procedure="protection")
    protection.set_measure(live.j.uow, boss, f.support_measure(done.changes[1]["addressee_number"]))
    intake.run_all(live.j.uow, cs.transaction, live.j.event_key, CITY)
    other = resident_code(21)
    with cs_client(sim.url, folder / "juki-net") as link:
        link.send(notice(other, 1, NoticeKind.MOVE_IN, my_number(), **OTHER_CITY))
    return {"family": family, "namesake": namesake, "other": other}


def test_the_cs_operator_searches_the_file_and_queries_the_national_server(live_net, new_page, shot):
    live, cs, sim, folder = live_net
    w = _world(live, cs, sim, folder)
    head, wife = w["family"][0], w["family"][1]
    admin = live.account("admin", "管理 四郎")
    operator = live.account("cs_operator", "CS 五郎")
    page = new_page()
    _authenticator(page)
    _enrol(page, live, operator, _enrolment_code(live, admin, operator), _code(live, operator))
    _password_and_code(page, live, operator, _code(live, operator))
    page.wait_for_url(re.compile(r".*/ui/cs$"))

    page.get_by_role("link", name=re.compile("本人確認情報の検索")).click()
    page.wait_for_url(re.compile(r".*/ui/cs/search$"))
    # One item (and the sex) is refused, in words and with its code; nothing is listed.
    page.locator("#f-name").fill("ヤマダ タロウ")
    page.locator("#f-sex").select_option("男")
    page.locator("#f-name").press("Enter")
    page.locator(".error-box").wait_for()
    assert "search_needs_two_items" in page.locator(".error-box").inner_text()
    assert page.locator("table.cs-results").count() == 0
    shot(page, "too-few-items")

    # 氏名 and 住所: the family's 山田 太郎 only — not the namesake in 学園東町; the wife's 支援措置 keeps her out.
    page.locator("#f-address").fill("小川町1丁目")
    page.locator("#f-address").press("Enter")
    page.locator("table.cs-results").wait_for()
    listed = page.locator("table.cs-results").inner_text()
    assert head["resident_code"] in listed and w["namesake"]["resident_code"] not in listed
    assert page.locator("table.cs-results tbody tr").count() == 1
    shot(page, "answer", full_page=True)
    page.locator("#f-sex").select_option("")  # the family's other members too: not the wife, hidden
    page.locator("#f-name").fill("山田")
    page.locator("#f-name").press("Enter")
    page.locator("p.count", has_text="3件").wait_for()
    listed = page.locator("table.cs-results").inner_text()
    assert wife["resident_code"] not in listed and "花子" not in page.content()

    # 詳細: the person's items, without the 個人番号.
    row = page.locator("table.cs-results tr", has_text=head["resident_code"])
    row.get_by_role("button", name="詳細").click()
    page.locator("section.cs-person").wait_for()
    detail = page.locator("section.cs-person").inner_text()
    assert "山田\u3000太郎" in detail and "住民票コード" in detail and "清音化かな氏名" in detail
    assert "個人番号" not in page.locator("dl.cs-items").inner_text()
    assert not any(p["my_number"] in spellings(page.content()) for p in w["family"])
    assert page.url.endswith("/ui/cs/search") and head["resident_code"] not in page.url
    shot(page, "detail", full_page=True)

    # The national server: no purpose is refused; with one, the 武蔵野市 person is answered.
    page.goto(live.url + "/ui/cs/query")
    page.locator("#f-name").fill("山田 太郎")
    page.locator("#f-birth_date").fill("S55.4.1")
    page.get_by_role("button", name="照会").click()
    page.locator("#err-f-purpose", has_text="purpose_required").wait_for()
    assert page.locator("#f-purpose").get_attribute("aria-invalid") == "true"
    shot(page, "purpose-required")
    page.locator("#f-purpose").select_option("30-12")
    page.locator("#f-address").fill("東京都武蔵野市")
    page.get_by_role("button", name="照会").click()
    page.locator("table.cs-results").wait_for()
    answered = page.locator("table.cs-results").inner_text()
    assert w["other"] in answered and "132039" in answered and head["resident_code"] not in answered
    page.locator("summary", has_text=w["other"]).click()
    assert "個人番号" not in page.locator("details.cs-query-person dl").inner_text()
    shot(page, "national-answer", full_page=True)
    assert csp_violations(page) == []

    with cs.engine.connect() as conn:
        logged = [
            (r.kind, r.purpose, r.result, r.answered)
            for r in conn.execute(select(qt.queries).order_by(qt.queries.c.id))
        ]
    assert logged == [
        ("search", None, "search_needs_two_items", 0),
        ("search", None, "ok", 1),
        ("search", None, "ok", 3),
        ("search", None, "ok", 1),
        ("national", None, "purpose_required", 0),
        ("national", "30-12", "ok", 1),
    ]


@pytest.mark.parametrize("role", ["clerk", "supervisor", "auditor", "admin"])
def test_every_other_role_is_refused_the_pages(live_net, new_page, role):
    live, cs, _, _ = live_net
    username = live.account(role)
    page = new_page()
    page.goto(live.url + "/ui/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("#otp").fill(_code(live, username))
    page.locator("#otp").press("Enter")
    page.wait_for_url(re.compile(r".*/ui/.*"))
    page.wait_for_load_state("load")
    before = _count(cs)
    for path in ("/ui/cs/search", "/ui/cs/query"):
        res = page.goto(live.url + path)
        assert res is not None and res.status == 403, path
        assert "住基ネット" in page.locator("main").inner_text()
        posted = page.evaluate(
            """async (path) => { const token = document.querySelector('meta[name=csrf-token]').content;
                 const r = await fetch(path, {method: 'POST', headers: {'x-csrf-token': token,
                   'content-type': 'application/x-www-form-urlencoded'},
                   body: 'purpose=30-12&resident_code=12345678903'});
                 return r.status; }""",
            path,
        )
        assert posted == 403, path
    assert _count(cs) == before  # a refused role searched nothing


def _count(cs: CsDatabase) -> int:
    with cs.engine.connect() as conn:
        return len(list(conn.execute(select(qt.queries.c.id))))
