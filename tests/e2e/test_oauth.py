"""The department systems' OAuth 2.0 (API.md "Department systems"): client credentials by client_secret_jwt or
client_secret_basic, scopes, one use per assertion, introspection of one's own tokens, and every bad input refused
with RFC 6749's codes and logged — never a secret or a token in the log."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import update

from juki.adapters import tables as t
from juki.transfer.policy import SCOPE_CHANGES, SCOPE_MY_NUMBER
from juki.transfer.wiring import desk_for
from tests.e2e.transfer_support import (
    ADMIN,
    basic,
    client_for,
    jwt_form,
    last_seq,
    log_rows,
    register,
    token,
)

GRANT = {"grant_type": "client_credentials"}


@pytest.fixture
def feed_client(j):
    yield from client_for(j)


def _refused_and_logged(j, res, seq, status: int, error: str, secret: str, tokens: int = 0) -> None:
    assert res.status_code == status, res.text
    assert res.json()["error"] == error and "access_token" not in res.json()
    assert res.headers["cache-control"] == "no-store"
    rows = [r for r in log_rows(j, seq) if r.action == "transfer:token"]
    assert [r.result for r in rows] == ["denied"], rows
    assert secret not in rows[0].detail
    with j.engine.connect() as conn:
        assert len(conn.execute(t.transfer_tokens.select()).all()) == tokens  # none issued


def test_client_secret_basic_gives_a_short_lived_bearer_token_without_refresh(j, feed_client):
    client = register(j, "hoken-nenkin")
    seq = last_seq(j)
    res = feed_client.post("/oauth/token", data=GRANT, headers=basic(client))
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 300 and "refresh_token" not in body
    assert set(body["scope"].split()) == set(client["scopes"]) and SCOPE_MY_NUMBER in body["scope"]
    assert res.headers["cache-control"] == "no-store"
    [row] = [r for r in log_rows(j, seq) if r.action == "transfer:token"]
    assert (row.staff_id, row.role, row.result) == (client["client_id"], "department_system", "ok")
    assert body["access_token"] not in row.detail and client["client_secret"] not in row.detail


def test_client_secret_jwt_is_accepted_once(j, feed_client):
    client = register(j, "zeimu")
    form = jwt_form(client)
    first = feed_client.post("/oauth/token", data={**form, "scope": SCOPE_CHANGES})
    assert first.status_code == 200, first.text
    assert first.json()["scope"] == SCOPE_CHANGES
    seq = last_seq(j)
    replay = feed_client.post("/oauth/token", data=form)
    assert replay.status_code in (400, 401)
    _refused_and_logged(j, replay, seq, replay.status_code, "invalid_client", client["client_secret"], 1)


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ({"aud": "http://localhost/elsewhere"}, "another audience"),
        ({"exp": int(time.time()) - 600}, "expired"),
        ({"exp": None}, "no exp"),
        ({"jti": None}, "no jti"),
        ({"iss": "someone-else"}, "iss is not sub"),
        ({"_secret": "not-the-secret-" * 3}, "forged"),
        ({"exp": int(time.time()) + 86400 * 7}, "lives too long"),
    ],
)
def test_a_bad_client_assertion_is_refused_and_logged(j, feed_client, claims, why):
    client = register(j, "zeimu")
    seq = last_seq(j)
    res = feed_client.post("/oauth/token", data=jwt_form(client, **claims))
    assert res.status_code in (400, 401), why
    _refused_and_logged(j, res, seq, res.status_code, "invalid_client", client["client_secret"])


def test_an_unknown_client_and_a_wrong_secret_are_invalid_client(j, feed_client):
    client = register(j, "senkyo")
    seq = last_seq(j)
    wrong = feed_client.post("/oauth/token", data=GRANT, headers=basic(client, "x" * 43))
    _refused_and_logged(j, wrong, seq, 401, "invalid_client", "x" * 43)
    assert wrong.headers["www-authenticate"].startswith("Basic")
    seq = last_seq(j)
    unknown = feed_client.post(
        "/oauth/token", data=GRANT, headers=basic({**client, "client_id": "nobody-0000"})
    )
    _refused_and_logged(j, unknown, seq, 401, "invalid_client", client["client_secret"])
    assert [r.staff_id for r in log_rows(j, seq)] == ["unknown-client"]


def test_a_scope_beyond_the_client_is_invalid_scope(j, feed_client):
    client = register(j, "senkyo")  # no My Number basis: no juki:transfer-my-number:read
    seq = last_seq(j)
    res = feed_client.post("/oauth/token", data={**GRANT, "scope": SCOPE_MY_NUMBER}, headers=basic(client))
    _refused_and_logged(j, res, seq, 400, "invalid_scope", client["client_secret"])


@pytest.mark.parametrize(
    "form",
    [
        {"grant_type": "password", "username": "a", "password": "b"},
        {"grant_type": "refresh_token", "refresh_token": "x"},
    ],
)
def test_only_client_credentials_are_granted(j, feed_client, form):
    client = register(j, "senkyo")
    res = feed_client.post("/oauth/token", data=form, headers=basic(client))
    assert res.status_code == 400 and res.json()["error"] == "unsupported_grant_type"


def test_a_body_that_is_not_one_form_is_invalid_request(j, feed_client):
    client = register(j, "senkyo")
    as_json = feed_client.post("/oauth/token", json=GRANT, headers=basic(client))
    twice = feed_client.post(
        "/oauth/token", content="grant_type=client_credentials&grant_type=client_credentials",
        headers={**basic(client), "Content-Type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    for res in (as_json, twice):
        assert res.status_code == 400 and res.json() == {"error": "invalid_request"}


def test_a_revoked_client_gets_no_token_and_its_tokens_stop(j, feed_client):
    client = register(j, "hoken-nenkin")
    auth = token(feed_client, client)
    desk_for(j).revoke(ADMIN, client["client_id"])
    res = feed_client.post("/oauth/token", data=GRANT, headers=basic(client))
    assert res.status_code == 401 and res.json()["error"] == "invalid_client"
    assert feed_client.get("/api/v1/transfer/changes", headers=auth).status_code == 401


def test_introspection_answers_for_the_clients_own_tokens_only(j, feed_client):
    hoken, zeimu = register(j, "hoken-nenkin"), register(j, "zeimu")
    mine = token(feed_client, hoken)["Authorization"].split()[1]
    theirs = token(feed_client, zeimu)["Authorization"].split()[1]
    res = feed_client.post("/oauth/introspect", data={"token": mine}, headers=basic(hoken))
    assert res.status_code == 200 and res.json()["active"] is True
    assert res.json()["client_id"] == hoken["client_id"] and res.json()["sub"] == "hoken-nenkin"
    other = feed_client.post("/oauth/introspect", data={"token": theirs}, headers=basic(hoken))
    assert other.json() == {"active": False}
    with j.engine.begin() as conn:  # the token's time is up
        conn.execute(update(t.transfer_tokens).values(expires_at=t.transfer_tokens.c.issued_at))
    expired = feed_client.post("/oauth/introspect", data={"token": mine}, headers=basic(hoken))
    assert expired.json() == {"active": False}
    unauthenticated = feed_client.post("/oauth/introspect", data={"token": mine})
    assert unauthenticated.status_code == 401 and unauthenticated.json()["error"] == "invalid_client"


def test_no_secret_is_stored(j):
    client = register(j, "hoken-nenkin")
    with j.engine.connect() as conn:
        rows = [tuple(map(str, r)) for r in conn.execute(t.transfer_clients.select()).all()]
    assert rows and not any(client["client_secret"] in v for r in rows for v in r)
