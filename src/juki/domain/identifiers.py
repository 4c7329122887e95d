"""Identifiers with check digits: My Number, 住民票コード, 地方公共団体コード, 宛名番号, 世帯番号.

Each check-digit rule is one function with its legal source beside it, so that a change in the rule is
a change in one place. Validators accept full-width digits (and, for the two national numbers, the
spaces or hyphens of the printed 4-4-4 / card forms), and return the canonical ASCII digit string.
Error messages never repeat the value that was given (it may be a My Number).
"""

from __future__ import annotations

import random
import re
import unicodedata

from .errors import InvalidField, InvalidMyNumber, InvalidResidentCode

_ASCII_DIGITS = re.compile(r"[0-9]+")
_SEPARATORS = re.compile(r"[\s\-]")


def _digits(body: str, length: int | None = None) -> list[int]:
    """The digits of a check-digit body; a wrong body is a programming error, not user input."""
    if not _ASCII_DIGITS.fullmatch(body) or (length is not None and len(body) != length):
        raise ValueError(f"expected {length or 'some'} ASCII digits")
    return [int(c) for c in body]


def _mod11(weighted_sum: int) -> str:
    """The common modulus-11 rule: r = Σ mod 11; check = 0 if r ≤ 1 else 11 − r.

    r = 1 would give 10, which is not a digit; every rule used here maps it to 0 like r = 0.
    """
    r = weighted_sum % 11
    return "0" if r <= 1 else str(11 - r)


def _canonical(value: object, length: int, *, separators: bool) -> str | None:
    """NFKC (full-width → ASCII), optional separator removal; None unless exactly `length` ASCII digits."""
    if not isinstance(value, str):
        return None
    text = unicodedata.normalize("NFKC", value).strip()
    if separators:
        text = _SEPARATORS.sub("", text)
    if len(text) != length or not _ASCII_DIGITS.fullmatch(text):
        return None
    return text


# --- 個人番号 (My Number) ---------------------------------------------------------------------------


def my_number_check_digit(first11: str) -> str:
    """番号法施行令第8条 (行政手続における特定の個人を識別するための番号の利用等に関する法律施行令):
    weights 6,5,4,3,2,7,6,5,4,3,2 over the first 11 digits from the left; r = Σ mod 11;
    check = 0 if r ≤ 1 else 11 − r.

    python-stdnum (`stdnum.jp.in_`) implements the same rule independently; the unit tests compare
    the two on generated numbers rather than calling both at run time.
    """
    digits = _digits(first11, 11)
    weights = (6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
    return _mod11(sum(w * d for w, d in zip(weights, digits, strict=True)))


def validate_my_number(s: str, field: str = "my_number") -> str:
    """12 digits with a valid check digit → the 12 ASCII digits; else InvalidMyNumber."""
    number = _canonical(s, 12, separators=True)
    if number is None:
        raise InvalidMyNumber("個人番号は12桁の数字で入力してください", field=field)
    if my_number_check_digit(number[:11]) != number[11]:
        raise InvalidMyNumber("個人番号のチェックデジットが正しくありません", field=field)
    return number


def generate_my_number(rng: random.Random) -> str:
    """A random My Number with a valid check digit, for synthetic data only."""
    body = "".join(rng.choice("0123456789") for _ in range(11))
    return body + my_number_check_digit(body)


# --- 住民票コード (resident code, 住基法第30条の2) ---------------------------------------------------------


def resident_code_check_digit(first10: str) -> str:
    """Weights 5,4,3,2,7,6,5,4,3,2 over the first 10 digits from the left; r = Σ mod 11;
    check = 0 if r ≤ 1 else 11 − r.

    Taken from secondary sources: the authority is 平成14年総務省告示第436号 (住民票コードの
    検査数字の算出方法), which was not at hand. Kept alone in this function so that it can be corrected
    in one place once checked against the notice.
    """
    digits = _digits(first10, 10)
    weights = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
    return _mod11(sum(w * d for w, d in zip(weights, digits, strict=True)))


def validate_resident_code(s: str, field: str = "resident_code") -> str:
    """11 digits with a valid check digit → the 11 ASCII digits; else InvalidResidentCode."""
    code = _canonical(s, 11, separators=True)
    if code is None:
        raise InvalidResidentCode("住民票コードは11桁の数字で入力してください", field=field)
    if resident_code_check_digit(code[:10]) != code[10]:
        raise InvalidResidentCode("住民票コードのチェックデジットが正しくありません", field=field)
    return code


def generate_resident_code(rng: random.Random) -> str:
    """A random 住民票コード with a valid check digit, for synthetic data only."""
    body = "".join(rng.choice("0123456789") for _ in range(10))
    return body + resident_code_check_digit(body)


# --- 地方公共団体コード (local government code) ---------------------------------------------------------


def local_gov_code_check_digit(first5: str) -> str:
    """総務省「全国地方公共団体コード」: weights 6,5,4,3,2 over the 5-digit body; r = Σ mod 11;
    check = (11 − r) mod 10 (so r = 0 gives 1 and r = 1 gives 0 — unlike the rules above).
    """
    digits = _digits(first5, 5)
    weights = (6, 5, 4, 3, 2)
    r = sum(w * d for w, d in zip(weights, digits, strict=True)) % 11
    return str((11 - r) % 10)


def validate_local_gov_code(s: str, field: str = "municipality_code") -> str:
    """6 digits with a valid check digit → the 6 ASCII digits; else InvalidField."""
    code = _canonical(s, 6, separators=False)
    if code is None or local_gov_code_check_digit(code[:5]) != code[5]:
        raise InvalidField("地方公共団体コードが正しくありません", field=field)
    return code


# --- 宛名番号・世帯番号 (addressee and household numbers) ---------------------------------------------

SEQUENCE_DIGITS = 9  # body width of 宛名番号 and 世帯番号; the full number adds one check digit


def addressee_number_check_digit(body: str) -> str:
    """住民記録システム標準仕様書 j130: modulus 11, weights 2,3,4,5,6,7 cycling from the rightmost body
    digit (2,3,4,5,6,7,2,3,…); r = Σ mod 11; check = 0 if r ≤ 1 else 11 − r.

    The specification says only "remainder 0 → 0"; r = 1 (which would give 10) is mapped to 0 as
    well, the usual convention, since a check digit must be one digit. Used for 世帯番号 too.
    """
    digits = _digits(body)
    total = sum(d * (2 + i % 6) for i, d in enumerate(reversed(digits)))
    return _mod11(total)


def _make_sequence_number(seq: int) -> str:
    if not 1 <= seq < 10**SEQUENCE_DIGITS:
        raise ValueError(f"sequence must be in 1..{10**SEQUENCE_DIGITS - 1}")
    body = f"{seq:0{SEQUENCE_DIGITS}d}"
    return body + addressee_number_check_digit(body)


def _validate_sequence_number(s: str, field: str, label: str) -> str:
    number = _canonical(s, SEQUENCE_DIGITS + 1, separators=False)
    if number is None or int(number[:-1]) == 0:
        raise InvalidField(f"{label}は{SEQUENCE_DIGITS + 1}桁の数字で入力してください", field=field)
    if addressee_number_check_digit(number[:-1]) != number[-1]:
        raise InvalidField(f"{label}のチェックデジットが正しくありません", field=field)
    return number


def make_addressee_number(seq: int) -> str:
    """宛名番号 for sequence `seq` (1 ≤ seq < 10⁹): 9-digit zero-padded sequence + check digit."""
    return _make_sequence_number(seq)


def make_household_number(seq: int) -> str:
    """世帯番号 for sequence `seq` (1 ≤ seq < 10⁹): 9-digit zero-padded sequence + check digit."""
    return _make_sequence_number(seq)


def validate_addressee_number(s: str, field: str = "addressee_number") -> str:
    return _validate_sequence_number(s, field, "宛名番号")


def validate_household_number(s: str, field: str = "household_number") -> str:
    return _validate_sequence_number(s, field, "世帯番号")


__all__ = [
    "SEQUENCE_DIGITS",
    "addressee_number_check_digit",
    "generate_my_number",
    "generate_resident_code",
    "local_gov_code_check_digit",
    "make_addressee_number",
    "make_household_number",
    "my_number_check_digit",
    "resident_code_check_digit",
    "validate_addressee_number",
    "validate_household_number",
    "validate_local_gov_code",
    "validate_my_number",
    "validate_resident_code",
]
