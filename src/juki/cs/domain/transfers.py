"""Telegrams between cities through the 住基ネット (pure): what the CS sends for a 特例転出 (転出証明書情報,
住基法24条の2第3項) and for a 転入 from another city (転入通知, 住基法9条1項), the checks of what comes in, and how
long a 転出証明書情報 received is held (docs/cs-transfers.md).

Messages name items, never their values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from juki.cs.domain.items import IDEOGRAPHIC_SPACE, MY_NUMBER, PRESENT, Items
from juki.cs.domain.notices import FORMAT_ERROR, Failure
from juki.cs.wire import TELEGRAM_ITEMS, Telegram, TelegramKind
from juki.domain.identifiers import my_number_check_digit, resident_code_check_digit

# 住基法施行令24条の2: the 特例転入 is no longer possible once 30 days have passed since the 転出予定日 (or 14 since
# the move). The next city then has no use for the 転出証明書情報: it is erased (seed 別添2, システム2 ③ 3.:
# 一定期間経過後も転入の届け出が行われない場合は、受け取った転出証明書情報を消去する).
HELD_FOR = timedelta(days=30)

UNKNOWN_CITY = "unknown_city"
ALREADY_RESIDENT = "already_resident"
NOT_FOR_US = "not_for_us"
CARD_REASONS = ("転出",)  # a 国外転出 has no next city on the 住基ネット: no 特例転出
NOTIFIED_MOVE_INS = ("転入",)  # a 国外転入 has no previous city to notify
PROVISIONAL = "仮支援措置"
DATES = ("生年月日", "住民となった日", "住所を定めた日", "転出予定日", "転入日", "通知日")
REQUIRED = {
    TelegramKind.MOVE_OUT_CERTIFICATE: (
        "住民票コード",
        "漢字氏名",
        "ふりがな氏名",
        "生年月日",
        "性別",
        "転出予定日",
    ),
    TelegramKind.MOVE_IN_NOTICE: ("住民票コード", "転入日", "転入先住所", "通知日"),
}


def is_city_code(value: object) -> bool:
    """A 全国地方公共団体コード: 5 digits and its check digit (JIS X 0402: weights 6…2, 11 − the sum mod 11, the
    last digit of that)."""
    if not isinstance(value, str) or re.fullmatch(r"[0-9]{6}", value) is None:
        return False
    total = sum(int(d) * w for d, w in zip(value[:5], (6, 5, 4, 3, 2), strict=True))
    return str((11 - total % 11) % 10) == value[5]


def purge_after(planned_on: date) -> date:
    """The last day a 転出証明書情報 received is held: it is erased the day after."""
    return planned_on + HELD_FOR


def expired(planned_on: date, today: date) -> bool:
    return today > purge_after(planned_on)


def split_name(full: str | None) -> tuple[str, str]:
    """氏 and 名 of a 漢字氏名 or ふりがな氏名 (joined by one U+3000, cs/domain/items.py)."""
    family, _, given = (full or "").partition(IDEOGRAPHIC_SPACE)
    return family, given


def wants_certificate(change_reason: str, transfer: Mapping[str, Any] | None) -> bool:
    return change_reason in CARD_REASONS and bool(transfer and transfer.get("card"))


def wants_move_in_notice(change_reason: str, transfer: Mapping[str, Any] | None) -> bool:
    return change_reason in NOTIFIED_MOVE_INS and bool(transfer and transfer.get("previous_city_code"))


def certificate(
    items: Items, transfer: Mapping[str, Any], householder_name: str | None, provisional: bool
) -> dict[str, str | None]:
    """The 転出証明書情報 of a 特例転出 from the person's 本人確認情報 after the 転出 and the 転出届's transfer."""
    kept = {
        name: items.get(name) for name in TELEGRAM_ITEMS[TelegramKind.MOVE_OUT_CERTIFICATE] if name in items
    }
    return kept | {
        "転出予定日": str(transfer.get("planned_on") or items.get("異動年月日") or "") or None,
        "転出先住所": transfer.get("destination_address") or None,
        "転出先市町村コード": transfer.get("destination_city_code") or None,
        "世帯主氏名": householder_name,
        PROVISIONAL: "1" if provisional else "0",
    }


def move_in_notice(items: Items, moved_in_on: str, notified_on: date) -> dict[str, str | None]:
    """The 転入通知 of a 転入 from another city: who came (住民票コード), when, and the address here."""
    return {
        "住民票コード": items.get("住民票コード"),
        "転入日": moved_in_on,
        "転入先住所": items.get("住所"),
        "通知日": notified_on.isoformat(),
    }


def check_incoming(telegram: Telegram, our_city: str) -> Failure | None:
    """A telegram from our inbox before anything is done with it: from a city of the 住基ネット, for us, each item
    in its format."""
    if telegram.to_city_code != our_city:
        return Failure(NOT_FOR_US, None, "この市町村あての電文ではありません")
    if not is_city_code(telegram.from_city_code) or telegram.from_city_code == our_city:
        return Failure(UNKNOWN_CITY, "from_city_code", "送信元の市町村コードが正しくありません")
    names = TELEGRAM_ITEMS[telegram.kind]
    unknown = sorted(set(telegram.items) - set(names))
    if unknown:
        return Failure(FORMAT_ERROR, unknown[0], "電文の項目ではありません")
    for name in REQUIRED[telegram.kind]:
        if not telegram.items.get(name):
            return Failure(FORMAT_ERROR, name, f"{name}がありません")
    return _check_values(telegram.items)


def _check_values(items: Mapping[str, str | None]) -> Failure | None:
    for name, value in items.items():
        if value is not None and not isinstance(value, str):
            return Failure(FORMAT_ERROR, name, f"{name}の値は文字列です")
    code, number = items.get("住民票コード"), items.get(MY_NUMBER)
    if not _checked(code, 11, resident_code_check_digit):
        return Failure(
            FORMAT_ERROR, "住民票コード", "住民票コードは11桁の数字で検査数字が正しくなければなりません"
        )
    if number is not None and not _checked(number, 12, my_number_check_digit):
        return Failure(FORMAT_ERROR, MY_NUMBER, "個人番号は12桁の数字で検査数字が正しくなければなりません")
    for name in DATES:
        if items.get(name) is not None and not _is_date(items[name]):
            return Failure(FORMAT_ERROR, name, f"{name}が日付（YYYY-MM-DD）ではありません")
    if items.get("性別") not in (None, "男", "女"):
        return Failure(FORMAT_ERROR, "性別", "性別は男または女です")
    if items.get(PROVISIONAL) not in (None, "0", "1"):
        return Failure(FORMAT_ERROR, PROVISIONAL, "仮支援措置は0または1です")
    return None


def _checked(value: str | None, length: int, check_digit: Any) -> bool:
    if value is None or re.fullmatch(rf"[0-9]{{{length}}}", value) is None:
        return False
    return bool(check_digit(value[:-1]) == value[-1])


def _is_date(value: str | None) -> bool:
    try:
        date.fromisoformat(value or "")
    except ValueError:
        return False
    return re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value or "") is not None


def resident_here(status: str | None) -> bool:
    """A person the CS holds as present cannot be 転入 from another city: their 転出証明書情報 is refused."""
    return status == PRESENT
