"""What the 庁内連携 tests share: a department system's client registered through the desk, its tokens by
client_secret_basic or client_secret_jwt (signed here with joserfc, as a department's system would), and the
operation log's rows."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Iterator
from typing import Any

from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import OctKey
from sqlalchemy import select

from juki.adapters import tables as t
from juki.bootstrap import Juki
from juki.policy.roles import Actor
from juki.transfer.wiring import desk_for
from juki.web.app import create_app
from tests.conftest import STAFF

BASE = "http://localhost"  # OAuth needs https or loopback (Authlib refuses anything else)
TOKEN_URL = f"{BASE}/oauth/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ADMIN = Actor(STAFF["admin"][0], STAFF["admin"][1], "admin", "test", procedure="administration")


def client_for(j: Juki) -> Iterator[TestClient]:
    """The app on a loopback URL (each test module makes it its `feed_client` fixture)."""
    with TestClient(create_app(j), base_url=BASE, raise_server_exceptions=False) as c:
        yield c


def register(j: Juki, system_id: str) -> dict[str, Any]:
    return desk_for(j).register(ADMIN, system_id)


def basic(client: dict[str, Any], secret: str | None = None) -> dict[str, str]:
    pair = f"{client['client_id']}:{secret or client['client_secret']}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


def assertion(client: dict[str, Any], **claims: Any) -> str:
    secret = claims.pop("_secret", None) or client["client_secret"]
    now = int(time.time())
    body = {
        "iss": client["client_id"],
        "sub": client["client_id"],
        "aud": TOKEN_URL,
        "exp": now + 120,
        "iat": now,
        "jti": uuid.uuid4().hex,
        **claims,
    }
    key = OctKey.import_key(secret.encode())
    return jwt.encode({"alg": "HS256"}, {k: v for k, v in body.items() if v is not None}, key)


def jwt_form(client: dict[str, Any], **claims: Any) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion(client, **claims),
    }


def token(http: TestClient, client: dict[str, Any], scope: str | None = None) -> dict[str, str]:
    form = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
    res = http.post("/oauth/token", data=form, headers=basic(client))
    assert res.status_code == 200, res.text
    return {"Authorization": f"Bearer {res.json()['access_token']}"}


def log_rows(j: Juki, after: int = 0) -> list[Any]:
    log = t.operation_log.c
    with j.engine.connect() as conn:
        return list(conn.execute(select(t.operation_log).where(log.seq > after).order_by(log.seq)).all())


def last_seq(j: Juki) -> int:
    rows = log_rows(j)
    return rows[-1].seq if rows else 0
