"""Staff accounts and sessions in SQL (read and written through the unit of work); rows are answered as the
services' read models (StaffAccount, StaffSession, WorkOrder)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, func, insert, select, update

from juki.adapters import tables as t
from juki.adapters.rows import model_or_none, models
from juki.services.ports import StaffStore, Values
from juki.services.read_models import StaffAccount, StaffSession, WorkOrder

_SESSION = t.sessions.c
# The session's own columns beside the account's (the account's created_at is its own; the session's is opened_at).
_SESSION_COLUMNS = (
    _SESSION.token_hash,
    _SESSION.created_at.label("opened_at"),
    _SESSION.expires_at,
    _SESSION.revoked,
    _SESSION.terminal,
)


class SqlStaffStore(StaffStore):
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def by_username(self, username: str) -> StaffAccount | None:
        row = self.conn.execute(select(t.staff).where(t.staff.c.username == username)).first()
        return model_or_none(StaffAccount, row)

    def add(self, values: Values) -> None:
        self.conn.execute(insert(t.staff).values(**values))

    def all(self) -> list[StaffAccount]:
        return models(StaffAccount, self.conn.execute(select(t.staff).order_by(t.staff.c.staff_id)))

    def by_id(self, staff_id: str) -> StaffAccount | None:
        row = self.conn.execute(select(t.staff).where(t.staff.c.staff_id == staff_id)).first()
        return model_or_none(StaffAccount, row)

    def change(self, staff_id: str, values: Values) -> None:
        self.conn.execute(update(t.staff).where(t.staff.c.staff_id == staff_id).values(**values))

    def revoke_all(self, staff_id: str) -> None:
        """End every session of an account (disabled, or its validity shortened)."""
        self.conn.execute(update(t.sessions).where(t.sessions.c.staff_id == staff_id).values(revoked=True))

    def count_role(self, role: str) -> int:
        q = select(func.count()).select_from(t.staff).where(t.staff.c.role == role)
        return int(self.conn.execute(q).scalar_one())

    def record_failure(self, staff_id: str) -> None:
        self.conn.execute(
            update(t.staff)
            .where(t.staff.c.staff_id == staff_id)
            .values(failed_logins=t.staff.c.failed_logins + 1)
        )

    def record_success(self, staff_id: str, otp_step: int | None) -> None:
        self.conn.execute(
            update(t.staff)
            .where(t.staff.c.staff_id == staff_id)
            .values(failed_logins=0, last_otp_step=otp_step)
        )

    def add_session(self, values: Values) -> None:
        self.conn.execute(insert(t.sessions).values(**values))

    def session(self, token_hash: str) -> StaffSession | None:
        row = self.conn.execute(
            select(t.staff, *_SESSION_COLUMNS)
            .join(t.sessions, t.staff.c.staff_id == _SESSION.staff_id)
            .where(_SESSION.token_hash == token_hash)
        ).first()
        return model_or_none(StaffSession, row)

    def revoke(self, token_hash: str) -> None:
        self.conn.execute(
            update(t.sessions).where(t.sessions.c.token_hash == token_hash).values(revoked=True)
        )

    def active_work_orders(self, contractor_id: str, now: datetime) -> list[WorkOrder]:
        c = t.work_orders.c
        return models(
            WorkOrder,
            self.conn.execute(
                select(t.work_orders)
                .where(
                    c.contractor_id == contractor_id,
                    c.valid_from <= now,
                    c.valid_until > now,
                    c.revoked_at.is_(None),
                )
                .order_by(c.valid_from)
            ),
        )

    def failures_from(self, terminal: str, since: datetime) -> int:
        """Failed sign-ins from one terminal since a moment (the operation log is the record of them)."""
        c = t.operation_log.c
        q = (
            select(func.count())
            .select_from(t.operation_log)
            .where(c.action == "auth:login", c.result == "failed", c.terminal == terminal, c.at >= since)
        )
        return int(self.conn.execute(q).scalar_one())

    def setting(self, key: str) -> str | None:
        value = self.conn.execute(select(t.settings.c.value).where(t.settings.c.key == key)).scalar()
        return None if value is None else str(value)

    def put_setting(self, key: str, value: str) -> None:
        done = self.conn.execute(update(t.settings).where(t.settings.c.key == key).values(value=value))
        if done.rowcount == 0:
            self.conn.execute(insert(t.settings).values(key=key, value=value))
