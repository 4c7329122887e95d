"""The prefecture server's format and logic checks of a notice (本人確認情報の通知, 住基法30条の6), as a real one
applies them before it records anything: pure functions over the notice and what the server already holds.

A refusal is a `Problem` (the wire's answer: status, code, the item it is about, a message). Messages name items,
never their values: a 個人番号 or a name must not reach a log or an error queue through them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from fastapi.responses import JSONResponse

from juki.cs.wire import ITEMS, OPENING_KINDS, Notice, NoticeKind
from juki.domain.identifiers import my_number_check_digit, resident_code_check_digit

RESIDENT_CODE, MY_NUMBER, REASON, SEQUENCE = "住民票コード", "個人番号", "異動事由", "更新順番号"
DATES = (
    "生年月日",
    "住民となった日",
    "住所を定めた日",
    "届出の年月日",
    "異動年月日",
    "住民票コード使用年月日",
)
COUNTS = ("外字数(氏名)", "外字数(住所)", "外字数(転入前住所)")
SEXES = ("男", "女")
# What records a change rather than the person: any notice may carry new values of these.
RECORDING_ITEMS = frozenset(
    {
        "届出の年月日",
        "異動事由",
        "異動年月日",
        "異動事由詳細",
        "依頼管理番号",
        "操作者ID",
        "操作端末ID",
        "更新順番号",
        "異常時更新順番号",
        "更新禁止フラグ",
        "予定者フラグ",
        "排他フラグ",
        "外字フラグ",
        "レコード状況フラグ",
        "タイムスタンプ",
    }
)
# What a 転居 may change (住基法23条: a move within the city changes the address and what records the move); any
# other item changed with it is another change, notified as its own (a new 続柄 is a 世帯変更).
MOVE_WITHIN_ITEMS = RECORDING_ITEMS | {"大字・字コード", "郵便番号", "住所", "外字数(住所)", "住所を定めた日"}
OLD_RESIDENT_CODE = "旧住民票コード"
# What a change of a number may change (docs/cs-jlis.md): the number, and for a new 住民票コード what follows it.
ONLY_CHANGES: dict[NoticeKind, frozenset[str]] = {
    NoticeKind.MOVE_WITHIN: MOVE_WITHIN_ITEMS,
    NoticeKind.RESIDENT_CODE_CHANGE: RECORDING_ITEMS
    | {RESIDENT_CODE, OLD_RESIDENT_CODE, "住民票コード使用年月日"},
    NoticeKind.MY_NUMBER_ASSIGNED: RECORDING_ITEMS | {MY_NUMBER},
    NoticeKind.MY_NUMBER_CHANGED: RECORDING_ITEMS | {MY_NUMBER},
}
# レコード状況フラグ: 0 a resident of the city, 1 removed (転出, 職権消除 …), 2 removed by death.
RECORD_STATUS, PRESENT = "レコード状況フラグ", "0"
# Without the flag, the last notice says it: after these the person is no longer a resident of the city.
REMOVING_KINDS = frozenset(
    {NoticeKind.MOVE_OUT, NoticeKind.MOVE_IN_NOTICE_RECEIVED, NoticeKind.EX_OFFICIO_REMOVAL, NoticeKind.DEATH}
)
# Changes only a resident of the city can have (a 転居 or a death of someone removed is a logic error).
NEED_PRESENT = frozenset(
    {
        NoticeKind.MOVE_WITHIN,
        NoticeKind.MOVE_OUT,
        NoticeKind.DEATH,
        NoticeKind.HOUSEHOLD_CHANGE,
        NoticeKind.EX_OFFICIO_REMOVAL,
        NoticeKind.RESIDENT_CODE_CHANGE,
        NoticeKind.MY_NUMBER_ASSIGNED,
        NoticeKind.MY_NUMBER_CHANGED,
    }
)

# Changes only of a person the city removed: a 転入通知受理 confirms a 転出 (or a 職権消除) already notified.
NEED_REMOVED = frozenset({NoticeKind.MOVE_IN_NOTICE_RECEIVED})


@dataclass
class Problem(Exception):
    """A refusal as the wire answers it (not frozen: Python sets an exception's traceback as it propagates)."""

    status: int
    code: str
    item: str | None
    message: str
    expected: int | None = None

    def body(self) -> dict[str, object]:
        if self.code in ("out_of_order", "sequence_reused"):
            answer: dict[str, object] = {"code": self.code, "message": self.message}
            if self.expected is not None:
                answer["expected"] = self.expected
            return answer
        return {"code": self.code, "item": self.item, "message": self.message}

    def answer(self) -> JSONResponse:
        return JSONResponse(self.body(), self.status)


def format_error(item: str | None, message: str) -> Problem:
    return Problem(422, "format_error", item, message)


def logic_error(item: str | None, message: str) -> Problem:
    return Problem(422, "logic_error", item, message)


@dataclass(frozen=True)
class Held:
    """What the prefecture server holds for a person: the last sequence, its kind, the items as they stand."""

    sequence: int
    kind: NoticeKind
    items: dict[str, str | None]

    @property
    def present(self) -> bool:
        """A resident of the city: as its レコード状況フラグ says, else as its last notice does."""
        status = self.items.get(RECORD_STATUS)
        return status == PRESENT if status is not None else self.kind not in REMOVING_KINDS


# --- format -------------------------------------------------------------------------------------------------------


def is_resident_code(value: object) -> bool:
    return (
        isinstance(value, str)
        and re.fullmatch(r"[0-9]{11}", value) is not None
        and resident_code_check_digit(value[:10]) == value[10]
    )


def _is_my_number(value: str) -> bool:
    return re.fullmatch(r"[0-9]{12}", value) is not None and my_number_check_digit(value[:11]) == value[11]


def _is_iso_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value) is not None


def _digits(length: int | None) -> Callable[[str], bool]:
    pattern = re.compile(r"[0-9]+" if length is None else f"[0-9]{{{length}}}")
    return lambda value: pattern.fullmatch(value) is not None


_CHECK_DIGITS = "桁の数字で検査数字が正しくなければなりません"
# Each item's format on the wire (values are strings as the register holds them: shared/spec/API.md, 住基ネット).
FORMATS: dict[str, tuple[Callable[[str], bool], str]] = {
    RESIDENT_CODE: (is_resident_code, f"11{_CHECK_DIGITS}"),
    "旧住民票コード": (is_resident_code, f"11{_CHECK_DIGITS}"),
    MY_NUMBER: (_is_my_number, f"12{_CHECK_DIGITS}"),
    "性別": (lambda value: value in SEXES, "「男」か「女」でなければなりません"),
    "市町村コード": (_digits(6), "6桁の数字でなければなりません"),
    "市町村コード(転入前)": (_digits(6), "6桁の数字でなければなりません"),
    "郵便番号": (_digits(7), "7桁の数字でなければなりません"),
    **{name: (_is_iso_date, "YYYY-MM-DD の日付でなければなりません") for name in DATES},
    **{name: (_digits(None), "数字でなければなりません") for name in COUNTS},
}


def _check_value(name: str, value: str) -> None:
    rule = FORMATS.get(name)
    if rule is not None and not rule[0](value):
        raise format_error(name, f"{name}は{rule[1]}")


def _items(raw: object) -> dict[str, str | None]:
    if not isinstance(raw, dict):
        raise format_error(None, "items は項目名と値の対応でなければなりません")
    for name, value in raw.items():
        if name not in ITEMS:
            raise format_error(str(name), "本人確認情報の項目ではありません")
        if value is not None and not isinstance(value, str):
            raise format_error(name, f"{name}の値は文字列か null でなければなりません")
        if value is not None:
            _check_value(name, value)
    if raw.get(RESIDENT_CODE) is None:
        raise format_error(RESIDENT_CODE, f"{RESIDENT_CODE}がありません")
    return dict(raw)


def _field(body: dict[str, object], name: str, item: str | None) -> object:
    if name not in body:
        raise format_error(item, f"{name} がありません")
    return body[name]


def parse(body: object) -> Notice:
    """The notice the body carries, or the format error that refuses it."""
    if not isinstance(body, dict):
        raise format_error(None, "通知は JSON のオブジェクトでなければなりません")
    notice_id = _field(body, "notice_id", None)
    if not isinstance(notice_id, str) or not notice_id:
        raise format_error(None, "notice_id は空でない文字列でなければなりません")
    kind = _field(body, "kind", REASON)
    if kind not in {k.value for k in NoticeKind}:
        raise format_error(REASON, "通知の種類（異動事由）が正しくありません")
    code = _field(body, "resident_code", RESIDENT_CODE)
    if not is_resident_code(code):
        raise format_error(RESIDENT_CODE, f"{RESIDENT_CODE}は11桁の数字で検査数字が正しくなければなりません")
    sequence = _field(body, "sequence", SEQUENCE)
    if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 1:
        raise format_error(SEQUENCE, f"{SEQUENCE}は1以上の整数でなければなりません")
    items = _items(_field(body, "items", None))
    return Notice(str(notice_id), NoticeKind(str(kind)), str(code), sequence, items)


# --- order and logic ------------------------------------------------------------------------------------------------


def check_order(notice: Notice, held: Held | None) -> None:
    """A person's first notice opens the record; later ones come one after the other (更新順番号)."""
    if held is None:
        if notice.kind not in OPENING_KINDS:
            raise Problem(
                422,
                "unknown_resident_code",
                RESIDENT_CODE,
                f"この{RESIDENT_CODE}の本人確認情報を保有していません",
            )
        expected = 1
    else:
        expected = held.sequence + 1
    if notice.sequence != expected:
        raise Problem(409, "out_of_order", None, f"{SEQUENCE}は {expected} でなければなりません", expected)


def check_logic(notice: Notice, held: Held | None) -> None:
    """The checks of the notice's content against itself and what is held (the next sequence only)."""
    items = notice.items
    if items.get(RESIDENT_CODE) != notice.resident_code:
        raise logic_error(RESIDENT_CODE, f"{RESIDENT_CODE}が通知の対象と一致しません")
    stated = items.get(SEQUENCE)
    if stated is not None and stated != str(notice.sequence):
        raise logic_error(SEQUENCE, f"{SEQUENCE}が通知の順番と一致しません")
    if held is None:
        return
    present = held.present
    if notice.kind in OPENING_KINDS and present:
        raise logic_error(REASON, f"現存する住民に対する{notice.kind.value}です")
    if notice.kind in NEED_PRESENT and not present:
        raise logic_error(REASON, f"現存しない者に対する{notice.kind.value}です")
    if notice.kind in NEED_REMOVED and present:
        raise logic_error(REASON, f"現存する住民に対する{notice.kind.value}です")
    allowed = ONLY_CHANGES.get(notice.kind)
    if allowed is not None:
        _check_only(notice.kind, allowed, items, held.items)


def _check_only(
    kind: NoticeKind, allowed: frozenset[str], items: dict[str, str | None], held: dict[str, str | None]
) -> None:
    for name in ITEMS:
        if name in items and name not in allowed and items[name] != held.get(name):
            raise logic_error(name, f"{kind.value}で{name}は変わりません（別の異動として通知してください）")


def applied(notice: Notice, held: Held | None) -> dict[str, str | None]:
    """The items held after the notice: what was held, overwritten by what the notice carries; its sequence and
    異動事由 filled in when it leaves them out."""
    items = dict(held.items) if held is not None else {}
    items.update(notice.items)
    items[SEQUENCE] = str(notice.sequence)
    if items.get(REASON) is None:
        items[REASON] = notice.kind.value
    return items
