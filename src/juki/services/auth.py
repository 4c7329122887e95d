"""Staff accounts and sign-in: argon2id passwords, a TOTP second factor, bearer tokens stored only as hashes.

A role in `STRONG_FACTOR_ROLES` (the CS operator: 生体認証による操作者認証, PIA III) never gets a token from password
and one-time code alone: `login` answers `webauthn_required`, the sign-in goes on in services/webauthn.py, and
`authenticate` honours such a role's session only while the authenticator that opened it is active.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NoReturn

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from juki.domain.errors import (
    Forbidden,
    InvalidField,
    RateLimited,
    Unauthenticated,
    WebAuthnRequired,
    redact,
)
from juki.policy.roles import DEFAULT_PROCEDURE, PROCEDURES, ROLES, STRONG_FACTOR_ROLES, Actor
from juki.services.audit import LogEntry
from juki.services.read_models import StaffAccount, StaffSession, WorkOrder
from juki.services.unit_of_work import UnitOfWork, UnitOfWorkFactory, utc_now

_hasher = (
    PasswordHasher()
)  # argon2id with the library's recommended parameters, until the settings say otherwise
_REFUSED = "ユーザー名、パスワードまたはワンタイムコードが正しくありません"
DEMO_REGISTER = "demo"


def use_password_hashing(time_cost: int, memory_kib: int, parallelism: int) -> None:
    """The argon2id parameters of new password hashes (the settings' JUKI_PASSWORD_HASH_*; bootstrap applies them).

    One process serves one register, so they are the process's. A stored hash is verified with its own parameters.
    """
    global _hasher
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)


def needs_webauthn(role: str) -> bool:
    return role in STRONG_FACTOR_ROLES


@dataclass(frozen=True)
class Token:
    access_token: str
    expires_in: int


def token_hash(token: str) -> str:
    """What the register keeps of a bearer token."""
    return hashlib.sha256(token.encode()).hexdigest()


_digest = token_hash  # the name services/ui_queries.py imports


def create_staff(
    uow_factory: UnitOfWorkFactory,
    username: str,
    display_name: str,
    role: str,
    password: str,
    department: str | None = None,
    is_demo: bool = False,
    totp_secret: str | None = None,
    valid_until: datetime | None = None,
) -> str:
    """Create an account; returns its TOTP secret (shown once, to be put into the staff member's app)."""
    if role not in ROLES:
        raise InvalidField(f"役割は {', '.join(ROLES)} のいずれかです", "role")
    secret = totp_secret or pyotp.random_base32()
    with uow_factory() as uow:
        uow.staff.add(
            dict(
                staff_id=username, username=username, display_name=display_name, role=role,
                department=department, password_hash=_hasher.hash(password), totp_secret=secret, active=True,
                is_demo=is_demo, failed_logins=0, last_otp_step=None, created_at=utc_now(),
                valid_until=valid_until,
            )
        )  # fmt: skip
        uow.commit()
    return secret


MIN_PASSWORD_LENGTH = 12


def check_new_password(password: str, username: str) -> None:
    """Long enough, not the username, not one character repeated (a passphrase is welcome)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidField(f"パスワードは{MIN_PASSWORD_LENGTH}文字以上にしてください", "new_password")
    if password.casefold() == username.casefold() or len(set(password)) < 4:
        raise InvalidField("推測されやすいパスワードは使えません", "new_password")


def change_password(
    uow_factory: UnitOfWorkFactory, actor: Actor, current: str, new: str, max_failures: int
) -> None:
    """A staff member changes their own password (j1380); a wrong current one counts towards lock-out."""
    with uow_factory() as uow:
        row = uow.staff.by_id(actor.staff_id)
        if row is None or not usable(uow, row, max_failures) or not password_ok(row, current):
            if row is not None:
                uow.staff.record_failure(row.staff_id)
            uow.log(actor, LogEntry("auth:password", result="failed"))
            uow.commit()
            raise Unauthenticated("現在のパスワードが正しくありません")
        check_new_password(new, row.username)
        if password_ok(row, new):
            raise InvalidField("現在と同じパスワードは使えません", "new_password")
        uow.staff.change(row.staff_id, {"password_hash": _hasher.hash(new)})
        uow.log(actor, LogEntry("auth:password"))
        uow.commit()


def reset_password(uow_factory: UnitOfWorkFactory, staff_id: str) -> str:
    """An administrator's reset (the caller checks the permission): a new random password, every session ended."""
    password = secrets.token_urlsafe(12)
    with uow_factory() as uow:
        uow.staff.change(staff_id, {"password_hash": _hasher.hash(password), "failed_logins": 0})
        uow.staff.revoke_all(staff_id)
        uow.commit()
    return password


def actor_of(row: StaffAccount, terminal: str) -> Actor:
    return Actor(row.staff_id, row.display_name, row.role, terminal, row.department)


def anonymous(username: str, terminal: str) -> Actor:
    """Who a log entry names when no account matches (a username typed as a My Number is masked)."""
    return Actor(redact(username)[:40], "(不明)", "none", terminal)


def _expired(row: StaffAccount, now: datetime) -> bool:
    """An account past its validity period (j1380; every contractor account has one) can no longer sign in."""
    until = row.valid_until
    return until is not None and (until if until.tzinfo else until.replace(tzinfo=UTC)) <= now


def _otp_step(row: StaffAccount, otp: str, now: float) -> int | None:
    """The TOTP step the code matches (±1 step for clock drift), if it is newer than the last one used."""
    totp = pyotp.TOTP(row.totp_secret)
    step = int(now // totp.interval)
    for candidate in (step, step - 1, step + 1):
        if secrets.compare_digest(totp.generate_otp(candidate), otp.strip()):
            if row.last_otp_step is not None and candidate <= row.last_otp_step:
                return None  # a replayed code is refused (API.md)
            return candidate
    return None


def password_ok(row: StaffAccount, password: str) -> bool:
    try:
        return bool(_hasher.verify(row.password_hash, password))
    except (VerificationError, InvalidHashError):
        return False


def usable(uow: UnitOfWork, row: StaffAccount, max_failures: int) -> bool:
    """Active, within its validity period, not locked out, and not a demo account in a production register."""
    demo_ok = not row.is_demo or uow.staff.setting("register_kind") == DEMO_REGISTER
    return bool(row.active and not _expired(row, uow.now) and row.failed_logins < max_failures and demo_ok)


def check_password_and_otp(
    uow: UnitOfWork,
    username: str,
    password: str,
    otp: str,
    terminal: str,
    max_failures: int,
    rate_limit: int,
) -> tuple[StaffAccount, int]:
    """The first two factors, inside the caller's unit of work: the account's row and the one-time code's step.

    A refusal is counted towards lock-out, logged (`auth:login` failed: the terminal's rate limit counts these
    whichever door they came through), committed and raised. Nothing is recorded on success: the caller decides.
    A terminal with `rate_limit` failed attempts in the last minute is refused before any password is checked
    (guessing across many accounts from one place is slowed as well as guessing at one account).
    """
    username = _storable(username)
    _check_rate_limit(uow, username, terminal, rate_limit)
    row = uow.staff.by_username(username)
    if row is None or not usable(uow, row, max_failures) or not password_ok(row, password):
        _refuse_sign_in(uow, row, username, terminal)
    step = _otp_step(row, otp, time.time())
    if step is None:
        _refuse_sign_in(uow, row, username, terminal)
    return row, step


def _storable(username: str) -> str:
    """What is looked up and logged must be storable text (no NUL, no lone surrogates)."""
    return "".join(ch for ch in username if ch.isprintable() and not 0xD800 <= ord(ch) <= 0xDFFF)


def _check_rate_limit(uow: UnitOfWork, username: str, terminal: str, rate_limit: int) -> None:
    """A terminal with `rate_limit` failed sign-ins in the last minute is refused (logged `rate_limited`)."""
    if uow.staff.failures_from(terminal[:100], uow.now - timedelta(minutes=1)) >= rate_limit:
        uow.log(anonymous(username, terminal), LogEntry("auth:login", result="rate_limited"))
        uow.commit()
        raise RateLimited("ログインの試行が多すぎます。しばらく待ってからやり直してください")


def _refuse_sign_in(uow: UnitOfWork, row: StaffAccount | None, username: str, terminal: str) -> NoReturn:
    """A wrong password or one-time code (or an unusable account): counted towards lock-out, logged, refused."""
    if row is not None:
        uow.staff.record_failure(row.staff_id)
    uow.log(
        actor_of(row, terminal) if row else anonymous(username, terminal),
        LogEntry("auth:login", result="failed"),
    )
    uow.commit()
    raise Unauthenticated(_REFUSED)


def open_session(uow: UnitOfWork, row: StaffAccount, terminal: str, ttl_seconds: int) -> Token:
    token = secrets.token_urlsafe(32)
    now = utc_now()
    uow.staff.add_session(
        dict(
            token_hash=token_hash(token), staff_id=row.staff_id, created_at=now,
            expires_at=now + timedelta(seconds=ttl_seconds), revoked=False, terminal=terminal[:100],
        )
    )  # fmt: skip
    return Token(token, ttl_seconds)


def login(
    uow_factory: UnitOfWorkFactory,
    username: str,
    password: str,
    otp: str,
    terminal: str,
    ttl_seconds: int,
    max_failures: int,
    rate_limit: int = 10,
) -> Token:
    """Sign in with password and one-time code; every attempt is logged, failures count towards lock-out.

    For a role that needs the strong factor, right password and code answer `webauthn_required` (logged) and
    leave the code unused, so that the same code opens the WebAuthn sign-in (services/webauthn.py).
    """
    with uow_factory() as uow:
        row, step = check_password_and_otp(uow, username, password, otp, terminal, max_failures, rate_limit)
        if needs_webauthn(row.role):
            uow.log(actor_of(row, terminal), LogEntry("auth:login", result="webauthn_required"))
            uow.commit()
            raise WebAuthnRequired(
                "この役割のサインインには、パスワードとワンタイムコードに加えて生体認証（WebAuthn）が必要です"
            )
        uow.staff.record_success(row.staff_id, step)
        token = open_session(uow, row, terminal, ttl_seconds)
        uow.log(actor_of(row, terminal), LogEntry("auth:login"))
        uow.commit()
    return token


def authenticate(
    uow_factory: UnitOfWorkFactory, token: str, procedure: str | None = None, terminal: str | None = None
) -> Actor:
    """The actor a bearer token stands for, acting for `procedure` (else the role's default).

    A role that has no part in the procedure, or a contractor without an active work order for it, is refused
    (`forbidden`, logged). A contractor's permissions are those its active work orders grant.
    """
    signed_in = _signed_in(uow_factory, token)
    row = signed_in.row
    code = _procedure_code(procedure, row.role, signed_in.orders)
    actor = Actor(
        row.staff_id, row.display_name, row.role, terminal or row.terminal, row.department, code,
        _work_order_grants(signed_in.orders, code, row.role),
    )  # fmt: skip
    if row.role not in PROCEDURES[code].grants:
        _refuse_procedure(uow_factory, actor, code)
    return actor


@dataclass(frozen=True)
class _SignedIn:
    """A session that is still good, with its account and the account's active work orders."""

    row: StaffSession
    orders: list[WorkOrder]  # a contractor's active work orders, oldest first


def _signed_in(uow_factory: UnitOfWorkFactory, token: str) -> _SignedIn:
    """The session a token opened, if it is open: not revoked, not expired, its account active and within its
    validity period, and — for a strong-factor role — the authenticator that opened it still active."""
    with uow_factory() as uow:
        row = uow.staff.session(token_hash(token))
        now = uow.now
        orders = uow.staff.active_work_orders(row.staff_id, now) if row is not None else []
        # A strong-factor role's session counts only while the authenticator that opened it is active.
        strong_ok = row is None or not needs_webauthn(row.role)
        strong_ok = strong_ok or uow.webauthn.session_credential_active(token_hash(token))
    if row is None or row.revoked or not row.active or _expired(row, now) or not strong_ok:
        raise Unauthenticated("認証が必要です")
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
    if expires <= now:
        raise Unauthenticated("認証の有効期限が切れました")
    return _SignedIn(row, orders)


def _procedure_code(procedure: str | None, role: str, orders: list[WorkOrder]) -> str:
    """The procedure asked for (X-Juki-Procedure), else a contractor's first work order's, else the role's."""
    if procedure is not None and procedure not in PROCEDURES:
        raise InvalidField("事務の指定が正しくありません", "X-Juki-Procedure")
    return procedure or (orders[0].procedure if orders else DEFAULT_PROCEDURE.get(role, ""))


def _work_order_grants(orders: list[WorkOrder], code: str, role: str) -> frozenset[str]:
    """What the work orders for the procedure grant, within what the procedure lets the role have."""
    grants = frozenset(p for o in orders if o.procedure == code for p in o.permissions)
    ceiling = PROCEDURES[code].grants.get(role, frozenset()) if code in PROCEDURES else frozenset()
    return grants & ceiling


def _refuse_procedure(uow_factory: UnitOfWorkFactory, actor: Actor, code: str) -> NoReturn:
    """A role with no part in the procedure is refused, and the refusal logged."""
    with uow_factory() as uow:
        uow.log(actor, LogEntry("procedure:enter", result="denied", detail=code))
        uow.commit()
    raise Forbidden("この事務を行う権限がありません")


def logout(uow_factory: UnitOfWorkFactory, token: str, actor: Actor) -> None:
    with uow_factory() as uow:
        uow.staff.revoke(token_hash(token))
        uow.log(actor, LogEntry("auth:logout"))
        uow.commit()


def first_administrator(uow_factory: UnitOfWorkFactory, username: str) -> tuple[str, str] | None:
    """Create the first administrator if the register has none; return its password and TOTP secret."""
    with uow_factory() as uow:
        if uow.staff.count_role("admin"):
            return None
    password = secrets.token_urlsafe(12)
    return password, create_staff(uow_factory, username, "システム管理者", "admin", password)
