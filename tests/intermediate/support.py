"""What the 中間サーバー's tests share: a network and a CS side in memory, and a world that files through the
register's services and runs the 中間サーバー's passes."""

from __future__ import annotations

import base64
import hashlib
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from juki.bootstrap import Juki
from juki.intermediate import wire
from juki.intermediate.adapters import tables as t
from juki.intermediate.adapters.ims_db import ImsDatabase
from juki.intermediate.domain import replica as layout
from juki.intermediate.services import addressees
from juki.intermediate.services.relay import Relay, RelayPass
from juki.policy.roles import Actor
from juki.services import filings
from tests import factories as f

CITY = "132110"
CLERK = Actor("clerk1", "窓口 一郎", "clerk", "counter-3")
SUPERVISOR = Actor("super1", "係長 花子", "supervisor", "desk-1")
REVIEWER = Actor("super1", "係長 花子", "supervisor", "desk-1", procedure="intermediate")
PROTECTOR = Actor("super1", "係長 花子", "supervisor", "desk-1", procedure="protection")
KYOKAI = ("全国健康保険協会", "番号法第19条第8号別表第2の2の項")  # row 2 of 別紙1
INFO = "住民票関係情報"


@dataclass
class FakeNetwork:
    """The 情報提供ネットワークシステム as the city sees it (wire.NetworkClient): serials, an inbox, answers."""

    down: bool = False
    answers_down: bool = False  # the inbox is read, but an answer does not get through
    messages: list[wire.LinkCodeIssued | wire.Query | wire.MalformedMessage] = field(default_factory=list)
    answers: list[wire.QueryAnswer] = field(default_factory=list)  # every answer handed over, repeats too
    serials_given: list[str] = field(default_factory=list)
    _final: dict[str, wire.QueryAnswer] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)  # two relays may call at once

    def new_serial(self, city_code: str) -> str:
        if self.down:
            raise wire.NetworkUnreachable("down")
        with self._lock:
            serial = f"S{len(self.serials_given) + 1:019d}"
            self.serials_given.append(serial)
        return serial

    def inbox(
        self, city_code: str, after: int, wait: float = 0
    ) -> list[wire.LinkCodeIssued | wire.Query | wire.MalformedMessage]:
        if self.down:
            raise wire.NetworkUnreachable("down")
        return [m for m in self.messages if m.seq > after][: wire.INBOX_PAGE]

    def answer(self, answer: wire.QueryAnswer) -> bool:
        if self.down or self.answers_down:
            raise wire.NetworkUnreachable("down")
        with self._lock:
            self.answers.append(answer)
            if answer.query_id in self._final:
                return True
            if answer.status != wire.PENDING:
                self._final[answer.query_id] = answer
            return False

    def _seq(self) -> int:
        return (self.messages[-1].seq if self.messages else 0) + 1

    def issue(self, serial: str, link_code: str) -> None:
        self.messages.append(wire.LinkCodeIssued(self._seq(), serial, link_code))

    def ask(self, query_id: str, link_code: str, requester: str = KYOKAI[0], basis: str = KYOKAI[1],
            items: tuple[str, ...] | None = None, information: str = INFO) -> None:  # fmt: skip
        self.messages.append(
            wire.Query(self._seq(), query_id, requester, basis, information, items, link_code)
        )

    def final(self, query_id: str) -> wire.QueryAnswer | None:
        """What the requester is given for `query_id` (the first answer that is not `pending`)."""
        return self._final.get(query_id)

    def last(self, query_id: str) -> wire.QueryAnswer:
        return [a for a in self.answers if a.query_id == query_id][-1]


def link_code_for(my_number: str) -> str:
    """The 符号 the fake network issues for a person: opaque text of 24 characters, no digit run of a number."""
    digest = hashlib.sha256(b"link:" + my_number.encode()).digest()
    return base64.b32encode(digest).decode()[: wire.LINK_CODE_LENGTH].replace("2", "A").replace("3", "B")


@dataclass
class FakeRequester:
    """The CS's side of the 符号 request: it takes (serial, 個人番号); J-LIS's answer is `deliver`."""

    network: FakeNetwork
    fail: bool = False
    requests: dict[str, str] = field(default_factory=dict, repr=False)  # serial → 個人番号

    def request(self, serial: str, my_number: str) -> None:
        if self.fail:
            raise ConnectionError("the CS is down")
        self.requests[serial] = my_number

    def deliver(self) -> None:
        """J-LIS has the network issue the 符号 of every serial asked for."""
        issued = {m.serial for m in self.network.messages if isinstance(m, wire.LinkCodeIssued)}
        for serial, number in self.requests.items():
            if serial not in issued:
                self.network.issue(serial, link_code_for(number))


@dataclass
class World:
    j: Juki
    ims: ImsDatabase
    network: FakeNetwork
    requester: FakeRequester
    relay: Relay = field(init=False)

    def __post_init__(self) -> None:
        self.relay = Relay(
            self.j.uow, self.ims.transaction, self.j.event_key, CITY, self.network, self.requester
        )

    def run(self) -> RelayPass:
        return self.relay.run_once()

    def file(self, kind: str, body: dict[str, Any], actor: Actor = CLERK) -> filings.FilingResult:
        return filings.file(self.j.uow, actor, kind, body)

    def move_in(
        self, persons: list[dict[str, Any]] | None = None
    ) -> tuple[list[str], list[dict[str, Any]], str]:
        body = f.move_in(persons)
        done = self.file("move-in", body)
        return [c["addressee_number"] for c in done.changes], body["persons"], done.household_number

    def with_link_codes(self) -> None:
        """A pass (serials asked, requests handed to the CS), J-LIS's answer, and a pass that takes the 符号."""
        self.run()
        self.requester.deliver()
        self.run()

    def unified(self, addressee_number: str) -> str | None:
        with self.ims.transaction() as store:
            return addressees.unified_of(store, addressees.REGISTER_SYSTEM, addressee_number)

    def replica(self, addressee_number: str) -> dict[str, dict[str, Any]] | None:
        """The current 副本 of a person, by item name."""
        number = self.unified(addressee_number)
        with self.ims.transaction() as store:
            record = store.current_replica(number, layout.INFO_CODE) if number else None
        if record is None or record.operation != layout.REGISTER:
            return None
        return {v["name"]: dict(v) for v in record.items.values()}

    def values(self, addressee_number: str) -> dict[str, str | None]:
        found = self.replica(addressee_number)
        assert found is not None
        return {name: v["value"] for name, v in found.items()}

    def rows(self, table: Any) -> list[Any]:
        with self.ims.engine.connect() as conn:
            return list(conn.execute(select(table)))

    def move_back(self, table: Any, column: str, by: timedelta) -> None:
        """Every row's `column` `by` earlier: what the clock does to what waits (both engines: no SQL date sums)."""
        key = next(iter(table.primary_key.columns))
        with self.ims.engine.begin() as conn:
            for row_key, at in conn.execute(select(key, table.c[column])).all():
                conn.execute(table.update().where(key == row_key).values({column: at - by}))

    def replica_versions(self) -> int:
        return len(self.rows(t.replicas))
