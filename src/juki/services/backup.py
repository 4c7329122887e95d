"""Backups (seed III: 管理権限を与えられた者以外、情報の複製は行えない): admin only, always logged."""

from __future__ import annotations

from pathlib import Path

from juki.adapters import backup as store
from juki.bootstrap import Juki
from juki.domain.errors import Forbidden, InvalidField
from juki.policy.roles import PROCEDURE_REGISTER, STAFF_ADMIN, Actor, allows
from juki.services.audit import LogEntry


def backup(j: Juki, actor: Actor, out: Path) -> int:
    if not allows(actor.role, STAFF_ADMIN):
        _log(j, actor, "backup", "denied", str(out))
        raise Forbidden("バックアップは管理者のみ行えます")
    count = store.dump(j.engine, out)
    _log(j, actor, "backup", "ok", f"{out} rows={count}")
    return count


def restore(j: Juki, actor: Actor, source: Path) -> int:
    if not store.is_empty(j.engine):
        raise InvalidField("復元先の住民基本台帳が空ではありません", "db")
    count = store.load(j.engine, source)
    _log(j, actor, "restore", "ok", f"{source} rows={count}")
    return count


def _log(j: Juki, actor: Actor, action: str, result: str, detail: str) -> None:
    with j.uow() as uow:
        uow.log(actor, LogEntry(action, PROCEDURE_REGISTER, result=result, detail=detail[:500]))
        uow.commit()
