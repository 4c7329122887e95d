"""A filing form becomes the API's body: dates in any accepted form, kana converted, every wrong field named."""

from __future__ import annotations

import pytest

from juki.domain.intake import PARSERS
from juki.web.ui import forms


def _move_in(**over: object) -> dict[str, object]:
    values: dict[str, object] = {
        "filed_on": "令和7年6月2日",
        "changed_on": "R7.6.1",
        "previous_address.address": "東京都武蔵野市吉祥寺本町一丁目1番1号",
        "previous_address.municipality_code": "132039",
        "previous_address.country": "",
        "address.address": "東京都小平市小川町一丁目100番地5",
        "_household": "new",
        "household.household_number": "",
        "persons.0.family_name": "山田",
        "persons.0.given_name": "太郎",
        "persons.0.family_name_kana": "やまだ",
        "persons.0.given_name_kana": "ﾀﾛｳ",
        "persons.0.birth_date": "1980-04-01",
        "persons.0.sex": "male",
        "persons.0.relationship": "世帯主",
        "persons.1.family_name": "",
        "persons.1.given_name": "",
    }
    values.update(over)
    return values


@pytest.mark.parametrize("typed", ["令和7年6月2日", "R7.6.2", "2025-06-02", "Ｒ７．６．２", "2025/6/2"])
def test_dates_are_accepted_in_wareki_and_western_forms_and_shown_in_wareki(typed):  # type: ignore[no-untyped-def]
    result = forms.read("move-in", _move_in(filed_on=typed))
    assert result.payload["filed_on"] == "2025-06-02"
    assert result.values["filed_on"] == "令和7年6月2日"
    assert result.hints["filed_on"] == "令和7年6月2日"


def test_the_form_builds_the_same_body_as_the_api_takes():  # type: ignore[no-untyped-def]
    result = forms.read("move-in", _move_in())
    assert result.ok, result.errors
    assert result.payload == {
        "filed_on": "2025-06-02",
        "changed_on": "2025-06-01",
        "previous_address": {
            "address": "東京都武蔵野市吉祥寺本町一丁目1番1号",
            "municipality_code": "132039",
        },
        "address": {"address": "東京都小平市小川町一丁目100番地5"},
        "household": {"new": True},
        "persons": [
            {
                "family_name": "山田",
                "given_name": "太郎",
                "family_name_kana": "ヤマダ",  # hiragana
                "given_name_kana": "タロウ",  # half-width katakana
                "birth_date": "1980-04-01",
                "sex": "male",
                "relationship": "世帯主",
            }
        ],
    }
    PARSERS["move-in"](result.payload)  # and the API's own parser takes it


def test_every_wrong_field_is_named_with_the_apis_code():  # type: ignore[no-untyped-def]
    result = forms.read(
        "move-in",
        _move_in(
            changed_on="2023-02-30",
            **{
                "persons.0.birth_date": "きのう",
                "persons.0.my_number": "123456789012",
                "persons.0.family_name_kana": "山田",
                "previous_address.municipality_code": "132030",
            },
        ),
    )
    codes = {field: e["code"] for field, e in result.errors.items()}
    assert codes == {
        "changed_on": "invalid_date",
        "persons.0.birth_date": "invalid_field",
        "persons.0.my_number": "invalid_my_number",
        "persons.0.family_name_kana": "invalid_field",
        "previous_address.municipality_code": "invalid_field",
    }
    assert all(e["message"] and e["field"] == field for field, e in result.errors.items())


def test_an_address_error_is_put_beside_the_address_input():  # type: ignore[no-untyped-def]
    result = forms.read("move-in", _move_in(**{"address.address": "東京都小平市存在しない町1番地"}))
    assert list(result.errors) == ["address.address"]


def test_a_foreign_residents_dates_stay_in_the_western_calendar():  # type: ignore[no-untyped-def]
    result = forms.read("move-in", _move_in(**{"persons.0.foreign.stay_expires_on": "R10.6.1"}))
    assert result.values["persons.0.foreign.stay_expires_on"] == "2028年6月1日"
    assert result.payload["persons"][0]["foreign"]["stay_expires_on"] == "2028-06-01"


def test_the_intakes_first_error_joins_the_form_and_inline_checks_skip_fields_not_yet_filled():  # type: ignore[no-untyped-def]
    values = _move_in(**{"persons.0.sex": ""})
    result = forms.read("move-in", values)
    forms.parse_with_intake("move-in", result)
    assert result.errors["persons.0.sex"]["code"] == "invalid_field"
    inline = forms.read("move-in", values)
    forms.parse_with_intake("move-in", inline, inline=True)
    assert inline.errors == {}  # the clerk has not reached that field yet


def test_joining_a_household_needs_its_number():  # type: ignore[no-untyped-def]
    result = forms.read("move-in", _move_in(_household="existing"))
    assert result.errors["household.household_number"]["code"] == "invalid_field"
    joined = forms.read(
        "move-in", _move_in(_household="existing", **{"household.household_number": "0000000019"})
    )
    assert joined.payload["household"] == {"household_number": "0000000019"}


def test_moving_abroad_keeps_the_country_not_a_municipality_code():  # type: ignore[no-untyped-def]
    result = forms.read(
        "move-out",
        {
            "filed_on": "R7.6.2",
            "planned_on": "R7.6.20",
            "household_number": "0000000019",
            "addressee_numbers": ["0000000019", ""],
            "_abroad": "1",
            "destination.address": "ニューヨーク州",
            "destination.municipality_code": "132039",
            "destination.country": "アメリカ合衆国",
            "new_relationships.0000000027": "",
        },
    )
    assert result.ok, result.errors
    assert result.payload["destination"] == {"address": "ニューヨーク州", "country": "アメリカ合衆国"}
    assert result.payload["addressee_numbers"] == ["0000000019"]
    assert "new_relationships" not in result.payload


def test_a_household_change_sends_only_what_its_type_needs():  # type: ignore[no-untyped-def]
    values = {
        "filed_on": "R7.6.2",
        "changed_on": "R7.6.1",
        "household_number": "0000000019",
        "type": "householder_change",
        "new_householder": "0000000027",
        "addressee_numbers": ["0000000035"],
        "householder": "0000000035",
        "into_household_number": "0000000043",
    }
    result = forms.read("household-change", values)
    assert result.payload == {
        "filed_on": "2025-06-02",
        "changed_on": "2025-06-01",
        "household_number": "0000000019",
        "type": "householder_change",
        "new_householder": "0000000027",
    }


def test_a_correction_needs_at_least_one_item_and_parses_dates_in_it():  # type: ignore[no-untyped-def]
    base = {"filed_on": "R7.6.2", "changed_on": "R7.6.2", "reason": "誤記", "addressee_number": "0000000019"}
    assert forms.read("ex-officio-correction", base).errors["corrections"]["code"] == "invalid_field"
    result = forms.read(
        "ex-officio-correction", {**base, "corrections.birth_date": "S55.4.2", "corrections.sex": ""}
    )
    assert result.payload["corrections"] == {"birth_date": "1980-04-02"}


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("12", 12),
        (" 7 ", 7),
        ("１２", 12),
        ("٣", None),
        ("1" * 10, None),
        ("-1", None),
        ("", None),
        ("3.5", None),
    ],
)
def test_a_whole_number_is_digits_of_bounded_length(typed, expected):
    """`str.isdigit` takes digits `int` refuses (a 500) and any length; full-width digits are what an IME types."""
    from juki.web.ui.forms import whole_number

    assert whole_number(typed) == expected
