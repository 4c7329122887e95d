"""Staff accounts and sign-in: argon2id passwords, a TOTP second factor, bearer tokens stored only as hashes."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, insert, select, update

from juki.adapters import tables as t
from juki.domain.errors import InvalidField, Unauthenticated
from juki.policy.roles import PROCEDURE_REGISTER, ROLES, Actor
from juki.services.audit import LogEntry
from juki.services.unit_of_work import UnitOfWorkFactory, utc_now

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
_REFUSED = "ユーザー名、パスワードまたはワンタイムコードが正しくありません"


@dataclass(frozen=True)
class Token:
    access_token: str
    expires_in: int


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_staff(
    engine: Engine,
    username: str,
    display_name: str,
    role: str,
    password: str,
    department: str | None = None,
    is_demo: bool = False,
    totp_secret: str | None = None,
) -> str:
    if role not in ROLES:
        raise InvalidField(f"役割は {', '.join(ROLES)} のいずれかです", "role")
    secret = totp_secret or pyotp.random_base32()
    with engine.begin() as conn:
        conn.execute(
            insert(t.staff).values(
                staff_id=username,
                username=username,
                display_name=display_name,
                role=role,
                department=department,
                password_hash=_hasher.hash(password),
                totp_secret=secret,
                active=True,
                is_demo=is_demo,
                failed_logins=0,
                last_otp_step=None,
                created_at=utc_now(),
            )
        )
    return secret


def _actor(row: Any, terminal: str) -> Actor:
    return Actor(row.staff_id, row.display_name, row.role, terminal, row.department)


def _check_otp(row: Any, otp: str, now: float) -> int | None:
    """The TOTP step the code matches (±1 step for clock drift), if it is newer than the last one used."""
    totp = pyotp.TOTP(row.totp_secret)
    step = int(now // totp.interval)
    for candidate in (step, step - 1, step + 1):
        if secrets.compare_digest(totp.generate_otp(candidate), otp.strip()):
            if row.last_otp_step is not None and candidate <= row.last_otp_step:
                return None  # a replayed code is refused (API.md)
            return candidate
    return None


def login(
    engine: Engine,
    uow_factory: UnitOfWorkFactory,
    username: str,
    password: str,
    otp: str,
    terminal: str,
    ttl_seconds: int,
    max_failures: int,
    demo_allowed: bool = True,
) -> Token:
    with engine.begin() as conn:
        row = conn.execute(select(t.staff).where(t.staff.c.username == username)).first()
        ok = (
            row is not None
            and row.active
            and row.failed_logins < max_failures
            and (demo_allowed or not row.is_demo)
        )
        try:
            ok = ok and row is not None and _hasher.verify(row.password_hash, password)
        except (VerificationError, InvalidHashError):
            ok = False
        step = _check_otp(row, otp, time.time()) if ok and row is not None else None
        if row is not None and (not ok or step is None):
            conn.execute(
                update(t.staff)
                .where(t.staff.c.staff_id == row.staff_id)
                .values(failed_logins=t.staff.c.failed_logins + 1)
            )
    if row is None or not ok or step is None:
        actor = _actor(row, terminal) if row else Actor(username[:40], "(不明)", "none", terminal)
        _log(uow_factory, actor, "auth:login", "failed")
        raise Unauthenticated(_REFUSED)
    token = secrets.token_urlsafe(32)
    now = utc_now()
    with engine.begin() as conn:
        conn.execute(
            update(t.staff)
            .where(t.staff.c.staff_id == row.staff_id)
            .values(failed_logins=0, last_otp_step=step)
        )
        conn.execute(
            insert(t.sessions).values(
                token_hash=_digest(token),
                staff_id=row.staff_id,
                created_at=now,
                expires_at=now + timedelta(seconds=ttl_seconds),
                revoked=False,
                terminal=terminal[:100],
            )
        )
    _log(uow_factory, _actor(row, terminal), "auth:login", "ok")
    return Token(token, ttl_seconds)


def authenticate(engine: Engine, token: str) -> Actor:
    with engine.connect() as conn:
        row = conn.execute(
            select(t.sessions, t.staff)
            .join(t.staff, t.staff.c.staff_id == t.sessions.c.staff_id)
            .where(t.sessions.c.token_hash == _digest(token))
        ).first()
    if row is None or row.revoked or not row.active:
        raise Unauthenticated("認証が必要です")
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=utc_now().tzinfo)
    if expires <= utc_now():
        raise Unauthenticated("認証の有効期限が切れました")
    return _actor(row, row.terminal)


def logout(engine: Engine, uow_factory: UnitOfWorkFactory, token: str, actor: Actor) -> None:
    with engine.begin() as conn:
        conn.execute(update(t.sessions).where(t.sessions.c.token_hash == _digest(token)).values(revoked=True))
    _log(uow_factory, actor, "auth:logout", "ok")


def _log(uow_factory: UnitOfWorkFactory, actor: Actor, action: str, result: str) -> None:
    with uow_factory() as uow:
        uow.log(actor, LogEntry(action, PROCEDURE_REGISTER, result=result))
        uow.commit()
