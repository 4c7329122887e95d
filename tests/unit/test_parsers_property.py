"""Every parser of what people and programs type, fed arbitrary input: it answers with a value or with the domain's
own error (a DomainError: InvalidField, InvalidDate, InvalidMyNumber …, each a 422 with a stable code), never
with anything else (a ValueError, KeyError, OverflowError or TypeError would be a 500). And what the register
writes, it reads back: printed dates parse to the same date, normalised text normalises to itself, a number made
with its check digit validates.

The cases the unit tests of each parser name (tests/unit/test_dates.py, test_names.py, test_address.py,
test_identifiers.py) are the examples; these are the rest of the input space.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import date
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from juki.domain import address as addr
from juki.domain import certificate_settings, certificates, intake, kiosk
from juki.domain.dates import (
    EARLIEST_DATE,
    LATEST_DATE,
    UNKNOWN_PARTS,
    format_date,
    parse_date,
    parse_iso_date,
    parse_unknown_parts,
    to_wareki,
    to_wareki_short,
)
from juki.domain.errors import DomainError
from juki.domain.identifiers import (
    local_gov_code_check_digit,
    my_number_check_digit,
    resident_code_check_digit,
    validate_addressee_number,
    validate_household_number,
    validate_local_gov_code,
    validate_my_number,
    validate_resident_code,
)
from juki.domain.names import normalize_kana, normalize_name, seion_kana
from juki.policy.search import address_term, name_term, parse_criteria
from juki.web import schemas
from juki.web.schemas import BODIES

# Text as it arrives: any code point (surrogates aside, which JSON and forms cannot carry), with the characters
# that matter here drawn more often than chance would draw them.
INTERESTING = "0123456789０１２３４５６７８９年月日元令和平成昭和大正明治RHSTMrhstm.-/ 　丁目番地号の-ｰー・ｶﾞﾊﾟゔヴ゛゜𠮷髙﨑\x00\u200b"
TEXT = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=INTERESTING, max_size=30),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=30),
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=8,
)
# What the web layer lets through into a string field (no control characters, no lone surrogates).
FIELD_TEXT = st.one_of(
    st.text(alphabet=st.characters(exclude_categories=("Cc", "Cs")), max_size=40),
    st.text(alphabet=INTERESTING.replace("\x00", ""), max_size=30),
)
ACCEPTED_DATES = st.dates(min_value=EARLIEST_DATE, max_value=LATEST_DATE)


def only_domain_errors(parse: Callable[..., Any], *args: Any) -> Any:
    """The parser's value, or None when it refused the input with the domain's own error."""
    try:
        return parse(*args)
    except DomainError:
        return None


# --- arbitrary input: a value or the domain's error ----------------------------------------------------------

TEXT_PARSERS: dict[str, Callable[[str], Any]] = {
    "name": lambda s: normalize_name(s, "family_name"),
    "kana": lambda s: normalize_kana(s, "family_name_kana"),
    "seion key": seion_kana,
    "date": lambda s: parse_date(s, "birth_date"),
    "ISO date": lambda s: parse_iso_date(s, "filed_on"),
    "ISO date, unbounded": lambda s: parse_iso_date(s, "from", bounded=False),
    "city address": addr.parse_city_address,
    "city address with 方書": lambda s: addr.parse_city_address("東京都小平市小川町一丁目100番地", s),
    "town": addr.town_of,
    "other address": addr.normalise_other_address,
    "postal code": addr.validate_postal_code,
    "My Number": validate_my_number,
    "住民票コード": validate_resident_code,
    "地方公共団体コード": validate_local_gov_code,
    "宛名番号": validate_addressee_number,
    "世帯番号": validate_household_number,
    "search name": name_term,
    "search address": address_term,
}


@pytest.mark.parametrize("parser", sorted(TEXT_PARSERS))
@given(text=TEXT)
def test_a_parser_of_typed_text_answers_a_value_or_the_domains_own_error(parser, text):
    only_domain_errors(TEXT_PARSERS[parser], text)


@given(params=st.dictionaries(st.sampled_from(["name", "birth_date", "address", "sex", "name_match",
                                               "history", "resident_code", "my_number", "addressee_number",
                                               "household_number", "residence_card_number", "limit"]),
                              TEXT, max_size=4))  # fmt: skip
def test_search_criteria_of_any_text_answer_a_query_or_the_domains_own_error(params):
    only_domain_errors(parse_criteria, params)


INTAKE = {
    "move-in": intake.move_in,
    "move-within": intake.move_within,
    "move-out": intake.move_out,
    "birth": intake.birth,
    "death": intake.death,
    "household-change": intake.household_change,
    "ex-officio-entry": intake.ex_officio_entry,
    "ex-officio-correction": intake.ex_officio_correction,
    "ex-officio-removal": intake.ex_officio_removal,
    "ex-officio-restoration": intake.ex_officio_restoration,
}


def shaped(annotation: Any) -> st.SearchStrategy[Any]:
    """Values of a request body's declared JSON shape (web/schemas.py) with arbitrary text in every string: what
    passes the web layer and reaches the domain's intake."""
    origin, args = get_origin(annotation), get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        fields = annotation.model_fields
        required = {k: shaped(f.annotation) for k, f in fields.items() if f.is_required()}
        optional = {k: shaped(f.annotation) for k, f in fields.items() if not f.is_required()}
        return st.fixed_dictionaries(required, optional=optional)
    if origin is Annotated:
        return shaped(args[0])
    if origin in (Union, UnionType):
        return st.one_of([shaped(a) for a in args])
    if origin is list:
        return st.lists(shaped(args[0]), max_size=3)
    if origin is dict:
        return st.dictionaries(shaped(args[0]), shaped(args[1]), max_size=3)
    if origin is Literal:
        return st.sampled_from(args)
    simple = {str: FIELD_TEXT, bool: st.booleans(), int: st.integers(), type(None): st.none(), object: JSON}
    return simple[annotation]


@pytest.mark.parametrize("kind", sorted(INTAKE))
@settings(max_examples=80)
@given(data=st.data())
def test_a_filing_of_its_declared_shape_with_any_text_answers_a_command_or_the_domains_own_error(kind, data):
    model = BODIES[kind]
    body = data.draw(shaped(model))
    try:
        payload = model.model_validate(body).model_dump(exclude_none=True)
    except ValidationError:  # the web layer's 422 (a control character, a string too long)
        assume(False)
    only_domain_errors(INTAKE[kind], payload)


TYPED_PARSERS: dict[str, tuple[type[BaseModel], Callable[[Any], Any]]] = {
    "certificate request": (schemas.CertificateBody, certificates.parse_request),
    "kiosk request": (schemas.KioskCertificateBody, kiosk.parse_request),
    "certificate settings": (schemas.CertificateSettingsIn, certificate_settings.parse),
}


@pytest.mark.parametrize("parser", sorted(TYPED_PARSERS))
@settings(max_examples=80)
@given(data=st.data())
def test_a_request_of_its_declared_shape_with_any_text_answers_a_value_or_the_domains_own_error(parser, data):
    """The parsers that check values only (their request models type the input) never fail on a typed one."""
    model, parse = TYPED_PARSERS[parser]
    try:
        payload = model.model_validate(data.draw(shaped(model))).model_dump(exclude_none=True)
    except ValidationError:  # the web layer's 422
        assume(False)
    only_domain_errors(parse, payload)


@given(value=JSON)
def test_unknown_date_parts_of_any_json_answer_parts_or_the_domains_own_error(value):
    parts = only_domain_errors(parse_unknown_parts, value, "birth_date_unknown")
    assert parts is None or parts == () or parts in UNKNOWN_PARTS


# --- what is written reads back ---------------------------------------------------------------------------


@given(ACCEPTED_DATES)
def test_every_accepted_date_printed_in_western_form_parses_back_to_itself(d):
    printed = format_date(d, western=True)
    assert parse_date(printed, "f") == d
    assert parse_iso_date(d.isoformat(), "f") == d


# The parser reads era years of up to three digits: 令和999年12月31日 (3017-12-31) is the last wareki date that
# reads back. Later dates are accepted in western form (above) but print as 令和1000年… in wareki.
LAST_WAREKI_READ_BACK = date(3017, 12, 31)


@given(st.dates(min_value=EARLIEST_DATE, max_value=LAST_WAREKI_READ_BACK))
def test_a_printed_wareki_date_typed_back_in_full_width_parses_to_itself(d):
    for printed in (to_wareki(d), to_wareki_short(d)):
        typed = unicodedata.normalize("NFKC", printed).translate(_FULL_WIDTH)
        assert parse_date(typed, "f") == d


_FULL_WIDTH = str.maketrans("0123456789.", "０１２３４５６７８９．")


@given(ACCEPTED_DATES, st.sampled_from(UNKNOWN_PARTS), st.booleans())
def test_a_date_with_unknown_parts_prints_only_its_known_parts(d, unknown, western):
    printed = format_date(d, unknown, western)
    assert printed.endswith("不詳")
    if "year" not in unknown:
        assert printed.startswith(format_date(d, (), western)[: printed.index("年") + 1])
    assert str(d.day) + "日" not in printed.replace("日不詳", "")


@given(TEXT)
def test_normalised_names_and_readings_normalise_to_themselves(text):
    for normalize in (normalize_name, normalize_kana):
        once = only_domain_errors(normalize, text, "f")
        if once is not None:
            assert normalize(once, "f") == once
    key = seion_kana(text)
    assert seion_kana(key) == key


DIGITS = "0123456789"


@given(st.text(alphabet=DIGITS, min_size=11, max_size=11), st.sampled_from(["", " ", "-"]))
def test_a_my_number_made_with_its_check_digit_validates_in_any_printed_form(first11, sep):
    number = first11 + my_number_check_digit(first11)
    typed = sep.join((number[:4], number[4:8], number[8:])).translate(_FULL_WIDTH)
    assert validate_my_number(typed) == number
    wrong = number[:-1] + str((int(number[-1]) + 1) % 10)
    assert only_domain_errors(validate_my_number, wrong) is None


@given(st.text(alphabet=DIGITS, min_size=10, max_size=10))
def test_a_resident_code_made_with_its_check_digit_validates(first10):
    code = first10 + resident_code_check_digit(first10)
    assert validate_resident_code(code.translate(_FULL_WIDTH)) == code
    wrong = code[:-1] + str((int(code[-1]) + 1) % 10)
    assert only_domain_errors(validate_resident_code, wrong) is None


@given(st.text(alphabet=DIGITS, min_size=5, max_size=5))
def test_a_local_government_code_made_with_its_check_digit_validates(first5):
    code = first5 + local_gov_code_check_digit(first5)
    assert validate_local_gov_code(code) == code


@given(st.sampled_from(addr.towns()), st.integers(1, 9999), st.integers(1, 999), st.booleans())
def test_a_written_city_address_parses_back_to_the_same_parts(town, block, house, lot):
    banchi = f"{block}番地{house}" if lot else f"{block}番{house}号"
    parsed = addr.parse_city_address(f"東京都小平市{town.town}{banchi}")
    again = addr.parse_city_address(addr.canonical_address(parsed))
    assert again == parsed and again.town == town.town
