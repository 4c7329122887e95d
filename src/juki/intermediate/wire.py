"""What travels between the city's 中間サーバー (intermediate_server), the 情報提供ネットワークシステム (info_network)
and J-LIS for the 情報提供用個人識別符号 (link_code), and the port the 中間サーバー's passes use. The simulator
(`juki sim info-network`, juki.sim.info_network) and the real client (intermediate/adapters/network_client.py) both
follow this; docs/intermediate-server.md describes it for people.

Every call is HTTPS with **mutual TLS** against the network's CA (`info-network.json`: `{"url", "pki"}`). The
client certificate says who calls, by its common name; an endpoint refuses (403 `not_allowed`) a caller of another
kind, and a certificate from another CA is refused in the handshake:

    CN = "中間サーバー <市町村コード>"   the city's 中間サーバー      (pki: city.pem, city.key)
    CN = "J-LIS"                         J-LIS's link to the network (pki: jlis.pem, jlis.key)
    CN = "照会機関"                      the requesting bodies       (pki: client.pem, client.key)

**処理通番** (serial): before a 符号 is asked for, the 中間サーバー takes a serial from the network; the 符号 comes
back tagged with it, so the city never has to name the person to the network by a number.

    POST {url}/network/v1/serials          (city)   {"city_code"}
    200 {"serial": "<20 characters>"}

**符号取得** goes through the 住基ネット (番号法施行令20条): the 団体内統合宛名 function gives the CS the serial and
the 個人番号; the CS sends them to J-LIS (cs/jlis_wire.py, `LINK_CODES_PATH`); J-LIS turns the 個人番号 into the
住民票コード and asks the network to issue the 符号 for the serial:

    POST {url}/network/v1/link-codes       (J-LIS)  {"serial", "city_code", "resident_code"}
    200 {"serial", "duplicate": bool}      the 符号 is queued for the city's inbox (the same serial again: once)
    404 {"code": "unknown_serial", "message"}        a serial the network never gave the city
    409 {"code": "serial_reused", "message"}          the serial was used for another person

**The city's inbox**: the 符号 issued for its serials, and the 照会 for it, in order.

    GET {url}/network/v1/inbox?city_code=<6>&after=<n>&wait=<s ≤ 30>   (city)
    200 {"messages": [{"seq": n, "kind": "link_code", "serial", "link_code"}
                    | {"seq": n, "kind": "query", "query_id", "requester", "legal_basis", "information",
                       "items": ["<item name>", …] | null, "link_code"}]}
`wait` holds the answer open until a message comes (long poll). `items` null asks for every item of the
特定個人情報名 (`information`). The 中間サーバー keeps its cursor; a message read twice is handled once
(`serial` and `query_id` are the keys).

**Answers** to 照会 (provision), by the 中間サーバー:

    POST {url}/network/v1/answers          (city)   {"query_id", "status", "data": {…} | null, "message"}
    200 {"query_id", "duplicate": bool}
    404 {"code": "unknown_query", "message"}
`status` is one of STATUSES. `data` holds exactly the items answered (item name → value) and only with
`answered`. A held answer (`pending`) is answered again later, when a supervisor has released or refused it: the
network delivers that to the requester (the simulator records it: `GET /network/v1/deliveries?query_id=`).

**照会** by a requesting body (the simulator's own side; the real network routes a body's query by the body's own
符号):

    POST {url}/network/v1/queries          (requester)
         {"query_id": "<unique per requester>" | null, "requester", "legal_basis", "information",
          "items": [...] | null, "resident_code" | "link_code"}
    200 {"query_id", "status", "data", "message"}      the city's answer (or `no_link_code`, below)
    504 {"code": "no_answer", "message"}                the city did not answer in time
The network answers `no_link_code` itself, without asking the city, when it has issued no 符号 to the city for
that 住民票コード. A `link_code` given as is goes to the city as it is (how tests send a forged one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

SERIALS_PATH = "/network/v1/serials"
LINK_CODES_PATH = "/network/v1/link-codes"
INBOX_PATH = "/network/v1/inbox"
ANSWERS_PATH = "/network/v1/answers"
QUERIES_PATH = "/network/v1/queries"
DELIVERIES_PATH = "/network/v1/deliveries"

CITY_CN_PREFIX = "中間サーバー "  # + 市町村コード
JLIS_CN = "J-LIS"
REQUESTER_CN = "照会機関"

MAX_WAIT = 30  # seconds an inbox read may be held open
INBOX_PAGE = 100
SERIAL_LENGTH = 20
LINK_CODE_LENGTH = 24  # the 機関別符号 as the simulator issues it (base32 text); the city treats it as opaque

# The statuses of an answer (shared/spec/API.md, 中間サーバー), and the network's words for them.
ANSWERED, REFUSED, PENDING, NO_LINK_CODE = "answered", "refused", "pending", "no_link_code"
STATUSES = (ANSWERED, REFUSED, PENDING, NO_LINK_CODE)

# The messages a requester reads. A refusal never says more than its kind: never that a person is protected, and
# never a value of the query.
NOT_PERMITTED = "照会は許可されていません"
UNKNOWN_LINK_CODE = "符号が登録されていません"
LINK_CODE_MISSING = "符号未取得"
DUPLICATE_QUERY = "照会番号が重複しています"
HELD_FOR_REVIEW = "自動応答できません。提供の可否を確認中です"
NOT_PROVIDED = "提供できません"
PROVIDED = "提供しました"
NO_ANSWER = "照会先から応答がありません"


@dataclass(frozen=True)
class LinkCodeIssued:
    """The network's inbox message: the 符号 issued for the city's `serial`."""

    seq: int
    serial: str
    link_code: str = field(repr=False)


@dataclass(frozen=True)
class Query:
    """A 照会 in the city's inbox. `items` None: every item of `information`."""

    seq: int
    query_id: str
    requester: str
    legal_basis: str
    information: str
    items: tuple[str, ...] | None
    link_code: str = field(repr=False)


@dataclass(frozen=True)
class MalformedMessage:
    """An inbox entry at place `seq` that is neither (`reason` names what is wrong, never a value)."""

    seq: int
    reason: str


@dataclass(frozen=True)
class QueryAnswer:
    query_id: str
    status: str
    data: dict[str, str | None] | None
    message: str

    def to_json(self) -> dict[str, object]:
        return {"query_id": self.query_id, "status": self.status, "data": self.data, "message": self.message}


class NetworkUnreachable(Exception):
    """No usable answer from the network (down, TLS refused, timeout, another shape): try again later. Never holds
    a value of a message."""


class UnknownQuery(NetworkUnreachable):
    """The network has no 照会 of this query_id for the city (`404 unknown_query`): sending the answer again will
    not help. A kind of `NetworkUnreachable`, so that a caller that does not tell it apart still sees a failure."""


class NetworkClient(Protocol):
    """The 中間サーバー's side of the wire above; every method raises `NetworkUnreachable` when there is no usable
    answer."""

    def new_serial(self, city_code: str) -> str: ...

    def inbox(
        self, city_code: str, after: int, wait: float = 0
    ) -> list[LinkCodeIssued | Query | MalformedMessage]:
        """The messages after place `after`, in order (places strictly increasing, all after `after`)."""
        ...

    def answer(self, answer: QueryAnswer) -> bool:
        """Deliver an answer; True when the network had it already (a repeat). `UnknownQuery` when the network
        has no such query for the city."""
        ...
