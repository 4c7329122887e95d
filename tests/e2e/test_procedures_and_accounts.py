"""Procedures (事務) decide what a role may do; contractors act only under work orders; accounts expire, lock out,
unlock, get disabled; sign-ins are rate-limited per terminal."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pyotp
from sqlalchemy import select, update

from juki.adapters import tables as t
from juki.policy.roles import PROCEDURES
from juki.services import filings
from tests import factories as f
from tests.conftest import PASSWORD, STAFF
from tests.e2e.role_cases.common import CLERK

INQUIRY = {"X-Juki-Procedure": "resident_inquiry"}
ADMINISTRATION = {"X-Juki-Procedure": "administration"}


def _log(j, after: int = 0):
    with j.engine.connect() as conn:
        q = select(t.operation_log).where(t.operation_log.c.seq > after).order_by(t.operation_log.c.seq)
        return list(conn.execute(q).all())


def _last(j) -> int:
    rows = _log(j)
    return rows[-1].seq if rows else 0


def _someone(j) -> tuple[str, str]:
    person = f.person()
    result = filings.file(j.uow, CLERK, "move-in", f.move_in([person]))
    return result.changes[0]["addressee_number"], person["my_number"]


# --- procedures ---------------------------------------------------------------------------------------------


def test_an_inquiry_reads_the_record_but_never_the_my_number_and_files_nothing(client, headers, j):
    number, my_number = _someone(j)
    auth = {**headers("clerk"), **INQUIRY}
    seq = _last(j)
    seen = client.get(f"/api/v1/residents/{number}", headers=auth)
    assert seen.status_code == 200 and "my_number" not in seen.json()
    [entry] = _log(j, seq)
    assert entry.procedure == PROCEDURES["resident_inquiry"].name and entry.result == "ok"

    shown = client.get(f"/api/v1/residents/{number}?include=my_number", headers=auth)
    assert shown.status_code == 403 and my_number not in shown.text
    filed = client.post("/api/v1/filings/move-in", json=f.move_in([f.person()]), headers=auth)
    assert filed.status_code == 403
    # the same clerk acting for the register work may reveal it
    ok = client.get(f"/api/v1/residents/{number}?include=my_number", headers=headers("clerk"))
    assert ok.json()["my_number"] == my_number


def test_a_procedure_the_role_has_no_part_in_is_refused_and_logged(client, headers, j):
    auth = {**headers("clerk"), "X-Juki-Procedure": "audit"}
    seq = _last(j)
    res = client.get("/api/v1/filings", headers=auth)
    assert res.status_code == 403 and res.json()["errors"][0]["code"] == "forbidden"
    [entry] = _log(j, seq)
    assert (entry.action, entry.result, entry.staff_id) == ("procedure:enter", "denied", STAFF["clerk"][0])


def test_an_unknown_procedure_is_invalid(client, headers):
    res = client.get("/api/v1/filings", headers={**headers("clerk"), "X-Juki-Procedure": "anything"})
    assert res.status_code == 422 and res.json()["errors"][0]["field"] == "X-Juki-Procedure"


# --- contractors and their work orders ------------------------------------------------------------------------


def _order(client, headers, **over):
    body = {
        "contractor_id": STAFF["contractor"][0],
        "procedure": "resident_record",
        "permissions": ["register:read"],
        "purpose": "住民票データの点検作業",
        "valid_from": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "valid_until": (datetime.now(UTC) + timedelta(hours=8)).isoformat(),
        **over,
    }
    return client.post("/api/v1/work-orders", json=body, headers={**headers("supervisor"), **ADMINISTRATION})


def test_a_contractor_reads_only_under_an_active_work_order_and_never_a_my_number(client, headers, j):
    number, my_number = _someone(j)
    contractor = headers("contractor")
    assert client.get(f"/api/v1/residents/{number}", headers=contractor).status_code == 403

    order = _order(client, headers)
    assert order.status_code == 201, order.text
    assert order.json()["active"] is True
    seq = _last(j)
    res = client.get(f"/api/v1/residents/{number}", headers=contractor)
    assert res.status_code == 200 and "my_number" not in res.json()
    assert [(e.role, e.action, e.result) for e in _log(j, seq)] == [("contractor", "resident:view", "ok")]
    refused = client.get(f"/api/v1/residents/{number}?include=my_number", headers=contractor)
    assert refused.status_code == 403 and my_number not in refused.text
    assert (
        client.post("/api/v1/filings/move-in", json=f.move_in([f.person()]), headers=contractor).status_code
        == 403
    )

    revoked = client.post(
        f"/api/v1/work-orders/{order.json()['order_id']}/revoke",
        headers={**headers("supervisor"), **ADMINISTRATION},
    )
    assert revoked.status_code == 200 and revoked.json()["active"] is False
    assert client.get(f"/api/v1/residents/{number}", headers=contractor).status_code == 403


def test_a_work_order_that_has_ended_grants_nothing(client, headers, j):
    number, _ = _someone(j)
    past = datetime.now(UTC) - timedelta(days=2)
    res = _order(
        client, headers, valid_from=past.isoformat(), valid_until=(past + timedelta(hours=8)).isoformat()
    )
    assert res.status_code == 201 and res.json()["active"] is False
    assert client.get(f"/api/v1/residents/{number}", headers=headers("contractor")).status_code == 403


def test_a_work_order_cannot_grant_more_than_a_contractor_may_have(client, headers, j):
    with j.engine.connect() as conn:
        before = conn.execute(select(t.work_orders)).all()
    for over, field in (
        ({"permissions": ["register:read", "my_number:reveal"]}, "permissions"),
        ({"permissions": ["register:file"]}, "permissions"),
        ({"procedure": "protection"}, "permissions"),
        ({"contractor_id": STAFF["clerk"][0]}, "contractor_id"),
        ({"valid_until": "2020-01-01T00:00:00+09:00"}, "valid_until"),
        ({"valid_until": (datetime.now(UTC) + timedelta(days=400)).isoformat()}, "valid_until"),
    ):
        res = _order(client, headers, **over)
        assert res.status_code == 422, (over, res.text)
        assert res.json()["errors"][0]["field"] == field, over
    with j.engine.connect() as conn:
        assert conn.execute(select(t.work_orders)).all() == before


# --- accounts ---------------------------------------------------------------------------------------------------


def _code(j, username: str, step: int = 0) -> str:
    with j.engine.connect() as conn:
        secret = conn.execute(
            select(t.staff.c.totp_secret).where(t.staff.c.staff_id == username)
        ).scalar_one()
    return pyotp.TOTP(secret).at(time.time() + 30 * step)


def _login(client, j, username: str, password: str = PASSWORD, step: int = 0, terminal: str = "T1"):
    body = {"username": username, "password": password, "otp": _code(j, username, step)}
    return client.post("/api/v1/auth/login", json=body, headers={"X-Juki-Terminal": terminal})


def test_an_administrator_creates_an_account_that_can_sign_in(client, headers, j):
    res = client.post(
        "/api/v1/staff",
        json={"username": "newclerk", "display_name": "新任 職員", "role": "clerk", "department": "市民課"},
        headers=headers("admin"),
    )
    assert res.status_code == 201, res.text
    made = res.json()
    assert made["role"] == "clerk" and made["active"] is True
    code = pyotp.TOTP(made["totp_secret"]).now()
    login = client.post(
        "/api/v1/auth/login", json={"username": "newclerk", "password": made["initial_password"], "otp": code}
    )
    assert login.status_code == 200
    assert made["initial_password"] not in str(_log(j)) and made["totp_secret"] not in str(_log(j))


def test_a_contractor_account_needs_a_validity_period_and_ends_with_it(client, headers, j):
    body = {"username": "vendor9", "display_name": "委託 九郎", "role": "contractor"}
    assert client.post("/api/v1/staff", json=body, headers=headers("admin")).status_code == 422
    until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    made = client.post("/api/v1/staff", json={**body, "valid_until": until}, headers=headers("admin"))
    assert made.status_code == 201, made.text
    code = pyotp.TOTP(made.json()["totp_secret"]).now()
    login = client.post(
        "/api/v1/auth/login",
        json={"username": "vendor9", "password": made.json()["initial_password"], "otp": code},
    )
    token = {"Authorization": f"Bearer {login.json()['access_token']}"}
    assert client.get("/api/v1/filings", headers=token).status_code == 403  # signed in, but no work order
    with j.engine.begin() as conn:  # the validity period has passed
        conn.execute(
            update(t.staff)
            .where(t.staff.c.staff_id == "vendor9")
            .values(valid_until=datetime.now(UTC) - timedelta(seconds=1))
        )
    res = client.get("/api/v1/filings", headers=token)
    assert res.status_code == 401 and res.json()["errors"][0]["code"] == "unauthenticated"


def test_lock_out_then_an_administrator_unlocks(client, headers, j):
    username = STAFF["clerk2"][0]
    for _ in range(5):
        assert _login(client, j, username, password="wrong").status_code == 401
    assert _login(client, j, username).status_code == 401  # locked: even the right password is refused
    res = client.post(f"/api/v1/staff/{username}/unlock", headers=headers("admin"))
    assert res.status_code == 200 and res.json()["locked"] is False
    assert _login(client, j, username, step=1).status_code == 200


def test_a_disabled_account_loses_its_sessions_and_cannot_sign_in(client, headers, j):
    token = headers("clerk")
    assert client.get("/api/v1/filings", headers=token).status_code == 200
    assert (
        client.post(f"/api/v1/staff/{STAFF['clerk'][0]}/disable", headers=headers("admin")).status_code == 200
    )
    assert client.get("/api/v1/filings", headers=token).status_code == 401
    assert _login(client, j, STAFF["clerk"][0], step=1).status_code == 401


def test_an_administrator_cannot_disable_themself(client, headers):
    res = client.post(f"/api/v1/staff/{STAFF['admin'][0]}/disable", headers=headers("admin"))
    assert res.status_code == 422


def test_sign_ins_are_rate_limited_per_terminal(client, j):
    for i in range(10):  # failures spread over accounts (none locks out) from one terminal
        username = STAFF[("auditor", "admin", "department", "contractor", "clerk2")[i % 5]][0]
        assert _login(client, j, username, password="wrong", terminal="kiosk-7").status_code == 401
    seq = _last(j)
    refused = _login(client, j, STAFF["clerk"][0], terminal="kiosk-7")
    assert refused.status_code == 429 and refused.json()["errors"][0]["code"] == "rate_limited"
    assert [e.result for e in _log(j, seq)] == ["rate_limited"]
    assert _login(client, j, STAFF["clerk"][0], terminal="desk-1").status_code == 200


def test_a_staff_member_changes_their_own_password(client, headers, j):
    auth = headers("clerk2")
    weak = client.post(
        "/api/v1/auth/password", json={"current_password": PASSWORD, "new_password": "short"}, headers=auth
    )
    assert weak.status_code == 422 and weak.json()["errors"][0]["field"] == "new_password"
    wrong = client.post(
        "/api/v1/auth/password",
        json={"current_password": "not mine", "new_password": "a long new passphrase"},
        headers=auth,
    )
    assert wrong.status_code == 401
    done = client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "a long new passphrase"},
        headers=auth,
    )
    assert done.status_code == 204
    assert _login(client, j, STAFF["clerk2"][0], step=1).status_code == 401  # the old one no longer works
    assert _login(client, j, STAFF["clerk2"][0], password="a long new passphrase", step=1).status_code == 200
    assert "a long new passphrase" not in str(_log(j))


def test_an_administrator_resets_a_forgotten_password_and_ends_the_sessions(client, headers, j):
    token = headers("clerk")
    res = client.post(f"/api/v1/staff/{STAFF['clerk'][0]}/reset-password", headers=headers("admin"))
    assert res.status_code == 200
    fresh = res.json()["initial_password"]
    assert client.get("/api/v1/filings", headers=token).status_code == 401
    assert _login(client, j, STAFF["clerk"][0], password=fresh, step=1).status_code == 200
    assert fresh not in str(_log(j))
