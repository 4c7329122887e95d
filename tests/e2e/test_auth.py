"""Signing in (API.md): password + one-time code, replays refused, lock-out after repeated failures."""

from __future__ import annotations

import pyotp
from sqlalchemy import select

from juki.adapters import tables as t
from tests.conftest import PASSWORD, STAFF


def login(client, username: str, password: str, otp: str):
    return client.post("/api/v1/auth/login", json={"username": username, "password": password, "otp": otp})


def test_a_one_time_code_is_accepted_once(client, template):
    username = STAFF["clerk"][0]
    code = pyotp.TOTP(template.secrets[username]).now()
    assert login(client, username, PASSWORD, code).status_code == 200
    again = login(client, username, PASSWORD, code)
    assert again.status_code == 401 and again.json()["errors"][0]["code"] == "unauthenticated"


def test_repeated_failures_lock_the_account_even_for_the_right_password(client, template, j):
    username = STAFF["clerk2"][0]
    for _ in range(j.settings.max_failed_logins):
        assert login(client, username, "wrong", "000000").status_code == 401
    right = login(client, username, PASSWORD, pyotp.TOTP(template.secrets[username]).now())
    assert right.status_code == 401
    with j.engine.connect() as conn:
        results = (
            conn.execute(
                select(t.operation_log.c.result).where(
                    t.operation_log.c.staff_id == username, t.operation_log.c.action == "auth:login"
                )
            )
            .scalars()
            .all()
        )
    assert results == ["failed"] * (j.settings.max_failed_logins + 1)


def test_a_token_stops_working_after_logout(client, template):
    username = STAFF["supervisor"][0]
    token = login(client, username, PASSWORD, pyotp.TOTP(template.secrets[username]).now()).json()[
        "access_token"
    ]
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/filings", headers=auth).status_code == 200
    assert client.post("/api/v1/auth/logout", headers=auth).status_code == 204
    assert client.get("/api/v1/filings", headers=auth).status_code == 401


def test_a_demo_account_is_refused_by_a_production_register(client, j, template):
    from sqlalchemy import update

    username = STAFF["auditor"][0]
    with j.engine.begin() as conn:
        conn.execute(update(t.staff).where(t.staff.c.username == username).values(is_demo=True))
    refused = login(client, username, PASSWORD, pyotp.TOTP(template.secrets[username]).now())
    assert refused.status_code == 401
