from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.datastructures import State

from juki.bootstrap import Juki
from juki.policy.roles import STRONG_FACTOR_ROLES
from juki.web.app import create_app
from tests.conftest import PASSWORD, STAFF, Template
from tests.webauthn_authenticator import sign_in

_served: list[FastAPI] = []


def app_for(j: Juki) -> FastAPI:
    """The app serving `j`, with a new `app.state` holding only `j` (where every route finds the register, and a test
    may put its own kiosk desk). One app per process: FastAPI builds the request handling of all of an app's routes
    on that app's first request (~0.12 s), which an app made per test paid again in every test. create_app keeps
    nothing of `j` but `app.state.juki`, and no route or middleware keeps anything of a request."""
    if not _served:
        _served.append(create_app(j))
    app = _served[0]
    app.state = State({"juki": j})
    return app


@pytest.fixture
def client(j: Juki) -> Iterator[TestClient]:
    with TestClient(app_for(j), raise_server_exceptions=False) as c:
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
