"""The 本人確認情報 (住基法30条の6, seed 別添1(2)): 36 items per person, built from a register event.

Values are strings or None (the wire carries them so: cs/wire.py). Dates are ISO; 性別 男/女; 漢字氏名 is 氏 and 名
joined by one U+3000; 住所 has no 方書 (the 住基ネット carries the address, not the 方書).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from juki.cs.wire import ITEMS
from juki.domain.names import seion_kana

MY_NUMBER = "個人番号"
SEQUENCE = "更新順番号"
IDEOGRAPHIC_SPACE = "\u3000"

# Items that say which change a version records rather than who the person is: they differ from one version to
# the next by nature, so the checks and the comparison with the register leave them out.
CHANGE_ITEMS = frozenset(
    {
        "異動事由", "異動年月日", "異動事由詳細", "届出の年月日", "依頼管理番号", "操作者ID", "操作端末ID",
        "更新順番号", "異常時更新順番号", "更新禁止フラグ", "予定者フラグ", "排他フラグ", "レコード状況フラグ",
        "タイムスタンプ",
    }
)  # fmt: skip
# What a 転居 may change (seed III(2): 転居を異動事由とする更新の際に住所以外の更新 is an error).
ADDRESS_ITEMS = frozenset(
    {"大字・字コード", "郵便番号", "住所", "外字数(住所)", "住所を定めた日", "外字フラグ"}
)
RELATIONSHIP = "続柄"
# 転入前: the address before the person came to the city. The register's 前住所 follows every 転居; these items
# change only with a change that brings the person in (and stay as they were through a 転居 or any other change).
BEFORE_ITEMS = ("市町村コード(転入前)", "転入前住所", "外字数(転入前住所)")
ARRIVALS = frozenset({"転入", "国外転入", "職権記載", "職権回復"})

# レコード状況フラグ
PRESENT, REMOVED, DEAD = "0", "1", "2"
_SEX = {"male": "男", "female": "女"}

Items = dict[str, str | None]


def gaiji_count(text: str | None) -> int:
    """外字数: characters outside JIS X 0208 and ASCII.

    The 住基ネット carries such characters as 住基ネット統一文字, whose tables are not published; JIS X 0208 is
    the set every 住基ネット terminal shows without them, so a character it lacks is counted (docs/cs.md).
    Python's iso2022_jp codec encodes exactly JIS X 0208 (and ASCII), one character at a time.
    """
    if not text:
        return 0
    return sum(1 for ch in text if not _in_jis_x_0208(ch))


def _in_jis_x_0208(ch: str) -> bool:
    try:
        ch.encode("iso2022_jp")
    except UnicodeEncodeError:
        return False
    return True


def _joined(first: str | None, second: str | None) -> str | None:
    parts = [p for p in (first, second) if p]
    return IDEOGRAPHIC_SPACE.join(parts) or None


def _seion(kana: str | None) -> str | None:
    return seion_kana(kana) if kana else None


def _count(text: str | None) -> str:
    return str(gaiji_count(text))


@dataclass(frozen=True)
class Change:
    """What a register event says beside the record: which change, when, by whom."""

    change_reason: str
    changed_on: str
    filed_on: str
    filing_id: str
    staff_id: str
    terminal: str
    removed: bool

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Change:
        by = body.get("recorded_by") or {}
        return cls(
            body["change_reason"],
            body["changed_on"],
            body.get("filed_on") or body["changed_on"],
            body["filing_id"],
            str(by.get("staff_id") or ""),
            str(by.get("terminal") or ""),
            _removed(body),
        )


def _removed(body: Mapping[str, Any]) -> bool:
    """`removed`; an event written before bodies were stored (schema 1) has none: its record's status says."""
    if "removed" in body:
        return bool(body["removed"])
    return (body.get("record") or {}).get("status") == "removed"


def record_items(record: Mapping[str, Any], my_number: str | None, city_code: str) -> Items:
    """The items that describe the person (from the register's record after the change)."""
    address = record.get("address") or {}
    previous = record.get("previous_address") or {}
    name = _joined(record.get("family_name"), record.get("given_name"))
    street = address.get("address") or None
    before = previous.get("address") or None
    return {
        "住民票コード": record.get("resident_code") or None,
        "漢字氏名": name,
        "外字数(氏名)": _count(name),
        "ふりがな氏名": _joined(record.get("family_name_kana"), record.get("given_name_kana")),
        "清音化かな氏名": _joined(
            _seion(record.get("family_name_kana")), _seion(record.get("given_name_kana"))
        ),
        "生年月日": record.get("birth_date") or None,
        "性別": _SEX.get(str(record.get("sex"))),
        "市町村コード": city_code,
        "大字・字コード": None,  # the register keeps the town's name; the city's 町字コード table is not in juki
        "郵便番号": address.get("postal_code") or None,
        "住所": street,
        "外字数(住所)": _count(street),
        MY_NUMBER: my_number,
        "住民となった日": record.get("resident_since") or None,
        "住所を定めた日": record.get("address_since") or None,
        "市町村コード(転入前)": previous.get("municipality_code") or None,
        "転入前住所": before,
        "外字数(転入前住所)": _count(before) if before else None,
        RELATIONSHIP: record.get("relationship") or None,
    }


def record_status(change: Change) -> str:
    if not change.removed:
        return PRESENT
    return DEAD if change.change_reason == "死亡" else REMOVED


def build(
    record: Mapping[str, Any],
    change: Change,
    my_number: str | None,
    city_code: str,
    previous: Items | None,
) -> Items:
    """A person's 本人確認情報 after one change, before the CS numbers it (更新順番号, タイムスタンプ: `stamp`).

    `previous` is the CS's current version of the person (None for a person new to the file): 旧住民票コード and
    住民票コード使用年月日 follow from it.
    """
    items = dict.fromkeys(ITEMS, None) | record_items(record, my_number, city_code)
    items.update(
        {
            "届出の年月日": change.filed_on,
            "異動事由": None,  # the notice kind's word: set by `for_kind`
            "異動年月日": change.changed_on,
            "依頼管理番号": change.filing_id,
            "操作者ID": change.staff_id or None,
            "操作端末ID": change.terminal or None,
            "異常時更新順番号": None,
            "更新禁止フラグ": "0",
            "予定者フラグ": "1" if _planned(change) else "0",
            "排他フラグ": "0",
            "レコード状況フラグ": record_status(change),
        }
    )
    return rebase(items, change.change_reason, previous)


def rebase(items: Items, change_reason: str, previous: Items | None) -> Items:
    """The items that follow from the person's version before this change: 旧住民票コード, 住民票コード使用年月日
    and the 転入前 items (kept from before unless the change brings the person in). A change that waited in the
    queue is rebased on the version before it once it is its turn."""
    code = items["住民票コード"]
    old_code = previous.get("住民票コード") if previous else None
    kept = previous is not None and old_code == code
    rebased = items | {
        "旧住民票コード": (previous or {}).get("旧住民票コード") if kept else old_code,
        "住民票コード使用年月日": (previous or {}).get("住民票コード使用年月日")
        if kept
        else items["異動年月日"],
    }
    if previous is not None and change_reason not in ARRIVALS:
        rebased.update({item: previous.get(item) for item in BEFORE_ITEMS})
    return rebased | {"外字フラグ": "1" if _has_gaiji(rebased) else "0"}


def _planned(change: Change) -> bool:
    """予定者: a 転出 filed before the day of moving (転出予定日 after the 届出日)."""
    return change.change_reason in ("転出", "国外転出") and change.changed_on > change.filed_on


def _has_gaiji(items: Items) -> bool:
    counts = (items["外字数(氏名)"], items["外字数(住所)"], items["外字数(転入前住所)"])
    return any(c not in (None, "0") for c in counts)


def for_kind(items: Items, kind: str, detail: str | None) -> Items:
    """The items as one notice of `kind` carries them (異動事由 the kind's word; 異動事由詳細 the register's own
    異動事由 when it says more, e.g. 国外転出, 世帯分離, 取消（減）)."""
    return items | {"異動事由": kind, "異動事由詳細": detail if detail != kind else None}


def stamp(items: Items, sequence: int, timestamp: str) -> Items:
    return items | {SEQUENCE: str(sequence), "タイムスタンプ": timestamp}


def identity_differences(ours: Items, theirs: Items) -> list[str]:
    """The items, other than the change's own, whose values differ."""
    return [i for i in ITEMS if i not in CHANGE_ITEMS and ours.get(i) != theirs.get(i)]


def without_my_number(items: Items) -> Items:
    return items | {MY_NUMBER: None}
