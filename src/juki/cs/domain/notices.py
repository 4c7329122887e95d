"""Which notices a register change becomes, and the checks a notice passes before it leaves the CS.

Seed III(2)-5 リスク2: 市町村CSへの登録時点で項目のフォーマットチェックや論理チェック (a 転入 of a person present, a
転居 that changes more than the address) — a change that fails goes to the error queue, not to the prefecture.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from juki.cs.domain.items import (
    ADDRESS_ITEMS,
    MY_NUMBER,
    PRESENT,
    RELATIONSHIP,
    REMOVED,
    Items,
    for_kind,
    identity_differences,
)
from juki.cs.wire import ITEMS, OPENING_KINDS, NoticeKind
from juki.domain.identifiers import my_number_check_digit, resident_code_check_digit

K = NoticeKind
# The register's 異動事由 (domain/commands.py) → the notice kind (the 住基ネット's 異動事由).
KIND_OF: dict[str, NoticeKind] = {
    "転入": K.MOVE_IN,
    "国外転入": K.MOVE_IN,
    "転居": K.MOVE_WITHIN,
    "転出": K.MOVE_OUT,
    "国外転出": K.MOVE_OUT,
    "出生": K.BIRTH,
    "死亡": K.DEATH,
    "世帯主変更": K.HOUSEHOLD_CHANGE,
    "世帯分離": K.HOUSEHOLD_CHANGE,
    "世帯合併": K.HOUSEHOLD_CHANGE,
    "職権記載": K.EX_OFFICIO_ENTRY,
    "職権回復": K.EX_OFFICIO_ENTRY,
    "職権修正": K.EX_OFFICIO_CORRECTION,
    "特別養子縁組": K.EX_OFFICIO_CORRECTION,
    "特別養子縁組解消": K.EX_OFFICIO_CORRECTION,
    "性別変更": K.EX_OFFICIO_CORRECTION,
    "職権消除": K.EX_OFFICIO_REMOVAL,
    "取消（増）": K.CANCELLATION,
    "取消（減）": K.CANCELLATION,
    "取消（修正）": K.CANCELLATION,
    "記載順位の変更": K.MINOR_CORRECTION,
    "軽微な修正": K.MINOR_CORRECTION,  # a 職権修正 of characters or a town's name: only if an item changed
    "転入通知受理": K.MOVE_IN_NOTICE_RECEIVED,  # the destination's 転入通知 confirms the 転出 (j680, j690)
    # The numbers (docs/cs-jlis.md): the 住基ネット's own 異動事由, the law's words (wire.NoticeKind).
    "住民票コード記載": K.RESIDENT_CODE_ENTRY,
    "住民票コード変更": K.RESIDENT_CODE_CHANGE,
    "個人番号指定": K.MY_NUMBER_ASSIGNED,
    "個人番号変更": K.MY_NUMBER_CHANGED,
}
# What a change of a number may change (besides the change's own items): the number, and for a new 住民票コード
# the items that follow it. Anything else changed with it is another change, notified as its own.
CODE_ITEMS = frozenset({"住民票コード", "旧住民票コード", "住民票コード使用年月日"})
OWN_ITEMS: dict[NoticeKind, frozenset[str]] = {
    K.RESIDENT_CODE_CHANGE: CODE_ITEMS,
    K.MY_NUMBER_ASSIGNED: frozenset({MY_NUMBER}),
    K.MY_NUMBER_CHANGED: frozenset({MY_NUMBER}),
}
# Kinds the prefecture needs only when an item of the person changed (a household change of which this person's
# 続柄 stayed, a new order of the members).
ONLY_IF_CHANGED = frozenset({K.HOUSEHOLD_CHANGE, K.MINOR_CORRECTION, *OWN_ITEMS})
# Kinds of a person the CS must hold as present (レコード状況フラグ 0).
NEED_PRESENT = frozenset(
    {K.MOVE_WITHIN, K.MOVE_OUT, K.DEATH, K.HOUSEHOLD_CHANGE, K.EX_OFFICIO_REMOVAL, *OWN_ITEMS}
)
# Kinds of a person the CS must hold as removed (レコード状況フラグ 1): a 転入通知 confirms a 転出 done.
NEED_REMOVED = frozenset({K.MOVE_IN_NOTICE_RECEIVED})

MISSING_RESIDENT_CODE = "missing_resident_code"
FORMAT_ERROR = "format_error"
LOGIC_ERROR = "logic_error"

_DIGITS = {"住民票コード": 11, "旧住民票コード": 11, MY_NUMBER: 12, "市町村コード": 6, "郵便番号": 7,
           "市町村コード(転入前)": 6}  # fmt: skip
_CHECK_DIGIT: dict[str, Callable[[str], str]] = {
    "住民票コード": resident_code_check_digit,
    "旧住民票コード": resident_code_check_digit,
    MY_NUMBER: my_number_check_digit,
}
_REQUIRED = ("漢字氏名", "生年月日", "性別", "住所", "市町村コード")
_DATES = (
    "生年月日",
    "住民となった日",
    "住所を定めた日",
    "届出の年月日",
    "異動年月日",
    "住民票コード使用年月日",
)


@dataclass(frozen=True)
class Failure:
    """Why a change cannot be notified as it is. Never holds an item's value."""

    code: str  # missing_resident_code, format_error, logic_error
    item: str | None
    message: str


@dataclass(frozen=True)
class Part:
    kind: NoticeKind
    items: Items  # the items of this notice (異動事由 set), not yet numbered


def kind_of(change_reason: str, card: bool = False) -> NoticeKind | None:
    """The notice kind of a register change; a 転入 with the 転出証明書情報 the CS held (`transfer.card`,
    住基法24条の2) is a 特例転入."""
    kind = KIND_OF.get(change_reason)
    if card and change_reason == "転入" and kind is K.MOVE_IN:
        return K.CARD_MOVE_IN
    return kind


def check_format(items: Items) -> Failure | None:
    if not items.get("住民票コード"):
        return Failure(MISSING_RESIDENT_CODE, "住民票コード", "住民票コードのない者は通知できません")
    for item in _REQUIRED:
        if not items.get(item):
            return Failure(FORMAT_ERROR, item, f"{item}がありません")
    for item, length in _DIGITS.items():
        value = items.get(item)
        if value is not None and not _is_number(value, length, _CHECK_DIGIT.get(item)):
            return Failure(
                FORMAT_ERROR, item, f"{item}は{length}桁の数字です（検査数字を含む番号は検査数字も）"
            )
    for item in _DATES:
        if not _is_date(items.get(item)):
            return Failure(FORMAT_ERROR, item, f"{item}が日付（YYYY-MM-DD）ではありません")
    if items.get("性別") not in ("男", "女"):
        return Failure(FORMAT_ERROR, "性別", "性別は男または女です")
    return None


def _is_number(value: str, length: int, check_digit: Callable[[str], str] | None) -> bool:
    if not re.fullmatch(rf"[0-9]{{{length}}}", value):
        return False
    return check_digit is None or check_digit(value[:-1]) == value[-1]


def _is_date(value: str | None) -> bool:
    if value is None:
        return True
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


def check_logic(kind: NoticeKind, previous: Items | None) -> Failure | None:
    """The person's state in the CS's file must allow the change (seed III(2): 現存する住民に対して転入 …)."""
    status = previous.get("レコード状況フラグ") if previous else None
    if kind in OPENING_KINDS and status == PRESENT:
        return Failure(LOGIC_ERROR, "異動事由", f"現存する住民に対する{kind.value}です")
    if kind in NEED_PRESENT and status != PRESENT:
        return Failure(LOGIC_ERROR, "異動事由", f"本人確認情報ファイルに現存しない者の{kind.value}です")
    if kind in NEED_REMOVED and previous is not None and status != REMOVED:
        return Failure(LOGIC_ERROR, "異動事由", f"転出により消除されていない者の{kind.value}です")
    if kind not in OPENING_KINDS and previous is None:
        return Failure(LOGIC_ERROR, "異動事由", f"本人確認情報ファイルにない者の{kind.value}です")
    return None


def plan(
    change_reason: str, items: Items, previous: Items | None, household_changed: bool, card: bool = False
) -> list[Part] | Failure:
    """The notices one change of a person becomes (none, one, or a 転居 and a 世帯変更), or why it cannot be.

    A 転居 may change the address items only. A 転居 into another household (new or joined) also changes the
    続柄: that is notified as the 転居 (続柄 as before) followed by a 世帯変更 (the new 続柄), so that each notice
    changes what its kind may change.
    """
    kind = kind_of(change_reason, card)
    if kind is None:
        return Failure(FORMAT_ERROR, "異動事由", "通知の対象とならない異動事由です")
    failure = check_format(items) or check_logic(kind, previous)
    if failure is not None:
        return failure
    detail = None if kind is K.CARD_MOVE_IN else change_reason  # a 特例転入 says it all
    changed = identity_differences(items, previous) if previous else None
    if kind in ONLY_IF_CHANGED and changed == []:
        return []
    if kind is K.MOVE_WITHIN and previous is not None:
        return _move_within(items, previous, set(changed or ()), household_changed)
    others = sorted(set(changed or ()) - OWN_ITEMS.get(kind, frozenset(ITEMS)))
    if others:
        return Failure(
            LOGIC_ERROR,
            others[0],
            f"{kind.value}で{others[0]}は変わりません（別の異動として通知してください）",
        )
    return [Part(kind, for_kind(items, kind.value, detail))]


def _move_within(
    items: Items, previous: Items, changed: set[str], household_changed: bool
) -> list[Part] | Failure:
    learned = {MY_NUMBER} if previous.get(MY_NUMBER) is None else set()  # the CS lacked it: not a change
    others = sorted(changed - ADDRESS_ITEMS - learned)
    move = Part(K.MOVE_WITHIN, for_kind(items, K.MOVE_WITHIN.value, None))
    if not others:
        return [move]
    if others == [RELATIONSHIP] and household_changed:
        first = for_kind(items | {RELATIONSHIP: previous.get(RELATIONSHIP)}, K.MOVE_WITHIN.value, None)
        household = for_kind(items, K.HOUSEHOLD_CHANGE.value, None)
        return [Part(K.MOVE_WITHIN, first), Part(K.HOUSEHOLD_CHANGE, household)]
    return Failure(LOGIC_ERROR, others[0], f"転居で住所以外の項目（{others[0]}）が変わります")
