"""What travels between the city's CS and J-LIS (地方公共団体情報システム機構: the national server's operator) for the
numbers J-LIS gives the city, and the port the CS's pass uses. The simulator's J-LIS (juki.sim.juki_net.jlis) and
the real client (cs/adapters/jlis_client.py) both follow this; docs/cs-jlis.md describes it for people. Every call
goes over the CS's one mutual-TLS link to the 住基ネット (`juki-net.json`), as the notices do (cs/wire.py).

**住民票コード blocks** (住基法30条の2第2項, 標準仕様書 j870): when the city's stock is low the CS asks for a block.

    POST {url}/jlis/v1/resident-code-blocks   {"block_request_id": "<the CS's id>", "city_code": "<6>", "size": n}
    200 {"block_request_id", "block_id", "codes": ["<11 digits>", …]}   n codes never issued before (to anyone)
    409 {"code": "block_request_reused", "message"}                     the same id with another city or size
    422 {"code": "format_error", "item", "message"}
The same `block_request_id` again answers the same block: a CS that lost the answer (a crash, a cut link) asks again
and gets what J-LIS already issued, never a second block.

**個人番号 requests** (番号法8条2項の生成要求, 7条2項の変更請求; j1130): the CS sends each open request of the register.

    POST {url}/jlis/v1/number-requests   {"request_id", "kind": "生成" | "変更", "city_code", "resident_code"}
    202 {"request_id", "duplicate": bool}   taken: the answer comes on the feed below (a repeat: taken once)
    409 {"code": "not_yet_known", "message"}  the national server holds no current 本人確認情報 for that code yet
                                             (the 出生 or 転入 notice has not reached it): ask again later
    409 {"code": "request_reused", "message"} the same id with other content
    422 {"code": "format_error", "item", "message"}

**The answers feed**: J-LIS's answers come back asynchronously, in the order it made them, per city.

    GET {url}/jlis/v1/number-answers?city_code=<6>&after=<n>
    200 {"answers": [{"seq": n, "request_id", "resident_code", "my_number"}]}   at most ANSWERS_PAGE, seq increasing
The CS keeps its cursor (the last place it dealt with) in its own table; an empty list means caught up.

**送付先情報** (個人番号カード省令23条の2; seed II(3)): the records the register built for the 個人番号通知書.

    POST {url}/jlis/v1/mailing   {"record_id", "city_code", "resident_code", "to_residence": bool,
                                  "items": {"<name of mailing_info_items.csv>": "<str>" | <int> | null,
                                            "印字区分": "<str>", "特殊事情": "<str>"}}
The 31 items, each present (null when empty), and the two settings the record goes with (標準仕様書 j1090).
    200 {"record_id", "duplicate": bool}     accepted (a repeat of the same record: kept once)
    409 {"code": "record_reused", "message"} the same id with other content
    422 {"code": "format_error" | "mismatch", "item", "message"}   mismatch: 情報の突合 against the 本人確認情報 J-LIS
                                             holds failed on `item` (住民票コード, 市町村コード, 送付先住所 漢字 …)
    GET {url}/jlis/v1/mailing?resident_code=<code>  → 200 {"records": [{…items, "resident_code"}]} (shared/spec/API.md)

**符号取得の要求** (番号法施行令20条; the 情報提供用個人識別符号 is issued through the 住基ネット): the city's 団体内統合宛名
function gives the CS a 処理通番 (serial, from the 情報提供ネットワークシステム, juki.intermediate.wire) and the
person's 個人番号; the CS sends both to J-LIS, which turns the 個人番号 into the person's 住民票コード and asks the
network to issue the 符号 for the serial (`POST {network}/network/v1/link-codes`); the 符号 itself goes from the
network to the city's 中間サーバー, never through the CS.

    POST {url}/jlis/v1/link-code-requests   {"serial", "city_code", "my_number": "<12 digits>"}
    202 {"serial", "duplicate": bool}        the network issued the 符号 (a repeat of the same serial: once)
    409 {"code": "not_yet_known", "message"}  J-LIS holds no person of the city with that 個人番号 yet (its
                                             個人番号指定 has not reached it): ask again later
    409 {"code": "serial_reused", "message"}  the serial was used for another person
    422 {"code": "format_error" | "unknown_serial", "item", "message"}   unknown_serial: a serial the network
                                             never gave the city
    503 {"code": "network_unreachable", "message"}   J-LIS could not reach the network: ask again later

Anything else — another status, a body not of these shapes, a refused TLS handshake, no answer — is
`wire.Unreachable`: the step waits and is tried again at a later pass. An answer on the feed that has its place but
not the shape of an answer is `MalformedAnswer`: the CS puts it in its error queue and moves past it. No message,
repr or log line here holds a 個人番号.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from juki.cs.wire import Accepted, Refused
from juki.domain import mailing

BLOCKS_PATH = "/jlis/v1/resident-code-blocks"
REQUESTS_PATH = "/jlis/v1/number-requests"
ANSWERS_PATH = "/jlis/v1/number-answers"
MAILING_PATH = "/jlis/v1/mailing"
LINK_CODES_PATH = "/jlis/v1/link-code-requests"

GENERATE, CHANGE = "生成", "変更"  # 番号法8条2項の生成要求, 7条2項の変更請求
KINDS = (GENERATE, CHANGE)
MAX_BLOCK = 10000  # codes in one block (the register takes no more at once: services/numbers.MAX_BLOCK)
ANSWERS_PAGE = 100
ID_MAX = 40  # an id on this wire (the register keeps block and request ids of 40 characters)

# The 送付先情報's 31 items and the two print flags, as the register builds them (domain/mailing.py; the order of
# shared/data/mailing_info_items.csv, tests/cs/test_jlis_wire.py compares): the names on both sides of this wire.
MAILING_ITEMS: tuple[str, ...] = mailing.ITEMS
MAILING_ADDRESS, MAILING_NAME, MAILING_CITY = "送付先住所 漢字", "送付先氏名 漢字", "市町村コード"
MAILING_FLAGS = (mailing.PRINT_CATEGORY, mailing.SPECIAL_CIRCUMSTANCE)  # optional (標準仕様書 j1090)

BLOCK_REFUSALS = {409: frozenset({"block_request_reused"}), 422: frozenset({"format_error"})}
REQUEST_REFUSALS = {409: frozenset({"request_reused"}), 422: frozenset({"format_error"})}
NOT_YET_KNOWN = "not_yet_known"
MAILING_REFUSALS = {409: frozenset({"record_reused"}), 422: frozenset({"format_error", "mismatch"})}
LINK_CODE_REFUSALS = {409: frozenset({"serial_reused"}), 422: frozenset({"format_error", "unknown_serial"})}
NETWORK_UNREACHABLE = "network_unreachable"  # 503: J-LIS could not reach the 情報提供ネットワークシステム
SERIAL_MAX = ID_MAX  # a 処理通番 on this wire (the network's are 20 characters)

MailingValue = str | int | None


@dataclass(frozen=True)
class BlockRequest:
    block_request_id: str
    city_code: str
    size: int

    def to_json(self) -> dict[str, object]:
        return {"block_request_id": self.block_request_id, "city_code": self.city_code, "size": self.size}


@dataclass(frozen=True)
class Block:
    """A block J-LIS issued for the request `block_request_id`."""

    block_request_id: str
    block_id: str
    codes: tuple[str, ...]


@dataclass(frozen=True)
class NumberRequestOut:
    """A 個人番号 request as it goes to J-LIS (the register's NumberRequest, by 住民票コード only)."""

    request_id: str
    kind: str
    city_code: str
    resident_code: str

    def to_json(self) -> dict[str, object]:
        return {"request_id": self.request_id, "kind": self.kind, "city_code": self.city_code,
                "resident_code": self.resident_code}  # fmt: skip


@dataclass(frozen=True)
class Taken:
    """J-LIS took the request; its answer comes on the feed."""

    duplicate: bool


@dataclass(frozen=True)
class NotYetKnown:
    """The national server does not hold the person yet: the request is asked again at a later pass."""


@dataclass(frozen=True)
class Answer:
    """J-LIS's answer to one request, at place `seq` of the city's feed. The number never shows in a repr."""

    seq: int
    request_id: str
    resident_code: str
    my_number: str = field(repr=False)


@dataclass(frozen=True)
class MalformedAnswer:
    """An entry of the feed at place `seq` that is not an answer (`reason` names what is wrong, never a value)."""

    seq: int
    reason: str
    request_id: str | None = None


@dataclass(frozen=True)
class MailingRecord:
    """One 送付先情報 as it goes to J-LIS: the 31 items, the person's 住民票コード, and whether it goes to a 居所
    registered for delivery (then J-LIS does not compare the address)."""

    record_id: str
    city_code: str
    resident_code: str
    to_residence: bool
    items: dict[str, MailingValue]

    def to_json(self) -> dict[str, object]:
        return {"record_id": self.record_id, "city_code": self.city_code, "resident_code": self.resident_code,
                "to_residence": self.to_residence, "items": dict(self.items)}  # fmt: skip


@dataclass(frozen=True)
class LinkCodeRequestOut:
    """A 符号取得の要求 as it goes to J-LIS: the network's serial and the person's 個人番号 (never in a repr)."""

    serial: str
    city_code: str
    my_number: str = field(repr=False)

    def to_json(self) -> dict[str, object]:
        return {"serial": self.serial, "city_code": self.city_code, "my_number": self.my_number}


@dataclass(frozen=True)
class NetworkDown:
    """J-LIS took the request but could not reach the 情報提供ネットワークシステム: asked again later."""


class JlisClient(Protocol):
    """The CS's side of the wire above; every method raises `wire.Unreachable` when there is no usable answer."""

    def issue_block(self, request: BlockRequest) -> Block | Refused: ...

    def request_number(self, request: NumberRequestOut) -> Taken | NotYetKnown | Refused: ...

    def answers(self, city_code: str, after: int) -> list[Answer | MalformedAnswer]:
        """The answers after place `after`, in order (places strictly increasing, all after `after`)."""
        ...

    def deliver_mailing(self, record: MailingRecord) -> Accepted | Refused: ...

    def request_link_code(
        self, request: LinkCodeRequestOut
    ) -> Taken | NotYetKnown | NetworkDown | Refused: ...
