from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.datastructures import State

from juki.bootstrap import Juki
from juki.policy.roles import STRONG_FACTOR_ROLES
from juki.services.my_usage import NoProvisions
from juki.web.app import create_app
from tests.conftest import PASSWORD, STAFF, Template
from tests.webauthn_authenticator import sign_in

_idle: list[FastAPI] = []


@contextmanager
def served(j: Juki) -> Iterator[FastAPI]:
    """An app serving `j`, with a new `app.state` holding only `j` (where every route finds the register, and a test
    may put its own kiosk desk), for the block. Apps are made once per process and handed out again when a block
    ends: FastAPI builds the request handling of all of an app's routes on that app's first request (~0.12 s), which
    an app made per test paid again in every test. A test holding two at once (its `client` and a kiosk world) gets
    two. create_app keeps nothing of `j` but `app.state.juki`, and no route or middleware keeps anything of a
    request."""
    app = _idle.pop() if _idle else create_app(j)
    # The 中間サーバー is a component with a database of its own, which these registers do not migrate: the resident's
    # history reads no provisions here unless a test gives it some (its real records are read end to end in
    # tests/integration/test_intermediate_chain.py).
    app.state = State({"juki": j, "provision_records": NoProvisions()})
    try:
        yield app
    finally:
        app.state = State()
        _idle.append(app)


@pytest.fixture
def client(j: Juki) -> Iterator[TestClient]:
    with served(j) as app, TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def headers(
    client: TestClient, totp: Callable[[str], str], template: Template
) -> Callable[[str], dict[str, str]]:
    """Bearer headers for a role ("clerk", "supervisor", …), logging in once per role through the real API
    (a CS operator with its software authenticator as well)."""
    cache: dict[str, dict[str, str]] = {}

    def for_role(role: str) -> dict[str, str]:
        if role not in cache:
            username = STAFF[role][0]
            if role in STRONG_FACTOR_ROLES:
                token = sign_in(client, template.authenticators[username], username, PASSWORD, totp(username))
                cache[role] = {"Authorization": f"Bearer {token}"}
                return cache[role]
            res = client.post(
                "/api/v1/auth/login", json={"username": username, "password": PASSWORD, "otp": totp(username)}
            )
            assert res.status_code == 200, res.text
            cache[role] = {"Authorization": f"Bearer {res.json()['access_token']}"}
        return cache[role]

    return for_role
