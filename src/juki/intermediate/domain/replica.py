"""The 副本 (replica) of 住民票関係情報 and the 副本登録 message that keeps it current.

The official data standard layout is distributed to cities, not published; juki's is in the same shape
(docs/intermediate-server.md) and is **data**: `juki/intermediate/data/replica_layout.json`, loaded once at start
(`load` checks it whole), so that swapping in the official one is a change of that file:

- a 特定個人情報名コード per 特定個人情報名 (`JR01`, 住民票関係情報), and its items, each with its code, name, maximum
  length, the values it may take and the reasons it may be null for (null reason codes are the layout's too);
- juki's code builds a record by **roles**, never by codes: which item says whether the person is the 世帯主, which
  carries the 世帯主's name, which the 続柄; which value means 世帯主 and which not; which null reason says "the
  person is the 世帯主" and which "no 世帯主 is recorded". A layout names the code that plays each role;
- exactly 住基法7条4号: for a 世帯主 that they are the 世帯主, for anyone else the 世帯主's name and their 続柄 to the
  世帯主 — nothing else of the record is copied, so nothing else can be provided;
- each item has a version (版) of its own, raised when its value or reason changes;
- a record is keyed by (統合宛名番号, 特定個人情報名コード), never by a My Number.

A 副本登録 message holds segments, each `登録` (the record's items, whole) or `削除` (the record's keys alone). The
中間サーバー side parses and checks a message whole before it writes anything (`parse`): a malformed one is refused
with the reason (`LayoutError`), naming the segment and item, never a value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from juki.intermediate.domain import unified

LAYOUT_FILE = "replica_layout.json"
REGISTER, DELETE = "登録", "削除"
OPERATIONS = (REGISTER, DELETE)

# The roles juki's code builds a record of 住民票関係情報 by; the layout names the code that plays each.
RESIDENT_INFO_ROLE = "resident_info"
ITEM_ROLES = ("is_householder", "householder_name", "relationship")
VALUE_ROLES = ("householder", "member")  # the values of the is_householder item
REASON_ROLES = ("is_the_householder", "no_householder")
ROLES = (RESIDENT_INFO_ROLE, *ITEM_ROLES, *VALUE_ROLES, *REASON_ROLES)


@dataclass(frozen=True)
class ItemSpec:
    code: str
    name: str
    max_length: int
    values: frozenset[str] | None = None  # the only values it takes (None: any text up to max_length)
    null_reasons: frozenset[str] = frozenset()  # the reasons it may be null for (empty: never null)


@dataclass(frozen=True)
class InfoSpec:
    code: str
    name: str
    items: tuple[ItemSpec, ...]

    def item(self, code: str) -> ItemSpec | None:
        return next((i for i in self.items if i.code == code), None)

    def by_name(self, name: str) -> ItemSpec | None:
        return next((i for i in self.items if i.name == name), None)

    @property
    def item_names(self) -> tuple[str, ...]:
        return tuple(i.name for i in self.items)


@dataclass(frozen=True)
class Layout:
    """A data standard layout: its version, null reasons, 特定個人情報 and the code of each role."""

    version: str
    null_reasons: Mapping[str, str]  # code → meaning
    infos: Mapping[str, InfoSpec]  # by 特定個人情報名コード
    roles: Mapping[str, str]  # role → code

    def code(self, role: str) -> str:
        return self.roles[role]

    @property
    def resident(self) -> InfoSpec:
        return self.infos[self.roles[RESIDENT_INFO_ROLE]]

    @property
    def by_name(self) -> Mapping[str, InfoSpec]:
        return {s.name: s for s in self.infos.values()}


# --- loading a layout ----------------------------------------------------------------------------------------------


def load(raw: object) -> Layout:
    """A layout from its JSON form, checked whole: `ValueError` names what is missing or wrong."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("version"), str):
        raise ValueError("レイアウトに version がありません")
    roles: dict[str, str] = {}
    reasons = {str(r["code"]): str(r["meaning"]) for r in _list(raw, "null_reasons")}
    for reason in _list(raw, "null_reasons"):
        _role(roles, reason, "null reason")
    infos = {}
    for info in _list(raw, "information"):
        spec = InfoSpec(
            str(info["code"]),
            str(info["name"]),
            tuple(_item(i, roles, reasons) for i in _list(info, "items")),
        )
        _role(roles, info, "information")
        infos[spec.code] = spec
    missing = [r for r in ROLES if r not in roles]
    if missing:
        raise ValueError(f"レイアウトに役割 {', '.join(missing)} がありません")
    return Layout(str(raw["version"]), reasons, infos, roles)


def _list(raw: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    found = raw.get(name)
    if not isinstance(found, list) or not all(isinstance(e, Mapping) and "code" in e for e in found):
        raise ValueError(f"レイアウトの {name} は code のある要素の配列です")
    return found


def _role(roles: dict[str, str], entry: Mapping[str, Any], kind: str) -> None:
    role = entry.get("role")
    if role is None:
        return
    if role not in ROLES or role in roles:
        raise ValueError(f"レイアウトの{kind} {entry['code']}: 役割 {role} は未知か重複しています")
    roles[str(role)] = str(entry["code"])


def _item(raw: Mapping[str, Any], roles: dict[str, str], reasons: Mapping[str, str]) -> ItemSpec:
    _role(roles, raw, "item")
    values = None
    if "values" in raw:
        values = frozenset(str(v["code"]) for v in _list(raw, "values"))
        for value in _list(raw, "values"):
            _role(roles, value, "value")
    null_reasons = frozenset(str(r) for r in raw.get("null_reasons", ()))
    if (
        not null_reasons <= set(reasons)
        or not isinstance(raw.get("max_length"), int)
        or raw["max_length"] < 1
    ):
        raise ValueError(f"レイアウトの項目 {raw['code']}: max_length か null_reasons が正しくありません")
    return ItemSpec(str(raw["code"]), str(raw["name"]), int(raw["max_length"]), values, null_reasons)


def shipped() -> Layout:
    """The layout as shipped (juki/intermediate/data/replica_layout.json)."""
    text = resources.files("juki.intermediate").joinpath("data", LAYOUT_FILE).read_text(encoding="utf-8")
    return load(json.loads(text))


LAYOUT = shipped()
RESIDENT_INFO = LAYOUT.resident
INFO_CODE, INFO_NAME = RESIDENT_INFO.code, RESIDENT_INFO.name
IS_HOUSEHOLDER, HOUSEHOLDER_NAME, RELATIONSHIP = (LAYOUT.code(r) for r in ITEM_ROLES)
HOUSEHOLDER, MEMBER = (LAYOUT.code(r) for r in VALUE_ROLES)
IS_THE_HOUSEHOLDER, NO_HOUSEHOLDER = (LAYOUT.code(r) for r in REASON_ROLES)
NULL_REASONS = LAYOUT.null_reasons
LAYOUTS: Mapping[str, InfoSpec] = LAYOUT.infos
LAYOUTS_BY_NAME: Mapping[str, InfoSpec] = LAYOUT.by_name


class LayoutError(Exception):
    """A 副本登録 message that does not follow the layout: refused whole. The reason names the place, never a
    value."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class ItemValue:
    code: str
    value: str | None
    null_reason: str | None = None


@dataclass(frozen=True)
class Segment:
    operation: str
    unified_number: str
    info_code: str
    items: tuple[ItemValue, ...] = ()

    @property
    def key(self) -> tuple[str, str]:
        return self.unified_number, self.info_code


@dataclass(frozen=True)
class ReplicaMessage:
    message_id: str
    segments: tuple[Segment, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "segments": [
                {
                    "operation": s.operation,
                    "record_key": {"unified_addressee_number": s.unified_number, "info_code": s.info_code},
                    **(
                        {
                            "items": [
                                {"code": i.code, "value": i.value, "null_reason": i.null_reason}
                                for i in s.items
                            ]
                        }
                        if s.operation == REGISTER
                        else {}
                    ),
                }
                for s in self.segments
            ],
        }


# --- building a record from the register's facts -----------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    """What the replica needs of a person: their name, 続柄 and whether they are their household's 世帯主."""

    name: str
    relationship: str
    is_householder: bool


def resident_items(
    person: Member, householder: Member | None, layout: Layout = LAYOUT
) -> tuple[ItemValue, ...]:
    """住基法7条4号 for `person`: a 世帯主 is the 世帯主; anyone else, the 世帯主's name (or why there is none) and their
    続柄 — each item, value and null reason by the code the layout gives its role."""
    is_head, head_name, relationship = (layout.code(r) for r in ITEM_ROLES)
    householder_value, member_value = (layout.code(r) for r in VALUE_ROLES)
    is_the_householder, no_householder = (layout.code(r) for r in REASON_ROLES)
    if person.is_householder:
        return (
            ItemValue(is_head, householder_value),
            ItemValue(head_name, None, is_the_householder),
            ItemValue(relationship, None, is_the_householder),
        )
    name = (
        ItemValue(head_name, householder.name) if householder else ItemValue(head_name, None, no_householder)
    )
    return ItemValue(is_head, member_value), name, ItemValue(relationship, person.relationship)


def register_segment(unified_number: str, items: Sequence[ItemValue], layout: Layout = LAYOUT) -> Segment:
    return Segment(REGISTER, unified_number, layout.code(RESIDENT_INFO_ROLE), tuple(items))


# --- parsing and checking a message (the 中間サーバー side) ---------------------------------------------------------

_MY_NUMBER_LIKE = re.compile(r"\d{12}")  # a value is never a number that could be a 個人番号


def parse(raw: object, layout: Layout = LAYOUT) -> ReplicaMessage:
    """A 副本登録 message from its JSON form, checked whole against `layout`; `LayoutError` names the first
    fault."""
    if not isinstance(raw, Mapping):
        raise LayoutError("副本登録電文の形式が正しくありません")
    message_id = raw.get("message_id")
    if not isinstance(message_id, str) or not re.fullmatch(r"[A-Za-z0-9._:-]{1,64}", message_id):
        raise LayoutError("電文番号がありません、または形式が正しくありません")
    segments = raw.get("segments")
    if not isinstance(segments, list) or not segments:
        raise LayoutError("セグメントがありません")
    parsed = tuple(_segment(i + 1, s, layout) for i, s in enumerate(segments))
    keys = [s.key for s in parsed]
    if len(set(keys)) != len(keys):
        raise LayoutError("同じレコードキーのセグメントが重複しています")
    return ReplicaMessage(message_id, parsed)


def _segment(place: int, raw: object, layout: Layout) -> Segment:
    where = f"セグメント{place}"
    if not isinstance(raw, Mapping):
        raise LayoutError(f"{where}: 形式が正しくありません")
    operation = raw.get("operation")
    if operation not in OPERATIONS:
        raise LayoutError(f"{where}: 処理区分は「登録」か「削除」です")
    key = raw.get("record_key")
    if not isinstance(key, Mapping):
        raise LayoutError(f"{where}: レコードキーがありません")
    number, code = key.get("unified_addressee_number"), key.get("info_code")
    if not unified.is_valid(number):
        raise LayoutError(f"{where}: 団体内統合宛名番号は15桁の数字です")
    spec = layout.infos.get(code) if isinstance(code, str) else None
    if spec is None:
        raise LayoutError(f"{where}: 特定個人情報名コードが登録されていません")
    assert isinstance(number, str)
    if operation == DELETE:
        if raw.get("items"):
            raise LayoutError(f"{where}: 削除のセグメントに項目は付けられません")
        return Segment(DELETE, number, spec.code)
    return Segment(REGISTER, number, spec.code, _items(where, spec, raw.get("items")))


def _items(where: str, spec: InfoSpec, raw: object) -> tuple[ItemValue, ...]:
    if not isinstance(raw, list):
        raise LayoutError(f"{where}: 項目がありません")
    items: dict[str, ItemValue] = {}
    for entry in raw:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("code"), str):
            raise LayoutError(f"{where}: 項目の形式が正しくありません")
        item = spec.item(entry["code"])
        if item is None:
            raise LayoutError(f"{where}: 項目コードがレイアウトにありません")
        if item.code in items:
            raise LayoutError(f"{where} {item.code}: 項目が重複しています")
        items[item.code] = _value(f"{where} {item.code}", item, entry.get("value"), entry.get("null_reason"))
    missing = [i.code for i in spec.items if i.code not in items]
    if missing:
        raise LayoutError(f"{where} {missing[0]}: 項目が足りません")
    return tuple(items[i.code] for i in spec.items)


def _value(where: str, item: ItemSpec, value: object, reason: object) -> ItemValue:
    if value is None:
        if reason not in item.null_reasons:
            raise LayoutError(f"{where}: 値がなく、この項目に使える未設定事由もありません")
        assert isinstance(reason, str)
        return ItemValue(item.code, None, reason)
    if reason is not None:
        raise LayoutError(f"{where}: 値のある項目に未設定事由は付けられません")
    if not isinstance(value, str) or not value.strip() or len(value) > item.max_length:
        raise LayoutError(f"{where}: 値は{item.max_length}文字以内の文字列です")
    if item.values is not None and value not in item.values:
        raise LayoutError(f"{where}: 値がこの項目の取りうる値ではありません")
    if _MY_NUMBER_LIKE.search(value):
        raise LayoutError(f"{where}: 値に12桁の数字は含められません")
    return ItemValue(item.code, value)


# --- versions and answers ------------------------------------------------------------------------------------------

StoredItems = Mapping[str, Mapping[str, Any]]  # code → {"name", "value", "null_reason", "version"}


def versioned(
    items: Sequence[ItemValue], current: StoredItems | None, spec: InfoSpec = RESIDENT_INFO
) -> dict[str, dict[str, Any]]:
    """The record as stored: each item with its version — the current one if it did not change, else one more."""
    stored: dict[str, dict[str, Any]] = {}
    for item in items:
        before = (current or {}).get(item.code)
        same = before is not None and (before.get("value"), before.get("null_reason")) == (
            item.value,
            item.null_reason,
        )
        version = int(before["version"]) if same and before else int((before or {}).get("version", 0)) + 1
        name = spec.item(item.code).name if spec.item(item.code) else item.code  # type: ignore[union-attr]
        stored[item.code] = {
            "name": name,
            "value": item.value,
            "null_reason": item.null_reason,
            "version": version,
        }
    return stored


def unchanged(items: Sequence[ItemValue], current: StoredItems | None) -> bool:
    if current is None:
        return False
    return len(items) == len(current) and all(
        (current.get(i.code) or {}).get("value") == i.value
        and (current.get(i.code) or {}).get("null_reason") == i.null_reason
        for i in items
    )


def answer_data(stored: StoredItems, names: Sequence[str]) -> dict[str, str | None]:
    """Exactly the items asked, by name → value (a null stays null: its reason code is the city's own)."""
    by_name = {v["name"]: v.get("value") for v in stored.values()}
    return {name: by_name.get(name) for name in names}
