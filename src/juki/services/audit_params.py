"""The query parameters of the auditor's log search and reports: checked, and described for the log entry."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from datetime import date

from juki.domain.dates import clamp, parse_iso_date
from juki.domain.errors import InvalidDate, InvalidField, redact

FORMATS = ("json", "csv")


def text_param(params: Mapping[str, str], key: str) -> str | None:
    value = params.get(key)
    if not isinstance(value, str):
        return None
    # What is searched for and logged must be storable text (no NUL or other control characters, no surrogates).
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value):
        raise InvalidField("制御文字は使えません", key)
    return value.strip() or None


def int_param(params: Mapping[str, str], key: str, default: int, low: int, high: int) -> int:
    text = text_param(params, key)
    if text is None:
        return default
    if not text.isascii() or not text.isdigit() or not low <= int(text) <= high:
        raise InvalidField(f"{key} は {low} から {high} までの整数で指定してください", key)
    return int(text)


def output_format(params: Mapping[str, str]) -> str:
    fmt = text_param(params, "format") or "json"
    if fmt not in FORMATS:
        raise InvalidField("format は json か csv を指定してください", "format")
    return fmt


def bool_param(params: Mapping[str, str], key: str) -> bool | None:
    text = text_param(params, key)
    if text is None:
        return None
    if text.lower() not in ("true", "false", "1", "0"):
        raise InvalidField(f"{key} は true か false を指定してください", key)
    return text.lower() in ("true", "1")


def period(params: Mapping[str, str], required: bool) -> tuple[date | None, date | None]:
    dates: list[date | None] = []
    for key in ("from", "to"):
        text = text_param(params, key)
        if text is None and required:
            raise InvalidField("期間（from と to、YYYY-MM-DD）を指定してください", key)
        # The log holds nothing outside the accepted range of dates: a wider period (0001-01-01 … 9999-12-31,
        # "everything") is clamped to it rather than refused, and never overflows a datetime.
        dates.append(clamp(parse_iso_date(text, key, bounded=False)) if text is not None else None)
    first, last = dates
    if first and last and first > last:
        raise InvalidDate("期間の開始が終了より後です", "from")
    return first, last


def describe(parameters: Mapping[str, object]) -> str:
    """The parameters given, for the log entry's `detail` (a number typed as a My Number is masked)."""
    return redact(" ".join(f"{k}={v}" for k, v in parameters.items() if v is not None))[:500]


def given(parameters: Mapping[str, object]) -> list[str]:
    """The names of the parameters given, for the log entry's facts (never their values)."""
    return [k for k, v in parameters.items() if v is not None]
