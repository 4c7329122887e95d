"""What travels between the city's CS and the 住基ネット beyond it (the prefecture server), and the port the CS's
delivery uses. The simulator (juki.sim.juki_net) and the real client (cs/adapters/prefecture_client.py) both
follow this; docs/cs.md describes it for people.

A notice (本人確認情報の通知, 住基法30条の6) is one person's change:

    POST {url}/prefecture/v1/notices        (mutual TLS; JSON)
    {"notice_id": "<the CS's id>", "kind": "<NoticeKind value>", "resident_code": "<11 digits>",
     "sequence": <更新順番号, 1, 2, … per person>, "items": {"<item name of identity_info_items.csv>": "<str>" | null}}

Answers:
    200 {"resident_code", "sequence", "duplicate": false}   applied
    200 {"resident_code", "sequence", "duplicate": true}    the same notice again (same sequence, same items): not
                                                           applied twice, acknowledged
    409 {"code": "out_of_order", "expected": <n>, "message"}  a sequence other than the next one
    409 {"code": "sequence_reused", "message"}               the same sequence with other items
    422 {"code": "<format_error | logic_error | unknown_resident_code>", "item": "<item name>" | null, "message"}
Any other status, a malformed answer, a refused TLS handshake or no answer at all is `Unreachable`: the notice
waits and is tried again later; nothing after it for the same person goes first.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

# The 本人確認情報's 36 items, in the order of policy/data/identity_info_items.csv (the assessment's 別添1(2);
# tests/cs/test_items.py compares them): the only names a notice's `items` carries, on both sides of the wire.
ITEMS: tuple[str, ...] = (
    "住民票コード", "漢字氏名", "外字数(氏名)", "ふりがな氏名", "清音化かな氏名", "生年月日", "性別", "市町村コード",
    "大字・字コード", "郵便番号", "住所", "外字数(住所)", "個人番号", "住民となった日", "住所を定めた日",
    "届出の年月日", "市町村コード(転入前)", "転入前住所", "外字数(転入前住所)", "続柄", "異動事由", "異動年月日",
    "異動事由詳細", "旧住民票コード", "住民票コード使用年月日", "依頼管理番号", "操作者ID", "操作端末ID",
    "更新順番号", "異常時更新順番号", "更新禁止フラグ", "予定者フラグ", "排他フラグ", "外字フラグ",
    "レコード状況フラグ", "タイムスタンプ",
)  # fmt: skip


class NoticeKind(StrEnum):
    """The kinds of 本人確認情報の通知 (the 住基ネット's 異動事由 of a notice)."""

    MOVE_IN = "転入"
    CARD_MOVE_IN = "特例転入"
    MOVE_OUT = "転出"
    MOVE_IN_NOTICE_RECEIVED = "転入通知受理"
    MOVE_WITHIN = "転居"
    BIRTH = "出生"
    DEATH = "死亡"
    EX_OFFICIO_ENTRY = "職権記載"
    EX_OFFICIO_CORRECTION = "職権修正"
    EX_OFFICIO_REMOVAL = "職権消除"
    CANCELLATION = "取消し"
    HOUSEHOLD_CHANGE = "世帯変更"
    MINOR_CORRECTION = "軽微な修正"
    # A person's numbers changing on their own (住基法7条13号・8号の2 are items of the 本人確認情報, 30条の6): the
    # 住基ネット's 異動事由 are the law's words — 住民票コードの記載・変更 (住基法30条の3・30条の4), 個人番号の指定・変更
    # (番号法7条1項・2項). A 住民票コード変更 re-keys the person: its notice names the new code, and 旧住民票コード the one
    # the prefecture holds the person under (docs/cs-jlis.md).
    RESIDENT_CODE_ENTRY = "住民票コード記載"
    RESIDENT_CODE_CHANGE = "住民票コード変更"
    MY_NUMBER_ASSIGNED = "個人番号指定"
    MY_NUMBER_CHANGED = "個人番号変更"


# Kinds that may open a person's record at the prefecture (sequence 1 of a 住民票コード it does not hold).
OPENING_KINDS = frozenset(
    {
        NoticeKind.MOVE_IN,
        NoticeKind.CARD_MOVE_IN,
        NoticeKind.BIRTH,
        NoticeKind.EX_OFFICIO_ENTRY,
        NoticeKind.RESIDENT_CODE_ENTRY,  # a person recorded without a code is first known to the 住基ネット by it
    }
)


@dataclass(frozen=True)
class Notice:
    notice_id: str
    kind: NoticeKind
    resident_code: str
    sequence: int
    items: dict[str, str | None]

    def to_json(self) -> dict[str, object]:
        return {
            "notice_id": self.notice_id,
            "kind": self.kind.value,
            "resident_code": self.resident_code,
            "sequence": self.sequence,
            "items": dict(self.items),
        }


@dataclass(frozen=True)
class Accepted:
    duplicate: bool


@dataclass(frozen=True)
class Refused:
    """The prefecture refused the notice for a reason a person must look at: it goes to the error queue."""

    code: str  # out_of_order, sequence_reused, format_error, logic_error, unknown_resident_code
    item: str | None
    message: str


class Unreachable(Exception):
    """No usable answer (down, TLS refused, timeout, malformed answer): try again later. Never holds item values."""


class PrefectureClient(Protocol):
    def send(self, notice: Notice) -> Accepted | Refused:
        """Deliver one notice; raises Unreachable when there is no usable answer."""
        ...

    def identity(self, resident_code: str) -> dict[str, object] | None:
        """What the prefecture holds for one person (`GET /prefecture/v1/identity/{code}`), None when nothing."""
        ...


# --- between cities: 転出証明書情報 (住基法24条の2) and 転入通知 (住基法9条1項), docs/cs-transfers.md -------------
#
#     POST {url}/cities/v1/{to_city_code}/moveout-certificates   (mutual TLS; JSON)
#     POST {url}/cities/v1/{to_city_code}/move-in-notices
#     {"telegram_id": "<the sender's id>", "from_city_code": "<6 digits>", "items": {"<name>": "<str>" | null}}
# Answers:
#     200 {"telegram_id", "duplicate": bool}                 kept (a repeat of the same telegram: kept once)
#     404 {"code": "unknown_city", "message"}                no such city on the 住基ネット
#     409 {"code": "telegram_reused", "message"}             the same id with other content
#     422 {"code": "format_error" | "unknown_city", "item", "message"}
# Anything else is `Unreachable`: the telegram waits and is sent again.
#
#     GET {url}/cities/v1/{our_city_code}/inbox?after=<n>
#     200 {"telegrams": [{"seq": n, "telegram_id", "kind": "<TelegramKind>", "from_city_code", "items"}]}


class TelegramKind(StrEnum):
    MOVE_OUT_CERTIFICATE = "moveout_certificate"  # 転出証明書情報 (住基法24条の2第3項)
    MOVE_IN_NOTICE = "move_in_notice"  # 転入通知 (住基法9条1項)


TELEGRAM_PATHS = {
    TelegramKind.MOVE_OUT_CERTIFICATE: "moveout-certificates",
    TelegramKind.MOVE_IN_NOTICE: "move-in-notices",
}
TELEGRAM_NAMES = {
    TelegramKind.MOVE_OUT_CERTIFICATE: "転出証明書情報",
    TelegramKind.MOVE_IN_NOTICE: "転入通知",
}

# The 転出証明書情報: what the next city needs to record the person (住基法24条の2第3項「政令で定める事項」: the
# 転出証明書's items) — the 本人確認情報 items the CS holds, and what only the 転出届 says.
CERTIFICATE_ITEMS: tuple[str, ...] = (
    "住民票コード", "個人番号", "漢字氏名", "ふりがな氏名", "生年月日", "性別", "続柄", "市町村コード", "郵便番号",
    "住所", "住民となった日", "住所を定めた日", "転出予定日", "転出先住所", "転出先市町村コード", "世帯主氏名",
    "仮支援措置",
)  # fmt: skip
# The 転入通知: who came, when, where to; the city that sends it is `from_city_code`.
MOVE_IN_NOTICE_ITEMS: tuple[str, ...] = ("住民票コード", "転入日", "転入先住所", "通知日")
TELEGRAM_ITEMS = {
    TelegramKind.MOVE_OUT_CERTIFICATE: CERTIFICATE_ITEMS,
    TelegramKind.MOVE_IN_NOTICE: MOVE_IN_NOTICE_ITEMS,
}
TELEGRAM_REFUSALS = {404: frozenset({"unknown_city"}), 409: frozenset({"telegram_reused"}),
                     422: frozenset({"format_error", "unknown_city"})}  # fmt: skip


@dataclass(frozen=True)
class Telegram:
    telegram_id: str
    kind: TelegramKind
    from_city_code: str
    to_city_code: str
    items: dict[str, str | None]

    def to_json(self) -> dict[str, object]:
        return {
            "telegram_id": self.telegram_id,
            "from_city_code": self.from_city_code,
            "items": dict(self.items),
        }


@dataclass(frozen=True)
class Received:
    """A telegram in our inbox, with its place in it (the cursor the CS keeps)."""

    seq: int
    telegram: Telegram


class CitiesClient(Protocol):
    def send(self, telegram: Telegram) -> Accepted | Refused:
        """Deliver one telegram to its city; raises Unreachable when there is no usable answer."""
        ...

    def inbox(self, city_code: str, after: int) -> list[Received]:
        """The telegrams addressed to `city_code` after place `after`, in order; raises Unreachable."""
        ...
