"""特例転出・特例転入 end to end (住基法24条の2, 9条1項; docs/cs-transfers.md): the register, its CS as bootstrap
wires it (`Juki.cs_relay()`, `Juki.moveout_certificates`) and the simulated 住基ネット playing the other city, over
mutual TLS, on SQLite and PostgreSQL.

- Their 特例転出 → their 転出証明書情報 held by our CS → our 特例転入 on it (a 特例転入 notice to the prefecture) →
  our 転入通知 to them.
- Our 特例転出 → our 転出証明書情報 at the other city → their 特例転入 → their 転入通知 to us → our 転入通知受理 in the
  register (消除日 the earlier of 転出予定日 and 転入日, j50) → notified to the prefecture as 転入通知受理.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from juki.bootstrap import Juki
from juki.cs.services.delivery import Backoff
from juki.services import card_moves, filings
from juki.sim.juki_net import start_in_thread
from tests import factories as f
from tests.cs.support import CITY, CLERK, notices
from tests.cs.transfer_support import OTHER_CITY, World, certificate_items

NO_WAIT = Backoff(first=timedelta(0))
THEIR_ADDRESS = {"address": "神奈川県横浜市中区港町一丁目1番地", "municipality_code": OTHER_CITY}


@pytest.fixture
def wired(j: Juki, tmp_path: Path) -> Iterator[tuple[Juki, World]]:
    data = tmp_path / "juki-net"
    sim = start_in_thread(data)
    config = tmp_path / "juki-net.json"
    config.write_text(json.dumps({"url": sim.url, "pki": "juki-net"}), encoding="utf-8")
    settings = j.settings.model_copy(
        update={"juki_net_config": str(config), "cs_key_file": str(tmp_path / "juki-cs-keys.json")}
    )
    wired_j = dataclasses.replace(j, settings=settings, migrate_cs=True)
    world = World(wired_j, wired_j.cs, sim, data, lambda _: None)
    yield wired_j, world
    world.sim.stop()
    wired_j.cs.dispose()


def _prefecture(j: Juki, code: str) -> dict[str, Any]:
    client = j.prefecture_client()
    assert client is not None
    with client:
        held = client.identity(code)
    assert held is not None
    return held


def test_their_card_move_out_our_card_move_in_on_it_and_our_move_in_notice_to_them(wired):
    j, world = wired
    person = f.person(family_name="横浜", given_name="花子", family_name_kana="ヨコハマ", given_name_kana="ハナコ",
                      birth_date="1990-05-05", sex="female")  # fmt: skip
    number = person.pop("my_number")  # the 転出証明書情報 brings it
    status, sent = world.act("POST", f"/cities/v1/{OTHER_CITY}/control/move-out",
                             {"to_city_code": CITY, "items": certificate_items(person["resident_code"], number,
                                                                                planned_on="2025-06-05")})  # fmt: skip
    assert status == 200
    assert j.cs_relay(NO_WAIT).run_once().telegrams_received == 1
    held = j.moveout_certificates.find(person["resident_code"])
    assert held is not None and held.certificate_id == sent["telegram_id"]
    body = f.move_in([person], previous_address=THEIR_ADDRESS, card_move_in=True,
                     moveout_certificate_id=held.certificate_id)  # fmt: skip
    card_moves.file_move_in(j.uow, j.moveout_certificates, CLERK, body)
    assert j.moveout_certificates.find(person["resident_code"]) is None  # used
    done = j.cs_relay(NO_WAIT).run_once()
    assert (done.acknowledged, done.refused, done.telegrams_sent) == (1, 0, 1)
    [notice] = notices(j.cs)
    assert (notice.kind, notice.sequence, notice.state) == ("特例転入", 1, "acknowledged")
    items = _prefecture(j, person["resident_code"])["items"]
    assert (items["異動事由"], items["個人番号"], items["市町村コード(転入前)"]) == (
        "特例転入",
        number,
        OTHER_CITY,
    )
    [got] = world.received_by(OTHER_CITY)  # their 消除 is confirmed by our 転入通知
    assert got["kind"] == "move_in_notice" and got["items"]["住民票コード"] == person["resident_code"]
    assert got["items"]["転入日"] == body["changed_on"]


def test_our_card_move_out_their_card_move_in_and_our_move_in_notice_received(wired):
    j, world = wired
    person = f.person()
    moved = filings.file(j.uow, CLERK, "move-in", f.move_in([person]))
    addressee = moved.changes[0]["addressee_number"]
    filings.file(j.uow, CLERK, "move-out", {"filed_on": "2025-06-20", "planned_on": "2025-06-28",
                 "addressee_numbers": [addressee], "destination": THEIR_ADDRESS, "card_move_out": True})  # fmt: skip
    first = j.cs_relay(NO_WAIT).run_once()
    assert (first.acknowledged, first.refused) == (2, 0)
    certificate = [g for g in world.received_by(OTHER_CITY) if g["kind"] == "moveout_certificate"]
    assert [c["items"]["住民票コード"] for c in certificate] == [person["resident_code"]]
    assert certificate[0]["items"]["個人番号"] == person["my_number"]
    status, _ = world.act("POST", f"/cities/v1/{OTHER_CITY}/control/move-in",
                          {"resident_code": person["resident_code"], "moved_in_on": "2025-06-25",
                           "address": "神奈川県横浜市中区港町二丁目2番地", "notified_on": "2025-06-29"})  # fmt: skip
    assert status == 200
    received = j.cs_relay(NO_WAIT).run_once()  # the 転入通知 into the register (転入通知受理) …
    assert received.telegrams_received == 1
    done = j.cs_relay(NO_WAIT).run_once()  # … and that change to the prefecture
    assert (done.taken, done.acknowledged, done.refused) == (1, 1, 0)
    assert [(n.kind, n.sequence, n.state) for n in notices(j.cs) if n.addressee_number == addressee] == [
        ("転入", 1, "acknowledged"), ("転出", 2, "acknowledged"), ("転入通知受理", 3, "acknowledged")]  # fmt: skip
    items = _prefecture(j, person["resident_code"])["items"]
    assert (items["異動事由"], items["レコード状況フラグ"]) == ("転入通知受理", "1")
    assert items["異動年月日"] == "2025-06-25"  # j50: the earlier of the 転出予定日 and the 転入日
    assert j.cs_relay(NO_WAIT).run_once().telegrams_received == 0  # once
