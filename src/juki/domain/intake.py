"""From a filing's body to a command: every value parsed and checked against its rule.

The body's shape and JSON types are checked once, before it gets here, by the request models (`web/schemas.py`),
for the API and the clerk's forms alike: objects are mappings, lists are lists, strings are strings, unknown fields
are refused. So these parsers check values only — identifier check digits, kana, real dates, this city's towns,
the code lists, which field a filing may name — and take the typed body as it is; errors carry the field's path.
`free_text` is the exception: services outside the filings call it on bodies no model has typed, so it still
checks that its value is a string.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from juki.domain import address as addr
from juki.domain import commands as c
from juki.domain.dates import parse_iso_date, parse_unknown_parts
from juki.domain.errors import (
    InvalidField,
    InvalidResidenceCardNumber,
    InvalidSex,
    NonAddressChange,
    Required,
    redact,
)
from juki.domain.identifiers import (
    validate_addressee_number,
    validate_household_number,
    validate_local_gov_code,
    validate_my_number,
    validate_resident_code,
)
from juki.domain.model import Address, Enrollment, ForeignResidentItems
from juki.domain.names import normalize_kana, normalize_name
from juki.domain.relationship import normalize_relationship

CITY_CODE = "132110"  # 小平市
SEXES = ("male", "female")
ARTICLE_30_45 = ("中長期在留者", "特別永住者", "一時庇護許可者", "仮滞在許可者", "経過滞在者")
PERSON_FIELDS = {
    "family_name",
    "given_name",
    "family_name_kana",
    "given_name_kana",
    "birth_date",
    "sex",
    "relationship",
    "my_number",
    "resident_code",
    "honseki",
    "family_register_head",
    "former_surname",
    "former_surname_kana",
    "foreign",
    "birth_date_unknown",
    "birth_date_unknown_parts",
    "person",
    "persons",
}

Data = Mapping[str, Any]


def _req(data: Data, key: str, path: str) -> Any:
    value = data.get(key)
    if value is None or value == "":
        raise Required(field=path + key)
    return value


def _date(data: Data, key: str, path: str = "", required: bool = True) -> date | None:
    value = _req(data, key, path) if required else data.get(key)
    return None if value is None else parse_iso_date(value, path + key)


def _must_date(data: Data, key: str, path: str = "") -> date:
    value = _date(data, key, path)
    assert value is not None
    return value


def _opt(data: Data, key: str, fn: Callable[[str, str], str], path: str) -> str | None:
    value = data.get(key)
    return None if value in (None, "") else fn(value, path + key)


def _text(value: str, field: str, limit: int = 200) -> str:
    text = value.strip()
    if not text or len(text) > limit or any(ch in text for ch in "<>") or not text.isprintable():
        raise InvalidField(f"{limit}文字以内の文字で入力してください", field)
    return text


_UNPRINTABLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def free_text(payload: Data, key: str, limit: int = 500) -> str:
    """A required free-text item (a reason, a purpose, a requester): printable, within `limit`, and never a
    number shaped like a My Number — free text is stored in plain, so one typed there would leak at rest."""
    value = payload.get(key)
    # Its callers include services whose bodies no request model has typed (see above): the type is checked here.
    if not isinstance(value, str) or not value.strip():
        raise Required(field=key)
    text = value.strip()
    if len(text) > limit:
        raise InvalidField(f"{limit}文字以内で入力してください", key)
    if any(unicodedata.category(ch) in _UNPRINTABLE for ch in text):  # the ideographic space is welcome
        raise InvalidField("制御文字は使えません", key)
    if redact(text) != text:
        raise InvalidField("個人番号のような12桁の数字は入力できません", key)
    return text


def city_address(data: Data, path: str) -> Address:
    katagaki = _opt(data, "katagaki", _text, path) or ""
    parsed = addr.parse_city_address(_req(data, "address", path), katagaki)
    postal = _opt(data, "postal_code", lambda v, f: addr.validate_postal_code(v), path)
    if postal and parsed.postal_code and postal != parsed.postal_code:
        raise InvalidField("郵便番号が住所と一致しません", path + "postal_code")
    return Address(
        addr.canonical_address(parsed, with_katagaki=False),
        parsed.katagaki,
        parsed.postal_code or postal,
        parsed.town,
        CITY_CODE,
    )


def other_address(data: Data, path: str) -> Address:
    """A previous address or destination: another municipality (with its code) or abroad (with the country)."""
    country = _opt(data, "country", _text, path)
    code = _opt(data, "municipality_code", validate_local_gov_code, path)
    if not country and not code:
        raise InvalidField("市区町村コード（国外の場合は国名）を指定してください", path + "municipality_code")
    text = addr.normalise_other_address(_text(_req(data, "address", path), path + "address", 300))
    postal = _opt(data, "postal_code", lambda v, f: addr.validate_postal_code(v), path)
    katagaki = _opt(data, "katagaki", _text, path) or ""
    return Address(text, katagaki, postal, None, code, country)


def _foreign(data: Data | None, path: str) -> ForeignResidentItems | None:
    if data is None:
        return None
    category = _req(data, "article_30_45_category", path)
    if category not in ARTICLE_30_45:
        raise InvalidField("第30条の45の区分が正しくありません", path + "article_30_45_category")
    card = data.get("residence_card_number")
    if category == "中長期在留者" and not card:
        raise InvalidField("中長期在留者は在留カード番号が必須です", path + "residence_card_number")
    if card and not _is_card_number(card):
        raise InvalidResidenceCardNumber(field=path + "residence_card_number")
    alias = _opt(data, "alias_name", normalize_name, path)
    return ForeignResidentItems(
        nationality=_text(_req(data, "nationality", path), path + "nationality", 60),
        article_30_45_category=category,
        status_of_residence=_opt(data, "status_of_residence", _text, path),
        period_of_stay=_opt(data, "period_of_stay", _text, path),
        stay_expires_on=_date(data, "stay_expires_on", path, required=False),
        residence_card_number=card.upper() if card else None,
        special_permanent_resident_certificate_number=_opt(
            data, "special_permanent_resident_certificate_number", _text, path
        ),
        alias_name=alias,
        alias_name_kana=_opt(data, "alias_name_kana", normalize_kana, path),
        foreign_resident_since=_date(data, "foreign_resident_since", path, required=False),
        parallel_name=_opt(data, "parallel_name", normalize_name, path),
    )


def _is_card_number(value: str) -> bool:
    # 在留カード番号: 2 letters, 8 digits, 2 letters (出入国管理及び難民認定法施行規則 様式).
    return (
        len(value) == 12
        and value[:2].isalpha()
        and value[2:10].isdigit()
        and value[10:].isalpha()
        and value.isascii()
    )


def person(data: Data, path: str) -> c.PersonInput:
    sex = _sex(_req(data, "sex", path), path + "sex")
    return c.PersonInput(
        family_name=normalize_name(_req(data, "family_name", path), path + "family_name"),
        given_name=normalize_name(_req(data, "given_name", path), path + "given_name"),
        family_name_kana=normalize_kana(_req(data, "family_name_kana", path), path + "family_name_kana"),
        given_name_kana=normalize_kana(_req(data, "given_name_kana", path), path + "given_name_kana"),
        birth_date=_must_date(data, "birth_date", path),
        sex=sex,
        relationship=normalize_relationship(_req(data, "relationship", path), path + "relationship"),
        my_number=_opt(data, "my_number", validate_my_number, path),
        resident_code=_opt(data, "resident_code", validate_resident_code, path),
        honseki=_opt(data, "honseki", _text, path),
        family_register_head=_opt(data, "family_register_head", normalize_name, path),
        former_surname=_opt(data, "former_surname", normalize_name, path),
        former_surname_kana=_opt(data, "former_surname_kana", normalize_kana, path),
        foreign=_foreign(data.get("foreign"), path + "foreign."),
        birth_date_unknown=_opt(data, "birth_date_unknown", lambda v, f: _text(v, f, 40), path),
        birth_date_unknown_parts=_unknown_parts(data, path),
    )


def _unknown_parts(data: Data, path: str) -> tuple[str, ...]:
    """j80: the unknown parts of the birth date as flags; the 不詳日 wording (`birth_date_unknown`) is the other
    way to say it, for the patterns flags cannot (頃, 推定, 上旬 …) — one person says it one way."""
    parts = parse_unknown_parts(data.get("birth_date_unknown_parts"), path + "birth_date_unknown_parts")
    if parts and data.get("birth_date_unknown"):
        raise InvalidField(
            "不詳の部分と不詳日の文言は、どちらか一方を指定してください", path + "birth_date_unknown_parts"
        )
    return parts


def _persons(data: Data) -> tuple[c.PersonInput, ...]:
    return tuple(person(p, f"persons.{i}.") for i, p in enumerate(_req(data, "persons", "")))


def _numbers(data: Data, key: str) -> tuple[str, ...]:
    return tuple(validate_addressee_number(n, f"{key}.{i}") for i, n in enumerate(data.get(key) or []))


def _an(data: Data, key: str) -> str | None:
    return _opt(data, key, validate_addressee_number, "")


def _hn(data: Data, key: str) -> str | None:
    return _opt(data, key, validate_household_number, "")


def _relationships(data: Data) -> dict[str, str]:
    return {
        validate_addressee_number(k, f"new_relationships.{k}"): normalize_relationship(
            v, f"new_relationships.{k}"
        )
        for k, v in (data.get("new_relationships") or {}).items()
    }


def _household_ref(data: Data) -> str | None:
    ref = _req(data, "household", "")
    if (ref.get("new") is True) == ("household_number" in ref):  # a new household, or the one it joins
        raise InvalidField('{"new": true} か {"household_number"} のどちらかを指定してください', "household")
    return (
        None
        if ref.get("new") is True
        else validate_household_number(ref["household_number"], "household.household_number")
    )


def move_in(data: Data) -> c.MoveIn:
    return c.MoveIn(
        filed_on=_must_date(data, "filed_on"),
        changed_on=_must_date(data, "changed_on"),
        previous_address=other_address(_req(data, "previous_address", ""), "previous_address."),
        address=city_address(_req(data, "address", ""), "address."),
        persons=_persons(data),
        household_number=_household_ref(data),
    )


MOVE_WITHIN_FIELDS = {
    "filed_on",
    "changed_on",
    "household_number",
    "addressee_numbers",
    "address",
    "new_household",
    "householder",
    "join_household_number",
    "new_relationships",
    "new_householder",
}


def move_within(data: Data) -> c.MoveWithin:
    person_fields = sorted(PERSON_FIELDS & set(data))
    if person_fields:  # the seed's logic check: a 転居 changes the address and nothing else
        raise NonAddressChange("転居届では住所以外の事項は変更できません", person_fields[0])
    unknown = sorted(set(data) - MOVE_WITHIN_FIELDS)
    if unknown:
        raise InvalidField("この項目は指定できません", unknown[0])
    return c.MoveWithin(
        filed_on=_must_date(data, "filed_on"),
        changed_on=_must_date(data, "changed_on"),
        household_number=validate_household_number(_req(data, "household_number", ""), "household_number"),
        addressee_numbers=_numbers(data, "addressee_numbers"),
        address=city_address(_req(data, "address", ""), "address."),
        new_household=data.get("new_household") is True,
        householder=_an(data, "householder"),
        join_household_number=_hn(data, "join_household_number"),
        new_relationships=_relationships(data),
        new_householder=_an(data, "new_householder"),
    )


def move_out(data: Data) -> c.MoveOut:
    return c.MoveOut(
        filed_on=_must_date(data, "filed_on"),
        planned_on=_must_date(data, "planned_on"),
        addressee_numbers=_numbers(data, "addressee_numbers"),
        destination=other_address(_req(data, "destination", ""), "destination."),
        new_householder=_an(data, "new_householder"),
        new_relationships=_relationships(data),
    )


def birth(data: Data) -> c.RegisterBirth:
    born = _must_date(data, "birth_date")
    raw = dict(_req(data, "person", ""))
    raw.setdefault("birth_date", born.isoformat())
    return c.RegisterBirth(
        filed_on=_must_date(data, "filed_on"),
        birth_date=born,
        household_number=validate_household_number(_req(data, "household_number", ""), "household_number"),
        person=person(raw, "person."),
    )


def death(data: Data) -> c.RegisterDeath:
    return c.RegisterDeath(
        filed_on=_must_date(data, "filed_on"),
        died_on=_must_date(data, "died_on"),
        addressee_number=validate_addressee_number(_req(data, "addressee_number", ""), "addressee_number"),
        new_householder=_an(data, "new_householder"),
        new_relationships=_relationships(data),
    )


def household_change(data: Data) -> c.ChangeHousehold:
    return c.ChangeHousehold(
        filed_on=_must_date(data, "filed_on"),
        changed_on=_must_date(data, "changed_on"),
        type=_req(data, "type", ""),
        household_number=validate_household_number(_req(data, "household_number", ""), "household_number"),
        new_householder=_an(data, "new_householder"),
        addressee_numbers=_numbers(data, "addressee_numbers"),
        householder=_an(data, "householder"),
        into_household_number=_hn(data, "into_household_number"),
        new_relationships=_relationships(data),
    )


def _reason(data: Data) -> str:
    return free_text(data, "reason", 1000)  # stored in plain: never a number shaped like a My Number


def ex_officio_entry(data: Data) -> c.ExOfficioEntry:
    ref = data.get("household") or {"new": True}
    return c.ExOfficioEntry(
        filed_on=_must_date(data, "filed_on"),
        changed_on=_must_date(data, "changed_on"),
        reason=_reason(data),
        address=city_address(_req(data, "address", ""), "address."),
        persons=_persons(data),
        household_number=_household_ref({"household": ref}),
    )


def _sex(value: str, field: str) -> str:
    if value not in SEXES:
        raise InvalidSex(field=field)
    return value


def _enrollment(value: Data, field: str) -> Enrollment:
    return Enrollment(
        enrolled=value.get("enrolled") is True,
        acquired_on=_date(value, "acquired_on", field + ".", False),
        lost_on=_date(value, "lost_on", field + ".", False),
        number=value.get("number"),
        category=value.get("category"),
    )


ENROLLMENTS = (
    "national_health_insurance",
    "late_elderly_insurance",
    "long_term_care_insurance",
    "national_pension",
    "child_allowance",
)
# The items a 職権修正 may change, each with its parser; any other item is refused by name.
_CORRECTIONS: dict[str, Callable[[Any, str], object]] = {
    "family_name": normalize_name,
    "given_name": normalize_name,
    "former_surname": normalize_name,
    "family_name_kana": normalize_kana,
    "given_name_kana": normalize_kana,
    "former_surname_kana": normalize_kana,
    "birth_date": parse_iso_date,
    "birth_date_unknown_parts": parse_unknown_parts,
    "resident_since": parse_iso_date,
    "honseki": _text,
    "family_register_head": normalize_name,
    "relationship": normalize_relationship,
    "my_number": validate_my_number,
    "resident_code": validate_resident_code,
    "sex": _sex,
    "voter_registered": lambda v, f: v,  # a JSON boolean (the request model's)
    "school_district": _text,
    "voting_district": _text,
    "foreign": lambda v, f: _foreign(v, f + "."),
    **{k: _enrollment for k in ENROLLMENTS},
}


def _corrections(data: Data) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in _req(data, "corrections", "").items():
        if key not in _CORRECTIONS:
            raise InvalidField("修正できない項目です", f"corrections.{key}")
        out[key] = _CORRECTIONS[key](value, f"corrections.{key}")
    return out


def ex_officio_correction(data: Data) -> c.ExOfficioCorrection:
    return c.ExOfficioCorrection(
        filed_on=_must_date(data, "filed_on"),
        changed_on=_must_date(data, "changed_on"),
        reason=_reason(data),
        addressee_number=validate_addressee_number(_req(data, "addressee_number", ""), "addressee_number"),
        corrections=_corrections(data),
        change_reason=_correction_reason(data),
    )


def _correction_reason(data: Data) -> str:
    """The 異動事由 of a 職権修正: 職権修正 itself, or one that certificates hide by default (標準仕様書 j40)."""
    value = data.get("change_reason") or c.EX_OFFICIO_CORRECTION
    if value not in c.CORRECTION_REASONS:
        raise InvalidField(
            "異動事由は " + "、".join(c.CORRECTION_REASONS) + " のいずれかです", "change_reason"
        )
    return value


def ex_officio_removal(data: Data) -> c.ExOfficioRemoval:
    return c.ExOfficioRemoval(
        filed_on=_must_date(data, "filed_on"),
        changed_on=_must_date(data, "changed_on"),
        reason=_reason(data),
        addressee_numbers=_numbers(data, "addressee_numbers"),
        new_householder=_an(data, "new_householder"),
        new_relationships=_relationships(data),
    )


def ex_officio_restoration(data: Data) -> c.ExOfficioRestoration:
    return c.ExOfficioRestoration(
        filed_on=_must_date(data, "filed_on"),
        changed_on=_must_date(data, "changed_on"),
        reason=_reason(data),
        addressee_number=validate_addressee_number(_req(data, "addressee_number", ""), "addressee_number"),
    )


def cancellation(filing_id: str, data: Data) -> c.CancelFiling:
    """取消し (j980) of `filing_id`, for all its persons or for `addressee_numbers` among them."""
    return c.CancelFiling(
        filed_on=_must_date(data, "filed_on"),
        filing_id=filing_id,
        reason=_reason(data),
        addressee_numbers=_numbers(data, "addressee_numbers"),
    )


# kind (the URL segment of POST /api/v1/filings/{kind}) → parser
PARSERS: dict[str, Callable[[Data], c.Command]] = {
    "move-in": move_in,
    "move-within": move_within,
    "move-out": move_out,
    "birth": birth,
    "death": death,
    "household-change": household_change,
    "ex-officio-entry": ex_officio_entry,
    "ex-officio-correction": ex_officio_correction,
    "ex-officio-removal": ex_officio_removal,
    "ex-officio-restoration": ex_officio_restoration,
}
