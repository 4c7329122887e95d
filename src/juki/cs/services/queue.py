"""Putting a change of a person into the file and the queue, in the person's order.

A change that passes the checks (cs/domain/notices.py) becomes one version of the file per notice, numbered with
the person's next 更新順番号, and a queued notice. One that fails goes to the error queue and is not applied;
every later change of that person waits behind it (held) until the operator has dealt with it, then is checked and
applied in turn (`release`). So the file, the 更新順番号 and the notices always follow the register's order.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from juki.cs.domain.items import Items, rebase, stamp
from juki.cs.domain.notices import Failure, Part, kind_of, plan
from juki.cs.services.ports import (
    DISCARDED,
    ERROR,
    HELD,
    OPEN_ERRORS,
    QUEUED,
    CsStore,
    Current,
    Entry,
    LogLine,
)
from juki.cs.wire import NoticeKind


@dataclass(frozen=True)
class Change:
    """One change of one person as the CS takes it in."""

    addressee_number: str
    change_reason: str
    event_position: int
    register_version: int
    household_changed: bool
    items: Items  # built from the event (cs/domain/items.build), not yet numbered
    staff_id: str  # who recorded it in the register: the CS log's operator
    terminal: str
    card: bool = False  # a 転入 with the 転出証明書情報 the CS held: a 特例転入 (住基法24条の2)


def admit(store: CsStore, change: Change) -> None:
    """The change into the file and the queue, or into the error queue, or held behind an earlier error."""
    waiting = store.waits(change.addressee_number)
    row = _row(change, 0) | {"state": HELD if waiting else ERROR}
    if waiting:
        entry = store.add_entry(row)
        _log(store, change, "intake", "held", "先の通知がエラーのため保留しました", entry)
        return
    outcome = _plan(store, change)
    if isinstance(outcome, Failure):
        entry = store.add_entry(row | _failure(outcome))
        _log(store, change, "intake", outcome.code, outcome.message, entry)
        return
    if not outcome:
        _log(store, change, "intake", "no_notice", "本人確認情報に変更がありません")
    for part_no, part in enumerate(outcome):
        _apply(store, change, part, None, part_no)


def _plan(store: CsStore, change: Change) -> list[Part] | Failure:
    current = store.current(change.addressee_number)
    previous = current.items if current else None
    items = rebase(change.items, change.change_reason, previous)
    return plan(change.change_reason, items, previous, change.household_changed, change.card)


def _row(change: Change, part: int) -> dict[str, object]:
    kind = kind_of(change.change_reason, change.card)
    return {
        "notice_id": uuid.uuid4().hex,
        "addressee_number": change.addressee_number,
        "change_reason": change.change_reason,
        "kind": kind.value if kind else change.change_reason,
        "event_position": change.event_position,
        "part": part,
        "register_version": change.register_version,
        "household_changed": change.household_changed,
        "items": change.items,
        "attempts": 0,
    }


def _failure(failure: Failure) -> dict[str, object]:
    return {"error_code": failure.code, "error_item": failure.item, "error_message": failure.message}


def _apply(
    store: CsStore, change: Change, part: Part, entry_id: int | None, part_no: int, corrected: bool = False
) -> int:
    """One notice: the next 更新順番号, a version of the file, and the notice queued (a new entry or `entry_id`)."""
    current = store.current(change.addressee_number)
    sequence = current.sequence + 1 if current else 1
    items = stamp(part.items, sequence, store.now.isoformat())
    if corrected:
        items = items | {"異常時更新順番号": str(entry_id)}  # it went through the error queue: which entry
    status = items.get("レコード状況フラグ") or "0"
    store.put_version(
        Current(change.addressee_number, sequence, change.register_version, status, True, items),
        part.kind.value,
    )
    values: dict[str, object] = {
        "kind": part.kind.value,
        "sequence": sequence,
        "items": items,
        "state": QUEUED,
    }
    values |= {"error_code": None, "error_item": None, "error_message": None, "next_attempt_at": None}
    if entry_id is None or part_no > 0:
        entry_id = store.add_entry(_row(change, part_no) | values)
    else:
        store.change_entry(entry_id, values)
    _log(
        store,
        change,
        "notice",
        "queued",
        f"{part.kind.value}を通知待ちにしました",
        entry_id,
        part.kind.value,
        sequence,
    )
    return entry_id


def retry(store: CsStore, entry: Entry, staff_id: str, terminal: str) -> Failure | None:
    """An entry out of the error queue (corrected or sent back): checked again; queued if it passes, and the
    person's held changes after it are taken in turn."""
    change = as_change(entry, staff_id, terminal)
    outcome = _plan(store, change)
    if isinstance(outcome, Failure):
        store.change_entry(entry.id, {"state": ERROR} | _failure(outcome))
        _log(store, change, "resend", outcome.code, outcome.message, entry.id)
        return outcome
    if not outcome:
        store.change_entry(entry.id, {"state": DISCARDED})
        _log(store, change, "resend", "no_notice", "本人確認情報に変更がありません", entry.id)
    for part_no, part in enumerate(outcome):
        _apply(store, change, part, entry.id, part_no, corrected=True)
    release(store, entry.addressee_number, staff_id, terminal)
    return None


def release(store: CsStore, addressee_number: str, staff_id: str, terminal: str) -> None:
    """The person's held changes, in order, until one fails (it becomes the error queue's entry)."""
    for entry in store.entries_of(addressee_number):
        if entry.state in OPEN_ERRORS:
            return
        if entry.state != HELD:
            continue
        change = as_change(entry, staff_id, terminal)
        outcome = _plan(store, change)
        if isinstance(outcome, Failure):
            store.change_entry(entry.id, {"state": ERROR} | _failure(outcome))
            _log(store, change, "release", outcome.code, outcome.message, entry.id)
            return
        if not outcome:
            store.change_entry(entry.id, {"state": DISCARDED})
        for part_no, part in enumerate(outcome):
            _apply(store, change, part, entry.id, part_no)


def as_change(entry: Entry, staff_id: str, terminal: str) -> Change:
    return Change(
        entry.addressee_number,
        entry.change_reason,
        entry.event_position,
        entry.register_version,
        entry.household_changed,
        entry.items,
        staff_id,
        terminal,
        entry.kind == NoticeKind.CARD_MOVE_IN.value,
    )


def is_death(entry: Entry) -> bool:
    return entry.kind == NoticeKind.DEATH.value


def _log(
    store: CsStore,
    change: Change,
    action: str,
    result: str,
    message: str,
    entry: int | None = None,
    kind: str | None = None,
    sequence: int | None = None,
) -> None:
    store.log(
        LogLine(
            action,
            result,
            message,
            change.staff_id,
            change.terminal,
            entry,
            change.addressee_number,
            kind,
            sequence,
        )
    )
