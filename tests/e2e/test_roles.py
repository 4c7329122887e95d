"""Who may call what: every role × every /api/v1 endpoint, against the expectations of API.md.

Register reads (residents, households, filings) are for clerk and supervisor; filings are entered by clerk and
supervisor; approvals and cancellations are the supervisor's alone; a contractor without a work order, an
auditor, an administrator, a CS operator and a department system account get `403 forbidden`. A denied call
changes nothing and leaves an operation-log entry with result "denied".

The expectations live in `role_cases/` (one module per area), keyed by (method, path).
`test_every_api_endpoint_has_an_expectation` reads the application's routes, so an endpoint added without an
entry there fails the suite.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pyotp
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from juki.adapters import tables as t
from juki.bootstrap import Juki, build
from juki.policy.roles import STRONG_FACTOR_ROLES
from juki.services import filings
from juki.web.app import create_app
from tests import factories as f
from tests.conftest import PASSWORD, STAFF, TODAY, Template, _pg_admin_conn, _pg_url
from tests.e2e.role_cases import all_calls
from tests.e2e.role_cases.common import CLERK, READERS, ROLES, build_world
from tests.webauthn_authenticator import sign_in

EXPECTED = all_calls()


def _walk(routes: list[Any], prefix: str = "") -> set[tuple[str, str]]:
    """(method, path) of every API route, into included routers and mounts (FastAPI keeps an included router
    as one entry whose own routes carry the path)."""
    found: set[tuple[str, str]] = set()
    for route in routes:
        if isinstance(route, APIRoute):
            found |= {(method, prefix + route.path) for method in route.methods}
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


@dataclass
class Register:
    j: Juki
    client: TestClient
    headers: Callable[[str], dict[str, str]]


@pytest.fixture(scope="module")
def shared(template: Template, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Register]:
    """One register for the whole matrix, signed in once per role (argon2 makes each sign-in slow).

    Every case builds its own `World` of new people in it and compares the register before and after its one
    call, so the cases do not depend on each other. Sign-in and sign-out are tested on a fresh register.
    """
    if template.kind == "sqlite":
        path = tmp_path_factory.mktemp("roles") / "register.db"
        shutil.copy(template.location, path)
        url, name = str(path), None
    else:
        name = f"juki_roles_{uuid.uuid4().hex[:8]}"
        with _pg_admin_conn() as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template.location}"')
        url = _pg_url(name)
    j = build(url, run_migrations=False, today=TODAY)
    tokens: dict[str, dict[str, str]] = {}
    with TestClient(create_app(j), raise_server_exceptions=False) as client:

        def headers(role: str) -> dict[str, str]:
            if role not in tokens:
                username = STAFF[role][0]
                otp = pyotp.TOTP(template.secrets[username]).now()
                if role in STRONG_FACTOR_ROLES:  # password + one-time code + its (software) authenticator
                    token = sign_in(client, template.authenticators[username], username, PASSWORD, otp)
                    tokens[role] = {"Authorization": f"Bearer {token}"}
                    return tokens[role]
                res = client.post(
                    "/api/v1/auth/login", json={"username": username, "password": PASSWORD, "otp": otp}
                )
                assert res.status_code == 200, res.text
                tokens[role] = {"Authorization": f"Bearer {res.json()['access_token']}"}
            return tokens[role]

        yield Register(j, client, headers)
    j.engine.dispose()
    if name is not None:
        with _pg_admin_conn() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


SESSION_ENDPOINTS = {("POST", "/api/v1/auth/login"), ("POST", "/api/v1/auth/logout")}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", sorted(EXPECTED), ids=lambda e: f"{e[0]} {e[1]}")
def test_role_may_or_may_not_call_the_endpoint(request, totp, endpoint, role):
    method, _ = endpoint
    call = EXPECTED[endpoint]
    if endpoint in SESSION_ENDPOINTS:  # these change the caller's own session: a fresh register each
        reg = Register(
            request.getfixturevalue("j"),
            request.getfixturevalue("client"),
            request.getfixturevalue("headers"),
        )
    else:
        reg = request.getfixturevalue("shared")
    j, client = reg.j, reg.client
    world = build_world(j)
    url, body = call.request(world)
    if endpoint == ("POST", "/api/v1/auth/login"):
        body, auth = login_body(totp, role), {}
    else:
        auth = reg.headers(role)
    before, seq = snapshot(j), last_seq(j)

    res = client.request(method, url, json=body, headers={**auth, **call.headers})

    if endpoint == ("POST", "/api/v1/auth/login") and role in STRONG_FACTOR_ROLES:
        assert res.status_code == 401 and res.json()["errors"][0]["code"] == "webauthn_required", res.text
        return  # password and one-time code are not enough for this role (issue 3 §1)
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
