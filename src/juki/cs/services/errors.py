"""The error queue, for the CS operator: list, correct, send back to the register, resend, discard.

Every action is written twice: in the CS's own log, and in the register's hash-chained operation log through
the register's unit of work (so `juki audit verify` and the auditor's reports cover the CS). Neither log holds an
item's value: a correction names the items it changed, not what they became.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from juki.cs.domain.items import CHANGE_ITEMS, ITEMS, MY_NUMBER
from juki.cs.services.ports import (
    CORRECTED,
    DISCARDED,
    ERROR,
    OPEN_ERRORS,
    SENT_BACK,
    CsStore,
    CsTransaction,
    Entry,
    LogLine,
)
from juki.cs.services.queue import release, retry
from juki.domain.errors import Conflict, InvalidField, NotFound
from juki.policy.roles import CS_OPERATE, Actor
from juki.services.audit import Fact, LogEntry
from juki.services.authorization import authorize
from juki.services.unit_of_work import UnitOfWorkFactory

CORRECTABLE = tuple(i for i in ITEMS if i not in CHANGE_ITEMS)


class EntryNotFound(NotFound):
    default_message = "エラーキューにその番号はありません"
    default_field = "entry"


class EntryNotInState(Conflict):
    """The entry is not in a state that allows the action (e.g. resending an acknowledged notice)."""


class NotCorrectable(InvalidField):
    default_field = "items"


def list_errors(uow_factory: UnitOfWorkFactory, cs: CsTransaction, actor: Actor) -> list[dict[str, Any]]:
    """The entries waiting for the operator, oldest first; items without the 個人番号."""
    authorize(uow_factory, actor, CS_OPERATE, "cs:error_list")
    with cs() as store:
        entries = store.entries(OPEN_ERRORS)
        store.log(_line(actor, "error_list", "ok", f"{len(entries)}件"))
    with uow_factory() as uow:
        targets = sorted({e.addressee_number for e in entries})
        uow.log(actor, LogEntry("cs:error_list", targets, facts={"count": len(entries)}))
        uow.commit()
    return [_view(e) for e in entries]


def _view(entry: Entry) -> dict[str, Any]:
    return {
        "entry": entry.id,
        "addressee_number": entry.addressee_number,
        "kind": entry.kind,
        "change_reason": entry.change_reason,
        "state": entry.state,
        "code": entry.error_code,
        "item": entry.error_item,
        "message": entry.error_message,
        "send_back_reason": entry.send_back_reason,
        "items": {k: v for k, v in entry.items.items() if k != MY_NUMBER},
    }


def correct(
    uow_factory: UnitOfWorkFactory,
    cs: CsTransaction,
    actor: Actor,
    entry_id: int,
    changes: Mapping[str, str | None],
) -> None:
    """New values for some of an entry's items (not the change's own items: 異動事由, 更新順番号 …)."""
    unknown = sorted(set(changes) - set(CORRECTABLE))
    if unknown:
        raise NotCorrectable("訂正できない項目です: " + "、".join(unknown))
    names = "、".join(sorted(changes))
    _authorize(uow_factory, actor, "error_correct", entry_id)
    with cs() as store:
        entry = _entry(store, entry_id, (ERROR, SENT_BACK, CORRECTED))
        store.change_entry(entry.id, {"items": entry.items | dict(changes), "state": CORRECTED})
        _both(uow_factory, store, actor, entry, "error_correct", f"訂正した項目: {names}")


def send_back(
    uow_factory: UnitOfWorkFactory, cs: CsTransaction, actor: Actor, entry_id: int, reason: str
) -> None:
    """Back to the register (差戻し): its staff correct the record; the correction arrives as a new change."""
    _authorize(uow_factory, actor, "error_send_back", entry_id)
    with cs() as store:
        entry = _entry(store, entry_id, (ERROR, CORRECTED))
        store.change_entry(entry.id, {"state": SENT_BACK, "send_back_reason": reason})
        _both(uow_factory, store, actor, entry, "error_send_back", f"既存住基へ差戻し: {reason}")


def resend(uow_factory: UnitOfWorkFactory, cs: CsTransaction, actor: Actor, entry_id: int) -> str | None:
    """Check the entry again and queue it; the error code when it still fails (it stays in the error queue)."""
    _authorize(uow_factory, actor, "error_resend", entry_id)
    with cs() as store:
        entry = _entry(store, entry_id, OPEN_ERRORS)
        failure = retry(store, entry, actor.staff_id, actor.terminal)
        result = failure.code if failure else "queued"
        _both(uow_factory, store, actor, entry, "error_resend", f"再送: {result}", result)
    return failure.code if failure else None


def discard(
    uow_factory: UnitOfWorkFactory, cs: CsTransaction, actor: Actor, entry_id: int, reason: str | None = None
) -> None:
    """A sent-back entry that the register's own correction has superseded: never sent; what waited behind it
    goes on. The operator's reason, when given, is kept in both logs."""
    _authorize(uow_factory, actor, "error_discard", entry_id)
    with cs() as store:
        entry = _entry(store, entry_id, (SENT_BACK,))
        store.change_entry(entry.id, {"state": DISCARDED})
        release(store, entry.addressee_number, actor.staff_id, actor.terminal)
        message = "差戻し済みの通知を取り下げ" + (f": {reason}" if reason else "")
        _both(uow_factory, store, actor, entry, "error_discard", message)


def _authorize(uow_factory: UnitOfWorkFactory, actor: Actor, action: str, entry_id: int) -> None:
    authorize(uow_factory, actor, CS_OPERATE, f"cs:{action}", (f"cs-entry:{entry_id}",))


def _entry(store: CsStore, entry_id: int, states: tuple[str, ...]) -> Entry:
    entry = store.entry(entry_id)
    if entry is None:
        raise EntryNotFound()
    if entry.state not in states:
        raise EntryNotInState(f"この操作はできない状態です（{entry.state}）")
    return entry


def _both(
    uow_factory: UnitOfWorkFactory,
    store: CsStore,
    actor: Actor,
    entry: Entry,
    action: str,
    message: str,
    result: str = "ok",
) -> None:
    """The action into the CS log and the register's operation log."""
    store.log(_line(actor, action, result, message, entry))
    with uow_factory() as uow:
        detail = f"CSエラーキュー{entry.id}（{entry.kind}）: {message}"
        facts: dict[str, Fact] = {"entry": entry.id, "kind": entry.kind, "result": result}
        uow.log(actor, LogEntry(f"cs:{action}", [entry.addressee_number], detail=detail, facts=facts))
        uow.commit()


def _line(actor: Actor, action: str, result: str, message: str, entry: Entry | None = None) -> LogLine:
    return LogLine(
        action, result, message, actor.staff_id, actor.terminal,
        entry.id if entry else None, entry.addressee_number if entry else None, entry.kind if entry else None,
        entry.sequence if entry else None,
    )  # fmt: skip
