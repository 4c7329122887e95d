"""What the tests of the telegrams between cities share: the CS beside a running simulated 住基ネット, the intake
with the `transfer` key the register's events carry (set here per person and 異動事由, so that these tests hold the
CS's side whatever the register's side writes), the relay wired to the other cities, and the other city's hand
(the simulator's control endpoints, with the other city's own certificate)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from juki.bootstrap import Juki
from juki.cs.adapters import transfer_store
from juki.cs.adapters.cities_client import HttpsCitiesClient
from juki.cs.adapters.cs_db import CsDatabase
from juki.cs.adapters.prefecture_client import HttpsPrefectureClient
from juki.cs.services import intake
from juki.cs.services.delivery import Backoff
from juki.cs.services.relay import Relay
from juki.cs.services.transfers import MoveIn
from juki.domain.errors import DomainError
from juki.services import outbox
from juki.sim.juki_net import Running, restart
from tests.cs.juki_net_support import cs_client
from tests.cs.support import CITY

OTHER_CITY = "141003"  # 横浜市: in another prefecture (docs/cs-transfers.md)
NO_WAIT = Backoff(first=timedelta(0))


@dataclasses.dataclass
class Confirmations:
    """The register's `confirm_move_out` as a fake: what it was asked, and a refusal to give."""

    calls: list[MoveIn] = dataclasses.field(default_factory=list)
    refuse: str | None = None

    def __call__(self, move_in: MoveIn) -> str:
        self.calls.append(move_in)
        if self.refuse:
            raise DomainError("refused", code=self.refuse)
        return "filing-1"


@dataclasses.dataclass
class World:
    j: Juki
    cs: CsDatabase
    sim: Running
    data: Path
    confirm: Callable[[MoveIn], object]
    now: datetime = datetime(2025, 7, 1, 3, 0, tzinfo=UTC)

    def restart(self) -> None:
        self.sim = restart(self.sim, self.data)

    def relay(self) -> Relay:
        return Relay(
            self.j.uow, self.cs.transaction, self.j.event_key, CITY, lambda: cs_client(self.sim.url, self.data),
            backoff=NO_WAIT, clock=lambda: self.now, transfers_of=transfer_store.of,
            connect_cities=lambda: HttpsCitiesClient(cs_client(self.sim.url, self.data)), confirm=self.confirm,
        )  # fmt: skip

    def other_city(self) -> HttpsPrefectureClient:
        d = self.data
        return HttpsPrefectureClient.over_mutual_tls(
            self.sim.url, d / "ca.pem", d / "other-city.pem", d / "other-city.key", timeout=5.0
        )

    def act(self, method: str, path: str, body: dict[str, object] | None = None) -> Any:
        with self.other_city() as link:
            res = link.call(method, path, body)
        return res.status_code, res.json()

    def received_by(self, city: str) -> list[dict[str, Any]]:
        status, body = self.act("GET", f"/cities/v1/{city}/control/received")
        assert status == 200
        return list(body["telegrams"])


def take_in(
    j: Juki, cs: CsDatabase, transfers: dict[tuple[str, str], dict[str, object]] | None = None
) -> int:
    """The register's pending events into the CS, each with the `transfer` given for (宛名番号, 異動事由), else
    none; the outbox acknowledged after, as the intake does."""
    events = outbox.pending(j.uow, intake.SUBSCRIBER, 500)
    if not events:
        return 0
    with cs.transaction() as store:
        for event in events:
            transfer = (transfers or {}).get((event.addressee_number, event.change_reason))
            changed = dataclasses.replace(event, body=event.body | {"transfer": transfer})
            intake.take_in(store, changed, j.event_key, CITY, transfer_store.of)
    outbox.acknowledge(j.uow, intake.SUBSCRIBER, events[-1].position)
    return len(events)


def card_move_out(planned_on: str = "2025-07-01", city: str | None = OTHER_CITY) -> dict[str, object]:
    return {"card": True, "planned_on": planned_on, "destination_city_code": city,
            "destination_address": "神奈川県横浜市中区港町一丁目1番地"}  # fmt: skip


def move_in_from(city: str = OTHER_CITY) -> dict[str, object]:
    return {"card": False, "previous_city_code": city, "previous_address": "神奈川県横浜市中区港町一丁目1番地",
            "moveout_certificate_id": None}  # fmt: skip


def certificate_items(
    code: str, number: str, planned_on: str = "2025-07-10", **over: str | None
) -> dict[str, Any]:
    """A 転出証明書情報 the other city sends for one of its residents moving to us."""
    return {
        "住民票コード": code, "個人番号": number, "漢字氏名": "横浜\u3000花子", "ふりがな氏名": "ヨコハマ\u3000ハナコ",
        "生年月日": "1990-05-05", "性別": "女", "続柄": "世帯主", "市町村コード": OTHER_CITY,
        "住所": "神奈川県横浜市中区港町一丁目1番地", "転出予定日": planned_on, "転出先住所": "東京都小平市小川町一丁目1番1号",
        "転出先市町村コード": CITY, "世帯主氏名": "横浜\u3000花子", "仮支援措置": "0",
    } | over  # fmt: skip
