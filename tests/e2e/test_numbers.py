"""The numbers J-LIS gives the city, on the register's side, on SQLite and PostgreSQL (services/numbers.py,
docs/numbers.md): the 住民票コード stock and its draw, the 生成要求 a birth makes in its own transaction, the answer
set as 個人番号指定 by the CS's system actor, 変更請求, 住民票コード変更・記載, the 通知票, and each refusal changing
nothing."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select, text

from juki.adapters import tables as t
from juki.domain.errors import (
    DuplicateMyNumber,
    Forbidden,
    InvalidResidentCode,
    NumberRequestNotFound,
    NumberRequestOpen,
    ResidentCodeBlockOverlaps,
)
from juki.domain.identifiers import generate_my_number, generate_resident_code
from juki.policy.roles import CS_SYSTEM, Actor
from juki.services import filings, numbers
from juki.services.numbers import NumberAnswer
from tests import factories as f
from tests.conftest import STAFF

CLERK = Actor(STAFF["clerk"][0], STAFF["clerk"][1], "clerk", "test")
RNG = random.Random(1130)
NOW = datetime(2025, 6, 30, 1, 0, tzinfo=UTC)


def counts(j) -> dict[str, int]:
    tables = (
        t.resident_versions, t.outbox, t.filings, t.resident_code_uses, t.resident_code_stock,
        t.my_number_requests, t.my_number_request_answers,
    )  # fmt: skip
    with j.engine.connect() as conn:
        return {tb.name: conn.execute(select(func.count()).select_from(tb)).scalar_one() for tb in tables}


def household(j) -> tuple[str, list[str]]:
    done = filings.file(j.uow, CLERK, "move-in", f.move_in(f.family_of_four()))
    return done.household_number, [c["addressee_number"] for c in done.changes]


def newborn(j, hh: str) -> dict[str, Any]:
    person = {k: v for k, v in f.person("子", given_name="蓮", given_name_kana="レン").items()
              if k not in ("my_number", "resident_code", "birth_date")}  # fmt: skip
    body = {"filed_on": "2025-06-11", "birth_date": "2025-06-10", "household_number": hh, "person": person}
    return filings.file(j.uow, CLERK, "birth", body).changes[0]


def record(j, number: str):
    with j.uow() as uow:
        state = uow.reader.resident(number)
    assert state is not None
    return state.record


def answer_all(j) -> list[str]:
    """J-LIS's answers to every open request, as the CS hands them over."""
    return [
        numbers.assign(j.uow, CS_SYSTEM, NumberAnswer(r.request_id, r.resident_code, generate_my_number(RNG)))
        for r in numbers.open_requests(j.uow, CS_SYSTEM)
    ]


def test_a_birth_gets_a_code_from_the_stock_and_a_number_request_in_its_own_transaction(j, client, headers):
    hh, _ = household(j)
    before = counts(j)
    stock = client.get("/api/v1/resident-code-stock", headers=headers("clerk")).json()
    child = newborn(j, hh)["addressee_number"]
    left = client.get("/api/v1/resident-code-stock", headers=headers("clerk")).json()
    assert stock["available"] > 0 and left["available"] == stock["available"] - 1
    code = record(j, child).resident_code
    assert code is not None and record(j, child).my_number is None
    after = counts(j)
    assert after["resident_code_uses"] - before["resident_code_uses"] == 1
    assert after["my_number_requests"] - before["my_number_requests"] == 1
    with j.engine.connect() as conn:
        used = conn.execute(select(t.resident_code_uses).where(t.resident_code_uses.c.code == code)).one()
        assert conn.execute(
            select(t.resident_code_stock.c.code).where(t.resident_code_stock.c.code == code)
        ).scalar()
    assert used.addressee_number == child
    (request,) = numbers.open_requests(j.uow, CS_SYSTEM)
    assert (request.kind, request.addressee_number, request.resident_code) == ("生成", child, code)
    waiting = client.get("/api/v1/my-number-requests", headers=headers("clerk")).json()["persons"]
    assert [(p["addressee_number"], p["kind"]) for p in waiting] == [(child, "生成")]
    assert "resident_code" not in waiting[0] and "my_number" not in waiting[0]


def test_the_answer_is_set_as_its_own_change_by_the_cs_and_the_request_is_closed(j, client, headers):
    hh, _ = household(j)
    child = newborn(j, hh)["addressee_number"]
    (filing_id,) = answer_all(j)
    assert record(j, child).my_number is not None
    history = client.get(f"/api/v1/residents/{child}/history", headers=headers("clerk")).json()["versions"]
    assert [v["change_reason"] for v in history] == ["出生", "個人番号指定"]
    assert numbers.open_requests(j.uow, CS_SYSTEM) == []
    assert client.get("/api/v1/my-number-requests", headers=headers("clerk")).json()["persons"] == []
    with j.engine.connect() as conn:
        filing = conn.execute(select(t.filings).where(t.filings.c.filing_id == filing_id)).one()
        entry = conn.execute(
            select(t.operation_log).where(t.operation_log.c.action == "filing:my-number-assignment")
        ).one()
    assert (filing.staff_id, filing.approval_state, entry.staff_id) == ("cs", "none", "cs")


def test_an_answer_for_a_request_never_made_or_with_a_held_number_changes_nothing(j):
    hh, family = household(j)
    child = newborn(j, hh)["addressee_number"]
    (request,) = numbers.open_requests(j.uow, CS_SYSTEM)
    before = counts(j)
    with pytest.raises(NumberRequestNotFound):
        numbers.assign(j.uow, CS_SYSTEM, NumberAnswer("N20250630-n000000000", request.resident_code,
                                                      generate_my_number(RNG)))  # fmt: skip
    held = record(j, family[0]).my_number
    assert held is not None
    with pytest.raises(DuplicateMyNumber):
        numbers.assign(j.uow, CS_SYSTEM, NumberAnswer(request.request_id, request.resident_code, held))
    assert counts(j) == before
    assert record(j, child).my_number is None
    with j.engine.connect() as conn:
        details = conn.execute(select(t.operation_log.c.detail).where(t.operation_log.c.result == "refused"))
        assert held not in " ".join(d or "" for d in details.scalars())


def test_a_clerk_cannot_set_a_number_only_the_cs_can(j):
    hh, _ = household(j)
    newborn(j, hh)
    (request,) = numbers.open_requests(j.uow, CS_SYSTEM)
    with pytest.raises(Forbidden):
        numbers.assign(
            j.uow, CLERK, NumberAnswer(request.request_id, request.resident_code, generate_my_number(RNG))
        )
    assert numbers.open_requests(j.uow, CS_SYSTEM) == [request]  # still open, nothing set


def test_with_the_stock_empty_a_birth_is_refused_with_its_code_and_nothing_is_written(j, client, headers):
    hh, _ = household(j)
    with j.engine.begin() as conn:  # every code of the stock used, as a busy year would
        free = conn.execute(select(t.resident_code_stock.c.code)).scalars().all()
        conn.execute(
            t.resident_code_uses.insert(),
            [{"code": code, "addressee_number": "0000000000", "filing_id": "F-test", "used_at": NOW}
             for code in free],
        )  # fmt: skip
    assert client.get("/api/v1/resident-code-stock", headers=headers("clerk")).json()["available"] == 0
    before = counts(j)
    person = {k: v for k, v in f.person("子", given_name="蓮", given_name_kana="レン").items()
              if k not in ("my_number", "resident_code", "birth_date")}  # fmt: skip
    body = {"filed_on": "2025-06-11", "birth_date": "2025-06-10", "household_number": hh, "person": person}
    res = client.post("/api/v1/filings/birth", json=body, headers=headers("clerk"))
    assert res.status_code == 409
    assert res.json()["errors"][0]["code"] == "resident_code_stock_empty"
    assert counts(j) == before


def test_a_block_is_taken_whole_or_not_at_all(j):
    fresh = sorted({generate_resident_code(RNG) for _ in range(5)})
    with j.engine.connect() as conn:
        stocked = conn.execute(select(t.resident_code_stock.c.code).limit(1)).scalar_one()
    _, family = household(j)
    held = record(j, family[0]).resident_code
    before = counts(j)
    for bad in ([*fresh, stocked], [*fresh, str(held)], [*fresh, fresh[0]]):
        with pytest.raises(ResidentCodeBlockOverlaps):
            numbers.receive_codes(j.uow, CS_SYSTEM, "B-2", bad)
    with pytest.raises(InvalidResidentCode):
        numbers.receive_codes(
            j.uow, CS_SYSTEM, "B-2", [*fresh, fresh[0][:-1] + str((int(fresh[0][-1]) + 1) % 10)]
        )
    assert counts(j) == before
    assert numbers.receive_codes(j.uow, CS_SYSTEM, "B-2", fresh) == 5
    assert counts(j)["resident_code_stock"] == before["resident_code_stock"] + 5


def test_a_code_change_draws_a_new_code_keeps_the_old_in_history_and_prints_the_change_notice(
    j, client, headers
):
    _, family = household(j)
    old = record(j, family[0]).resident_code
    res = client.post("/api/v1/filings/resident-code-change", json={"addressee_number": family[0]},
                      headers=headers("clerk"))  # fmt: skip
    assert res.status_code == 201, res.text
    assert res.json()["changes"][0]["change_reason"] == "住民票コード変更"
    new = record(j, family[0]).resident_code
    assert new not in (None, old)
    history = client.get(f"/api/v1/residents/{family[0]}/history", headers=headers("clerk")).json()[
        "versions"
    ]
    assert history[0]["record"]["resident_code"] == old
    pdf = client.get(f"/api/v1/residents/{family[0]}/resident-code-notice", headers=headers("clerk"))
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


def test_the_notice_prints_the_code_and_title(j, client, headers, tmp_path):
    import subprocess

    _, family = household(j)
    pdf = client.get(f"/api/v1/residents/{family[1]}/resident-code-notice", headers=headers("clerk")).content
    (tmp_path / "n.pdf").write_bytes(pdf)
    shown = subprocess.run(["pdftotext", str(tmp_path / "n.pdf"), "-"], capture_output=True, text=True).stdout
    code = str(record(j, family[1]).resident_code)
    assert "住民票コード通知票" in shown and f"{code[:4]} {code[4:8]} {code[8:]}" in shown
    assert "山田" in shown


def test_a_change_request_waits_and_its_answer_is_a_number_change(j, client, headers):
    _, family = household(j)
    old = record(j, family[0]).my_number
    url = f"/api/v1/residents/{family[0]}/my-number-change-requests"
    res = client.post(url, json={"reason": "通知カードの紛失"}, headers=headers("clerk"))
    assert res.status_code == 201, res.text
    again = client.post(url, json={"reason": "通知カードの紛失"}, headers=headers("clerk"))
    assert again.status_code == 409 and again.json()["errors"][0]["code"] == NumberRequestOpen.code
    assert client.post(url, json={"reason": ""}, headers=headers("clerk")).status_code == 422
    answer_all(j)
    new = record(j, family[0]).my_number
    assert new not in (None, old)
    history = client.get(f"/api/v1/residents/{family[0]}/history", headers=headers("clerk")).json()[
        "versions"
    ]
    assert history[-1]["change_reason"] == "個人番号変更"
    assert old not in res.text + again.text


def test_code_entry_gives_a_record_without_a_code_one_and_requests_its_number(j, client, headers):
    person = {k: v for k, v in f.person().items() if k not in ("resident_code", "my_number")}
    number = filings.file(j.uow, CLERK, "move-in", f.move_in([person])).changes[0]["addressee_number"]
    assert record(j, number).resident_code is None
    res = client.post("/api/v1/filings/resident-code-entry", json={"addressee_number": number},
                      headers=headers("clerk"))  # fmt: skip
    assert res.status_code == 201, res.text
    assert record(j, number).resident_code is not None
    assert [r.addressee_number for r in numbers.open_requests(j.uow, CS_SYSTEM)] == [number]


def test_the_new_tables_are_append_only(j):
    hh, _ = household(j)
    newborn(j, hh)
    answer_all(j)
    for table in (
        "resident_code_stock",
        "resident_code_uses",
        "my_number_requests",
        "my_number_request_answers",
    ):
        with pytest.raises(Exception, match="append-only"), j.engine.begin() as conn:
            conn.execute(text(f"DELETE FROM {table}"))
