"""個人番号カード in the clerk UI (web/ui/card_pages.py), through its forms as a browser without JavaScript posts them:
the 交付申請 recorded from a person's page, the application's page as J-LIS reports it along, the 交付通知書, a refused
and an accepted 交付, the card's 一時停止 / 解除 / 廃止 from there, and 「カードで本人確認」 with a pasted or an uploaded
certificate opening the holder's page (a refusal stays on the form with its code)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pyotp
import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from fastapi.testclient import TestClient

from juki.web.app import create_app
from tests.conftest import PASSWORD, STAFF
from tests.e2e import kiosk_world
from tests.e2e.card_world import CardWorld, card_world_fixture

pki = kiosk_world.pki
card_world = card_world_fixture()


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF token on the page"
    return m.group(1)


@pytest.fixture(scope="module")
def ui(card_world: CardWorld) -> Iterator[TestClient]:
    """The clerk signed in to the UI once for the module (a one-time code is accepted once)."""
    w = card_world
    with TestClient(create_app(w.j), follow_redirects=False) as client:
        username = STAFF["clerk"][0]
        page = client.get("/ui/login")
        otp = pyotp.TOTP(w.template.secrets[username]).now()
        form = {"csrf_token": _csrf(page.text), "username": username, "password": PASSWORD, "otp": otp}
        assert client.post("/ui/login", data=form).status_code == 303
        yield client


def post(ui: TestClient, url: str, data: dict, **kw):  # type: ignore[no-untyped-def]
    token = _csrf(ui.get("/ui/card-applications").text)
    return ui.post(url, data={"csrf_token": token, **data}, **kw)


def test_the_counter_records_an_application_and_hands_the_card_over_through_the_forms(card_world, ui):
    w = card_world
    number = w.family("森", "モリ")[0]
    fragment = ui.get(f"/ui/residents/{number}/card-applications", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "交付申請はありません" in fragment.text
    assert "交付申請を受け付ける" in fragment.text

    res = post(ui, f"/ui/residents/{number}/card-applications", {"kind": "new", "applied_on": "R7.2.30"})
    assert res.status_code == 422 and "invalid_date" in res.text and 'value="R7.2.30"' in res.text
    res = post(ui, f"/ui/residents/{number}/card-applications", {"kind": "new", "applied_on": "R7.6.20"})
    assert res.status_code == 303, res.text
    page_url = res.headers["location"].split("?")[0]
    application_id = page_url.rsplit("/", 1)[1]
    page = ui.get(res.headers["location"])
    assert "交付申請を受け付けました" in page.text and "申請（J-LISの受付待ち）" in page.text
    assert "カードを交付する" not in page.text  # not before the card is at the city

    card = w.new_card()
    for state in ("received", "in_production"):
        w.report(application_id, state)
    w.report(application_id, "arrived", card)
    page = ui.get(page_url)
    assert "市区町村到着" in page.text and "カードを交付する" in page.text and "交付通知書を印刷" in page.text

    notice = post(ui, f"{page_url}/notice", {})
    assert notice.status_code == 200 and notice.headers["content-type"] == "application/pdf"
    assert "交付通知書を再印刷" in ui.get(page_url).text

    refused = post(ui, f"{page_url}/handover", {"notice_presented": "true", "doc.health_insurance": "on"})
    assert refused.status_code == 422 and "identity_check_insufficient" in refused.text
    refused = post(ui, f"{page_url}/handover", {"notice_presented": "true", "doc.passport": "on"})
    assert refused.status_code == 422 and "pins_not_set" in refused.text
    done = post(
        ui, f"{page_url}/handover", {"notice_presented": "true", "doc.passport": "on", "pins_set": "true"}
    )
    assert done.status_code == 303 and done.headers["location"].endswith("?done=issued")
    page = ui.get(done.headers["location"])
    assert "カードを交付しました" in page.text and "交付済" in page.text
    assert re.search(r'id="card-state">利用可<', page.text) and card.serial in page.text
    assert "旅券・交付通知書・暗証番号設定済" in page.text

    for state, shown in (("suspended", "一時停止中"), ("active", "利用可"), ("revoked", "廃止")):
        res = post(ui, f"{page_url}/card-state", {"serial": card.serial, "state": state})
        assert res.status_code == 303, res.text
        assert re.search(rf'id="card-state">{shown}<', ui.get(page_url).text)
    res = post(ui, f"{page_url}/card-state", {"serial": card.serial, "state": "active"})
    assert res.status_code == 422 and "廃止した電子証明書は元に戻せません" in res.text

    listed = ui.get(f"/ui/residents/{number}/card-applications", headers={"HX-Request": "true"}).text
    assert application_id in listed and "交付申請を受け付ける" in listed  # closed: a new one may be recorded


def test_an_application_is_opened_by_its_number_and_revoked(card_world, ui):
    w = card_world
    application_id = w.apply(w.family()[0])
    res = ui.get(f"/ui/card-applications?open={application_id.lower()}")
    assert res.status_code == 303 and res.headers["location"] == f"/ui/card-applications/{application_id}"
    assert ui.get("/ui/card-applications?open=X1").status_code == 422
    listed = ui.get("/ui/card-applications?show=under_way").text
    assert f'id="a-{application_id}"' in listed
    res = post(ui, f"/ui/card-applications/{application_id}/revoke", {"reason": "withdrawn"})
    assert res.status_code == 303
    assert "申請を廃止しました" in ui.get(res.headers["location"]).text
    assert f'id="a-{application_id}"' in ui.get("/ui/card-applications?show=revoked").text


def test_the_card_opens_its_holders_page_pasted_or_uploaded(card_world, ui):
    w = card_world
    householder, wife, *_ = w.family()
    _, card = w.handed_over(wife)
    res = post(ui, "/ui/cards/identify", {"certificate": card.certificate_pem})
    assert res.status_code == 303 and res.headers["location"] == f"/ui/residents/{wife}"

    token = _csrf(ui.get("/ui/cards/identify").text)
    der = card.cert.public_bytes(Encoding.DER)  # a card reader's .cer
    res = ui.post(
        "/ui/cards/identify",
        data={"csrf_token": token, "certificate": ""},
        files={"certificate_file": ("card.cer", der, "application/x-x509-user-cert")},
    )
    assert res.status_code == 303 and res.headers["location"] == f"/ui/residents/{wife}"

    form = ui.get(f"/ui/cards/identify?addressee_number={householder}").text
    assert f'name="addressee_number" value="{householder}"' in form
    res = post(
        ui, "/ui/cards/identify", {"certificate": card.certificate_pem, "addressee_number": householder}
    )
    assert res.status_code == 409 and "card_holder_mismatch" in res.text and wife not in res.text
    res = post(ui, "/ui/cards/identify", {"certificate": w.new_card().certificate_pem})
    assert res.status_code == 404 and "card_not_found" in res.text
    assert [e.result for e in w.log(action="card:identify")][-4:] == ["ok", "ok", "refused", "refused"]
