"""From a filing form to the API's body: the same payload dict `filings.file` takes from `/api/v1`.

One path for input: the body a form builds goes through the API's own request model (`web/schemas.py`, the one
check of shape and types) and then the API's own parser (`domain/intake.py`, values only), and an error of either
is shown beside its input with the code and message the API answers (`schemas.problems`).

Inputs are named by their path in the body (`persons.0.family_name`, `address.address`, `new_relationships.<宛名番号>`),
so an error's `field` from the domain names the input it belongs to. Names starting with `_` are the form's own
controls (which household, which kind of 世帯変更) and never reach the body.

Here, and only for what a person types: dates in any accepted shape (令和6年4月1日, R6.4.1, 2024-04-01) become ISO
dates, readings become katakana (hiragana and half-width accepted), and each filled field meets its own rule at
once, so the form can show every wrong field, not only the first. The values' rules are the domain's functions.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from juki.domain import address as addr
from juki.domain import intake
from juki.domain.dates import parse_date, to_wareki
from juki.domain.errors import DomainError, InvalidDate, InvalidField
from juki.domain.identifiers import (
    validate_addressee_number,
    validate_household_number,
    validate_local_gov_code,
    validate_my_number,
    validate_resident_code,
)
from juki.domain.names import normalize_kana, normalize_name
from juki.domain.relationship import normalize_relationship
from juki.web import schemas

LIST_KEYS = frozenset({"persons"})  # a number after these is a list index
MULTI_KEYS = frozenset({"addressee_numbers", "operations"})  # repeated inputs (check boxes) → a list
BOOL_KEYS = frozenset({"new_household", "card_move_out", "card_move_in"})
TRUE_TEXTS = ("true", "on", "1")  # a ticked check box, whatever its value
DATE_KEYS = frozenset(
    {
        "filed_on",
        "changed_on",
        "planned_on",
        "birth_date",
        "died_on",
        "stay_expires_on",
        "foreign_resident_since",
        "resident_since",
    }
)
KANA_KEYS = frozenset({"family_name_kana", "given_name_kana", "former_surname_kana", "alias_name_kana"})
NAME_KEYS = frozenset({"family_name", "given_name", "former_surname", "family_register_head", "alias_name"})
ADDRESSEE_KEYS = frozenset({"addressee_number", "householder", "new_householder"})
HOUSEHOLD_KEYS = frozenset({"household_number", "join_household_number", "into_household_number"})
NOT_SENT = frozenset({"csrf_token"})
# Inputs naming the household or person a form acts on (to offer its members): sent only when the kind's body has
# such a field (a move-out names its household, an ex officio removal its person, to list whom it may concern).
SUBJECT_KEYS = frozenset({"household_number", "addressee_number"})

_CHECKS: dict[str, Callable[[str, str], object]] = {
    **{k: normalize_name for k in NAME_KEYS},
    **{k: validate_addressee_number for k in ADDRESSEE_KEYS},
    **{k: validate_household_number for k in HOUSEHOLD_KEYS},
    "my_number": validate_my_number,
    "resident_code": validate_resident_code,
    "municipality_code": validate_local_gov_code,
    "relationship": normalize_relationship,
    "postal_code": lambda v, f: addr.validate_postal_code(v),
}


def whole_number(text: str, digits: int = 9) -> int | None:
    """A typed whole number (at most `digits` digits; full-width digits as an input method types them), or None.
    `str.isdigit` is not enough: it takes 「²」 and other digits `int` refuses, and any length."""
    plain = unicodedata.normalize("NFKC", text).strip()
    return int(plain) if re.fullmatch(rf"[0-9]{{1,{digits}}}", plain) else None


@dataclass
class FormResult:
    """A form as read: what to show back in each input, the body for the service, and each field's error."""

    values: dict[str, Any]
    payload: dict[str, Any]
    errors: dict[str, dict[str, Any]] = field(default_factory=dict)
    hints: dict[str, str] = field(default_factory=dict)  # a date as understood, in wareki

    def add(self, exc: DomainError, name: str | None = None) -> None:
        key = resolve_field(name or exc.field, self.values) or ""
        self.errors.setdefault(key, {**exc.to_dict(), "field": key or None})

    @property
    def ok(self) -> bool:
        return not self.errors


def resolve_field(name: str | None, values: Mapping[str, Any]) -> str | None:
    """The input an error's field belongs to. Some rules name the value (`address`), not the path
    (`address.address`): then the input whose name ends with it stands in; else the form as a whole."""
    if not name:
        return None
    if name in values:
        return name
    for candidate in (f"{name}.address", f"{name}.0"):
        if candidate in values:
            return candidate
    ends = [k for k in values if k.endswith("." + name)]
    if len(ends) == 1:
        return ends[0]
    head = name.rsplit(".", 1)[0] if "." in name else None
    return resolve_field(head, values) if head else name


def _last(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _put(body: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    node: Any = body
    for i, part in enumerate(parts[:-1]):
        nxt = parts[i + 1]
        is_list = part in LIST_KEYS
        if isinstance(node, list):
            index = int(part)
            while len(node) <= index:
                node.append({})
            node = node[index]
            continue
        node = node.setdefault(part, [] if is_list and nxt.isdigit() else {})
    leaf = parts[-1]
    if isinstance(node, list):
        index = int(leaf)
        while len(node) <= index:
            node.append({})
        node[index] = value
    else:
        node[leaf] = value


def collect(items: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Form items → {name: text} (a list for the repeated names)."""
    values: dict[str, Any] = {}
    for name, raw in items:
        if name in NOT_SENT:
            continue
        text = raw if isinstance(raw, str) else ""
        if name in MULTI_KEYS:
            values.setdefault(name, []).append(text.strip())
        else:
            values[name] = text
    return values


def read(kind: str, values: Mapping[str, Any]) -> FormResult:
    """Build the body of a `kind` filing from the form's values, checking each filled field on its own."""
    result = FormResult(dict(values), {})
    for name, value in values.items():
        if name.startswith("_"):
            continue
        if isinstance(value, list):
            items = [v for v in value if v]
            for i, v in enumerate(items):
                _check(result, f"{name}.{i}", _last(name), v, "addressee_number")
            if items:
                _put(result.payload, name, items)
            continue
        text = value.strip()
        if not text:
            continue
        key = _last(name)
        converted: Any = text
        if key in BOOL_KEYS:
            converted = text in TRUE_TEXTS
        elif key in DATE_KEYS:
            converted = _date(result, name, text)
        elif key in KANA_KEYS:
            converted = _kana(result, name, text)
        else:
            _check(result, name, key, text)
        if converted is not None:
            _put(result.payload, name, converted)
    _SHAPERS.get(kind, _same)(result)
    return result


def _date(result: FormResult, name: str, text: str) -> str | None:
    try:
        parsed: date = parse_date(text, name)
    except DomainError as exc:
        result.add(exc, name)
        return None
    try:
        shown = to_wareki(parsed)
    except InvalidDate:
        shown = parsed.isoformat()
    if ".foreign." in name:  # a foreign resident's dates are kept in the western calendar (標準仕様書 j90)
        shown = f"{parsed.year}年{parsed.month}月{parsed.day}日"
    result.values[name] = shown
    result.hints[name] = shown  # how the date was read
    return parsed.isoformat()


def _kana(result: FormResult, name: str, text: str) -> str | None:
    try:
        kana = normalize_kana(text, name)
    except DomainError as exc:
        result.add(exc, name)
        return None
    result.values[name] = kana
    return kana


def _check(result: FormResult, name: str, key: str, text: str, as_key: str | None = None) -> None:
    check = _CHECKS.get(as_key or key)
    if check is None:
        return
    try:
        check(text, name)
    except DomainError as exc:
        result.add(exc, name)


def check_city_address(result: FormResult, path: str = "address") -> None:
    """The whole address block at once (town, 番地, 方書, postal code), as the intake reads it."""
    block = result.payload.get(path)
    if isinstance(block, Mapping) and block.get("address"):
        try:
            intake.city_address(block, f"{path}.")
        except DomainError as exc:
            result.add(exc, f"{path}.{exc.field}" if exc.field in ("address", "postal_code") else exc.field)


# --- each kind's own controls -----------------------------------------------------------------------------


def _same(result: FormResult) -> None:
    return None


def _move_in(result: FormResult) -> None:
    body = result.payload
    if result.values.get("_household", "new") == "new":
        body["household"] = {"new": True}
    else:
        number = (body.get("household") or {}).get("household_number")
        body["household"] = {"household_number": number} if number else {}
        if not number:
            result.add(InvalidField("加入する世帯の世帯番号を入力してください", "household.household_number"))
    _abroad(result, "previous_address")
    body["persons"] = [p for p in body.get("persons", []) if p]
    check_city_address(result)


def _abroad(result: FormResult, key: str) -> None:
    """国外転入・国外転出: the other address names a country, else a municipality (the form offers both)."""
    other = result.payload.get(key) or {}
    other.pop("municipality_code" if result.values.get("_abroad") else "country", None)


def _move_out(result: FormResult) -> None:
    _abroad(result, "destination")


def _move_within(result: FormResult) -> None:
    body = result.payload
    mode = result.values.get("_mode", "whole")
    if mode != "new_household":
        body.pop("new_household", None)
        body.pop("householder", None)
    else:
        body["new_household"] = True
    if mode != "join":
        body.pop("join_household_number", None)
    check_city_address(result)


def _household_change(result: FormResult) -> None:
    body = result.payload
    keep = {
        "householder_change": {"new_householder"},
        "split": {"addressee_numbers", "householder"},
        "merge": {"into_household_number"},
    }.get(str(body.get("type")), set())
    for key in ("new_householder", "addressee_numbers", "householder", "into_household_number"):
        if key not in keep:
            body.pop(key, None)


def _correction(result: FormResult) -> None:
    corrections = result.payload.get("corrections") or {}
    result.payload["corrections"] = {k: v for k, v in corrections.items() if v not in ("", None)}
    if not result.payload["corrections"] and not result.errors:
        result.add(InvalidField("修正する項目を一つ以上入力してください", "corrections"))


_SHAPERS: dict[str, Callable[[FormResult], None]] = {
    "move-in": _move_in,
    "ex-officio-entry": _move_in,
    "move-within": _move_within,
    "move-out": _move_out,
    "household-change": _household_change,
    "ex-officio-correction": _correction,
}


def parse_with_intake(kind: str, result: FormResult, *, inline: bool = False) -> None:
    """Put the body through the API's request model and the API's own parser, as `POST /api/v1/filings/{kind}`
    does; their errors join the form's (inline: only for a filled field, so a form half way through is not told
    about the fields still ahead). The body becomes the model's, as the API hands it to `filings.file`."""
    if not result.ok:
        return
    model = schemas.BODIES[kind]
    sent = {k: v for k, v in result.payload.items() if k not in SUBJECT_KEYS or k in model.model_fields}
    body, problems = schemas.check(model, sent)
    for problem in problems:
        _join(result, InvalidField(problem["message"], problem["field"]), inline)
    if body is None:
        return
    result.payload = body.model_dump(exclude_none=True)
    try:
        intake.PARSERS[kind](result.payload)
    except DomainError as exc:
        _join(result, exc, inline)


def _join(result: FormResult, exc: DomainError, inline: bool) -> None:
    key = resolve_field(exc.field, result.values)
    if inline and (key is None or not _filled(result.values.get(key))):
        return
    result.add(exc)


def _filled(value: Any) -> bool:
    if isinstance(value, list):
        return any(value)
    return bool(value and str(value).strip())
