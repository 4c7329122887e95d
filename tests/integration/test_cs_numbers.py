"""The numbers from J-LIS end to end (docs/cs-jlis.md): the register, its CS and the simulated 住基ネット over real
mutual TLS, on SQLite and PostgreSQL. A birth filed without numbers gets its 住民票コード at once from the stock,
its 個人番号 from J-LIS through the CS, and its 送付先情報 reaches J-LIS; the stock is topped up when low; the
link down, the number waits and arrives once it is back; a crash between a step and its record loses nothing and
doubles nothing; a 住民票コード変更 re-keys the person at the prefecture and national servers; and what a
misbehaving J-LIS sends is refused with its code, into the CS's J-LIS error queue, nothing half-written."""

from __future__ import annotations

import dataclasses
import logging
import random
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from juki.adapters import tables as rt
from juki.bootstrap import Juki
from juki.cs.adapters import jlis_tables
from juki.cs.adapters import tables as t
from juki.cs.adapters.jlis_client import HttpsJlisClient
from juki.cs.services import jlis
from juki.cs.services.delivery import Backoff
from juki.cs.services.relay import Relay
from juki.cs.wire import Notice, NoticeKind
from juki.domain.identifiers import generate_resident_code
from juki.policy.roles import CS_SYSTEM
from juki.services import filings, numbers
from tests import factories as f
from tests.cs.jlis_support import CITY, hooks, remember_numbers
from tests.cs.support import CLERK, rows
from tests.integration.juki_net_link import Wired, linked
from tests.leakcheck import spellings

NO_WAIT = Backoff(first=timedelta(0))  # the tests move the simulator themselves: retry at the next pass


@pytest.fixture
def wired(j: Juki, tmp_path: Path) -> Iterator[Wired]:
    with linked(j, tmp_path) as world:
        yield world


def _relay(wired: Wired, **numbers_setup: Any) -> Relay:
    relay = wired.j.cs_relay(NO_WAIT)
    assert relay.numbers is not None
    if numbers_setup:
        relay.numbers = dataclasses.replace(relay.numbers, **numbers_setup)
    return relay


def _family(j: Juki) -> str:
    return filings.file(j.uow, CLERK, "move-in", f.move_in()).household_number


def _birth(j: Juki, household: str, given: str = "次郎") -> str:
    """A birth filed without 個人番号 or 住民票コード (API.md): the child's 宛名番号."""
    born = filings.file(j.uow, CLERK, "birth", {
        "filed_on": "2025-06-21", "birth_date": "2025-06-20", "household_number": household,
        "person": {"family_name": "山田", "given_name": given, "family_name_kana": "ヤマダ",
                   "given_name_kana": "ジロウ", "sex": "male", "relationship": "子"},
    })  # fmt: skip
    return str(born.changes[0]["addressee_number"])


def _record(j: Juki, addressee_number: str) -> Any:
    with j.uow() as uow:
        state = uow.reader.resident(addressee_number)
        assert state is not None
        return state.record


def _events(wired: Wired, subject: str | None = None) -> list[Any]:
    found = rows(wired.j.cs, jlis_tables.events, jlis_tables.events.c.id)
    return [e for e in found if subject is None or e.subject == subject]


def _errors(wired: Wired) -> list[tuple[str, str | None, str | None]]:
    return [(e.subject, e.code, e.item) for e in _events(wired) if e.event in jlis.ERROR_EVENTS]


def _mailing_at_jlis(wired: Wired, code: str) -> list[dict[str, Any]]:
    link = wired.j.prefecture_client()
    assert link is not None
    with HttpsJlisClient(link) as client:
        return client.mailing_of(code)


def _texts(wired: Wired) -> str:
    """Every text the CS and the register wrote for people about this: the CS log, the J-LIS events, the error
    queue, the operation log."""
    lines = [f"{r.action} {r.result} {r.message}" for r in rows(wired.j.cs, t.log, t.log.c.id)]
    lines += [f"{e.ref} {e.event} {e.code} {e.item} {e.detail}" for e in _events(wired)]
    lines += [
        f"{n.error_code} {n.error_item} {n.error_message}"
        for n in rows(wired.j.cs, t.notices, t.notices.c.id)
    ]
    with wired.j.engine.connect() as conn:
        lines += [f"{r.action} {r.detail} {r.facts}" for r in conn.execute(select(rt.operation_log))]
    return "\n".join(lines)


def _no_number_in_texts(wired: Wired, *numbers_: str | None) -> None:
    found = spellings(_texts(wired))
    assert not any(n in found for n in numbers_ if n), "a 個人番号 in the CS's or the register's texts"


# --- the chain ---------------------------------------------------------------------------------------------------


def test_a_birth_gets_its_code_at_once_its_number_from_j_lis_and_its_mailing_record_reaches_j_lis(
    wired, caplog
):
    caplog.set_level(logging.DEBUG)  # every log line, scanned once the number J-LIS made is known
    j = wired.j
    child = _birth(j, _family(j))
    record = _record(j, child)
    assert record.resident_code is not None and record.my_number is None  # the code from the stock, at once
    (request,) = numbers.open_requests(j.uow, CS_SYSTEM)
    assert (request.addressee_number, request.kind) == (child, "生成")
    relay = _relay(wired)
    first = relay.run_once()  # the 出生 notice, then the request, J-LIS's answer, the 送付先情報
    assert first.jlis is not None and (first.jlis.requests_sent, first.jlis.assigned) == (1, 1)
    assert first.jlis.mailing_delivered == 1 and first.jlis.refused == 0
    (number,) = remember_numbers(j, child)
    assert number is not None and numbers.open_requests(j.uow, CS_SYSTEM) == []
    relay.run_once()  # the 個人番号指定 notice
    held = wired.identity(record.resident_code)
    assert held is not None and held["sequence"] == 2
    assert held["items"]["個人番号"] == number and held["items"]["異動事由"] == "個人番号指定"
    (mailed,) = _mailing_at_jlis(wired, record.resident_code)
    assert mailed["resident_code"] == record.resident_code
    assert mailed["送付先氏名 漢字"] == "山田\u3000太郎"  # to the householder, at the household's address
    assert str(mailed["送付先住所 漢字"]).startswith(f.ADDRESS)
    assert relay.run_once().jlis == jlis.JlisReport(stock=first.jlis.stock)  # nothing twice
    _no_number_in_texts(wired, number)
    assert number not in spellings(caplog.text)


def test_the_stock_is_topped_up_from_j_lis_when_low_and_only_then(wired):
    j = wired.j
    available = numbers.stock(j.uow, CS_SYSTEM, 1).available
    relay = _relay(wired, threshold=available + 1, block_size=50)
    done = relay.run_once()
    assert done.jlis is not None and done.jlis.codes_received == 50
    assert numbers.stock(j.uow, CS_SYSTEM, 1).available == available + 50
    assert relay.run_once().jlis.codes_received == 0  # type: ignore[union-attr]
    assert [e.event for e in _events(wired, "block")] == ["asked", "received", "handing", "handed"]
    with j.cs.transaction() as store:
        seen = jlis_tables.of(store).last_stock()
    assert seen is not None and (seen.available, seen.low) == (available + 50, False)
    assert relay.top_up().available == available + 50


def test_with_the_link_down_the_number_waits_and_arrives_once_it_is_back(wired):
    j = wired.j
    relay = _relay(wired)
    household = _family(j)
    relay.run_once()
    wired.sim.stop()
    child = _birth(j, household)  # the counter does not wait for the 住基ネット
    down = relay.run_once()
    assert down.jlis is not None and down.jlis.unreachable and down.jlis.assigned == 0
    assert _record(j, child).my_number is None and _errors(wired) == []
    wired.restart()
    up = relay.run_once()
    assert up.jlis is not None and (up.jlis.assigned, up.jlis.mailing_delivered) == (1, 1)
    (number,) = remember_numbers(j, child)
    assert number is not None
    relay.run_once()
    assert relay.run_once().jlis.assigned == 0  # type: ignore[union-attr]
    _no_number_in_texts(wired, number)


# --- a crash between a step and its record -------------------------------------------------------------------------


def test_a_block_recorded_but_not_handed_over_is_handed_at_the_next_pass(wired, monkeypatch):
    j = wired.j
    available = numbers.stock(j.uow, CS_SYSTEM, 1).available
    relay = _relay(wired, threshold=available + 1, block_size=20)
    real = numbers.receive_codes

    def crash(*args: Any, **kwargs: Any) -> int:
        raise RuntimeError("the register's database went away")

    monkeypatch.setattr(numbers, "receive_codes", crash)
    assert relay.run_safely() is None  # the pass failed after the block was recorded
    monkeypatch.setattr(numbers, "receive_codes", real)
    assert relay.run_once().jlis.codes_received == 20  # type: ignore[union-attr]
    assert [e.event for e in _events(wired, "block")] == ["asked", "received", "handing", "handing", "handed"]

    def taken_then_crash(*args: Any, **kwargs: Any) -> int:  # the register took it; the CS did not record so
        real(*args, **kwargs)
        raise RuntimeError("the CS's database went away")

    relay.numbers = dataclasses.replace(relay.numbers, threshold=available + 21)  # type: ignore[arg-type]
    monkeypatch.setattr(numbers, "receive_codes", taken_then_crash)
    assert relay.run_safely() is None
    monkeypatch.setattr(numbers, "receive_codes", real)
    relay.run_once()
    assert numbers.stock(j.uow, CS_SYSTEM, 1).available == available + 40  # each block once
    assert _events(wired, "block")[-1].event == "handed_before" and _errors(wired) == []
    assert len([e for e in _events(wired, "block") if e.event == "asked"]) == 2  # J-LIS issued two blocks


def test_an_answer_handed_over_but_not_recorded_is_not_taken_twice(wired, monkeypatch):
    j = wired.j
    child = _birth(j, _family(j))
    relay = _relay(wired)
    real = numbers.assign

    def assigned_then_crash(*args: Any, **kwargs: Any) -> str:
        real(*args, **kwargs)
        raise RuntimeError("the CS's database went away")

    monkeypatch.setattr(numbers, "assign", assigned_then_crash)
    assert relay.run_safely() is None
    monkeypatch.setattr(numbers, "assign", real)
    again = relay.run_once()
    assert again.jlis is not None and again.jlis.refused == 0 and _errors(wired) == []
    assert [e.event for e in _events(wired, "answer")] == ["handing", "handing", "assigned_before"]
    (number,) = remember_numbers(j, child)
    assert number is not None
    with j.engine.connect() as conn:
        changes = conn.execute(
            select(rt.residents.c.version).where(rt.residents.c.addressee_number == child)
        ).all()
    assert len(changes) == 1  # one current record; its 個人番号指定 made once
    _no_number_in_texts(wired, number)


# --- 住民票コード変更 ------------------------------------------------------------------------------------------------


def test_a_resident_code_change_re_keys_the_person_in_the_cs_and_at_the_prefecture_and_national_servers(
    wired,
):
    j = wired.j
    body = f.move_in([f.person()])
    moved = filings.file(j.uow, CLERK, "move-in", body)
    person, old = moved.changes[0]["addressee_number"], body["persons"][0]["resident_code"]
    relay = _relay(wired)
    relay.run_once()
    numbers.change_resident_code(j.uow, CLERK, numbers.CODE_CHANGE_KIND, {"addressee_number": person})
    new = _record(j, person).resident_code
    assert new not in (None, old)
    assert relay.run_once().acknowledged == 1
    assert wired.identity(old) is None
    held = wired.identity(new)
    assert held is not None and held["sequence"] == 2
    assert held["items"]["旧住民票コード"] == old and held["items"]["異動事由"] == "住民票コード変更"
    link = j.prefecture_client()
    assert link is not None
    with link:
        assert link.call("GET", f"/national/v1/identity/{old}").status_code == 404
        assert link.call("GET", f"/national/v1/identity/{new}").json()["items"]["旧住民票コード"] == old
    with j.cs.transaction() as store:
        current = store.current(person)
    assert (
        current is not None
        and current.items["住民票コード"] == new
        and current.items["旧住民票コード"] == old
    )


# --- a misbehaving J-LIS ---------------------------------------------------------------------------------------------


def test_an_answer_for_a_request_never_made_is_refused_and_changes_nothing(wired):
    j = wired.j
    household = _family(j)
    relay = _relay(wired)
    relay.run_once()
    stranger = "123456789018"
    hooks(wired.data).inject_answer(CITY, {"request_id": "N20250630-nevermade0a", "resident_code": "12345678903",
                                          "my_number": stranger})  # fmt: skip
    remember = spellings  # (the number is the test's own: scanned for below)
    done = relay.run_once()
    assert done.jlis is not None and done.jlis.refused == 1
    assert _errors(wired) == [("answer", "number_request_not_found", "request_id")]
    with j.engine.connect() as conn:
        holders = conn.execute(select(rt.residents.c.addressee_number).where(
            rt.residents.c.household_number == household, rt.residents.c.version > 1
        )).all()  # fmt: skip
    assert holders == []
    assert stranger not in remember(_texts(wired))
    child = _birth(j, household)  # the feed goes on past it
    relay.run_once()
    assert remember_numbers(j, child)[0] is not None


def test_a_duplicate_number_from_j_lis_is_refused_and_the_request_stays_open(wired):
    j = wired.j
    household = _family(j)
    first = _birth(j, household, "一郎")
    relay = _relay(wired)
    relay.run_once()
    (number,) = remember_numbers(j, first)
    assert number is not None
    hooks(wired.data).force_next_number(number)
    second = _birth(j, household, "二郎")
    done = relay.run_once()
    assert done.jlis is not None and (done.jlis.assigned, done.jlis.refused) == (0, 1)
    ((subject, code, item),) = _errors(wired)
    assert (subject, code) == ("answer", "duplicate_my_number") and str(item).endswith("my_number")
    assert _record(j, second).my_number is None
    assert [r.addressee_number for r in numbers.open_requests(j.uow, CS_SYSTEM)] == [second]
    assert len(_mailing_at_jlis(wired, _record(j, second).resident_code)) == 0
    _no_number_in_texts(wired, number)


def test_a_malformed_answer_is_refused_and_the_feed_goes_on(wired):
    j = wired.j
    household = _family(j)
    relay = _relay(wired)
    relay.run_once()
    hooks(wired.data).inject_answer(CITY, {"request_id": 5, "my_number": None})
    child = _birth(j, household)
    done = relay.run_once()
    assert done.jlis is not None and (done.jlis.refused, done.jlis.assigned) == (1, 1)
    assert _errors(wired) == [("answer", "malformed_answer", None)]
    assert remember_numbers(j, child)[0] is not None


def test_a_block_overlapping_codes_already_used_is_refused_whole_and_another_asked(wired):
    j = wired.j
    rng = random.Random(870)  # the template's stock (tests/conftest.py)
    in_stock = sorted({generate_resident_code(rng) for _ in range(300)})
    available = numbers.stock(j.uow, CS_SYSTEM, 1).available
    hooks(wired.data).force_next_block([*in_stock[:3], generate_resident_code(random.Random(5))])
    relay = _relay(wired, threshold=available + 1, block_size=10)
    done = relay.run_once()
    assert done.jlis is not None and done.jlis.refused == 1
    assert _errors(wired) == [("block", "resident_code_block_overlaps", None)]
    assert numbers.stock(j.uow, CS_SYSTEM, 1).available == available  # nothing of the block taken
    again = relay.run_once()  # a new block (the backoff after a refusal is none here)
    assert again.jlis is not None and again.jlis.codes_received == 10


def test_a_record_j_lis_finds_not_matching_is_refused_to_the_register_naming_the_item(wired):
    j = wired.j
    child = _birth(j, _family(j))
    relay = _relay(wired, mailing=None)  # the record is built with the number, not sent yet
    relay.run_once()
    code = _record(j, child).resident_code
    remember_numbers(j, child)
    held = wired.identity(code)
    assert held is not None
    moved = held["items"] | {
        "住所": "東京都小平市喜平町一丁目1番1号",
        "更新順番号": "2",
        "異動事由": "軽微な修正",
    }
    with j.prefecture_client() as link:  # type: ignore[union-attr]
        link.send(Notice("n-elsewhere", NoticeKind.MINOR_CORRECTION, code, 2, moved))
    done = _relay(wired).run_once()
    assert done.jlis is not None and (done.jlis.mailing_delivered, done.jlis.refused) == (0, 1)
    assert _errors(wired) == [("mailing", "mismatch", "送付先住所 漢字")]
    from juki.services import mailing  # the register's 送付先情報 (services/mailing.py)

    refused = mailing.list_records(j.uow, CLERK, "refused")["records"]
    assert [(r["addressee_number"], r["refusal"]) for r in refused] == [
        (child, {"code": "mismatch", "item": "送付先住所 漢字"})
    ]
    assert _mailing_at_jlis(wired, code) == []
    assert _relay(wired).run_once().jlis.refused == 0  # type: ignore[union-attr]  # not sent again


# --- juki demo -------------------------------------------------------------------------------------------------------


def test_demo_serves_only_once_the_cs_holds_a_stock_and_its_people_reached_the_prefecture(
    tmp_path, monkeypatch
):
    from typer.testing import CliRunner

    from juki.cli import main
    from juki.demo import generator

    seen: dict[str, Any] = {}

    def city(
        j: Juki, **options: Any
    ) -> None:  # one household instead of the demo's city (test_demo.py has it)
        seen["household"] = filings.file(j.uow, CLERK, "move-in", f.move_in([f.person()]))

    def serve(  # what holds when /healthz would answer
        j: Juki, host: str, port: int, workers: int = 1, ims_relay: object = None
    ) -> None:
        seen["stock"] = numbers.stock(j.uow, CS_SYSTEM, 1).available
        with j.cs.transaction() as store:
            seen["queued"] = store.state_counts().get("queued", 0)

    monkeypatch.setattr(generator, "build_demo", city)
    monkeypatch.setattr(main, "_run", serve)
    monkeypatch.setenv("JUKI_CS_KEY_FILE", str(tmp_path / "juki-cs-keys.json"))
    monkeypatch.setenv("JUKI_RESIDENT_CODE_BLOCK_SIZE", "50")
    monkeypatch.setenv("JUKI_RESIDENT_CODE_STOCK_THRESHOLD", "10")
    done = CliRunner().invoke(main.app, ["demo", "--db", str(tmp_path / "demo.db"), "--port", "8124"])
    assert done.exit_code == 0, done.output
    assert seen["stock"] == 50 and seen["queued"] == 0
    assert "住民票コードの在庫: 50件" in done.output
