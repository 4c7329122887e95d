"""Backups (seed III: 管理権限を与えられた者以外、情報の複製は行えない): admin only, always logged."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from pathlib import Path

from juki.domain.errors import Forbidden
from juki.policy.roles import BACKUP_TAKE, Actor
from juki.services import bulk_output
from juki.services.audit import LogEntry
from juki.services.bulk_output import check_witness
from juki.services.unit_of_work import UnitOfWorkFactory


def backup(
    uow_factory: UnitOfWorkFactory,
    actor: Actor,
    dump: Callable[[Path], int],
    out: Path,
    media: Mapping[str, str],
) -> int:
    """Write a backup and its media export record (witness, purpose, medium, row count, SHA-256 of the file)."""
    if not actor.may(BACKUP_TAKE):
        _log(uow_factory, actor, "backup", "denied", str(out))
        raise Forbidden("バックアップは管理者のみ行えます")
    check_witness(uow_factory, actor, media.get("witness_id", ""))
    count = dump(out)
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    _log(uow_factory, actor, "backup", "ok", f"{out} rows={count}")
    bulk_output.add_media_record(
        uow_factory, actor, {**media, "item_count": count, "sha256": digest, "output_id": None}
    )
    return count


def restore(uow_factory: UnitOfWorkFactory, actor: Actor, load: Callable[[Path], int], source: Path) -> int:
    count = load(source)
    _log(uow_factory, actor, "restore", "ok", f"{source} rows={count}")
    return count


def _log(uow_factory: UnitOfWorkFactory, actor: Actor, action: str, result: str, detail: str) -> None:
    with uow_factory() as uow:
        uow.log(actor, LogEntry(action, result=result, detail=detail[:500]))
        uow.commit()
