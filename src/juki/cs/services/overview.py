"""What the CS operator's page shows: the notices counted by state, the latest notices, and the error queue.

The page is the CS operator's work under 住基法30条の6 (the CS holds and notifies everyone, a person under a 支援措置
too), so the error queue lists every entry, whoever it is about. Its names are still screened with
`juki.services.protection.screen` (標準仕様書 j440, as every read of the register that names a person): the CS
operator holds no `protection:view`, so a person under a blocking measure on views is listed by 住民票コード only —
no name, no items, and so no correction form, which would show them; sending back to the register (whose
supervisors may see the person), resending and discarding remain. Each such listing alerts the supervisors, as
every read of a protected person does. The latest notices carry no name (住民票コード, kind, 更新順番号, state),
so they are not screened. Nothing here ever holds the 個人番号.

A look at the page is one entry in the CS log and one in the register's operation log (`cs:overview`, the
persons listed as its targets), as `errors.list_errors` logs its listing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from juki.cs.domain.items import MY_NUMBER, Items
from juki.cs.services import errors
from juki.cs.services.ports import OPEN_ERRORS, CsTransaction, Entry, LogLine, NoticeLine
from juki.domain.errors import InvalidField
from juki.policy.roles import CS_OPERATE, Actor
from juki.services import protection
from juki.services.audit import LogEntry
from juki.services.authorization import authorize
from juki.services.unit_of_work import UnitOfWorkFactory

LATEST = 30  # notices on the page: enough for a morning's counter at a glance; the CS log keeps the rest
ERRORS_SHOWN = 50  # entries on the page, oldest first: a person's later ones wait behind the first anyway
NAME = "漢字氏名"
RESIDENT_CODE = "住民票コード"
# What the operator may correct on the page: what the errors service allows, never the 個人番号.
EDITABLE = tuple(i for i in errors.CORRECTABLE if i != MY_NUMBER)


class NothingChanged(InvalidField):
    default_message = "変更された項目がありません"
    default_field = "items"


@dataclass(frozen=True)
class ErrorLine:
    """An entry of the error queue as the operator sees it (no 個人番号; no name or items if screened)."""

    entry: int
    resident_code: str | None
    name: str | None
    kind: str
    change_reason: str
    state: str
    code: str | None
    item: str | None
    message: str | None
    send_back_reason: str | None
    protected: bool
    items: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Overview:
    counts: Mapping[str, int]
    latest: list[NoticeLine]
    errors: list[ErrorLine]  # the oldest ERRORS_SHOWN
    errors_total: int


def overview(
    uow_factory: UnitOfWorkFactory, cs: CsTransaction, actor: Actor, limit: int = LATEST
) -> Overview:
    authorize(uow_factory, actor, CS_OPERATE, "cs:overview")
    with cs() as store:
        counts = store.state_counts()
        latest = store.latest(limit)
        waiting = store.entries(OPEN_ERRORS)
        entries = waiting[:ERRORS_SHOWN]
        store.log(LogLine("overview", "ok", f"エラー{len(entries)}件・通知{len(latest)}件", actor.staff_id,
                          actor.terminal))  # fmt: skip
    persons = sorted({e.addressee_number for e in entries} | {n.addressee_number for n in latest})
    with uow_factory() as uow:
        hidden = protection.screen(uow, actor, {e.addressee_number for e in entries}, "cs:overview")
        facts = {"errors": len(entries), "notices": len(latest)}
        uow.log(actor, LogEntry("cs:overview", persons, facts=facts))
        uow.commit()
    lines = [_line(e, e.addressee_number in hidden) for e in entries]
    return Overview(counts, latest, lines, len(waiting))


def _line(entry: Entry, protected: bool) -> ErrorLine:
    items = entry.items
    return ErrorLine(
        entry.id, items.get(RESIDENT_CODE), None if protected else items.get(NAME), entry.kind,
        entry.change_reason, entry.state, entry.error_code, entry.error_item, entry.error_message,
        entry.send_back_reason, protected, {} if protected else {i: items.get(i) for i in EDITABLE},
    )  # fmt: skip


def correct(
    uow_factory: UnitOfWorkFactory,
    cs: CsTransaction,
    actor: Actor,
    entry_id: int,
    posted: Mapping[str, str],
) -> list[str]:
    """The items the operator changed on the page's form (the others, as shown, are left alone), through
    `errors.correct`; the names of the items changed. An empty field clears the item."""
    authorize(uow_factory, actor, CS_OPERATE, "cs:error_correct", (f"cs-entry:{entry_id}",))
    refused = sorted(set(posted) - set(EDITABLE))
    if refused:
        raise errors.NotCorrectable("訂正できない項目です: " + "、".join(refused))
    with cs() as store:
        entry = store.entry(entry_id)
    if entry is None:
        raise errors.EntryNotFound()
    changes = _changes(entry.items, posted)
    if not changes:
        raise NothingChanged()
    errors.correct(uow_factory, cs, actor, entry_id, changes)
    return sorted(changes)


def _changes(items: Items, posted: Mapping[str, str]) -> dict[str, str | None]:
    changes: dict[str, str | None] = {}
    for item, text in posted.items():
        value = text.strip() or None
        if value != items.get(item):
            changes[item] = value
    return changes
