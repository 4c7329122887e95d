"""One path for input: the request models (web/schemas.py) are the one check of shape and types for the API and
for the clerk's forms alike (filings, searches, certificates, certificate settings, 記載順位), so the same bad input
is refused with the same code, field and message by both; the domain's parsers then check values only."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from typing import Any

import pytest
from fastapi.testclient import TestClient

from juki.bootstrap import Juki
from juki.domain import certificate_settings
from juki.domain.errors import DomainError
from juki.web.ui import certificate_form, certificate_settings_pages, forms, register_pages
from tests import factories as f
from tests.e2e.conftest import served
from tests.ui.test_session import sign_in as sign_in_to_the_ui


@pytest.fixture
def ui(j: Juki) -> Iterator[TestClient]:
    with served(j) as app, TestClient(app, follow_redirects=False) as c:
        yield c


def _flat(node: Any, path: str = "") -> dict[str, Any]:
    """A JSON body as a filing form's inputs (`persons.0.family_name` …); the household choice is the form's own."""
    if isinstance(node, dict):
        if path == "household.":
            return {"_household": "new"} if node.get("new") else {"_household": "existing"}
        out: dict[str, Any] = {}
        for key, value in node.items():
            out.update(_flat(value, f"{path}{key}."))
        return out
    if isinstance(node, list) and node and isinstance(node[0], dict):
        return {k: v for i, item in enumerate(node) for k, v in _flat(item, f"{path}{i}.").items()}
    return {path.rstrip("."): "" if node is None else node}  # None: an input left empty


def _api_errors(client: TestClient, headers: Any, kind: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    res = client.post(f"/api/v1/filings/{kind}", json=body, headers=headers("clerk"))
    assert res.status_code == 422, res.text
    return list(res.json()["errors"])


def _form_errors(kind: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    result = forms.read(kind, _flat(body))
    forms.parse_with_intake(kind, result)
    return list(result.errors.values())


def _move_in(**person: Any) -> dict[str, Any]:
    """A move-in of one person with `person`'s items changed (None: left out of the body, left empty on a form)."""
    return f.move_in([f.person(**person)])


def _sent(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "persons": [{k: v for k, v in p.items() if v is not None} for p in body["persons"]]}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (_move_in(sex=None), {"code": "invalid_field", "field": "persons.0.sex", "message": "必須項目です"}),
        (
            _move_in(colour="赤"),
            {"code": "invalid_field", "field": "persons.0.colour", "message": "この項目は指定できません"},
        ),
        (
            _move_in(honseki="東京都\x85小平市"),
            {"code": "invalid_field", "field": "persons.0.honseki", "message": "制御文字は使えません"},
        ),
    ],
    ids=["missing", "unknown", "control-character"],
)
def test_the_api_and_the_form_refuse_the_same_input_with_the_same_error(client, headers, body, expected):
    assert _api_errors(client, headers, "move-in", _sent(body)) == [expected]
    assert _form_errors("move-in", body) == [expected]


def test_a_form_sends_the_household_it_shows_only_when_the_body_names_one():
    """A move-out's form names its household (to list the members), the body only who moves and where."""
    values = {
        "filed_on": "R7.6.2",
        "planned_on": "R7.6.20",
        "household_number": "0000000019",
        "addressee_numbers": ["0000000019"],
        "destination.address": "東京都武蔵野市吉祥寺本町一丁目1番1号",
        "destination.municipality_code": "132039",
    }
    result = forms.read("move-out", values)
    forms.parse_with_intake("move-out", result)
    assert result.ok, result.errors
    assert "household_number" not in result.payload and result.payload["addressee_numbers"] == ["0000000019"]


def _correction(number: str, corrections: dict[str, Any]) -> dict[str, Any]:
    return {
        "filed_on": "2025-06-20",
        "changed_on": "2025-06-20",
        "reason": "戸籍照合により誤記を修正",
        "addressee_number": number,
        "corrections": corrections,
    }


@pytest.mark.parametrize(
    ("corrections", "field", "message"),
    [
        ({"honseki": 5}, "corrections.honseki", "値の型が正しくありません"),
        ({"voter_registered": "yes"}, "corrections.voter_registered", "値の型が正しくありません"),
        (
            {"national_pension": {"number": 1234}},
            "corrections.national_pension.number",
            "値の型が正しくありません",
        ),
        ({"foreign": "ベトナム"}, "corrections.foreign", "値の型が正しくありません"),
        ({"colour": "赤"}, "corrections.colour", "修正できない項目です"),  # the domain's rule names the item
        ({"sex": "other"}, "corrections.sex", "性別は male か female です"),
    ],
)
def test_each_correction_item_is_typed_by_the_request_model(client, headers, corrections, field, message):
    number = client.post("/api/v1/filings/move-in", json=f.move_in([f.person()]), headers=headers("clerk"))
    addressee = number.json()["changes"][0]["addressee_number"]
    errors = _api_errors(client, headers, "ex-officio-correction", _correction(addressee, corrections))
    assert errors == [{"code": "invalid_field", "field": field, "message": message}]


def _field_error(html: str, name: str) -> str:
    slot = re.search(rf'id="err-f-{name}"[^>]*>(.*?)</p>', html, re.S)
    assert slot, f"no error slot for {name}"
    return unescape(re.sub(r"<[^>]+>", "", slot.group(1))).strip()


def test_the_search_screen_refuses_what_the_api_refuses_with_the_same_words(client, headers, ui, totp):
    name = "ヤマダ" * 70  # longer than a search name may be (200)
    api = client.get(
        "/api/v1/residents", params={"name": name, "birth_date": "1980-04-01"}, headers=headers("clerk")
    )
    assert api.status_code == 422
    assert api.json()["errors"] == [{"code": "invalid_field", "field": "name", "message": "長すぎます"}]
    csrf = sign_in_to_the_ui(ui, totp, "supervisor")  # another account: a one-time code is used once
    page = ui.post("/ui/search", data={"csrf_token": csrf, "name": name, "birth_date": "1980-04-01"})
    assert page.status_code == 422
    assert _field_error(page.text, "name") == "長すぎます （invalid_field）"


def test_the_search_screens_history_box_searches_earlier_names_as_the_apis_flag_does(
    client, headers, ui, totp
):
    csrf = sign_in_to_the_ui(ui, totp, "supervisor")  # another account: a one-time code is used once
    criteria = {"name": "ヤマダ タロウ", "birth_date": "1980-04-01"}
    for ticked in ("true", "on"):
        page = ui.post("/ui/search", data={"csrf_token": csrf, **criteria, "history": ticked})
        assert page.status_code == 200, page.text
        assert re.search(r'id="f-history"[^>]*checked', page.text)
    api = client.get("/api/v1/residents", params={**criteria, "history": "true"}, headers=headers("clerk"))
    assert api.status_code == 200, api.text


# --- a certificate request: the API and the counter's form ----------------------------------------------------


def _certificate_form(addressee_number: str, **typed: str) -> dict[str, Any]:
    """The counter's certificate form as a clerk fills it in for the person themselves (its inputs' names)."""
    return {
        "kind": "residence_certificate",
        "layout": "household",
        "addressee_numbers": [addressee_number],
        "requester.type": "self",
        "requester.name": "ヤマダ タロウ",
        "requester.addressee_number": addressee_number,
        "identity_check.document": "運転免許証",
        "purpose": "手続のため",
        "copies": "1",
        **typed,
    }


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        (
            {"purpose": "年金の\x85手続"},
            {"code": "invalid_field", "field": "purpose", "message": "制御文字は使えません"},
        ),
        (
            {"requester.name": "ヤ" * 201},
            {"code": "invalid_field", "field": "requester.name", "message": "長すぎます"},
        ),
        (
            {"identity_check.document": "旅\u0085券"},
            {"code": "invalid_field", "field": "identity_check.document", "message": "制御文字は使えません"},
        ),
        ({"copies": "0"}, {"code": "invalid_field", "field": "copies", "message": "通数は1〜10です"}),
        (
            {"layout": "poster"},
            {
                "code": "invalid_field",
                "field": "layout",
                "message": "layout は household / individual のいずれかです",
            },
        ),
    ],
    ids=["control-character", "too-long", "nested-control-character", "copies", "layout"],
)
def test_the_api_and_the_certificate_form_refuse_the_same_request_with_the_same_error(
    client, headers, ui, totp, typed, expected
):
    person = client.post("/api/v1/filings/move-in", json=f.move_in([f.person()]), headers=headers("clerk"))
    number = person.json()["changes"][0]["addressee_number"]
    values = _certificate_form(number, **typed)
    api = client.post(
        "/api/v1/certificates", json=certificate_form.request_body(values), headers=headers("clerk")
    )
    assert api.status_code == 422, api.text
    assert api.json()["errors"] == [expected]
    csrf = sign_in_to_the_ui(ui, totp, "supervisor")  # another account: a one-time code is used once
    opened_from = {"_addressee_number": number}  # the person whose page the form was opened from
    page = ui.post("/ui/certificates/confirm", data={"csrf_token": csrf, **opened_from, **values})
    assert page.status_code == 422
    slot = expected["field"].replace(".", "-")
    assert _field_error(page.text, slot) == f"{expected['message']} （invalid_field）"


@pytest.mark.parametrize(
    ("settings", "field", "message"),
    [
        ({"kiosk": {"fee": True}}, "kiosk.fee", "値の型が正しくありません"),
        ({"kiosk": {"fee": 100000}}, "kiosk.fee", "手数料は0〜10,000円です"),  # the value: the domain's rule
        (
            {"kinds": {"residence_certificate": {"include": "honseki"}}},
            "kinds.residence_certificate.include",
            "値の型が正しくありません",
        ),
        ({"printers": {"窓口01": 5}}, "printers.窓口01", "値の型が正しくありません"),
        ({"mayor": {"title": "東京都小平市長"}}, "mayor.name", "必須項目です"),
        ({"colour": "red"}, "settings", "指定できない設定です: colour"),  # the domain names an unknown item
    ],
)
def test_a_settings_document_is_typed_by_its_model_with_paths_inside_the_document(
    client, headers, settings, field, message
):
    res = client.put(
        "/api/v1/certificates/settings",
        json={"settings": settings, "reason": "規程の改正による"},
        headers=headers("admin"),
    )
    assert res.status_code == 422, res.text
    assert res.json()["errors"] == [{"code": "invalid_field", "field": field, "message": message}]
    with pytest.raises(DomainError) as form:  # the settings page: the same models, the same rules
        certificate_settings.parse(
            certificate_settings_pages.checked({"settings": settings, "reason": "改正"})["settings"]
        )
    assert form.value.to_dict() == {"code": "invalid_field", "field": field, "message": message}


def test_the_api_and_the_household_page_refuse_the_same_member_order_with_the_same_error(client, headers):
    family = client.post(
        "/api/v1/filings/move-in", json=f.move_in(f.family_of_four()), headers=headers("clerk")
    )
    household = family.json()["household_number"]
    order = {"mode": "manual", "addressee_numbers": ["0000000019", "00000\x8500027"]}
    api = client.post(f"/api/v1/households/{household}/member-order", json=order, headers=headers("clerk"))
    assert api.status_code == 422, api.text
    expected = {"code": "invalid_field", "field": "addressee_numbers.1", "message": "制御文字は使えません"}
    assert api.json()["errors"] == [expected]
    with pytest.raises(DomainError) as form:  # the confirmation form sends the order it shows
        register_pages._order_payload(order)
    assert form.value.to_dict() == expected


@pytest.mark.parametrize(
    "criteria",
    [{"name": "ヤマダ\x85タロウ", "birth_date": "1980-04-01"}, {"addressee_number": "00000\x850019"}],
    ids=["criterion", "look-up"],
)
def test_the_search_query_is_typed_by_the_request_model_as_the_search_screen_is(
    client, headers, ui, totp, criteria
):
    """A control character the URL check lets through (C1) is refused by the query's model, with the field."""
    field = next(iter(criteria))
    expected = {"code": "invalid_field", "field": field, "message": "制御文字は使えません"}
    api = client.get("/api/v1/residents", params=criteria, headers=headers("clerk"))
    assert api.status_code == 422, api.text
    assert api.json()["errors"] == [expected]
    if field == "name":  # the search screen has no look-up by number
        csrf = sign_in_to_the_ui(ui, totp, "supervisor")  # another account: a one-time code is used once
        page = ui.post("/ui/search", data={"csrf_token": csrf, **criteria})
        assert page.status_code == 422
        assert _field_error(page.text, "name") == "制御文字は使えません （invalid_field）"
