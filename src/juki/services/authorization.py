"""Permission checks in the service layer: a denied call changes nothing and is logged (III リスク対策)."""

from __future__ import annotations

from juki.domain.errors import Forbidden
from juki.policy.roles import Actor
from juki.services.audit import LogEntry
from juki.services.unit_of_work import UnitOfWorkFactory


def authorize(
    uow_factory: UnitOfWorkFactory, actor: Actor, permission: str, action: str, targets: tuple[str, ...] = ()
) -> None:
    if actor.may(permission):
        return
    with uow_factory() as uow:
        uow.log(actor, LogEntry(action, targets, result="denied", detail=permission))
        uow.commit()
    raise Forbidden("この操作を行う権限がありません")
