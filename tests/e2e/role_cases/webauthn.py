"""WebAuthn: the sign-in and registration steps that need no token are public like `/auth/login`;
a signed-in account adds its own authenticator (not a CS operator: theirs need an administrator's enrolment code)
and lists its own; issuing enrolment codes and deactivating someone else's authenticator are the administrator's.

A public step's body must be valid whoever calls, so each call gets a fresh CS operator account of its own, with
its own software authenticator (enrolled with the previous step's one-time code, so the current one is unused).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pyotp

from juki.policy.roles import STAFF_ADMIN, SYSTEM, WEBAUTHN_ENROL
from juki.services import auth, webauthn
from tests.conftest import PASSWORD
from tests.e2e.role_cases.common import EVERYONE, NOTHING, PUBLIC, Call, World, needs
from tests.webauthn_authenticator import SoftAuthenticator, enrol

ADMINS = frozenset({"admin"})


def _operator(w: World, enrolled: bool = True) -> tuple[str, pyotp.TOTP, SoftAuthenticator]:
    username = f"wa{uuid.uuid4().hex[:8]}"
    totp = pyotp.TOTP(auth.create_staff(w.j.uow, username, "CS 臨時", "cs_operator", PASSWORD))
    authenticator = SoftAuthenticator()
    if enrolled:
        enrol(w.j, username, PASSWORD, totp.at(time.time() - 30), authenticator)
    return username, totp, authenticator


def _rp(w: World) -> webauthn.RelyingParty:
    return webauthn.RelyingParty.from_settings(w.j.settings)


def _sign_in_options(w: World) -> tuple[str, dict[str, Any] | None]:
    username, totp, _ = _operator(w)
    return "/api/v1/auth/webauthn/options", {"username": username, "password": PASSWORD, "otp": totp.now()}


def _sign_in(w: World) -> tuple[str, dict[str, Any] | None]:
    username, totp, authenticator = _operator(w)
    s = w.j.settings
    ceremony = webauthn.sign_in_options(
        w.j.uow, _rp(w), username, PASSWORD, totp.now(), "test", s.max_failed_logins, s.login_rate_limit
    )
    credential = authenticator.assertion(ceremony.public_key)
    return "/api/v1/auth/webauthn/login", {"challenge_id": ceremony.challenge_id, "credential": credential}


def _enrolment_options(w: World) -> tuple[str, dict[str, Any] | None]:
    username, totp, _ = _operator(w, enrolled=False)
    code = webauthn.issue_enrolment_code(w.j.uow, SYSTEM, username).code
    body = {"username": username, "password": PASSWORD, "otp": totp.now(), "enrolment_code": code}
    return "/api/v1/auth/webauthn/enrolment/options", body


def _registration(w: World) -> tuple[str, dict[str, Any] | None]:
    username, totp, authenticator = _operator(w, enrolled=False)
    code = webauthn.issue_enrolment_code(w.j.uow, SYSTEM, username).code
    s = w.j.settings
    ceremony = webauthn.enrolment_options(
        w.j.uow, _rp(w), username, PASSWORD, totp.now(), code, "test", s.max_failed_logins, s.login_rate_limit
    )
    credential = authenticator.register(ceremony.public_key)
    return "/api/v1/auth/webauthn/registration", {
        "challenge_id": ceremony.challenge_id,
        "credential": credential,
    }


def _deactivate(w: World) -> tuple[str, dict[str, Any] | None]:
    _, _, authenticator = _operator(w)  # someone else's: only an administrator may
    return f"/api/v1/webauthn/credentials/{authenticator.id}/deactivate", None


CALLS: dict[tuple[str, str], Call] = {
    # without a token (the token a role's call carries is ignored)
    ("POST", "/api/v1/auth/webauthn/options"): Call(PUBLIC, 200, _sign_in_options, needs=NOTHING),
    ("POST", "/api/v1/auth/webauthn/login"): Call(PUBLIC, 200, _sign_in, needs=NOTHING),
    ("POST", "/api/v1/auth/webauthn/enrolment/options"): Call(PUBLIC, 200, _enrolment_options, needs=NOTHING),
    ("POST", "/api/v1/auth/webauthn/registration"): Call(PUBLIC, 201, _registration, needs=NOTHING),
    # signed in
    ("POST", "/api/v1/webauthn/registration/options"): Call(
        EVERYONE - auth.STRONG_FACTOR_ROLES,
        200,
        lambda w: ("/api/v1/webauthn/registration/options", None),
        needs=needs(WEBAUTHN_ENROL),
    ),
    ("GET", "/api/v1/webauthn/credentials"): Call(
        EVERYONE, 200, lambda w: ("/api/v1/webauthn/credentials", None), needs=needs(WEBAUTHN_ENROL)
    ),
    ("POST", "/api/v1/webauthn/credentials/{credential_id}/deactivate"): Call(
        ADMINS, 204, _deactivate, needs=needs(STAFF_ADMIN)
    ),
    ("POST", "/api/v1/webauthn/enrolment-codes"): Call(
        ADMINS,
        201,
        lambda w: ("/api/v1/webauthn/enrolment-codes", {"staff_id": "cs1"}),
        needs=needs(STAFF_ADMIN),
    ),
}
