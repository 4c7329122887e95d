from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from juki.bootstrap import Juki
from juki.policy.roles import STRONG_FACTOR_ROLES
from juki.web.app import create_app
from tests.conftest import PASSWORD, STAFF, Template
from tests.webauthn_authenticator import sign_in


@pytest.fixture
def client(j: Juki) -> Iterator[TestClient]:
    with TestClient(create_app(j), raise_server_exceptions=False) as c:
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
