"""The 団体内統合宛名番号 (unified_addressee_number): 15 digits, the city's 5-digit 団体コード (the 市町村コード without
its check digit) and a 10-digit sequence the city never reuses.

Business systems never see it: the 団体内統合宛名 function translates between a system's own 宛名番号 and it. Staff
see it masked (`masked`): the 団体コード and the last four digits, enough to tell two records apart on the
telephone with the vendor, not enough to be used as a key anywhere else.
"""

from __future__ import annotations

import re

LENGTH = 15
SEQUENCE_DIGITS = 10
_PATTERN = re.compile(r"^\d{15}$")


def body_code(city_code: str) -> str:
    """The 団体コード's first five digits (the 市町村コード's sixth is its check digit)."""
    if not re.fullmatch(r"\d{6}", city_code):
        raise ValueError("市町村コードは6桁の数字です")
    return city_code[:5]


def make(city_code: str, sequence: int) -> str:
    if not 1 <= sequence < 10**SEQUENCE_DIGITS:
        raise ValueError("団体内統合宛名番号の連番が範囲外です")
    return f"{body_code(city_code)}{sequence:0{SEQUENCE_DIGITS}d}"


def is_valid(number: object, city_code: str | None = None) -> bool:
    if not isinstance(number, str) or not _PATTERN.match(number) or number[5:] == "0" * SEQUENCE_DIGITS:
        return False
    return city_code is None or number[:5] == body_code(city_code)


def masked(number: str) -> str:
    """What staff see: `13211******0042`."""
    return number[:5] + "*" * (LENGTH - 9) + number[-4:]
