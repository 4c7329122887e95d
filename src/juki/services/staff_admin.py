"""Staff accounts and contractors' work orders (標準仕様書 j1380).

- Administrators create, disable and unlock accounts (no resident data). Every account may have a validity
  period; a contractor's (委託先) account must have one.
- A supervisor gives a contractor work orders: a procedure, the permissions needed (never more than the
  procedure lets a contractor have, never a My Number), a purpose and a period. The contractor can do nothing
  else, and everything it does is logged like everyone's work.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from juki.domain.dates import parse_date
from juki.domain.errors import Conflict, InvalidDate, InvalidField, NotFound, Required, StaffNotFound
from juki.domain.intake import free_text
from juki.policy.roles import PROCEDURES, STAFF_ADMIN, WORK_ORDER_MANAGE, Actor
from juki.services import auth
from juki.services.audit import LogEntry
from juki.services.authorization import authorize
from juki.services.read_models import StaffAccount, WorkOrder
from juki.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

MAX_WORK_ORDER_DAYS = 366


def _moment(value: Any, field: str) -> datetime:
    """An ISO date-time with an offset, or a date (ISO or 和暦), taken as that day's midnight UTC."""
    if not isinstance(value, str) or not value:
        raise Required(field=field)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        day = parse_date(value, field)
        moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
    if moment.tzinfo is None:
        raise InvalidDate("時刻にはタイムゾーンを付けてください", field)
    return moment.astimezone(UTC)


def staff_view(row: StaffAccount) -> dict[str, Any]:
    return {
        "staff_id": row.staff_id,
        "username": row.username,
        "display_name": row.display_name,
        "role": row.role,
        "department": row.department,
        "active": row.active,
        "locked": row.failed_logins > 0,
        "failed_logins": row.failed_logins,
        "valid_until": row.valid_until.isoformat() if row.valid_until else None,
    }


def _account(uow: UnitOfWork, staff_id: str) -> StaffAccount:
    row = uow.staff.by_id(staff_id)
    if row is None:
        raise StaffNotFound()
    return row


def list_staff(uow_factory: UnitOfWorkFactory, actor: Actor) -> dict[str, Any]:
    authorize(uow_factory, actor, STAFF_ADMIN, "staff:list")
    with uow_factory() as uow:
        rows = uow.staff.all()
        uow.log(actor, LogEntry("staff:list"))
        uow.commit()
    return {"staff": [staff_view(r) for r in rows]}


def create(uow_factory: UnitOfWorkFactory, actor: Actor, payload: Mapping[str, Any]) -> dict[str, Any]:
    """A new account; its first password and TOTP secret are shown once, to be handed over in person."""
    authorize(uow_factory, actor, STAFF_ADMIN, "staff:create")
    username = free_text(payload, "username", 40)
    if not username.isascii() or not username.replace("-", "").replace("_", "").isalnum():
        raise InvalidField("ユーザー名は半角英数字・ハイフン・下線です", "username")
    role = free_text(payload, "role", 20)
    valid_until = _moment(payload["valid_until"], "valid_until") if payload.get("valid_until") else None
    if role == "contractor" and valid_until is None:
        raise InvalidField("委託先のアカウントには有効期限が必要です", "valid_until")
    with uow_factory() as uow:
        if uow.staff.by_username(username) is not None:
            raise Conflict("このユーザー名は使われています", "username")
        if valid_until is not None and valid_until <= uow.now:
            raise InvalidDate("有効期限が過去です", "valid_until")
    password = secrets.token_urlsafe(12)
    department = payload.get("department")
    secret = auth.create_staff(
        uow_factory,
        username,
        free_text(payload, "display_name", 100),
        role,
        password,
        department=department if isinstance(department, str) and department else None,
        valid_until=valid_until,
    )
    with uow_factory() as uow:
        uow.log(actor, LogEntry("staff:create", detail=f"{username} role={role}"))
        uow.commit()
        row = _account(uow, username)
    return {**staff_view(row), "initial_password": password, "totp_secret": secret}


def reset_password(uow_factory: UnitOfWorkFactory, actor: Actor, staff_id: str) -> dict[str, Any]:
    """A new first password for someone who forgot theirs (shown once); their sessions end."""
    authorize(uow_factory, actor, STAFF_ADMIN, "staff:reset_password")
    with uow_factory() as uow:
        _account(uow, staff_id)
    password = auth.reset_password(uow_factory, staff_id)
    with uow_factory() as uow:
        uow.log(actor, LogEntry("staff:reset_password", detail=staff_id))
        uow.commit()
        return {**staff_view(_account(uow, staff_id)), "initial_password": password}


def _change_account(
    uow_factory: UnitOfWorkFactory, actor: Actor, staff_id: str, action: str, values: dict[str, Any]
) -> dict[str, Any]:
    authorize(uow_factory, actor, STAFF_ADMIN, action)
    with uow_factory() as uow:
        _account(uow, staff_id)
        if staff_id == actor.staff_id and values.get("active") is False:
            raise InvalidField("自分のアカウントは無効にできません", "staff_id")
        uow.staff.change(staff_id, values)
        if values.get("active") is False:
            uow.staff.revoke_all(staff_id)
        uow.log(actor, LogEntry(action, detail=staff_id))
        uow.commit()
        return staff_view(_account(uow, staff_id))


def unlock(uow_factory: UnitOfWorkFactory, actor: Actor, staff_id: str) -> dict[str, Any]:
    """Reset the failure count of a locked-out account (after checking who the staff member is)."""
    return _change_account(uow_factory, actor, staff_id, "staff:unlock", {"failed_logins": 0})


def disable(uow_factory: UnitOfWorkFactory, actor: Actor, staff_id: str) -> dict[str, Any]:
    return _change_account(uow_factory, actor, staff_id, "staff:disable", {"active": False})


# --- work orders ----------------------------------------------------------------------------------------------


def order_view(row: WorkOrder, now: datetime | None = None) -> dict[str, Any]:
    def aware(at: datetime) -> datetime:
        return at if at.tzinfo else at.replace(tzinfo=UTC)

    active = (
        now is not None and row.revoked_at is None and aware(row.valid_from) <= now < aware(row.valid_until)
    )
    return {
        "order_id": row.order_id,
        "contractor_id": row.contractor_id,
        "procedure": row.procedure,
        "permissions": list(row.permissions),
        "purpose": row.purpose,
        "valid_from": aware(row.valid_from).isoformat(),
        "valid_until": aware(row.valid_until).isoformat(),
        "issued_by": row.issued_by,
        "revoked": row.revoked_at is not None,
        "active": active,
    }


def _work_order(uow: UnitOfWork, order_id: str) -> WorkOrder:
    row = uow.controls.work_order(order_id)
    if row is None:
        raise NotFound("該当する作業指示がありません", "order_id")
    return row


def give_work_order(
    uow_factory: UnitOfWorkFactory, actor: Actor, payload: Mapping[str, Any]
) -> dict[str, Any]:
    authorize(uow_factory, actor, WORK_ORDER_MANAGE, "work_order:give")
    contractor_id = free_text(payload, "contractor_id", 40)
    procedure = free_text(payload, "procedure", 40)
    if procedure not in PROCEDURES:
        raise InvalidField("事務の指定が正しくありません", "procedure")
    ceiling = PROCEDURES[procedure].grants.get("contractor", frozenset())
    wanted = payload.get("permissions")
    if not isinstance(wanted, list) or not wanted or not all(isinstance(p, str) for p in wanted):
        raise InvalidField("権限を1つ以上指定してください", "permissions")
    beyond = sorted(set(wanted) - ceiling)
    if beyond:
        raise InvalidField(f"委託先に与えられない権限です: {', '.join(beyond)}", "permissions")
    valid_from = _moment(payload.get("valid_from"), "valid_from")
    valid_until = _moment(payload.get("valid_until"), "valid_until")
    if valid_until <= valid_from:
        raise InvalidDate("終了が開始より前です", "valid_until")
    if valid_until - valid_from > timedelta(days=MAX_WORK_ORDER_DAYS):
        raise InvalidDate("作業指示の期間は1年以内です", "valid_until")
    with uow_factory() as uow:
        contractor = uow.staff.by_id(contractor_id)
        if contractor is None or contractor.role != "contractor":
            raise InvalidField("委託先のアカウントを指定してください", "contractor_id")
        order_id = uow.controls.add_work_order(
            {
                "contractor_id": contractor_id,
                "procedure": procedure,
                "permissions": sorted(set(wanted)),
                "purpose": free_text(payload, "purpose", 500),
                "valid_from": valid_from,
                "valid_until": valid_until,
                "issued_by": actor.staff_id,
                "issued_at": uow.now,
            }
        )
        uow.log(actor, LogEntry("work_order:give", detail=f"{order_id} {contractor_id} {procedure}"))
        uow.commit()
        return order_view(_work_order(uow, order_id), uow.now)


def list_work_orders(
    uow_factory: UnitOfWorkFactory, actor: Actor, contractor_id: str | None = None
) -> dict[str, Any]:
    authorize(uow_factory, actor, WORK_ORDER_MANAGE, "work_order:list")
    with uow_factory() as uow:
        rows = uow.controls.work_orders(contractor_id)
        uow.log(actor, LogEntry("work_order:list", detail=contractor_id or ""))
        uow.commit()
        return {"work_orders": [order_view(r, uow.now) for r in rows]}


def revoke_work_order(uow_factory: UnitOfWorkFactory, actor: Actor, order_id: str) -> dict[str, Any]:
    authorize(uow_factory, actor, WORK_ORDER_MANAGE, "work_order:revoke")
    with uow_factory() as uow:
        _work_order(uow, order_id)
        uow.controls.revoke_work_order(order_id, uow.now)
        uow.log(actor, LogEntry("work_order:revoke", detail=order_id))
        uow.commit()
        return order_view(_work_order(uow, order_id), uow.now)
