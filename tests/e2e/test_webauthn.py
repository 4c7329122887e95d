"""The CS operator's strong factor: password + one-time code + a WebAuthn assertion with user
verification, checked by py_webauthn against a software authenticator; enrolment with an administrator's code."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest
from sqlalchemy import func, select, update

from juki.adapters import tables as t
from tests.conftest import PASSWORD, STAFF
from tests.webauthn_authenticator import SoftAuthenticator, sign_in

CS = STAFF["cs_operator"][0]


# --- helpers ----------------------------------------------------------------------------------------------------


def otp(j, template, username: str) -> str:
    """A one-time code the account has not used yet (the replay guard itself is tested in test_auth.py)."""
    with j.engine.begin() as conn:
        conn.execute(update(t.staff).where(t.staff.c.username == username).values(last_otp_step=None))
    return pyotp.TOTP(template.secrets[username]).now()


def first_factors(j, template, username: str = CS) -> dict[str, str]:
    return {"username": username, "password": PASSWORD, "otp": otp(j, template, username)}


def sign_in_options(client, j, template, username: str = CS) -> dict[str, Any]:
    res = client.post("/api/v1/auth/webauthn/options", json=first_factors(j, template, username))
    assert res.status_code == 200, res.text
    body: dict[str, Any] = res.json()
    return body


def finish(client, options: dict[str, Any], credential: dict[str, Any]):
    return client.post(
        "/api/v1/auth/webauthn/login",
        json={"challenge_id": options["challenge_id"], "credential": credential},
    )


def last_seq(j) -> int:
    with j.engine.connect() as conn:
        return int(conn.execute(select(func.coalesce(func.max(t.operation_log.c.seq), 0))).scalar_one())


def log_since(j, seq: int, action: str = "auth:webauthn") -> list[Any]:
    c = t.operation_log.c
    with j.engine.connect() as conn:
        return list(
            conn.execute(select(t.operation_log).where(c.seq > seq, c.action == action).order_by(c.seq))
        )


def staff(j, username: str) -> Any:
    with j.engine.connect() as conn:
        return conn.execute(select(t.staff).where(t.staff.c.username == username)).one()


def count(j, table, *where) -> int:
    with j.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def credential(j, credential_id: str) -> Any:
    with j.engine.connect() as conn:
        c = t.webauthn_credentials.c
        return conn.execute(select(t.webauthn_credentials).where(c.credential_id == credential_id)).one()


def open_registrations(j) -> int:
    """Registration challenges not used yet (the template's own enrolment left a used one)."""
    c = t.webauthn_challenges.c
    return count(j, t.webauthn_challenges, c.purpose == "register", c.used_at.is_(None))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_operator(client, j, headers, username: str) -> tuple[pyotp.TOTP, SoftAuthenticator]:
    """A second CS operator, enrolled through the API with an administrator's code."""
    from juki.services.auth import create_staff

    totp = pyotp.TOTP(create_staff(j.uow, username, "CS 六子", "cs_operator", PASSWORD))
    authenticator = SoftAuthenticator()
    code = issue_code(client, headers, username)
    ceremony = enrolment_options(client, username, totp.now(), code)
    assert ceremony.status_code == 200, ceremony.text
    assert (
        register(client, ceremony.json(), authenticator.register(ceremony.json()["public_key"])).status_code
        == 201
    )
    return totp, authenticator


def issue_code(client, headers, username: str) -> str:
    res = client.post(
        "/api/v1/webauthn/enrolment-codes", json={"staff_id": username}, headers=headers("admin")
    )
    assert res.status_code == 201, res.text
    code: str = res.json()["enrolment_code"]
    return code


def enrolment_options(client, username: str, one_time: str, code: str):
    body = {"username": username, "password": PASSWORD, "otp": one_time, "enrolment_code": code}
    return client.post("/api/v1/auth/webauthn/enrolment/options", json=body)


def register(client, ceremony: dict[str, Any], answer: dict[str, Any], name: str | None = None):
    body: dict[str, Any] = {"challenge_id": ceremony["challenge_id"], "credential": answer}
    if name is not None:
        body["name"] = name
    return client.post("/api/v1/auth/webauthn/registration", json=body)


# --- password and one-time code are not enough -----------------------------------------------------------------


def test_a_cs_operator_gets_no_token_from_password_and_one_time_code_alone(client, j, template):
    seq, sessions = last_seq(j), count(j, t.sessions)
    code = otp(j, template, CS)
    res = client.post("/api/v1/auth/login", json={"username": CS, "password": PASSWORD, "otp": code})
    assert res.status_code == 401, res.text
    assert [e["code"] for e in res.json()["errors"]] == ["webauthn_required"]
    assert "access_token" not in res.text
    assert count(j, t.sessions) == sessions
    assert [(r.result, r.staff_id) for r in log_since(j, seq, "auth:login")] == [("webauthn_required", CS)]
    # the code is left unused: it opens the WebAuthn sign-in
    options = client.post(
        "/api/v1/auth/webauthn/options", json={"username": CS, "password": PASSWORD, "otp": code}
    )
    assert options.status_code == 200, options.text


def test_a_wrong_password_for_a_cs_operator_is_a_plain_refusal(client, j, template):
    res = client.post(
        "/api/v1/auth/login", json={"username": CS, "password": "wrong", "otp": otp(j, template, CS)}
    )
    assert res.status_code == 401 and res.json()["errors"][0]["code"] == "unauthenticated"


@pytest.mark.parametrize("role", ["clerk", "supervisor", "auditor", "admin", "contractor", "department"])
def test_other_roles_still_sign_in_with_password_and_one_time_code(client, j, template, role):
    username = STAFF[role][0]
    res = client.post(
        "/api/v1/auth/login",
        json={"username": username, "password": PASSWORD, "otp": otp(j, template, username)},
    )
    assert res.status_code == 200, res.text
    body = res.json()
    assert set(body) == {"access_token", "token_type", "expires_in"} and body["token_type"] == "bearer"
    assert client.get("/api/v1/webauthn/credentials", headers=bearer(body["access_token"])).status_code == 200


# --- the WebAuthn sign-in -------------------------------------------------------------------------------------


def test_a_cs_operator_signs_in_with_password_one_time_code_and_an_assertion(client, j, template):
    authenticator = template.authenticators[CS]
    seq = last_seq(j)
    options = sign_in_options(client, j, template)
    public_key = options["public_key"]
    assert public_key["userVerification"] == "required" and public_key["rpId"] == "localhost"
    assert [c["id"] for c in public_key["allowCredentials"]] == [authenticator.id]
    res = finish(client, options, authenticator.assertion(public_key))
    assert res.status_code == 200, res.text
    body = res.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["expires_in"] == j.settings.token_ttl_seconds
    mine = client.get("/api/v1/webauthn/credentials", headers=bearer(body["access_token"]))
    assert mine.status_code == 200 and [c["credential_id"] for c in mine.json()["credentials"]] == [
        authenticator.id
    ]
    stored = credential(j, authenticator.id)
    assert stored.sign_count == authenticator.sign_count and stored.last_used_at is not None
    assert count(j, t.webauthn_sessions, t.webauthn_sessions.c.credential_id == authenticator.id) == 1
    assert [(r.result, r.detail.split(":")[0]) for r in log_since(j, seq)] == [
        ("ok", "sign_in_options"),
        ("ok", "sign_in"),
        ("ok", "credentials"),
    ]


def test_a_cs_operator_without_an_authenticator_is_told_to_enrol(client, j, headers, template):
    from juki.services.auth import create_staff

    secret = create_staff(j.uow, "cs9", "CS 九郎", "cs_operator", PASSWORD)
    seq = last_seq(j)
    res = client.post(
        "/api/v1/auth/webauthn/options",
        json={"username": "cs9", "password": PASSWORD, "otp": pyotp.TOTP(secret).now()},
    )
    assert res.status_code == 401 and res.json()["errors"][0]["code"] == "webauthn_required"
    assert "登録コード" in res.json()["errors"][0]["message"]
    assert [(r.result, r.detail) for r in log_since(j, seq)] == [
        ("failed", "sign_in_options: no_authenticator")
    ]


def _refused(
    client, j, options: dict[str, Any], answer: dict[str, Any], reason: str, username: str = CS
) -> None:
    """The assertion is refused as `unauthenticated`, logged with its reason, and nothing is opened or stored."""
    seq, sessions, links = last_seq(j), count(j, t.sessions), count(j, t.webauthn_sessions)
    failures = staff(j, username).failed_logins
    counts = {r.credential_id: r.sign_count for r in _credentials(j)}
    res = finish(client, options, answer)
    assert res.status_code == 401, res.text
    assert res.headers["content-type"].startswith("application/problem+json")
    assert [e["code"] for e in res.json()["errors"]] == ["unauthenticated"]
    assert "access_token" not in res.text
    assert count(j, t.sessions) == sessions and count(j, t.webauthn_sessions) == links
    assert {r.credential_id: r.sign_count for r in _credentials(j)} == counts
    assert [(r.result, r.detail, r.staff_id) for r in log_since(j, seq)] == [
        ("failed", f"sign_in: {reason}", username)
    ]
    assert staff(j, username).failed_logins == failures + (reason not in _NOT_COUNTED)


_NOT_COUNTED = {"replayed_challenge", "expired_challenge", "account_unusable", "wrong_purpose"}


def _credentials(j) -> list[Any]:
    with j.engine.connect() as conn:
        return list(conn.execute(select(t.webauthn_credentials)))


@pytest.mark.parametrize(
    ("bend", "reason"),
    [
        ({"origin": "https://juki.evil.example"}, "wrong_origin"),
        ({"rp_id": "evil.example"}, "wrong_rp_id"),
        ({"uv": False}, "user_not_verified"),
        ({"sign_count": 0}, "sign_count_not_increased"),  # 0 after 0: no counter, or a clone
    ],
    ids=["wrong-origin", "wrong-rp-id", "no-user-verification", "counter-not-increased"],
)
def test_a_bent_assertion_is_refused_and_logged(client, j, template, bend, reason):
    options = sign_in_options(client, j, template)
    _refused(client, j, options, template.authenticators[CS].assertion(options["public_key"], **bend), reason)


def test_an_assertion_for_another_challenge_is_refused(client, j, template):
    first = sign_in_options(client, j, template)
    second = sign_in_options(client, j, template)
    answer = template.authenticators[CS].assertion(second["public_key"])
    _refused(client, j, first, answer, "wrong_challenge")


def test_a_tampered_signature_is_refused(client, j, template):
    options = sign_in_options(client, j, template)
    answer = template.authenticators[CS].assertion(options["public_key"])
    other = SoftAuthenticator().assertion(options["public_key"])
    answer["response"]["signature"] = other["response"]["signature"]
    _refused(client, j, options, answer, "bad_signature")


def test_a_cloned_authenticator_whose_counter_goes_back_is_refused(client, j, template):
    authenticator = template.authenticators[CS]
    options = sign_in_options(client, j, template)
    assert finish(client, options, authenticator.assertion(options["public_key"])).status_code == 200
    options = sign_in_options(client, j, template)
    clone = authenticator.assertion(options["public_key"], sign_count=authenticator.sign_count - 1)
    _refused(client, j, options, clone, "sign_count_not_increased")


def test_the_authenticator_of_another_staff_member_is_refused(client, j, headers, template):
    _, theirs = new_operator(client, j, headers, "cs7")
    options = sign_in_options(client, j, template)
    _refused(client, j, options, theirs.assertion(options["public_key"]), "credential_of_another_staff")


def test_an_unknown_authenticator_is_refused(client, j, template):
    options = sign_in_options(client, j, template)
    _refused(client, j, options, SoftAuthenticator().assertion(options["public_key"]), "unknown_credential")


def test_a_replayed_challenge_is_refused(client, j, template):
    authenticator = template.authenticators[CS]
    options = sign_in_options(client, j, template)
    answer = authenticator.assertion(options["public_key"])
    assert finish(client, options, answer).status_code == 200
    sessions = count(j, t.sessions)
    _refused(client, j, options, answer, "replayed_challenge")
    again = authenticator.assertion(options["public_key"])  # a fresh signature over the used challenge
    assert finish(client, options, again).status_code == 401
    assert count(j, t.sessions) == sessions


def test_a_challenge_is_used_up_by_a_failed_attempt_too(client, j, template):
    authenticator = template.authenticators[CS]
    options = sign_in_options(client, j, template)
    assert (
        finish(client, options, authenticator.assertion(options["public_key"], uv=False)).status_code == 401
    )
    _refused(client, j, options, authenticator.assertion(options["public_key"]), "replayed_challenge")


def test_an_expired_challenge_is_refused(client, j, template):
    options = sign_in_options(client, j, template)
    with j.engine.connect() as conn:
        row = conn.execute(
            select(t.webauthn_challenges).where(
                t.webauthn_challenges.c.challenge_id == options["challenge_id"]
            )
        ).one()
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
    assert expires - created == timedelta(minutes=5)
    assert datetime.fromisoformat(options["expires_at"]) == expires
    with j.engine.begin() as conn:  # five minutes pass
        conn.execute(
            update(t.webauthn_challenges)
            .where(t.webauthn_challenges.c.challenge_id == options["challenge_id"])
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    answer = template.authenticators[CS].assertion(options["public_key"])
    _refused(client, j, options, answer, "expired_challenge")


def test_an_unknown_challenge_is_refused(client, j, template):
    seq = last_seq(j)
    options = {"challenge_id": "no-such-challenge", "public_key": {"challenge": "AAAA", "rpId": "localhost"}}
    res = finish(client, options, template.authenticators[CS].assertion(options["public_key"]))
    assert res.status_code == 401 and res.json()["errors"][0]["code"] == "unauthenticated"
    assert [(r.result, r.detail) for r in log_since(j, seq)] == [("failed", "sign_in: unknown_challenge")]


def test_a_disabled_account_is_refused_even_with_a_challenge_in_hand(client, j, template):
    options = sign_in_options(client, j, template)
    with j.engine.begin() as conn:
        conn.execute(update(t.staff).where(t.staff.c.username == CS).values(active=False))
    answer = template.authenticators[CS].assertion(options["public_key"])
    _refused(client, j, options, answer, "account_unusable")
    res = client.post("/api/v1/auth/webauthn/options", json=first_factors(j, template))
    assert res.status_code == 401 and res.json()["errors"][0]["code"] == "unauthenticated"


def test_failed_assertions_lock_the_account(client, j, template):
    authenticator = template.authenticators[CS]
    for _ in range(j.settings.max_failed_logins):
        options = sign_in_options(client, j, template)
        assert (
            finish(client, options, authenticator.assertion(options["public_key"], uv=False)).status_code
            == 401
        )
    res = client.post("/api/v1/auth/webauthn/options", json=first_factors(j, template))
    assert res.status_code == 401


def test_a_malformed_credential_is_refused_not_a_server_error(client, j, template):
    options = sign_in_options(client, j, template)
    answer = template.authenticators[CS].assertion(options["public_key"])
    answer["response"]["authenticatorData"] = "!!not base64!!"
    _refused(client, j, options, answer, "invalid_response")


def test_a_session_ends_when_its_authenticator_is_deactivated(client, j, template):
    authenticator = template.authenticators[CS]
    token = sign_in(client, authenticator, CS, PASSWORD, otp(j, template, CS))
    assert client.get("/api/v1/webauthn/credentials", headers=bearer(token)).status_code == 200
    res = client.post(f"/api/v1/webauthn/credentials/{authenticator.id}/deactivate", headers=bearer(token))
    assert res.status_code == 204, res.text
    assert credential(j, authenticator.id).active is False
    assert client.get("/api/v1/webauthn/credentials", headers=bearer(token)).status_code == 401
    options = client.post("/api/v1/auth/webauthn/options", json=first_factors(j, template))
    assert options.status_code == 401 and options.json()["errors"][0]["code"] == "webauthn_required"


def test_a_cs_operator_session_opened_without_an_authenticator_is_not_honoured(client, j):
    from juki.services.auth import token_hash

    now = datetime.now(UTC)
    with j.engine.begin() as conn:  # as a session from before migration 0004 would be
        conn.execute(
            t.sessions.insert().values(
                token_hash=token_hash("old-token"), staff_id=CS, created_at=now,
                expires_at=now + timedelta(hours=1), revoked=False, terminal="test",
            )
        )  # fmt: skip
    assert client.get("/api/v1/webauthn/credentials", headers=bearer("old-token")).status_code == 401


# --- enrolment ---------------------------------------------------------------------------------------------------


def test_a_cs_operator_enrols_with_an_administrators_code_and_then_signs_in(client, j, headers):
    from juki.services.auth import create_staff

    totp = pyotp.TOTP(create_staff(j.uow, "cs8", "CS 八郎", "cs_operator", PASSWORD))
    code = issue_code(client, headers, "cs8")
    seq = last_seq(j)
    ceremony = enrolment_options(client, "cs8", totp.now(), code)
    assert ceremony.status_code == 200, ceremony.text
    public_key = ceremony.json()["public_key"]
    assert public_key["authenticatorSelection"]["userVerification"] == "required"
    assert public_key["rp"] == {"id": "localhost", "name": j.settings.webauthn_rp_name}
    authenticator = SoftAuthenticator()
    res = register(client, ceremony.json(), authenticator.register(public_key), name="CS端末の指紋リーダー")
    assert res.status_code == 201, res.text
    assert res.json()["credential_id"] == authenticator.id and res.json()["name"] == "CS端末の指紋リーダー"
    assert res.json()["active"] is True and res.json()["staff_id"] == "cs8"
    stored = credential(j, authenticator.id)
    assert stored.staff_id == "cs8" and stored.sign_count == 0 and stored.transports == ["internal"]
    assert [(r.result, r.detail.split(":")[0]) for r in log_since(j, seq)] == [
        ("ok", "enrolment_options"),
        ("ok", "registration"),
    ]
    one_time = pyotp.TOTP(totp.secret).at(datetime.now(UTC) + timedelta(seconds=30))
    token = sign_in(client, authenticator, "cs8", PASSWORD, one_time)
    assert client.get("/api/v1/webauthn/credentials", headers=bearer(token)).status_code == 200


def test_an_enrolment_code_is_used_once(client, j, headers, template):
    code = issue_code(client, headers, CS)
    ceremony = enrolment_options(client, CS, otp(j, template, CS), code)
    assert (
        register(
            client, ceremony.json(), SoftAuthenticator().register(ceremony.json()["public_key"])
        ).status_code
        == 201
    )
    seq = last_seq(j)
    again = enrolment_options(client, CS, otp(j, template, CS), code)
    assert again.status_code == 401 and again.json()["errors"][0]["code"] == "unauthenticated"
    assert [(r.result, r.detail) for r in log_since(j, seq)] == [
        ("failed", "enrolment_options: used_enrolment_code")
    ]


def test_two_registrations_opened_with_one_code_register_one_authenticator(client, j, headers, template):
    code = issue_code(client, headers, CS)
    first = enrolment_options(client, CS, otp(j, template, CS), code).json()
    second = enrolment_options(client, CS, otp(j, template, CS), code).json()
    assert register(client, first, SoftAuthenticator().register(first["public_key"])).status_code == 201
    late = register(client, second, SoftAuthenticator().register(second["public_key"]))
    assert late.status_code == 401
    assert (
        count(j, t.webauthn_credentials, t.webauthn_credentials.c.staff_id == CS) == 2
    )  # the template's + one


@pytest.mark.parametrize("which", ["wrong", "someone-elses", "replaced", "expired"])
def test_an_enrolment_code_that_is_not_this_accounts_valid_one_is_refused(
    client, j, headers, template, which
):
    code = issue_code(client, headers, CS)
    if which == "wrong":
        code = "AAAA-BBBB-CCCC-DDDD"
    elif which == "someone-elses":
        code = issue_code(client, headers, STAFF["clerk"][0])
    elif which == "replaced":
        issue_code(client, headers, CS)
    else:
        with j.engine.begin() as conn:
            conn.execute(
                update(t.webauthn_enrolment_codes).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
            )
    failures, seq = staff(j, CS).failed_logins, last_seq(j)
    res = enrolment_options(client, CS, otp(j, template, CS), code)
    assert res.status_code == 401 and res.json()["errors"][0]["code"] == "unauthenticated"
    assert open_registrations(j) == 0
    assert staff(j, CS).failed_logins == failures + 1
    assert [r.result for r in log_since(j, seq)] == ["failed"]


def test_an_enrolment_code_needs_the_password_and_one_time_code_too(client, j, headers, template):
    code = issue_code(client, headers, CS)
    body = {"username": CS, "password": "wrong", "otp": otp(j, template, CS), "enrolment_code": code}
    res = client.post("/api/v1/auth/webauthn/enrolment/options", json=body)
    assert res.status_code == 401
    res = enrolment_options(client, CS, "000000", code)
    assert res.status_code == 401
    assert open_registrations(j) == 0


def test_the_enrolment_code_is_shown_once_and_kept_only_as_a_hash(client, j, headers):
    res = client.post("/api/v1/webauthn/enrolment-codes", json={"staff_id": CS}, headers=headers("admin"))
    assert res.status_code == 201
    body = res.json()
    assert body["staff_id"] == CS
    expires = datetime.fromisoformat(body["expires_at"])
    assert timedelta(minutes=59) < expires - datetime.now(UTC) <= timedelta(hours=1)
    plain = body["enrolment_code"]
    with j.engine.connect() as conn:
        dumped = json.dumps([list(map(str, r)) for r in conn.execute(select(t.webauthn_enrolment_codes))])
        log = json.dumps([list(map(str, r)) for r in conn.execute(select(t.operation_log))])
    assert plain not in dumped and plain.replace("-", "") not in dumped and plain not in log


def test_a_cs_operator_cannot_add_an_authenticator_from_a_session(client, j, headers):
    auth = headers("cs_operator")  # signs in (logged) before the log is watched
    seq = last_seq(j)
    res = client.post("/api/v1/webauthn/registration/options", headers=auth)
    assert res.status_code == 403 and res.json()["errors"][0]["code"] == "forbidden"
    assert open_registrations(j) == 0
    assert [(r.result, r.staff_id) for r in log_since(j, seq)] == [("denied", CS)]


def test_a_clerk_adds_an_authenticator_from_a_session_and_may_then_sign_in_with_it(
    client, j, headers, template
):
    clerk = STAFF["clerk"][0]
    ceremony = client.post("/api/v1/webauthn/registration/options", headers=headers("clerk"))
    assert ceremony.status_code == 200, ceremony.text
    authenticator = SoftAuthenticator()
    res = register(client, ceremony.json(), authenticator.register(ceremony.json()["public_key"]))
    assert res.status_code == 201, res.text
    listed = client.get("/api/v1/webauthn/credentials", headers=headers("clerk")).json()["credentials"]
    assert [c["credential_id"] for c in listed] == [authenticator.id]
    again = client.post("/api/v1/webauthn/registration/options", headers=headers("clerk")).json()
    assert [c["id"] for c in again["public_key"]["excludeCredentials"]] == [authenticator.id]
    assert sign_in(client, authenticator, clerk, PASSWORD, otp(j, template, clerk))


@pytest.mark.parametrize(
    ("bend", "status", "reason"),
    [
        ({"origin": "https://juki.evil.example"}, 401, "wrong_origin"),
        ({"rp_id": "evil.example"}, 401, "wrong_rp_id"),
        ({"uv": False}, 401, "user_not_verified"),
        ({"synced": True}, 422, "synced_passkey"),
    ],
    ids=["wrong-origin", "wrong-rp-id", "no-user-verification", "synced-passkey"],
)
def test_a_bent_registration_is_refused_and_logged(client, j, headers, template, bend, status, reason):
    code = issue_code(client, headers, CS)
    ceremony = enrolment_options(client, CS, otp(j, template, CS), code).json()
    seq, before = last_seq(j), count(j, t.webauthn_credentials)
    res = register(client, ceremony, SoftAuthenticator().register(ceremony["public_key"], **bend))
    assert res.status_code == status, res.text
    assert count(j, t.webauthn_credentials) == before
    assert [(r.result, r.detail) for r in log_since(j, seq)] == [("failed", f"registration: {reason}")]
    c = t.webauthn_enrolment_codes.c  # the code is still good for another try with a new challenge
    assert (
        count(j, t.webauthn_enrolment_codes, c.staff_id == CS, c.used_at.is_(None), c.revoked_at.is_(None))
        == 1
    )


def test_an_authenticator_registered_already_is_a_conflict(client, j, headers, template):
    code = issue_code(client, headers, CS)
    ceremony = enrolment_options(client, CS, otp(j, template, CS), code).json()
    res = register(client, ceremony, template.authenticators[CS].register(ceremony["public_key"]))
    assert res.status_code == 409 and res.json()["errors"][0]["code"] == "conflict"


def test_a_registration_challenge_does_not_sign_in(client, j, headers, template):
    code = issue_code(client, headers, CS)
    ceremony = enrolment_options(client, CS, otp(j, template, CS), code).json()
    answer = template.authenticators[CS].assertion(
        {"challenge": ceremony["public_key"]["challenge"], "rpId": "localhost"}
    )
    _refused(client, j, ceremony, answer, "wrong_purpose")


def test_an_administrator_deactivates_an_operators_authenticator_others_may_not(client, j, headers, template):
    authenticator = template.authenticators[CS]
    url = f"/api/v1/webauthn/credentials/{authenticator.id}/deactivate"
    assert client.post(url, headers=headers("supervisor")).status_code == 403
    assert credential(j, authenticator.id).active is True
    listed = client.get(f"/api/v1/webauthn/credentials?staff_id={CS}", headers=headers("admin"))
    assert [c["credential_id"] for c in listed.json()["credentials"]] == [authenticator.id]
    assert (
        client.get(f"/api/v1/webauthn/credentials?staff_id={CS}", headers=headers("clerk")).status_code == 403
    )
    assert client.post(url, headers=headers("admin")).status_code == 204
    assert credential(j, authenticator.id).active is False


# --- the log ------------------------------------------------------------------------------------------------------


def test_no_secret_reaches_the_operation_log(client, j, headers, template):
    code = issue_code(client, headers, CS)
    one_time = otp(j, template, CS)
    ceremony = enrolment_options(client, CS, one_time, code).json()
    authenticator = SoftAuthenticator()
    registration = authenticator.register(ceremony["public_key"])
    assert register(client, ceremony, registration).status_code == 201
    options = sign_in_options(client, j, template)
    assertion = authenticator.assertion(options["public_key"])
    assert finish(client, options, assertion).status_code == 200
    with j.engine.connect() as conn:
        log = json.dumps(
            [list(map(str, r)) for r in conn.execute(select(t.operation_log))], ensure_ascii=False
        )
    secrets = [
        PASSWORD, code, one_time, ceremony["challenge_id"], ceremony["public_key"]["challenge"],
        options["challenge_id"], options["public_key"]["challenge"], assertion["response"]["signature"],
        registration["response"]["attestationObject"], assertion["response"]["clientDataJSON"],
    ]  # fmt: skip
    assert [s for s in secrets if s in log] == []
