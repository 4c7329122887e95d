"""Telegrams between cities (docs/cs-transfers.md), the CS against the simulated 住基ネット over mutual TLS, on
SQLite and PostgreSQL: our 特例転出 sends the 転出証明書情報 after the 転出 notice; our 転入 from another city sends
the 転入通知; the other city's 転出証明書情報 is held for the register and erased after its period; its 転入通知
confirms our 転出 through the register; an outage delays, never reorders or repeats; what is wrong is refused with
a code."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from juki.bootstrap import Juki
from juki.cs.adapters import transfer_store
from juki.cs.adapters import transfer_tables as tt
from juki.cs.adapters.cs_db import CsDatabase
from juki.cs.adapters.transfer_store import CsMoveOutCertificates
from juki.cs.services import transfers
from juki.domain.errors import Forbidden
from juki.services import filings, protection
from juki.sim.juki_net import start_in_thread
from juki.sim.juki_net.store import JukiNetStore
from tests import factories as f
from tests.cs.support import CITY, CLERK, CS_OPERATOR, notices, rows
from tests.cs.test_restrictions import BOSS
from tests.cs.transfer_support import (
    OTHER_CITY,
    Confirmations,
    World,
    card_move_out,
    certificate_items,
    move_in_from,
    take_in,
)
from tests.factories import generate_my_number
from tests.leakcheck import spellings

_rng = random.Random(24)


@pytest.fixture
def world(j: Juki, cs: CsDatabase, tmp_path: Path) -> Iterator[World]:
    data = tmp_path / "juki-net"
    w = World(j, cs, start_in_thread(data), data, Confirmations())
    yield w
    w.sim.stop()


def _number() -> str:
    return generate_my_number(_rng)


def _resident(world: World, **over: Any) -> tuple[str, dict[str, Any]]:
    """A person moved in (no telegram), taken in: their 宛名番号 and what was filed."""
    person = f.person(**over)
    done = filings.file(world.j.uow, CLERK, "move-in", f.move_in([person]))
    take_in(world.j, world.cs)
    return done.changes[0]["addressee_number"], person


def _move_out(world: World, person: str, planned_on: str = "2025-07-01") -> None:
    filings.file(world.j.uow, CLERK, "move-out", {"filed_on": "2025-06-25", "planned_on": planned_on,
                 "addressee_numbers": [person], "destination": f.OTHER})  # fmt: skip


def _out(world: World) -> list[Any]:
    return rows(world.cs, tt.telegrams_out, tt.telegrams_out.c.id)


def _log_text(world: World) -> str:
    with world.cs.transaction() as store:
        return "\n".join(f"{line.result} {line.message}" for line in store.log_lines())


# --- out: our 特例転出 ---------------------------------------------------------------------------------------------


def test_a_card_move_out_sends_the_certificate_to_the_destination_after_its_notice(world):
    person, filed = _resident(world)
    world.relay().run_once()
    _move_out(world, person)
    take_in(world.j, world.cs, {(person, "転出"): card_move_out()})
    [queued] = _out(world)
    assert (queued.kind, queued.state, queued.to_city_code) == ("moveout_certificate", "queued", OTHER_CITY)
    done = world.relay().run_once()
    assert (done.acknowledged, done.telegrams_sent) == (1, 1)
    assert [(n.kind, n.state) for n in notices(world.cs)] == [
        ("転入", "acknowledged"),
        ("転出", "acknowledged"),
    ]
    [got] = world.received_by(OTHER_CITY)
    items = got["items"]
    assert (got["kind"], got["from_city_code"], got["telegram_id"]) == (
        "moveout_certificate",
        CITY,
        queued.telegram_id,
    )
    assert items["住民票コード"] == filed["resident_code"] and items["個人番号"] == filed["my_number"]
    assert (items["漢字氏名"], items["ふりがな氏名"], items["生年月日"]) == (
        "山田\u3000太郎",
        "ヤマダ\u3000タロウ",
        "1980-04-01",
    )
    assert (items["転出予定日"], items["転出先市町村コード"], items["世帯主氏名"], items["仮支援措置"]) == (
        "2025-07-01", OTHER_CITY, "山田\u3000太郎", "0")  # fmt: skip
    log = _log_text(world)
    assert "転出証明書情報" in log and "個人番号" in log  # item names are logged …
    assert "山田" not in log and filed["my_number"] not in spellings(log)  # … never their values
    assert world.relay().run_once().telegrams_sent == 0  # it went once


def test_the_certificate_waits_while_the_persons_move_out_notice_is_not_acknowledged(world):
    person, _ = _resident(world)
    world.relay().run_once()
    _move_out(world, person)
    take_in(world.j, world.cs, {(person, "転出"): card_move_out()})
    relay = world.relay()
    relay.connect = None  # the prefecture's link not there: the 転出 notice stays queued
    assert relay.run_once().telegrams_sent == 0
    assert relay._exchange().sent == []  # the telegram waits for the notice it follows
    assert [t.state for t in _out(world)] == ["queued"]
    assert world.received_by(OTHER_CITY) == []
    assert world.relay().run_once().telegrams_sent == 1


def test_a_person_under_a_support_measure_moves_out_with_the_provisional_protection(world):
    person, _ = _resident(world)
    protection.set_measure(world.j.uow, BOSS, f.support_measure(person))
    _move_out(world, person)
    take_in(world.j, world.cs, {(person, "転出"): card_move_out()})
    world.relay().run_once()
    [got] = world.received_by(OTHER_CITY)
    assert got["items"]["仮支援措置"] == "1"


def test_a_move_out_without_a_known_destination_city_waits_in_the_error_queue_with_its_code(world):
    first, _ = _resident(world)
    second, _ = _resident(world)
    _move_out(world, first)
    _move_out(world, second)
    # none given; and one whose check digit is right but of no prefecture (48): the network knows no such city
    take_in(
        world.j,
        world.cs,
        {(first, "転出"): card_move_out(city=None), (second, "転出"): card_move_out(city="481009")},
    )
    world.relay().run_once()
    assert [(t.state, t.error_code) for t in _out(world)] == [
        ("error", "unknown_city"),
        ("error", "unknown_city"),
    ]
    assert world.relay().run_once().telegrams_sent == 0


# --- out: our 転入 from another city --------------------------------------------------------------------------------


def test_a_move_in_from_another_city_sends_the_move_in_notice_to_it(world):
    person = f.person()
    done = filings.file(world.j.uow, CLERK, "move-in", f.move_in([person]))
    addressee = done.changes[0]["addressee_number"]
    take_in(world.j, world.cs, {(addressee, "転入"): move_in_from()})
    assert world.relay().run_once().telegrams_sent == 1
    [got] = world.received_by(OTHER_CITY)
    assert got["kind"] == "move_in_notice"
    assert got["items"] == {"住民票コード": person["resident_code"], "転入日": "2025-06-01",
                            "転入先住所": f.ADDRESS, "通知日": got["items"]["通知日"]}  # fmt: skip


def test_with_the_network_down_telegrams_wait_then_arrive_in_order_once(world):
    person = f.person()
    done = filings.file(world.j.uow, CLERK, "move-in", f.move_in([person]))
    addressee = done.changes[0]["addressee_number"]
    _move_out(world, addressee)
    take_in(world.j, world.cs, {(addressee, "転入"): move_in_from(), (addressee, "転出"): card_move_out()})
    world.sim.stop()
    down = world.relay().run_once()
    assert (down.acknowledged, down.telegrams_sent, down.telegrams_received) == (0, 0, 0)
    world.restart()
    up = world.relay().run_once()
    assert (up.acknowledged, up.telegrams_sent) == (2, 2)
    assert world.relay().run_once().telegrams_sent == 0
    got = world.received_by(OTHER_CITY)
    assert [g["kind"] for g in got] == [
        "move_in_notice",
        "moveout_certificate",
    ]  # the person's order, once each


# --- in: the other city's 特例転出 to us ------------------------------------------------------------------------------


def _send_us(world: World, items: dict[str, Any]) -> str:
    status, body = world.act("POST", f"/cities/v1/{OTHER_CITY}/control/move-out",
                             {"to_city_code": CITY, "items": items})  # fmt: skip
    assert status == 200, body
    return str(body["telegram_id"])


def test_the_other_citys_certificate_is_held_for_the_register_with_the_my_number_sealed(world):
    code, number = f.person()["resident_code"], _number()
    certificate_id = _send_us(world, certificate_items(code, number))
    assert world.relay().run_once().telegrams_received == 1
    port = CsMoveOutCertificates(world.cs)
    held = port.find(code)
    assert held is not None and held.certificate_id == certificate_id
    assert (held.family_name, held.given_name, held.family_name_kana, held.given_name_kana) == (
        "横浜", "花子", "ヨコハマ", "ハナコ")  # fmt: skip
    assert (held.my_number, held.previous_city_code, held.sex, held.provisional_protection) == (
        number, OTHER_CITY, "女", False)  # fmt: skip
    assert str(held.planned_on) == "2025-07-10" and held.destination_address.startswith("東京都小平市")
    assert [h.certificate_id for h in port.search("ヨコハマ", held.birth_date)] == [certificate_id]
    assert port.search("ヤマダ", held.birth_date) == []
    with world.cs.engine.connect() as conn:
        dumped = json.dumps([list(map(str, r)) for r in conn.execute(select(tt.moveout_certificates))])
    assert number not in spellings(dumped)  # encrypted with the CS's key
    port.mark_used(certificate_id, "0000000001")
    assert port.find(code) is None  # used once
    assert world.relay().run_once().telegrams_received == 0  # the cursor moved: not taken twice


def test_a_certificate_for_someone_resident_here_is_refused_and_not_held(world):
    _, filed = _resident(world)
    _send_us(world, certificate_items(filed["resident_code"], _number()))
    world.relay().run_once()
    [kept] = rows(world.cs, tt.telegrams_in, tt.telegrams_in.c.id)
    assert (kept.outcome, kept.code, kept.items) == ("refused", "already_resident", None)
    assert CsMoveOutCertificates(world.cs).find(filed["resident_code"]) is None


def test_a_certificate_is_erased_when_its_period_is_over_and_a_log_line_stays(world):
    code = f.person()["resident_code"]
    certificate_id = _send_us(world, certificate_items(code, _number(), planned_on="2025-07-10"))
    world.now = datetime(2025, 8, 9, 3, 0, tzinfo=UTC)  # 転出予定日 + 30 days (Japan's day): still held
    world.relay().run_once()
    assert CsMoveOutCertificates(world.cs).find(code) is not None
    world.now = datetime(2025, 8, 9, 16, 0, tzinfo=UTC)  # 01:00 on 8-10 in Japan: the period is over
    assert world.relay().run_once().purged == 1
    assert rows(world.cs, tt.moveout_certificates, tt.moveout_certificates.c.certificate_id) == []
    log = _log_text(world)
    assert f"転出証明書情報 {certificate_id} を消去しました" in log and "横浜" not in log


def test_a_tampered_or_unknown_city_telegram_in_the_inbox_is_refused_with_a_code(world):
    code = f.person()["resident_code"]
    bad = certificate_items(code, _number()) | {"住民票コード": code[:10] + str((int(code[10]) + 1) % 10)}
    status, answer = world.act("POST", f"/cities/v1/{CITY}/moveout-certificates",
                               {"telegram_id": "x-1", "from_city_code": OTHER_CITY, "items": bad})  # fmt: skip
    assert (status, answer["code"], answer["item"]) == (
        422,
        "format_error",
        "住民票コード",
    )  # the network refuses
    status, answer = world.act("POST", f"/cities/v1/{CITY}/moveout-certificates",
                               {"telegram_id": "x-2", "from_city_code": "481009", "items": bad})  # fmt: skip
    assert (status, answer["code"]) == (422, "unknown_city")
    _tamper(world.data, "t-1", OTHER_CITY, bad)  # altered after the network checked it
    _tamper(world.data, "t-2", CITY, certificate_items(code, _number()))  # "from" ourselves
    world.relay().run_once()
    kept = rows(world.cs, tt.telegrams_in, tt.telegrams_in.c.id)
    assert [(k.telegram_id, k.outcome, k.code, k.item) for k in kept] == [
        ("t-1", "refused", "format_error", "住民票コード"), ("t-2", "refused", "unknown_city", "from_city_code")]  # fmt: skip
    assert rows(world.cs, tt.moveout_certificates, tt.moveout_certificates.c.certificate_id) == []


def _tamper(data: Path, telegram_id: str, from_city: str, items: dict[str, Any]) -> None:
    """A telegram written straight into our inbox in the simulator's file, past its checks."""
    store = JukiNetStore(data)
    try:
        with store.locked() as db:
            db.execute(
                "INSERT INTO city_telegrams (telegram_id, kind, from_city, to_city, items, received_at) "
                "VALUES (?, 'moveout_certificate', ?, ?, ?, '2025-07-01T00:00:00+00:00')",
                (telegram_id, from_city, CITY, store.seal(items)),
            )
    finally:
        store.close()


# --- in: the other city's 特例転入 of one of ours: its 転入通知 ---------------------------------------------------------


def _moved_to_other_city(world: World) -> dict[str, Any]:
    person, filed = _resident(world)
    _move_out(world, person)
    take_in(world.j, world.cs, {(person, "転出"): card_move_out()})
    world.relay().run_once()
    status, body = world.act("POST", f"/cities/v1/{OTHER_CITY}/control/move-in",
                             {"resident_code": filed["resident_code"], "moved_in_on": "2025-06-28",
                              "address": "神奈川県横浜市中区港町二丁目2番地", "notified_on": "2025-06-30"})  # fmt: skip
    assert status == 200, body
    return filed


def test_the_other_citys_move_in_notice_confirms_our_move_out_through_the_register_once(world):
    filed = _moved_to_other_city(world)
    status, theirs = world.act("GET", f"/cities/v1/{OTHER_CITY}/control/residents/{filed['resident_code']}")
    assert (
        status == 200
        and theirs["items"]["異動事由"] == "特例転入"
        and theirs["items"]["市町村コード"] == OTHER_CITY
    )
    assert world.relay().run_once().telegrams_received == 1
    [call] = world.confirm.calls
    assert (call.resident_code, str(call.moved_in_on), call.destination_city_code, str(call.notified_on)) == (
        filed["resident_code"], "2025-06-28", OTHER_CITY, "2025-06-30")  # fmt: skip
    assert call.destination_address == "神奈川県横浜市中区港町二丁目2番地"
    [kept] = rows(world.cs, tt.telegrams_in, tt.telegrams_in.c.id)
    assert (kept.kind, kept.outcome, kept.code) == ("move_in_notice", "confirmed", None)
    world.act("POST", f"/cities/v1/{OTHER_CITY}/control/move-in", {"resident_code": filed["resident_code"],
              "moved_in_on": "2025-06-28", "address": "神奈川県横浜市中区港町二丁目2番地", "notified_on": "2025-06-30"})  # fmt: skip
    assert (
        world.relay().run_once().telegrams_received == 0
    )  # sent again by them: the same telegram, kept once
    assert len(world.confirm.calls) == 1


@pytest.mark.parametrize(("refusal", "outcome"), [("move_out_not_found", "refused"),
                                                  ("move_out_already_confirmed", "confirmed")])  # fmt: skip
def test_a_move_in_notice_the_register_refuses_is_kept_with_its_code_and_a_repeat_is_done(
    world, refusal, outcome
):
    world.confirm.refuse = refusal
    _moved_to_other_city(world)
    world.relay().run_once()
    [kept] = rows(world.cs, tt.telegrams_in, tt.telegrams_in.c.id)
    assert (kept.outcome, kept.code) == (outcome, refusal if outcome == "refused" else None)


def test_what_came_in_is_append_only(world):
    _moved_to_other_city(world)
    world.relay().run_once()
    with pytest.raises(Exception, match="append-only"), world.cs.engine.begin() as conn:
        conn.execute(text("DELETE FROM cs_telegrams_in"))


# --- the operator's page and the telegram error queue ------------------------------------------------------------


def test_the_page_lists_without_a_my_number_and_screens_a_provisionally_protected_person(world):
    number = _number()
    _send_us(world, certificate_items(f.person()["resident_code"], number))
    _send_us(
        world,
        certificate_items(f.person()["resident_code"], _number(), 漢字氏名="保護\u3000花子", 仮支援措置="1"),
    )
    world.relay().run_once()
    view = transfers.overview(world.j.uow, world.cs.transaction, transfer_store.of, CS_OPERATOR)
    held = sorted(view.held, key=lambda h: h.protected)
    assert [(h.name, h.protected) for h in held] == [("横浜\u3000花子", False), (None, True)]
    assert held[1].birth_date is None and str(held[0].erased_after) == "2025-08-09"
    assert [r.outcome for r in view.received] == ["held", "held"]
    assert number not in spellings(repr(view)) and "保護" not in repr(view)
    with pytest.raises(Forbidden):
        transfers.overview(world.j.uow, world.cs.transaction, transfer_store.of, CLERK)


def test_the_operator_resends_or_discards_a_telegram_in_error(world):
    first, _ = _resident(world)
    second, _ = _resident(world)
    _move_out(world, first)
    _move_out(world, second)
    take_in(
        world.j,
        world.cs,
        {(first, "転出"): card_move_out(city=None), (second, "転出"): card_move_out(city="481009")},
    )
    world.relay().run_once()
    no_city, unknown = (t.id for t in _out(world))
    with pytest.raises(transfers.TelegramNeedsCity):
        transfers.resend(world.j.uow, world.cs.transaction, transfer_store.of, CS_OPERATOR, no_city)
    transfers.discard(
        world.j.uow, world.cs.transaction, transfer_store.of, CS_OPERATOR, no_city, "紙の転出証明書を交付"
    )
    transfers.resend(world.j.uow, world.cs.transaction, transfer_store.of, CS_OPERATOR, unknown)
    assert [t.state for t in _out(world)] == ["discarded", "queued"]
    world.relay().run_once()  # the network still knows no such city: back in error
    assert [(t.state, t.error_code) for t in _out(world)] == [("discarded", None), ("error", "unknown_city")]
    with pytest.raises(transfers.TelegramNotInError):
        transfers.discard(world.j.uow, world.cs.transaction, transfer_store.of, CS_OPERATOR, no_city, "again")
    with pytest.raises(Forbidden):
        transfers.resend(world.j.uow, world.cs.transaction, transfer_store.of, CLERK, unknown)
