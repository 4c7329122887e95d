"""The auditor's log search and reports over HTTP: JSON, CSV for Excel, and 403 for everyone else."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from juki.adapters.uow import SqlUnitOfWork
from juki.domain.dates import JST
from juki.domain.identifiers import make_addressee_number
from juki.policy.roles import Actor
from juki.services.audit import LogEntry

CLERK = Actor("clerk1", "窓口 一郎", "clerk", "窓口1")
N1 = make_addressee_number(1)
PERIOD = "from=2025-06-01&to=2025-06-30"


def log(j, when: datetime, actor: Actor, action: str, *targets: str, **kw) -> None:
    with SqlUnitOfWork(j.engine, j.vault, now=when.astimezone(UTC)) as uow:
        uow.log(actor, LogEntry(action, targets, **kw))
        uow.commit()


@pytest.fixture
def entries(j) -> None:
    log(j, datetime(2025, 6, 27, 10, 0, tzinfo=JST), CLERK, "resident:view", N1)  # a Friday morning
    log(j, datetime(2025, 6, 27, 19, 30, tzinfo=JST), CLERK, "resident:history", N1)
    log(j, datetime(2025, 6, 28, 9, 0, tzinfo=JST), CLERK, "resident:view", N1)  # Saturday


def test_auditor_searches_the_log_with_times_in_japan(client, headers, entries):
    res = client.get(
        f"/api/v1/audit/log?{PERIOD}&staff_id=clerk1&target={N1}&limit=2", headers=headers("auditor")
    )
    assert res.status_code == 200, res.text
    body = res.json()
    assert [(e["at"], e["action"]) for e in body["entries"]] == [
        ("2025-06-27T10:00:00+09:00", "resident:view"),
        ("2025-06-27T19:30:00+09:00", "resident:history"),
    ]
    assert body["entries"][0]["targets"] == [N1] and body["entries"][0]["terminal"] == "窓口1"
    assert {c["key"]: c["label"] for c in body["columns"]}["at"] == "日時"
    rest = client.get(
        f"/api/v1/audit/log?{PERIOD}&staff_id=clerk1&limit=2&after={body['next']}", headers=headers("auditor")
    )
    assert [e["at"] for e in rest.json()["entries"]] == ["2025-06-28T09:00:00+09:00"]
    assert rest.json()["next"] is None


def test_auditor_gets_a_report_as_json_and_as_csv_for_excel(client, headers, entries):
    res = client.get(f"/api/v1/audit/reports/after_hours?{PERIOD}", headers=headers("auditor"))
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["kind"] == "after_hours" and body["title"] == "時間外・休日のアクセス"
    assert (body["from"], body["to"], body["count"], body["truncated"]) == (
        "2025-06-01",
        "2025-06-30",
        2,
        False,
    )
    assert [(r["at"], r["reason"]) for r in body["rows"]] == [
        ("2025-06-27T19:30:00+09:00", "終業後"),
        ("2025-06-28T09:00:00+09:00", "土曜日"),
    ]

    res = client.get(f"/api/v1/audit/reports/after_hours?{PERIOD}&format=csv", headers=headers("auditor"))
    assert res.status_code == 200, res.text
    assert res.headers["content-type"] == "text/csv; charset=utf-8"
    assert (
        res.headers["content-disposition"] == 'attachment; filename="juki_after_hours_20250601-20250630.csv"'
    )
    assert res.headers["cache-control"] == "no-store"
    assert res.content.startswith(b"\xef\xbb\xbf")
    header, *rows = csv.reader(io.StringIO(res.content.decode("utf-8-sig"), newline=""))
    assert header == [c["label"] for c in body["columns"]]
    assert header[:3] == ["日時", "区分", "通番"]
    assert [(r[0], r[1]) for r in rows] == [(r["at"], r["reason"]) for r in body["rows"]]


def test_the_log_search_as_csv_carries_the_next_cursor_in_a_header(client, headers, entries):
    res = client.get(f"/api/v1/audit/log?{PERIOD}&limit=1&format=csv", headers=headers("auditor"))
    assert res.status_code == 200, res.text
    header, *rows = csv.reader(io.StringIO(res.content.decode("utf-8-sig"), newline=""))
    assert header[:3] == ["通番", "日時", "職員ID"] and len(rows) == 1
    assert res.headers["x-juki-next"] == rows[0][0]


@pytest.mark.parametrize("role", ["clerk", "supervisor", "admin"])
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/audit/log?limit=9999",
        f"/api/v1/audit/reports/after_hours?{PERIOD}",
        "/api/v1/audit/reports/x",
    ],
)
def test_everyone_but_the_auditor_gets_403_before_any_parameter_is_checked(
    client, headers, entries, role, path
):
    res = client.get(path, headers=headers(role))
    assert res.status_code == 403, res.text
    assert [e["code"] for e in res.json()["errors"]] == ["forbidden"]
    assert N1 not in res.text


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/api/v1/audit/reports/after_hours?from=2025-06-01", 422, "invalid_field"),
        ("/api/v1/audit/reports/after_hours?from=2025-06-31&to=2025-07-01", 422, "invalid_date"),
        ("/api/v1/audit/reports/everything?" + PERIOD, 404, "not_found"),
        ("/api/v1/audit/log?limit=501", 422, "invalid_field"),
        ("/api/v1/audit/log?target=123", 422, "invalid_field"),
        ("/api/v1/audit/log?format=pdf", 422, "invalid_field"),
    ],
)
def test_bad_report_parameters_are_refused_with_stable_codes(client, headers, path, status, code):
    res = client.get(path, headers=headers("auditor"))
    assert res.status_code == status, res.text
    assert [e["code"] for e in res.json()["errors"]] == [code]


def test_the_auditor_verifies_the_chain_and_a_tampered_log_is_reported_logged_and_alerted(client, headers, j):
    from sqlalchemy import select, text

    from juki.adapters import tables as t

    auth = headers("auditor")
    ok = client.get("/api/v1/audit/verify", headers=auth)
    assert ok.status_code == 200 and ok.json()["intact"] is True and ok.json()["first_broken"] is None
    with j.engine.begin() as conn:
        if j.engine.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER operation_log_no_update"))
        else:
            conn.execute(text("ALTER TABLE operation_log DISABLE TRIGGER operation_log_append_only"))
        conn.execute(text("UPDATE operation_log SET terminal = 'elsewhere' WHERE seq = 1"))
    bad = client.get("/api/v1/audit/verify", headers=auth).json()
    assert (bad["intact"], bad["first_broken"], bad["code"]) == (False, 1, "log_tampered")
    with j.engine.connect() as conn:
        alerts = conn.execute(select(t.alerts.c.kind)).scalars().all()
        last = conn.execute(select(t.operation_log).order_by(t.operation_log.c.seq.desc()).limit(1)).one()
    assert alerts == ["log_tampered"]
    assert (last.action, last.result) == ("audit:verify", "broken")
