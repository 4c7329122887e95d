"""The 庁内連携 feed: the register's changes as each department system may have them (番号法9条, 住基法; docs/transfer.md).

Each department system reads the outbox (docs/events.md) in commit order through `changes_for`: every register
event and every `ProtectionChanged` (標準仕様書 j420: holds go to other systems), each carrying the change reason,
dates and the record after the change projected onto the system's items (transfer/projection.py), and
`"protected"`: whether a 支援措置 or a hold other systems must keep covers the person now (j1190: the protected
person's data goes too, flagged; a temporary release is never passed on, j410). `full_extract` gives every current
record (除票 included: the seed's scope is 市内の住民 ※消除者を含む) for a first load.

These take no actor: the callers are trusted system code — the pull API has authorised the client first, the file
and NATS feeds run as a configured system. Each delivery is logged by `log_delivery` in the operation log, as the
system, with the persons, the items, the 事務 and their legal bases (the disclosure package lists it).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from juki.domain.errors import NotFound
from juki.domain.events import PROTECTION_CHANGED
from juki.domain.model import record_from_row, to_plain
from juki.policy.roles import STAFF_ADMIN, Actor
from juki.services import protection
from juki.services.audit import LogEntry, utc
from juki.services.authorization import authorize
from juki.services.read_models import OutboxEntry
from juki.services.unit_of_work import UnitOfWork, UnitOfWorkFactory
from juki.transfer import policy as transfer_policy
from juki.transfer.items import MY_NUMBER
from juki.transfer.policy import DepartmentSystem, Policy
from juki.transfer.ports import store_of
from juki.transfer.projection import in_population, project, selected_items

DEFAULT_LIMIT = 500
MAX_LIMIT = 1000
# How far one call reads past changes a system does not receive (its population) before it answers "caught up".
MAX_SCAN = 20_000
ROLE = "department_system"  # policy/roles.py: a system's role, never an account's
PROTECTION_REASONS = {
    "set": "支援措置等の設定",
    "extended": "支援措置等の延長",
    "confirmed": "支援措置等の確定",
    "ended": "支援措置等の終了",
}


class UnknownSystem(NotFound):
    default_message = "庁内連携の業務システムが登録されていません"
    default_field = "system_id"


@dataclass
class FeedPage:
    changes: list[dict[str, Any]]  # what the pull API answers, for this system, in commit order
    next: int  # the outbox position to continue after (equal to `after` on an empty page)
    persons: list[str]  # whom the page names (宛名番号), for the delivery log
    items: list[str]  # the items it carries
    head: int = 0  # the outbox's last committed position when the page was read


# --- the policy in force ------------------------------------------------------------------------------------------


def stored_policy(uow_factory: UnitOfWorkFactory) -> Policy:
    """The seed with the latest stored amendment (transfer/policy.py); the seed alone when there is none."""
    with uow_factory() as uow:
        return policy_in(uow)


def policy_in(uow: UnitOfWork) -> Policy:
    """The policy in force, read in this unit of work (a version is history: each is built once per process)."""
    row = store_of(uow).latest_policy()
    if row is None:
        return transfer_policy.seed()
    key = [row.version, utc(row.changed_at).isoformat(), row.changed_by, row.reason, row.document]
    return _amended(json.dumps(key, sort_keys=True, ensure_ascii=False))


@lru_cache(maxsize=16)
def _amended(key: str) -> Policy:
    version, changed_at, changed_by, reason, document = json.loads(key)
    at = datetime.fromisoformat(changed_at)
    return transfer_policy.amended(transfer_policy.seed(), document, version, changed_by, at, reason)


def system_of(uow_factory: UnitOfWorkFactory, system_id: str) -> DepartmentSystem:
    with uow_factory() as uow:
        return system_in(uow, system_id)


def system_in(uow: UnitOfWork, system_id: str) -> DepartmentSystem:
    system = policy_in(uow).system(system_id)
    if system is None:
        raise UnknownSystem()
    return system


def amend_policy(
    uow_factory: UnitOfWorkFactory, actor: Actor, document: Mapping[str, Any], reason: str
) -> Policy:
    """A new version of the policy: checked by applying it to the seed, stored with who and when, logged."""
    authorize(uow_factory, actor, STAFF_ADMIN, "transfer:policy")
    base = transfer_policy.seed()
    with uow_factory() as uow:
        store = store_of(uow)
        transfer_policy.amended(base, document, 0, actor.staff_id, uow.now, reason)  # refuses a bad one
        values = {
            "changed_at": uow.now,
            "changed_by": actor.staff_id,
            "reason": reason,
            "document": dict(document),
        }
        version = store.add_policy_version(values)
        uow.log(actor, LogEntry("transfer:policy", detail=f"庁内連携ポリシー 第{version}版: {reason}"[:500]))
        uow.commit()
    return stored_policy(uow_factory)


# --- the feed -----------------------------------------------------------------------------------------------------


def changes_for(
    uow_factory: UnitOfWorkFactory,
    system_id: str,
    after: int,
    limit: int = DEFAULT_LIMIT,
    *,
    fields: frozenset[str] | None = None,
    include_my_number: bool = False,
    deliver: tuple[str, str] | None = None,
) -> FeedPage:
    """The changes after `after` this system may have, oldest first, at most `limit`.

    `fields` narrows the record to some items, `include_my_number` adds the 個人番号: either beyond the system's
    basis is refused (transfer/projection.OutsideBasis, 403) before anything is read. `deliver` (client id,
    channel): the page is logged as delivered in the transaction that reads it (the pull API), so no page leaves
    unlogged. `after` beyond the outbox's end reads nothing: the page's `head` tells the caller.
    """
    limit = max(1, min(limit, MAX_LIMIT))
    with uow_factory() as uow:
        system = system_in(uow, system_id)
        items = selected_items(system, fields, include_my_number)
        head = store_of(uow).outbox_head()
        scanned, position = 0, after
        rows: list[OutboxEntry] = []
        while not rows and scanned < MAX_SCAN:
            batch = uow.queries.outbox(position, limit)
            if not batch:
                break
            scanned += len(batch)
            position = batch[-1].seq
            rows = [r for r in batch if in_population(system, r.record)]
        if not rows:
            return FeedPage([], after, [], sorted(items), head)
        changes = _changes(uow, rows, items)
        persons = sorted({c["addressee_number"] for c in changes})
        if deliver is not None:
            client_id, channel = deliver
            entry = _entry(system, persons, sorted(items), channel, "transfer:deliver", "")
            uow.log(system_actor(system, channel, client_id), entry)
            uow.commit()
    return FeedPage(changes, position, persons, sorted(items), head)


def _changes(uow: UnitOfWork, rows: list[OutboxEntry], items: frozenset[str]) -> list[dict[str, Any]]:
    protected = _protected(uow, _households(uow, {r.addressee_number for r in rows}))
    numbers = _my_numbers(uow, rows) if MY_NUMBER in items else {}
    changes = []
    for row in rows:
        body = row.payload or {}
        is_protection = row.event == PROTECTION_CHANGED
        record = project(_record(row.addressee_number, row.version, row.record), items)
        number = numbers.get((row.addressee_number, row.version))
        if number is not None:
            record[MY_NUMBER] = number
        changes.append(
            {
                "sequence": row.seq,
                "event": row.event,
                "addressee_number": row.addressee_number,
                "version": row.version,
                "change_reason": PROTECTION_REASONS.get(body.get("action", ""), "支援措置等の変更")
                if is_protection
                else row.change_reason,
                "changed_on": row.changed_on.isoformat(),
                "filed_on": body.get("filed_on") or row.changed_on.isoformat(),
                "record": record,
                "protected": row.addressee_number in protected,
            }
        )
    return changes


def _record(addressee_number: str, version: int, stored: Mapping[str, Any]) -> dict[str, Any]:
    """A version's snapshot as `GET /residents/{n}` names it (without the 個人番号)."""
    record = to_plain(record_from_row(stored, None))
    record.pop(MY_NUMBER, None)
    return {"addressee_number": addressee_number, "status": record["status"], "version": version, **record}


def _households(uow: UnitOfWork, persons: set[str]) -> list[tuple[str, str]]:
    """(宛名番号, 世帯番号 now) of each person: a household measure covers whoever is in the household now."""
    pairs = []
    for number in sorted(persons):
        row = uow.queries.resident(number)
        if row is not None:
            pairs.append((number, row.household_number))
    return pairs


def _protected(uow: UnitOfWork, pairs: list[tuple[str, str]]) -> set[str]:
    """Of these persons, those a measure other systems keep covers now: a 支援措置, or a 交付制限 (a hold of
    certificates at error level; j410, j420). A temporary release does not count (`for_other_systems`)."""
    return {
        p
        for operation in ("view", "certificate")
        for _, covered in protection.measures_holding(uow, pairs, operation, True, "error")
        for p in covered
    }


def _my_numbers(uow: UnitOfWork, rows: list[OutboxEntry]) -> dict[tuple[str, int], str]:
    """The 個人番号 each change's version holds (opened only for a system whose basis includes it)."""
    wanted = {(r.addressee_number, r.version) for r in rows if r.has_my_number}
    found: dict[tuple[str, int], str] = {}
    for number in sorted({n for n, _ in wanted}):
        for v in uow.queries.history(number):
            if (number, v.version) in wanted and v.my_number is not None:
                found[(number, v.version)] = v.my_number
    return found


# --- the first load -----------------------------------------------------------------------------------------------


def head(uow_factory: UnitOfWorkFactory) -> int:
    """The outbox's last committed position: where a system that loaded the full extract starts its feed."""
    with uow_factory() as uow:
        return store_of(uow).outbox_head()


def extract_page(
    uow_factory: UnitOfWorkFactory,
    system_id: str,
    start: str = "",
    limit: int = DEFAULT_LIMIT,
    *,
    fields: frozenset[str] | None = None,
    include_my_number: bool = False,
) -> tuple[list[dict[str, Any]], str | None]:
    """Current records after 宛名番号 `start`, in 宛名番号 order, projected; and the 宛名番号 to continue after (None
    at the end). 除票 are included."""
    system = system_of(uow_factory, system_id)
    items = selected_items(system, fields, include_my_number)
    limit = max(1, min(limit, MAX_LIMIT))
    with uow_factory() as uow:
        numbers = store_of(uow).residents_after(start, limit)
        records: list[dict[str, Any]] = []
        pairs: list[tuple[str, str]] = []
        for number in numbers:
            row = uow.queries.resident(number)
            if row is None:
                continue
            record = _record(number, row.version, row.record)
            if not in_population(system, record):
                continue
            shown = project(record, items)
            if MY_NUMBER in items and row.has_my_number:
                shown[MY_NUMBER] = row.my_number
            records.append({"addressee_number": number, "record": shown})
            pairs.append((number, row.household_number))
        protected = _protected(uow, pairs)
    for r in records:
        r["protected"] = r["addressee_number"] in protected
    return records, (numbers[-1] if len(numbers) == limit else None)


def full_extract(
    uow_factory: UnitOfWorkFactory,
    system_id: str,
    *,
    fields: frozenset[str] | None = None,
    include_my_number: bool = False,
) -> Iterator[dict[str, Any]]:
    """Every current record the system may have, projected, one at a time (除票 included)."""
    start: str | None = ""
    while start is not None:
        records, start = extract_page(
            uow_factory, system_id, start, MAX_LIMIT, fields=fields, include_my_number=include_my_number
        )
        yield from records


# --- the delivery log ---------------------------------------------------------------------------------------------


def system_actor(system: DepartmentSystem, channel: str, client_id: str | None = None) -> Actor:
    """The system as the operation log names it: its client (or its id), its role, the channel as its terminal."""
    return Actor(client_id or system.system_id, system.name, ROLE, channel, system.department, "transfer")


def procedure_label(system: DepartmentSystem) -> str:
    """ "庁内連携（別紙2 8,11,12…）": the 事務 a delivery serves, as the disclosure package shows it (60 characters)."""
    sheets: dict[str, list[str]] = {}
    for row in system.procedures:
        sheets.setdefault(row.sheet, []).append(str(row.no))
    label = "庁内連携（" + " ".join(f"{s} {','.join(nos)}" for s, nos in sheets.items()) + "）"
    return label if len(label) <= 60 else label[:59] + "…"


def log_delivery(
    uow_factory: UnitOfWorkFactory,
    system_id: str,
    persons: list[str],
    items: list[str],
    channel: str,
    *,
    client_id: str | None = None,
    action: str = "transfer:deliver",
    detail: str = "",
) -> None:
    """One operation-log entry for a delivery: the system, when, which persons, which items, for which 事務 on which
    legal basis (the disclosure package and the auditor read it). A delivery naming nobody is logged too."""
    with uow_factory() as uow:
        system = system_in(uow, system_id)
        entry = _entry(system, persons, items, channel, action, detail)
        uow.log(system_actor(system, channel, client_id), entry)
        uow.commit()


def _entry(
    system: DepartmentSystem, persons: list[str], items: list[str], channel: str, action: str, detail: str
) -> LogEntry:
    text = f"{system.name} {channel} {len(persons)}名 {detail}".strip()
    return LogEntry(
        action,
        sorted(set(persons)),
        my_number_shown=MY_NUMBER in items and bool(persons),
        detail=f"{text} 項目: {','.join(sorted(items))} 根拠: {' / '.join(system.bases())}",
        procedure=procedure_label(system),
        facts={
            "system": system.system_id,
            "channel": channel,
            "items": sorted(items),
            "procedures": system.row_keys(),
            "persons": len(set(persons)),
        },
    )


def log_refusal(
    uow_factory: UnitOfWorkFactory,
    system_id: str | None,
    action: str,
    reason: str,
    channel: str,
    client_id: str | None = None,
) -> None:
    """A refused request of a department system (an item beyond its basis, a cursor not its own …): logged as
    denied, with nothing given."""
    with uow_factory() as uow:
        system = policy_in(uow).system(system_id) if system_id else None
        actor = (
            system_actor(system, channel, client_id)
            if system is not None
            else Actor(
                client_id or "unknown-client",
                "庁内連携 未登録クライアント",
                ROLE,
                channel,
                procedure="transfer",
            )
        )
        uow.log(actor, LogEntry(action, result="denied", detail=reason[:500]))
        uow.commit()
