"""Staff administration that the CLI needs before anyone can sign in."""

from __future__ import annotations

import secrets

from sqlalchemy import Engine, func, select

from juki.adapters import tables as t
from juki.services.auth import create_staff


def first_administrator(engine: Engine, username: str) -> tuple[str, str] | None:
    """Create the first administrator if the register has none; return its password and TOTP secret."""
    with engine.connect() as conn:
        admins = conn.execute(
            select(func.count()).select_from(t.staff).where(t.staff.c.role == "admin")
        ).scalar_one()
    if admins:
        return None
    password = secrets.token_urlsafe(12)
    secret = create_staff(engine, username, "システム管理者", "admin", password)
    return password, secret
