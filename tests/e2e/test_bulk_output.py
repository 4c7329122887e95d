"""Bulk output needs a data controller's approval above the threshold (four eyes); it runs once, without My
Numbers or protected persons; media exports are recorded with a witness."""

from __future__ import annotations

import csv
import hashlib
import io

import pytest
from sqlalchemy import select

from juki.adapters import tables as t
from juki.bootstrap import build
from juki.services import filings
from tests import factories as f
from tests.conftest import STAFF, TODAY
from tests.e2e.conftest import served
from tests.e2e.role_cases.common import CLERK

BULK = {"X-Juki-Procedure": "bulk_output"}
BODY = {"purpose": "防災訓練の対象者名簿", "criteria": {"town": "小川町", "status": "active"}}


@pytest.fixture
def people(j):
    numbers = []
    for family_name, kana in (("山田", "ヤマダ"), ("佐藤", "サトウ"), ("鈴木", "スズキ")):
        family = [p | {"family_name": family_name, "family_name_kana": kana} for p in f.family_of_four()]
        result = filings.file(j.uow, CLERK, "move-in", f.move_in(family))
        numbers += [c["addressee_number"] for c in result.changes]
    my_numbers = []
    with j.uow() as uow:
        for n in numbers:
            my_numbers.append(uow.queries.resident(n).my_number)
    return numbers, my_numbers


@pytest.fixture
def small(db_url):
    """The same register with a threshold of 5 persons."""
    from fastapi.testclient import TestClient

    juki = build(db_url, run_migrations=False, today=TODAY, bulk_output_threshold=5)
    with served(juki) as app, TestClient(app, raise_server_exceptions=False) as c:
        yield c
    juki.engine.dispose()


def _csv(content: bytes) -> list[list[str]]:
    assert content.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def test_a_small_output_runs_at_once_and_only_once(client, headers, j, people):
    numbers, my_numbers = people
    clerk = {**headers("clerk"), **BULK}
    res = client.post("/api/v1/bulk-outputs", json=BODY, headers=clerk)
    assert res.status_code == 201, res.text
    out = res.json()
    assert out["state"] == "approved" and out["person_count"] == 12
    file = client.get(f"/api/v1/bulk-outputs/{out['output_id']}/file", headers=clerk)
    assert file.status_code == 200
    rows = _csv(file.content)
    assert rows[0][:3] == ["宛名番号", "世帯番号", "氏名"]
    assert sorted(r[0] for r in rows[1:]) == sorted(numbers)
    assert file.headers["x-content-sha256"] == hashlib.sha256(file.content).hexdigest()
    assert not any(m in file.text for m in my_numbers)  # never a My Number in a bulk output
    again = client.get(f"/api/v1/bulk-outputs/{out['output_id']}/file", headers=clerk)
    assert again.status_code == 403
    with j.engine.connect() as conn:
        done = conn.execute(select(t.bulk_outputs)).one()
        log = conn.execute(select(t.operation_log).where(t.operation_log.c.action == "bulk_output:run")).one()
    assert done.state == "done" and done.sha256 == file.headers["x-content-sha256"]
    assert sorted(log.targets) == sorted(numbers)


def test_a_large_output_waits_for_another_persons_approval(small, totp, j, people):
    client = small

    def auth(role):
        username = STAFF[role][0]
        res = client.post(
            "/api/v1/auth/login",
            json={"username": username, "password": "correct horse battery staple", "otp": totp(username)},
        )
        assert res.status_code == 200, res.text
        return {"Authorization": f"Bearer {res.json()['access_token']}", **BULK}

    clerk, boss = auth("clerk"), auth("supervisor")
    out = client.post("/api/v1/bulk-outputs", json=BODY, headers=clerk).json()
    assert out["state"] == "pending" and out["person_count"] == 12
    early = client.get(f"/api/v1/bulk-outputs/{out['output_id']}/file", headers=clerk)
    assert early.status_code == 403
    # the supervisor's own request cannot be approved by themself
    own = client.post("/api/v1/bulk-outputs", json=BODY, headers=boss).json()
    refused = client.post(f"/api/v1/bulk-outputs/{own['output_id']}/approve", headers=boss)
    assert refused.status_code == 403 and refused.json()["errors"][0]["code"] == "forbidden"
    # the clerk cannot approve anything
    assert client.post(f"/api/v1/bulk-outputs/{own['output_id']}/approve", headers=clerk).status_code == 403
    approved = client.post(f"/api/v1/bulk-outputs/{out['output_id']}/approve", headers=boss)
    assert approved.status_code == 200 and approved.json()["decided_by"] == STAFF["supervisor"][0]
    # only the requester takes the file
    assert client.get(f"/api/v1/bulk-outputs/{out['output_id']}/file", headers=boss).status_code == 403
    file = client.get(f"/api/v1/bulk-outputs/{out['output_id']}/file", headers=clerk)
    assert file.status_code == 200 and len(_csv(file.content)) == 13


def test_a_rejected_output_never_runs(small, totp, j, people):
    client = small
    tokens = {}
    for role in ("clerk", "supervisor"):
        username = STAFF[role][0]
        res = client.post(
            "/api/v1/auth/login",
            json={"username": username, "password": "correct horse battery staple", "otp": totp(username)},
        )
        tokens[role] = {"Authorization": f"Bearer {res.json()['access_token']}", **BULK}
    out = client.post("/api/v1/bulk-outputs", json=BODY, headers=tokens["clerk"]).json()
    rejected = client.post(
        f"/api/v1/bulk-outputs/{out['output_id']}/reject",
        json={"comment": "目的外"},
        headers=tokens["supervisor"],
    )
    assert rejected.status_code == 200 and rejected.json()["state"] == "rejected"
    assert (
        client.get(f"/api/v1/bulk-outputs/{out['output_id']}/file", headers=tokens["clerk"]).status_code
        == 403
    )


def test_protected_persons_are_left_out_of_a_bulk_output(client, headers, j, people):
    numbers, _ = people
    res = client.post(
        "/api/v1/protection-measures",
        json={"subject_kind": "person", "subject": numbers[1], "reason": "DV", "requester": "本人",
              "received_on": "2025-06-20", "starts_on": "2025-06-20"},
        headers={**headers("supervisor"), "X-Juki-Procedure": "protection"},
    )  # fmt: skip
    assert res.status_code == 201
    clerk = {**headers("clerk"), **BULK}
    out = client.post("/api/v1/bulk-outputs", json=BODY, headers=clerk).json()
    assert out["person_count"] == 11
    rows = _csv(client.get(f"/api/v1/bulk-outputs/{out['output_id']}/file", headers=clerk).content)
    assert numbers[1] not in {r[0] for r in rows}


@pytest.mark.parametrize(
    ("criteria", "field"),
    [
        ({"town": "銀座"}, "criteria.town"),
        ({"status": "dead"}, "criteria.status"),
        ({"born_from": "2025-02-30"}, "criteria.born_from"),
    ],
)
def test_bad_criteria_are_refused_and_nothing_is_recorded(client, headers, j, criteria, field):
    res = client.post(
        "/api/v1/bulk-outputs",
        json={"purpose": "x", "criteria": criteria},
        headers={**headers("clerk"), **BULK},
    )
    assert res.status_code == 422 and res.json()["errors"][0]["field"] == field
    with j.engine.connect() as conn:
        assert conn.execute(select(t.bulk_outputs)).all() == []


def test_a_media_export_is_recorded_with_a_witness(client, headers, j):
    clerk = {**headers("clerk"), **BULK}
    body = {"witness_id": STAFF["clerk2"][0], "purpose": "県への報告", "medium": "DVD", "item_count": 3,
            "sha256": "AB" * 32}  # fmt: skip
    res = client.post("/api/v1/media-exports", json=body, headers=clerk)
    assert res.status_code == 201, res.text
    for bad, field in (
        ({"witness_id": STAFF["clerk"][0]}, "witness_id"),  # not oneself
        ({"witness_id": "nobody"}, "witness_id"),
        ({"sha256": "xyz"}, "sha256"),
        ({"medium": "フロッピー"}, "medium"),
        ({"item_count": -1}, "item_count"),
    ):
        refused = client.post("/api/v1/media-exports", json={**body, **bad}, headers=clerk)
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == field, bad
    # the auditor reads the records, acting for its own procedure
    listed = client.get("/api/v1/media-exports", headers=headers("auditor")).json()["records"]
    assert [(r["staff_id"], r["witness_id"], r["sha256"]) for r in listed] == [
        (STAFF["clerk"][0], STAFF["clerk2"][0], "ab" * 32)
    ]
