"""特例転入 at the counter, in the browser: the clerk looks up the 転出証明書情報 the CS holds by the card's 住民票コード,
the form comes back filled from it (never the 個人番号), a protected person is flagged, and 登録 files the move-in,
sets the 仮支援措置 and marks the 転出証明書情報 used. The CS's port is an in-memory stand-in (tests/card_move_fakes)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from juki.domain.dates import to_wareki_short, today_jst
from tests.card_move_fakes import CODE, FakeCertificates, held
from tests.ui.conftest import Live, sign_in


@pytest.fixture
def port(live: Live) -> Iterator[FakeCertificates]:
    today = today_jst()
    fake = FakeCertificates(
        held(
            given_name="桜子",
            given_name_kana="サクラコ",
            planned_on=today - timedelta(days=3),
            received_on=today - timedelta(days=2),
            provisional_protection=True,
        )
    )
    live.j.moveout_certificates = fake  # type: ignore[attr-defined]
    yield fake
    live.j.__dict__.pop("moveout_certificates", None)


def test_a_card_move_in_is_filled_from_the_cs_and_filed(live: Live, new_page, shot, port):  # type: ignore[no-untyped-def]
    page = new_page()
    clerk = live.account("clerk", "窓口 特例")
    page.goto(live.url + "/")
    sign_in(page, live, clerk)
    page.goto(live.url + "/ui/filings/move-in/new")

    page.fill("#f-_lookup-resident_code", CODE)
    page.click("#f-card-lookup")
    expect(page.locator("#card-held")).to_be_visible()
    shot(page, "filled-from-the-cs", full_page=True)
    assert page.input_value("#f-persons-0-family_name") == "特例"
    assert page.input_value("#f-persons-0-given_name_kana") == "サクラコ"
    assert page.input_value("#f-persons-0-resident_code") == CODE
    assert page.input_value("#f-persons-0-sex") == "female"
    assert page.input_value("#f-previous_address-municipality_code") == "132039"
    assert page.input_value("#f-persons-0-my_number") == ""  # the 個人番号 stays on the server
    assert "123456789018" not in page.content()
    expect(page.locator("#card-protection")).to_contain_text("支援措置の対象者です")
    expect(page.locator("#card-move-in-badge")).to_be_visible()

    page.fill("#f-changed_on", to_wareki_short(today_jst() - timedelta(days=1)))
    page.fill("#f-address-address", "東京都小平市小川町一丁目100番地5")
    page.locator("#f-address-address").press("Enter")
    page.wait_for_url(re.compile(r".*/confirm$"))
    shot(page, "confirm")
    page.keyboard.press("Enter")  # 登録する has the focus
    page.wait_for_url(re.compile(r".*/ui/filings/F[\d-]+\?done=1$"))
    shot(page, "filed", full_page=True)
    # the 仮支援措置 is in force at once: the filing, which names the person, is screened from the clerk too
    expect(page.locator("body")).to_contain_text("not_found")

    ((certificate_id, number),) = port.used
    assert certificate_id == "MC-0001"
    with live.j.uow() as uow:
        record = uow.reader.resident(number).record
        measures = [m for m in uow.controls.measures() if m.subject == number]
    assert record.my_number == "123456789018" and record.resident_code == CODE
    assert [(m.kind, m.provisional, m.state) for m in measures] == [("support", True, "active")]


def test_without_a_cs_the_lookup_says_so_beside_the_field(live: Live, new_page, shot):  # type: ignore[no-untyped-def]
    page = new_page()
    page.goto(live.url + "/")
    sign_in(page, live, live.account("clerk"))
    page.goto(live.url + "/ui/filings/move-in/new")
    live.j.moveout_certificates = None  # type: ignore[attr-defined]
    try:
        page.fill("#f-_lookup-resident_code", CODE)
        page.click("#f-card-lookup")
        expect(page.locator("#err-f-_lookup-resident_code")).to_contain_text(
            "moveout_certificates_unavailable"
        )
        shot(page, "no-cs")
    finally:
        live.j.__dict__.pop("moveout_certificates", None)
