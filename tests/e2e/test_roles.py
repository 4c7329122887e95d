"""Who may call what: every role × every /api/v1 endpoint, against the expectations of API.md.

Register reads (residents, households, filings) are for clerk and supervisor; filings are entered by clerk and
supervisor; approvals and cancellations are the supervisor's alone; a contractor without a work order, an
auditor, an administrator, a CS operator and a department system account get `403 forbidden`. A denied call
changes nothing and leaves an operation-log entry with result "denied".

The expectations live in `role_cases/` (one module per area), keyed by (method, path), each with the exact
permission the endpoint needs (`needs`). `test_every_api_endpoint_has_an_expectation` reads the application's
routes, so an endpoint added without an entry there fails the suite. Below the matrix, each endpoint is called by an
actor holding every permission but the one it needs (refused), by one holding only that (served), and by a
contractor whose work order grants reading only.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from juki.adapters import tables as t
from juki.bootstrap import Juki
from juki.policy import roles
from juki.policy.roles import STRONG_FACTOR_ROLES
from juki.services import auth, filings, staff_admin
from tests import factories as f
from tests.conftest import PASSWORD, STAFF
from tests.e2e.role_cases import all_calls
from tests.e2e.role_cases.common import CLERK, READERS, ROLES, build_world

EXPECTED = all_calls()


def _walk(routes: list[Any], prefix: str = "") -> set[tuple[str, str]]:
    """(method, path) of every API route, into included routers and mounts (FastAPI keeps an included router
    as one entry whose own routes carry the path)."""
    found: set[tuple[str, str]] = set()
    for route in routes:
        if isinstance(route, APIRoute):
            found |= {(method, prefix + route.path) for method in route.methods or ()}
        elif hasattr(route, "original_router"):
            context = getattr(route, "include_context", None)
            found |= _walk(route.original_router.routes, prefix + getattr(context, "prefix", ""))
        elif hasattr(route, "routes"):  # a Mount
            found |= _walk(route.routes, prefix + getattr(route, "path", ""))
    return found


def api_endpoints(app) -> set[tuple[str, str]]:
    walked = _walk(app.routes)
    documented = {(method.upper(), path) for path, item in app.openapi()["paths"].items() for method in item}
    return {(m, p) for m, p in walked | documented if p.startswith("/api/v1")}


def test_every_api_endpoint_has_an_expectation(client):
    endpoints = api_endpoints(client.app)
    assert endpoints, "no /api/v1 routes found"
    missing = sorted(endpoints - set(EXPECTED))
    assert not missing, f"endpoints without an entry in the role expectations: {missing}"
    gone = sorted(set(EXPECTED) - endpoints)
    assert not gone, f"expectations for endpoints the app no longer has: {gone}"


# --- observing the register -----------------------------------------------------------------------------------


# What a denied call may still write: its own log entry (and the log's counter), nothing else.
_NOT_SNAPSHOT = {"operation_log", "counters", "sessions"}


def snapshot(j) -> dict[str, Any]:
    """Every row of every table a call could change (all but the log and the sessions), as text."""
    with j.engine.connect() as conn:
        return {
            table.name: sorted(repr(tuple(r)) for r in conn.execute(select(table)).all())
            for table in t.metadata.sorted_tables
            if table.name not in _NOT_SNAPSHOT
        }


def log_rows(j, after: int = 0) -> list[Any]:
    with j.engine.connect() as conn:
        return list(
            conn.execute(
                select(t.operation_log).where(t.operation_log.c.seq > after).order_by(t.operation_log.c.seq)
            ).all()
        )


def last_seq(j) -> int:
    with j.engine.connect() as conn:
        return int(conn.execute(select(func.coalesce(func.max(t.operation_log.c.seq), 0))).scalar_one())


def login_body(totp, role: str) -> dict[str, str]:
    username = STAFF[role][0]
    return {"username": username, "password": PASSWORD, "otp": totp(username)}


# --- the matrix -----------------------------------------------------------------------------------------------


def _sample(endpoint: tuple[str, str]) -> list[str]:
    """One role the endpoint allows and one it refuses (when there are such roles), for the PostgreSQL run."""
    allowed = [r for r in ROLES if r in EXPECTED[endpoint].allowed]
    refused = [r for r in ROLES if r not in EXPECTED[endpoint].allowed]
    return allowed[:1] + refused[:1]


# The whole matrix runs on SQLite; on PostgreSQL every endpoint is called by one role it allows and one it refuses.
# Who may call what is decided in the service layer, the same code on either engine; what the engine adds — the
# refusal's log entry, the untouched register — each endpoint still shows on PostgreSQL. (The full matrix on both
# engines was 1,176 cases, about 2.5 minutes of the suite's wall time on two workers.)
@pytest.mark.sqlite
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", sorted(EXPECTED), ids=lambda e: f"{e[0]} {e[1]}")
def test_role_may_or_may_not_call_the_endpoint(j, client, headers, totp, endpoint, role):
    _call_as(j, client, headers, totp, endpoint, role)


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("endpoint", "role"),
    [(e, r) for e in sorted(EXPECTED) for r in _sample(e)],
    ids=lambda v: v if isinstance(v, str) else f"{v[0]} {v[1]}",
)
def test_an_allowed_and_a_refused_role_call_each_endpoint(j, client, headers, totp, endpoint, role):
    _call_as(j, client, headers, totp, endpoint, role)


def _call_as(j, client, headers, totp, endpoint: tuple[str, str], role: str) -> None:
    """Each case on a fresh register of its own (the template's staff, nothing else), so its two snapshots read
    only what this case built."""
    method, _ = endpoint
    call = EXPECTED[endpoint]
    world = build_world(j)
    url, body = call.request(world)
    if endpoint == ("POST", "/api/v1/auth/login"):
        body, auth = login_body(totp, role), {}
    else:
        auth = headers(role)
    before, seq = snapshot(j), last_seq(j)

    res = client.request(method, url, json=body, headers={**auth, **call.headers})

    if endpoint == ("POST", "/api/v1/auth/login") and role in STRONG_FACTOR_ROLES:
        assert res.status_code == 401 and res.json()["errors"][0]["code"] == "webauthn_required", res.text
        return  # password and one-time code are not enough for this role (WebAuthn required, policy/roles.py)
    if role in call.allowed:
        assert res.status_code == call.ok_status, res.text
        assert not [r for r in log_rows(j, seq) if r.result == "denied"], (
            "an allowed call was logged as denied"
        )
        return
    assert res.status_code == 403, res.text
    assert res.headers["content-type"].startswith("application/problem+json")
    assert [e["code"] for e in res.json()["errors"]] == ["forbidden"]
    assert snapshot(j) == before, "a denied call changed the register"
    denied = [r for r in log_rows(j, seq) if r.result == "denied"]
    assert denied, "a denied call left no operation-log entry"
    assert {(r.staff_id, r.role) for r in denied} == {(STAFF[role][0], role)}
    assert not any(r.my_number_shown for r in log_rows(j, seq))
    for number in world.family:  # a denial shows nobody's record
        assert number not in res.text


# --- the My Number reveal -----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", sorted(READERS))
def test_include_my_number_reveals_it_to_clerk_and_supervisor_and_is_logged(client, headers, j, role):
    people = f.family_of_four()
    first = filings.file(j.uow, CLERK, "move-in", f.move_in(people))
    number = first.changes[0]["addressee_number"]
    headers(role)  # signs in (itself a logged call) before the log is watched

    seq = last_seq(j)
    plain = client.get(f"/api/v1/residents/{number}", headers=headers(role))
    assert plain.status_code == 200, plain.text
    assert "my_number" not in plain.json() and people[0]["my_number"] not in plain.text
    views = [r for r in log_rows(j, seq) if r.action == "resident:view"]
    assert len(views) == 1 and views[0].my_number_shown is False

    seq = last_seq(j)
    shown = client.get(f"/api/v1/residents/{number}?include=my_number", headers=headers(role))
    assert shown.status_code == 200, shown.text
    assert shown.json()["my_number"] == people[0]["my_number"]
    views = [r for r in log_rows(j, seq) if r.action == "resident:view"]
    assert len(views) == 1
    assert views[0].my_number_shown is True
    assert views[0].staff_id == STAFF[role][0] and views[0].role == role
    assert list(views[0].targets) == [number] and views[0].result == "ok"
    assert people[0]["my_number"] not in views[0].detail  # the log says it was shown, not what it was

    seq = last_seq(j)
    history = client.get(f"/api/v1/residents/{number}/history?include=my_number", headers=headers(role))
    assert history.status_code == 200, history.text
    assert [v["record"]["my_number"] for v in history.json()["versions"]] == [people[0]["my_number"]]
    views = [r for r in log_rows(j, seq) if r.action == "resident:history"]
    assert len(views) == 1 and views[0].my_number_shown is True


@pytest.mark.parametrize("role", sorted(set(ROLES) - READERS))
@pytest.mark.parametrize("suffix", ["", "/history"])
def test_include_my_number_is_refused_to_other_roles_and_the_refusal_logged(client, headers, j, role, suffix):
    people = [f.person()]
    first = filings.file(j.uow, CLERK, "move-in", f.move_in(people))
    number = first.changes[0]["addressee_number"]
    auth = headers(role)  # signs in (itself a logged call) before the log is watched
    seq = last_seq(j)
    res = client.get(f"/api/v1/residents/{number}{suffix}?include=my_number", headers=auth)
    assert res.status_code == 403, res.text
    assert res.json()["errors"][0]["code"] == "forbidden"
    assert people[0]["my_number"] not in res.text and "山田" not in res.text
    rows = log_rows(j, seq)
    assert [r.result for r in rows] == ["denied"]
    assert rows[0].my_number_shown is False and rows[0].role == role


# --- the exact permission of every endpoint ----------------------------------------------------------------------
#
# A role that may call an endpoint holds more than the one permission it needs, so the matrix above cannot tell a
# check of `register:read` from one of `certificate:issue`. Here each endpoint's `needs` (role_cases) is held against
# the policy and the services: an actor holding every permission but one it needs is refused (403, nothing changed, the
# denial logged naming that permission), and an actor holding exactly what it needs is served.

PERMISSIONS = frozenset(
    v for k, v in vars(roles).items() if k.isupper() and isinstance(v, str) and ":" in v and " " not in v
)
NEAR_MISS = "near_miss"  # a procedure made up for one test: its role holds the permissions the test gives it


def _needed(endpoint: tuple[str, str]) -> list[frozenset[str]]:
    return [alt for alt in EXPECTED[endpoint].needs if alt]


GUARDED = sorted(e for e in EXPECTED if _needed(e))


def test_every_endpoint_names_the_permissions_it_needs():
    unnamed = sorted(e for e, call in EXPECTED.items() if not call.needs)
    assert not unnamed, f"endpoints without `needs` in role_cases: {unnamed}"
    unknown = {p for call in EXPECTED.values() for alt in call.needs for p in alt} - PERMISSIONS
    assert not unknown, f"permissions policy/roles.py does not define: {sorted(unknown)}"
    granted = {p for proc in roles.PROCEDURES.values() for perms in proc.grants.values() for p in perms}
    assert granted <= PERMISSIONS


@pytest.mark.parametrize("endpoint", sorted(EXPECTED), ids=lambda e: f"{e[0]} {e[1]}")
def test_the_roles_allowed_hold_what_the_endpoint_needs(endpoint):
    call = EXPECTED[endpoint]
    for role in sorted(call.allowed - {"contractor"}):  # a contractor holds only what a work order lists
        procedure = call.headers.get("X-Juki-Procedure") or roles.DEFAULT_PROCEDURE[role]
        held = roles.permissions(role, procedure)
        assert any(alt <= held for alt in call.needs), f"{role} ({procedure}) holds {sorted(held)}"


def _act_with(monkeypatch: pytest.MonkeyPatch, role: str, granted: frozenset[str]) -> dict[str, str]:
    """Let `role`, acting for the made-up procedure, hold exactly `granted` (nothing held by every account)."""
    procedure = roles.Procedure(NEAR_MISS, "権限の試験", True, {role: granted})
    monkeypatch.setitem(roles.PROCEDURES, NEAR_MISS, procedure)
    monkeypatch.setattr(roles, "EVERY_ACCOUNT", frozenset())
    return {"X-Juki-Procedure": NEAR_MISS}


def _near_misses(needed: list[frozenset[str]]) -> list[frozenset[str]]:
    """Every way to miss each alternative by one permission (with two alternatives, one from each)."""
    return [frozenset(choice) for choice in itertools.product(*(sorted(alt) for alt in needed))]


@pytest.mark.parametrize("endpoint", GUARDED, ids=lambda e: f"{e[0]} {e[1]}")
def test_every_permission_but_the_one_needed_is_not_enough(j, client, headers, monkeypatch, endpoint):
    method, _ = endpoint
    call = EXPECTED[endpoint]
    role = sorted(call.allowed - {"contractor"})[0]
    auth = headers(role)
    world = build_world(j)
    for missing in _near_misses(_needed(endpoint)):
        url, body = call.request(world)
        procedure = _act_with(monkeypatch, role, PERMISSIONS - missing)
        before, seq = snapshot(j), last_seq(j)
        res = client.request(method, url, json=body, headers={**auth, **call.headers, **procedure})
        assert res.status_code == 403, f"without {sorted(missing)}: {res.status_code} {res.text}"
        assert [e["code"] for e in res.json()["errors"]] == ["forbidden"]
        assert snapshot(j) == before, f"without {sorted(missing)} the call changed the register"
        denied = [r for r in log_rows(j, seq) if r.result == "denied"]
        assert [r.detail for r in denied] and {r.detail for r in denied} <= missing, denied
    for alternative in _needed(endpoint):
        url, body = call.request(world)
        procedure = _act_with(monkeypatch, role, alternative)
        seq = last_seq(j)
        res = client.request(method, url, json=body, headers={**auth, **call.headers, **procedure})
        assert res.status_code == call.ok_status, f"with only {sorted(alternative)}: {res.text}"
        assert not [r for r in log_rows(j, seq) if r.result == "denied"]


# --- a contractor whose work order grants reading only ------------------------------------------------------------

READ_ONLY_ORDER = frozenset({roles.REGISTER_READ})
CONTRACTOR_HOLDS = READ_ONLY_ORDER | roles.EVERY_ACCOUNT  # its own authenticator, like every account


@pytest.fixture
def reading_contractor(j: Juki, client: TestClient) -> dict[str, str]:
    """A contractor account of its own with one active work order: `register:read` for 住民基本台帳に関する事務."""
    username = f"reader{uuid.uuid4().hex[:6]}"
    now = datetime.now(UTC)
    secret = auth.create_staff(
        j.uow, username, "委託 読取", "contractor", PASSWORD, valid_until=now + timedelta(days=1)
    )
    boss = roles.Actor(STAFF["supervisor"][0], STAFF["supervisor"][1], "supervisor", "test", procedure="administration")  # fmt: skip
    order = {
        "contractor_id": username,
        "procedure": "resident_record",
        "permissions": sorted(READ_ONLY_ORDER),
        "purpose": "住民票データの点検作業",
        "valid_from": (now - timedelta(hours=1)).isoformat(),
        "valid_until": (now + timedelta(hours=8)).isoformat(),
    }
    staff_admin.give_work_order(j.uow, boss, order)
    body = {"username": username, "password": PASSWORD, "otp": pyotp.TOTP(secret).now()}
    res = client.post("/api/v1/auth/login", json=body)
    assert res.status_code == 200, res.text
    return {"Authorization": f"Bearer {res.json()['access_token']}"}


@pytest.mark.parametrize("endpoint", GUARDED, ids=lambda e: f"{e[0]} {e[1]}")
def test_a_work_order_grants_exactly_what_it_lists(j, client, reading_contractor, endpoint):
    """Reading the register is not issuing a certificate, filing, approving or anything else close to it."""
    method, _ = endpoint
    call = EXPECTED[endpoint]
    world = build_world(j)
    url, body = call.request(world)
    before, seq = snapshot(j), last_seq(j)
    res = client.request(method, url, json=body, headers={**reading_contractor, **call.headers})
    in_order = call.headers.get("X-Juki-Procedure", "resident_record") == "resident_record"
    if in_order and any(alt <= CONTRACTOR_HOLDS for alt in call.needs):
        assert res.status_code == call.ok_status, res.text
        return
    assert res.status_code == 403, res.text
    assert [e["code"] for e in res.json()["errors"]] == ["forbidden"]
    assert snapshot(j) == before, "a call the work order does not grant changed the register"
    denied = [r for r in log_rows(j, seq) if r.result == "denied"]
    assert denied and {r.role for r in denied} == {"contractor"}
