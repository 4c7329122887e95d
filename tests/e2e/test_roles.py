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

import dataclasses
import itertools
import shutil
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from juki.adapters import tables as t
from juki.bootstrap import Juki, build
from juki.policy import roles
from juki.policy.roles import STRONG_FACTOR_ROLES
from juki.services import auth, filings, staff_admin
from juki.services.my_usage import NoProvisions
from juki.web.app import create_app
from tests import factories as f
from tests.conftest import PASSWORD, STAFF, TODAY, Template, _pg_admin_conn, _pg_conn, _pg_url
from tests.e2e.role_cases import all_calls
from tests.e2e.role_cases.common import CLERK, READERS, ROLES, World, build_world
from tests.leakcheck import _scan_files
from tests.pg_pool import PooledDatabase, Snapshot
from tests.pg_pool import snapshot as pg_snapshot
from tests.webauthn_authenticator import sign_in

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


# --- the register each case acts on ------------------------------------------------------------------------------
#
# Every case of the matrices below starts from a register of its own: the template's staff, the world of
# `build_world` and nothing else. That register is built once per engine and put back before each case (a copy of
# its files on SQLite, its rows on PostgreSQL), instead of filing the world and signing in again for each of some
# 900 cases; the app, its engine and the TestClient serve all of them, with a fresh composition root (`Juki`) per
# case, so nothing a case opens or sets (the CS, the kiosk desk, its settings) outlives it.

WORLD, SIGNED_IN, READER = "world", "signed in", "reader"  # the states a case may start from


class _SqliteStates:
    """The register's folder (its file and whatever opens beside it, the CS's), saved and put back whole."""

    def __init__(self, root: Path) -> None:
        self.folder, self.saved = root / "register", root / "states"
        self.folder.mkdir()
        self.url = str(self.folder / "register.db")

    def start(self, template: Template) -> None:
        shutil.copy(template.location, self.url)

    def save(self, name: str) -> None:
        shutil.copytree(self.folder, self.saved / name)

    def restore(self, name: str) -> None:
        shutil.rmtree(self.folder)
        shutil.copytree(self.saved / name, self.folder)

    def scan(self) -> None:
        _scan_files(
            self.folder
        )  # what the case left in the register's files, as the leak check does for tmp_path

    def drop(self) -> None:
        pass


class _PostgresStates:
    """A database of this module's own made from the template; a state is a snapshot of its rows (tests/pg_pool.py)."""

    def __init__(self, template: Template) -> None:
        self.pool = PooledDatabase(
            _pg_admin_conn, _pg_conn, template.location, f"juki_r_{uuid.uuid4().hex[:10]}"
        )
        self.url = _pg_url(self.pool.name)
        self.saved: dict[str, Snapshot] = {}

    def start(self, template: Template) -> None:
        pass

    def save(self, name: str) -> None:
        self.saved[name] = pg_snapshot(self.pool.conn)

    def restore(self, name: str) -> None:
        self.pool.reset(to=self.saved[name])

    def scan(self) -> None:
        pass

    def drop(self) -> None:
        self.pool.drop()


@dataclasses.dataclass
class Arena:
    base: Juki
    client: TestClient
    world: World
    tokens: dict[str, dict[str, str]]  # role → its bearer header (signed in through the API, state SIGNED_IN)
    reader: dict[str, str]  # the reading contractor's bearer header (state READER)
    states: _SqliteStates | _PostgresStates

    def enter(self, state: str) -> Juki:
        """The register put back to `state`, served by the app through a composition root of its own."""
        self.base.engine.dispose()
        self.states.restore(state)
        j = dataclasses.replace(self.base, settings=self.base.settings.model_copy())
        self.client.app.state.juki = j  # type: ignore[attr-defined]
        self.client.cookies.clear()
        return j

    def leave(self, j: Juki) -> None:
        if "cs" in vars(j):  # opened by the case
            j.cs.dispose()
        self.states.scan()


def _sign_in(client: TestClient, template: Template, role: str) -> dict[str, str]:
    """Through the real API, as the `headers` fixture does (a CS operator with its software authenticator)."""
    username = STAFF[role][0]
    otp = pyotp.TOTP(template.secrets[username]).now()
    if role in STRONG_FACTOR_ROLES:
        token = sign_in(client, template.authenticators[username], username, PASSWORD, otp)
    else:
        res = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD, "otp": otp})
        assert res.status_code == 200, res.text
        token = res.json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def arena(template: Template, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Arena]:
    if template.kind == "sqlite":
        states: _SqliteStates | _PostgresStates = _SqliteStates(tmp_path_factory.mktemp("roles"))
    else:
        states = _PostgresStates(template)
    states.start(template)
    base = build(states.url, run_migrations=False, today=TODAY)
    try:
        app = create_app(base)
        app.state.provision_records = NoProvisions()  # the arena has no 中間サーバー database of its own
        with TestClient(app, raise_server_exceptions=False) as client:
            world = build_world(base)
            base.engine.dispose()
            states.save(WORLD)
            tokens = {role: _sign_in(client, template, role) for role in ROLES}
            base.engine.dispose()
            states.save(SIGNED_IN)
            reader = _reading_contractor(base, client)
            base.engine.dispose()
            states.save(READER)
            yield Arena(base, client, world, tokens, reader, states)
    finally:
        base.engine.dispose()
        states.drop()


Enter = Callable[[str], tuple[Juki, World]]


@pytest.fixture
def enter(arena: Arena) -> Iterator[Enter]:
    """`enter(state)` → (the case's register, the world on it); the case's leftovers are closed and scanned after."""
    entered: list[Juki] = []

    def into(state: str) -> tuple[Juki, World]:
        j = arena.enter(state)
        entered.append(j)
        return j, dataclasses.replace(arena.world, j=j)

    yield into
    for j in entered:
        arena.leave(j)


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
def test_role_may_or_may_not_call_the_endpoint(arena, enter, totp, endpoint, role):
    _call_as(arena, enter, totp, endpoint, role)


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("endpoint", "role"),
    [(e, r) for e in sorted(EXPECTED) for r in _sample(e)],
    ids=lambda v: v if isinstance(v, str) else f"{v[0]} {v[1]}",
)
def test_an_allowed_and_a_refused_role_call_each_endpoint(arena, enter, totp, endpoint, role):
    _call_as(arena, enter, totp, endpoint, role)


def _call_as(
    arena: Arena, enter: Enter, totp: Callable[[str], str], endpoint: tuple[str, str], role: str
) -> None:
    """Each case on a register of its own (the template's staff and the world, nothing else), so its two snapshots
    read only what this case built. A sign-in is called on the world before anyone signed in (a one-time code is
    good once), every other endpoint with the role signed in."""
    method, _ = endpoint
    call = EXPECTED[endpoint]
    client = arena.client
    if endpoint == ("POST", "/api/v1/auth/login"):
        j, world = enter(WORLD)
        url, body = call.request(world)
        body, auth = login_body(totp, role), {}
    else:
        j, world = enter(SIGNED_IN)
        url, body = call.request(world)
        auth = arena.tokens[role]
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


# An endpoint no staff role may call (the 庁内連携 feed: only a department system's OAuth token opens it) has no
# role to take the near-miss permissions: its refusals are tested in tests/e2e/test_transfer_feed.py.
GUARDED = sorted(e for e in EXPECTED if _needed(e) and EXPECTED[e].allowed - {"contractor"})


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
def test_every_permission_but_the_one_needed_is_not_enough(arena, enter, monkeypatch, endpoint):
    method, _ = endpoint
    call = EXPECTED[endpoint]
    role = sorted(call.allowed - {"contractor"})[0]
    client, auth = arena.client, arena.tokens[role]
    j, world = enter(SIGNED_IN)
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


def _reading_contractor(j: Juki, client: TestClient) -> dict[str, str]:
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
def test_a_work_order_grants_exactly_what_it_lists(arena, enter, endpoint):
    """Reading the register is not issuing a certificate, filing, approving or anything else close to it."""
    method, _ = endpoint
    call = EXPECTED[endpoint]
    j, world = enter(READER)
    url, body = call.request(world)
    before, seq = snapshot(j), last_seq(j)
    res = arena.client.request(method, url, json=body, headers={**arena.reader, **call.headers})
    in_order = call.headers.get("X-Juki-Procedure", "resident_record") == "resident_record"
    if in_order and any(alt <= CONTRACTOR_HOLDS for alt in call.needs):
        assert res.status_code == call.ok_status, res.text
        return
    assert res.status_code == 403, res.text
    assert [e["code"] for e in res.json()["errors"]] == ["forbidden"]
    assert snapshot(j) == before, "a call the work order does not grant changed the register"
    denied = [r for r in log_rows(j, seq) if r.result == "denied"]
    assert denied and {r.role for r in denied} == {"contractor"}
