import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.jp import in_ as stdnum_in

from juki.domain import errors
from juki.domain.errors import InvalidField, InvalidMyNumber, InvalidResidentCode
from juki.domain.identifiers import (
    addressee_number_check_digit,
    generate_my_number,
    generate_resident_code,
    local_gov_code_check_digit,
    make_addressee_number,
    make_household_number,
    my_number_check_digit,
    resident_code_check_digit,
    validate_addressee_number,
    validate_household_number,
    validate_local_gov_code,
    validate_my_number,
    validate_resident_code,
)

VALID_MY_NUMBER = "621498320257"  # python-stdnum's documented example
DIGITS = "0123456789"


def _wrong_last_digit(number: str) -> str:
    return number[:-1] + str((int(number[-1]) + 1) % 10)


# --- My Number ---------------------------------------------------------------------------------------


def test_valid_my_number_is_accepted():
    assert validate_my_number(VALID_MY_NUMBER) == VALID_MY_NUMBER


def test_my_number_with_wrong_check_digit_is_refused():
    with pytest.raises(InvalidMyNumber) as exc:
        validate_my_number(_wrong_last_digit(VALID_MY_NUMBER))
    assert (exc.value.code, exc.value.field, exc.value.status) == ("invalid_my_number", "my_number", 422)


def test_my_number_in_full_width_digits_or_card_grouping_is_normalised():
    assert validate_my_number("６２１４ ９８３２ ０２５７") == VALID_MY_NUMBER
    assert validate_my_number("6214-9832-0257") == VALID_MY_NUMBER


@pytest.mark.parametrize(
    "value",
    ["", "62149832025", "6214983202570", "62149832025X", "٦٢١٤٩٨٣٢٠٢٥٧", None, 621498320257],
)
def test_my_number_of_wrong_shape_is_refused(value):
    with pytest.raises(InvalidMyNumber):
        validate_my_number(value)


def test_my_number_error_message_never_contains_the_number():
    bad = _wrong_last_digit(VALID_MY_NUMBER)
    with pytest.raises(InvalidMyNumber) as exc:
        validate_my_number(bad)
    assert bad not in exc.value.message
    assert bad not in str(exc.value)
    assert bad not in repr(exc.value)


def test_my_number_error_carries_the_given_field_path():
    with pytest.raises(InvalidMyNumber) as exc:
        validate_my_number("1", field="persons.0.my_number")
    assert exc.value.field == "persons.0.my_number"


@pytest.mark.parametrize(
    ("first11", "check"),
    [
        ("62149832025", "7"),  # stdnum's example
        ("00000000000", "0"),  # Σ = 0 → r = 0 → 0
        ("00000000001", "9"),  # last weight 2: Σ = 2 → 11 − 2
        ("00000000030", "2"),  # weight 3: Σ = 9 → 11 − 9
        ("00000100000", "4"),  # 6th weight 7: Σ = 7 → 11 − 7
        ("20000000000", "0"),  # first weight 6: Σ = 12 → r = 1 → 0, not 10
    ],
)
def test_my_number_check_digit_follows_the_cabinet_order(first11, check):
    assert my_number_check_digit(first11) == check


@given(st.text(alphabet=DIGITS, min_size=11, max_size=11))
def test_my_number_check_digit_agrees_with_stdnum(first11):
    assert my_number_check_digit(first11) == stdnum_in.calc_check_digit(first11)


@given(st.text(alphabet=DIGITS, min_size=12, max_size=12))
def test_my_number_validation_agrees_with_stdnum(number):
    try:
        validate_my_number(number)
        ours = True
    except InvalidMyNumber:
        ours = False
    assert ours == stdnum_in.is_valid(number)


def test_generated_my_numbers_are_valid_and_reproducible():
    numbers = [generate_my_number(random.Random(seed)) for seed in range(200)]
    assert all(stdnum_in.is_valid(n) for n in numbers)
    assert numbers == [generate_my_number(random.Random(seed)) for seed in range(200)]
    assert len(set(numbers)) > 190


def test_check_digit_of_a_body_with_wrong_length_is_a_programming_error():
    with pytest.raises(ValueError):
        my_number_check_digit("123")


# --- 住民票コード -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first10", "check"),
    [
        ("0000000000", "0"),
        ("0000000001", "9"),  # last weight 2: Σ = 2
        ("1000000000", "6"),  # first weight 5: Σ = 5
        ("0000100000", "4"),  # 5th weight 7: Σ = 7
        ("0300000000", "0"),  # weight 4: Σ = 12 → r = 1 → 0
        ("1234567890", "3"),  # Σ = 195 → r = 8 → 3
    ],
)
def test_resident_code_check_digit_uses_weights_5_4_3_2_7_6_5_4_3_2(first10, check):
    assert resident_code_check_digit(first10) == check


def test_valid_resident_code_is_accepted_and_normalised():
    assert validate_resident_code("１２３４５６７８９０３") == "12345678903"


def test_resident_code_with_wrong_check_digit_is_refused():
    with pytest.raises(InvalidResidentCode) as exc:
        validate_resident_code("12345678904")
    assert (exc.value.code, exc.value.field) == ("invalid_resident_code", "resident_code")


@pytest.mark.parametrize("value", ["", "1234567890", "123456789033", "1234567890a"])
def test_resident_code_of_wrong_shape_is_refused(value):
    with pytest.raises(InvalidResidentCode):
        validate_resident_code(value)


def test_generated_resident_codes_are_valid():
    for seed in range(200):
        code = generate_resident_code(random.Random(seed))
        assert validate_resident_code(code) == code


# --- 地方公共団体コード -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "132110",  # 小平市 (r = 1 → 0)
        "130001",  # 東京都 (r = 10 → 1)
        "131016",  # 千代田区
        "010006",  # 北海道
        "271004",  # 大阪市
    ],
)
def test_real_local_government_codes_are_valid(code):
    assert validate_local_gov_code(code) == code
    assert local_gov_code_check_digit(code[:5]) == code[5]


def test_local_gov_code_with_remainder_zero_has_check_digit_one():
    assert local_gov_code_check_digit("00000") == "1"


@pytest.mark.parametrize("value", ["132111", "13211", "1321100", "13211a", ""])
def test_wrong_local_government_code_is_refused(value):
    with pytest.raises(InvalidField) as exc:
        validate_local_gov_code(value, field="previous_address.municipality_code")
    assert exc.value.field == "previous_address.municipality_code"


# --- 宛名番号・世帯番号 -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seq", "number"),
    [
        (1, "0000000019"),  # Σ = 2 → 9
        (6, "0000000060"),  # Σ = 12 → r = 1 → 0
        (31, "0000000310"),  # Σ = 1·2 + 3·3 = 11 → r = 0 → 0
        (123456789, "1234567892"),  # Σ = 174 → r = 9 → 2
        (100000000, "1000000007"),  # 9th digit from the right has weight 4 (2..7 cycles) → 7
    ],
)
def test_addressee_number_is_sequence_plus_modulus_11_check_digit(seq, number):
    assert make_addressee_number(seq) == number
    assert make_household_number(seq) == number


def test_addressee_number_weights_cycle_after_seven():
    # The 7th digit from the right has weight 2 again, like the 1st.
    assert addressee_number_check_digit("001000000") == addressee_number_check_digit("000000001")


@pytest.mark.parametrize("seq", [0, -1, 10**9])
def test_sequence_out_of_range_cannot_be_numbered(seq):
    with pytest.raises(ValueError):
        make_addressee_number(seq)


def test_valid_addressee_and_household_numbers_are_accepted():
    assert validate_addressee_number("０００００００３１０") == "0000000310"
    assert validate_household_number("1234567892") == "1234567892"


@pytest.mark.parametrize("value", ["0000000018", "000000019", "00000000190", "0000000000", "abcdefghij"])
def test_wrong_addressee_number_is_refused(value):
    with pytest.raises(InvalidField) as exc:
        validate_addressee_number(value)
    assert (exc.value.code, exc.value.field) == ("invalid_field", "addressee_number")


def test_wrong_household_number_is_refused():
    with pytest.raises(InvalidField) as exc:
        validate_household_number("1234567893")
    assert exc.value.field == "household_number"


@given(st.integers(min_value=1, max_value=10**9 - 1))
def test_every_made_number_validates_and_a_changed_digit_does_not(seq):
    number = make_addressee_number(seq)
    assert validate_addressee_number(number) == number
    with pytest.raises(InvalidField):
        validate_addressee_number(_wrong_last_digit(number))


# --- errors (tested here: they guard the identifiers above) ---------------------------------------------


@pytest.mark.parametrize(
    ("cls", "code", "status"),
    [
        (errors.InvalidField, "invalid_field", 422),
        (errors.InvalidMyNumber, "invalid_my_number", 422),
        (errors.InvalidResidentCode, "invalid_resident_code", 422),
        (errors.InvalidDate, "invalid_date", 422),
        (errors.DuplicateMyNumber, "duplicate_my_number", 409),
        (errors.AlreadyResident, "already_resident", 409),
        (errors.NotResident, "not_resident", 409),
        (errors.HouseholderRequired, "householder_required", 409),
        (errors.MultipleHouseholders, "multiple_householders", 409),
        (errors.NonAddressChange, "non_address_change", 422),
        (errors.InsufficientSearchCriteria, "insufficient_search_criteria", 422),
        (errors.Conflict, "conflict", 409),
        (errors.NotFound, "not_found", 404),
        (errors.Forbidden, "forbidden", 403),
        (errors.ProtectedRecord, "protected_record", 403),
        (errors.Unauthenticated, "unauthenticated", 401),
    ],
)
def test_each_domain_error_has_its_stable_code_and_status(cls, code, status):
    err = cls("メッセージ", field="persons.0.birth_date")
    assert isinstance(err, errors.DomainError)
    assert (err.code, err.status, err.field, err.message) == (
        code,
        status,
        "persons.0.birth_date",
        "メッセージ",
    )
    assert err.to_dict() == {"code": code, "field": "persons.0.birth_date", "message": "メッセージ"}


def test_a_domain_error_code_can_be_given_per_instance_without_changing_the_class():
    err = errors.DomainError("x", code="invalid_date")
    assert err.code == "invalid_date"
    assert errors.DomainError.code == "invalid_field"
    assert errors.DomainError("y").field is None


@pytest.mark.parametrize("number", ["621498320257", "6214 9832 0257", "６２１４９８３２０２５７"])
def test_a_my_number_slipped_into_an_error_message_is_masked(number):
    err = errors.InvalidField(f"番号 {number} は登録済みです")
    assert number not in err.message
    assert number not in str(err)
    assert "＊＊＊＊" in err.message


def test_dates_and_short_numbers_in_error_messages_are_kept():
    message = "2024-04-01 の届出（宛名番号 0000000019）"
    assert errors.InvalidField(message).message == message
