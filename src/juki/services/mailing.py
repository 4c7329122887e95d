"""送付先情報 for the 個人番号通知書, the register's side (個人番号カード省令23条の2; docs/mailing.md).

- **Built with the number.** `on_assigned(settings)` is the hook the CS gives `numbers.assign`: in the transaction
  that sets the 個人番号 (指定 or 変更) it builds the person's record (domain/mailing.py) and stores it, so the
  number and its 送付先情報 commit together. A record of the person still open (not delivered) is replaced by it.
- **Taken by the CS** (`register:numbers`, CS_SYSTEM): `ready` lists what may go — ready or released, both print
  flags set (標準仕様書 j1090) — with its 31 items and the two flags; `delivered` and `refused` record what became
  of a record (J-LIS's 突合 found a mismatch: its code and the item, never a value).
- **At the counter** (`register:read` to list, `register:file` to act): records by state, screened like every list
  that names a person (`protection.screen`: the person and whom the record is addressed to); the two flags of a
  record not yet delivered; the release of a held record (built again from the register as it is now); a refused
  record built again (a new record; the old one kept).
- **居所 for delivery** (`protection:set`, the 支援措置 procedure): registered for a person under 支援措置, or ended;
  the person's open records are built again at once, so none goes to the address it no longer should.

Everything is appended (records, events, registrations): a record's state is its latest event. Every action is in
the operation log by record id and 宛名番号, never an address or a name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from juki.domain import mailing as m
from juki.domain.address import validate_postal_code
from juki.domain.errors import DomainError, InvalidField, Required, ResidentNotFound
from juki.domain.identifiers import validate_addressee_number
from juki.domain.intake import free_text
from juki.domain.model import ResidentRecord
from juki.domain.protection import OPERATIONS
from juki.policy.roles import (
    CS_SYSTEM,
    PROTECTION_SET,
    PROTECTION_VIEW,
    REGISTER_FILE,
    REGISTER_NUMBERS,
    REGISTER_READ,
    Actor,
)
from juki.services import protection
from juki.services.audit import LogEntry
from juki.services.authorization import authorize
from juki.services.ids import dated_id
from juki.services.numbers import Assigned, OnAssigned
from juki.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

MAX_LIMIT = 1000
FLAG_LENGTH = 20  # mailing_records.print_category / special_circumstance
REFUSAL_CODE = re.compile(r"[A-Za-z0-9_.\-]{1,60}")  # J-LIS's code: a code, never a value


class MailingConfig(Protocol):
    """What `config.Settings` holds for the 送付先情報 (`mailing_*`, and the city's 市町村コード)."""

    @property
    def city_code(self) -> str: ...
    @property
    def mailing_city_name(self) -> str: ...
    @property
    def mailing_city_postal_code(self) -> str: ...
    @property
    def mailing_city_address(self) -> str: ...
    @property
    def mailing_city_phone(self) -> str: ...
    @property
    def mailing_pickup_name(self) -> str: ...
    @property
    def mailing_pickup_postal_code(self) -> str: ...
    @property
    def mailing_pickup_address(self) -> str: ...
    @property
    def mailing_pickup_phone(self) -> str: ...
    @property
    def mailing_card_place_name(self) -> str: ...
    @property
    def mailing_card_place_postal_code(self) -> str: ...
    @property
    def mailing_card_place_address(self) -> str: ...
    @property
    def mailing_print_category(self) -> str: ...
    @property
    def mailing_special_circumstance(self) -> str: ...


def settings_of(config: MailingConfig) -> m.MailingSettings:
    """The settings as the builder takes them: postal codes as 7 digits (a wrong one is refused here, when the
    hook is made, not when a number arrives), texts trimmed, each flag at most FLAG_LENGTH characters."""
    for name in ("mailing_print_category", "mailing_special_circumstance"):
        if len(getattr(config, name).strip()) > FLAG_LENGTH:
            raise InvalidField(f"{FLAG_LENGTH}文字以内で設定してください", name)
    return m.MailingSettings(
        city_code=config.city_code,
        city_name=config.mailing_city_name.strip(),
        city_postal_code=validate_postal_code(config.mailing_city_postal_code),
        city_address=config.mailing_city_address.strip(),
        city_phone=config.mailing_city_phone.strip(),
        pickup_name=config.mailing_pickup_name.strip(),
        pickup_postal_code=validate_postal_code(config.mailing_pickup_postal_code),
        pickup_address=config.mailing_pickup_address.strip(),
        pickup_phone=config.mailing_pickup_phone.strip(),
        card_place_name=config.mailing_card_place_name.strip(),
        card_place_postal_code=validate_postal_code(config.mailing_card_place_postal_code),
        card_place_address=config.mailing_card_place_address.strip(),
        print_category=config.mailing_print_category.strip(),
        special_circumstance=config.mailing_special_circumstance.strip(),
    )


@dataclass(frozen=True)
class MailingOut:
    """A record the CS may hand to J-LIS: the 31 items keyed by their names, plus 印字区分 and 特殊事情 (the two
    flags it goes with), the 住民票コード of the person notified, and whom it is addressed to — `residence` for a
    居所 registered for delivery, whose address J-LIS does not compare with the 本人確認情報's 住所."""

    record_id: str
    resident_code: str
    items: dict[str, str | int | None]
    addressed_to: str = m.HOUSEHOLDER


# --- building ------------------------------------------------------------------------------------------------


def new_record_id(uow: UnitOfWork) -> str:
    return dated_id("M", uow.reader.today)


def _under_support(uow: UnitOfWork, number: str, household: str) -> bool:
    """A 支援措置 (not another hold) in force for the person or their household; a temporary release does not
    lift it for this (it is never passed on, j410)."""
    pairs = [(number, household)]
    return any(
        measure.kind == "support" and covered
        for operation in OPERATIONS
        for measure, covered in protection.measures_holding(uow, pairs, operation, True, None)
    )


def _name(record: ResidentRecord) -> m.Name:
    return m.Name(record.addressee_number, record.family_name, record.given_name)


def _subject(uow: UnitOfWork, number: str) -> tuple[m.Subject, str | None]:
    """What the builder needs of the register, and the person's 住民票コード now."""
    state = uow.reader.resident(number)
    if state is None:
        raise ResidentNotFound()
    record = state.record
    household = uow.reader.household(record.household_number)
    head = household.householder if household is not None else None
    stored = uow.mailing.residence(number)
    subject = m.Subject(
        person=_name(record),
        resident=record.is_active,
        protected=_under_support(uow, number, record.household_number),
        householder=_name(head) if head is not None else None,
        address=household.address if household is not None else record.address,
        residence=stored.residence if stored is not None else None,
    )
    return subject, record.resident_code


def _store(
    uow: UnitOfWork,
    actor: Actor,
    settings: m.MailingSettings,
    number: str,
    request_id: str | None,
    olds: list[m.MailingRecord],
    why: str,
) -> m.MailingRecord:
    """Build the person's record now, store it with its first event (addressed to whom), and mark each of `olds`
    replaced by it; a replacement keeps the flags the counter gave the latest of them."""
    subject, code = _subject(uow, number)
    record_id = new_record_id(uow)
    built = m.build(record_id, subject, settings)
    latest = olds[-1] if olds else None
    flags = latest.flags() if latest else (settings.print_category, settings.special_circumstance)
    resident_code = code or (latest.resident_code if latest else "")
    uow.mailing.add_record(
        dict(
            record_id=record_id, addressee_number=number, resident_code=resident_code, request_id=request_id,
            items=built.items, print_category=flags[0], special_circumstance=flags[1], state=built.state,
            hold_reason=built.hold_reason, built_at=uow.now,
        )
    )  # fmt: skip
    to = built.destination
    detail = {
        "addressed_to": to.kind,
        "addressee": to.addressee.addressee_number if to.addressee else None,
        "hold_reason": built.hold_reason,
        "replaces": [old.record_id for old in olds],
        "why": why,
    }
    _event(uow, actor, record_id, built.state, detail)
    for old in olds:
        _event(uow, actor, old.record_id, m.REPLACED, {"by": record_id, "why": why})
    stored = uow.mailing.record(record_id)
    assert stored is not None
    return stored


def _event(uow: UnitOfWork, actor: Actor, record_id: str, state: str, detail: Mapping[str, Any]) -> None:
    uow.mailing.add_event(
        dict(record_id=record_id, state=state, at=uow.now, staff_id=actor.staff_id, detail=dict(detail))
    )


def _built_entry(action: str, record: m.MailingRecord, olds: list[m.MailingRecord]) -> LogEntry:
    replaced = f" replaces {','.join(o.record_id for o in olds)}" if olds else ""
    detail = f"{record.record_id} {record.built_state} {record.hold_reason or ''}".strip() + replaced
    return LogEntry(action, [record.addressee_number], detail=detail)


def on_assigned(config: MailingConfig) -> OnAssigned:
    """The hook for `numbers.assign` (the CS passes it): the person's 送付先情報 built and stored in the number's
    own transaction, replacing a record of theirs not delivered yet (a newer number makes a new 通知書)."""
    settings = settings_of(config)

    def build_record(uow: UnitOfWork, assigned: Assigned) -> None:
        olds = uow.mailing.open_records_of(assigned.addressee_number)
        record = _store(
            uow, CS_SYSTEM, settings, assigned.addressee_number, assigned.request_id, olds, "number"
        )
        uow.log(CS_SYSTEM, _built_entry("mailing:build", record, olds))

    return build_record


# --- the CS ----------------------------------------------------------------------------------------------------


def _limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidField(f"件数は1〜{MAX_LIMIT}です", "limit")
    return limit


def _out(record: m.MailingRecord) -> MailingOut:
    category, circumstance = record.flags()
    items = {**record.items, m.PRINT_CATEGORY: category, m.SPECIAL_CIRCUMSTANCE: circumstance}
    return MailingOut(record.record_id, record.resident_code, items, record.addressed_to or m.HOUSEHOLDER)


def ready(uow_factory: UnitOfWorkFactory, actor: Actor, limit: int) -> list[MailingOut]:
    """The records that may go to J-LIS now, oldest first: ready or released, not delivered, both flags set. A
    record waiting for its flags is passed over (it does not hold up the ones behind it)."""
    authorize(uow_factory, actor, REGISTER_NUMBERS, "mailing:ready")
    wanted = _limit(limit)
    with uow_factory() as uow:
        found: list[m.MailingRecord] = []
        offset = 0
        while len(found) < wanted:
            page = uow.mailing.records(m.GOING, wanted, offset)
            found += [record for record in page if record.goes]
            if len(page) < wanted:
                break
            offset += wanted
        found = found[:wanted]
        if found:  # the CS asks every pass: an empty answer names nobody and is not worth a log line
            uow.log(
                actor,
                LogEntry(
                    "mailing:ready",
                    sorted({r.addressee_number for r in found}),
                    detail=f"{len(found)} records",
                    facts={"count": len(found)},
                ),
            )
            uow.commit()
    return [_out(record) for record in found]


def delivered(uow_factory: UnitOfWorkFactory, actor: Actor, record_id: str) -> None:
    """The CS handed the record to J-LIS. Said twice, recorded once (the CS may repeat itself after a crash)."""
    authorize(uow_factory, actor, REGISTER_NUMBERS, "mailing:delivered")
    with _refusals_logged(uow_factory, actor, "mailing:delivered"), uow_factory() as uow:
        record = _record(uow, record_id)
        if any(event.state == m.DELIVERED for event in record.events):
            return
        if not record.went():
            raise m.MailingRecordNotGoing()
        _event(uow, actor, record.record_id, m.DELIVERED, {})
        uow.log(actor, LogEntry("mailing:delivered", [record.addressee_number], detail=record.record_id))
        uow.commit()


def refused(
    uow_factory: UnitOfWorkFactory, actor: Actor, record_id: str, code: str, item: str | None
) -> None:
    """J-LIS's 突合 with the 機構保存本人確認情報 found a mismatch: the record is refused with J-LIS's code and the item
    named (one of the 31, or none), for the counter to build again. Said twice, recorded once."""
    authorize(uow_factory, actor, REGISTER_NUMBERS, "mailing:refused")
    if not isinstance(code, str) or not REFUSAL_CODE.fullmatch(code):
        raise InvalidField("機構の返戻コードは英数字60文字以内です", "code")
    if item is not None and item not in m.ITEMS:
        raise InvalidField("送付先情報の項目名ではありません", "item")
    with _refusals_logged(uow_factory, actor, "mailing:refused"), uow_factory() as uow:
        record = _record(uow, record_id)
        if record.refusal() == (code, item):
            return
        if record.state != m.DELIVERED and not record.went():
            raise m.MailingRecordNotGoing()
        _event(uow, actor, record.record_id, m.REFUSED, {"code": code, "item": item})
        detail = f"{record.record_id} {code} {item or ''}".strip()
        uow.log(actor, LogEntry("mailing:refused", [record.addressee_number], detail=detail))
        uow.commit()


def _record(uow: UnitOfWork, record_id: str) -> m.MailingRecord:
    record = uow.mailing.record(str(record_id)[:40], lock=True)
    if record is None:
        raise m.MailingRecordNotFound()
    return record


@contextmanager
def _refusals_logged(uow_factory: UnitOfWorkFactory, actor: Actor, action: str) -> Iterator[None]:
    """A refused action leaves its entry (the code and field, never a value), in a transaction of its own, as a
    refused filing does (a hidden record's look-up has logged itself)."""
    try:
        yield
    except DomainError as exc:
        if exc.status in (409, 422):
            with uow_factory() as uow:
                detail = f"{exc.code} {exc.field}" if exc.field else exc.code
                uow.log(actor, LogEntry(action, result="refused", detail=detail[:200]))
                uow.commit()
        raise


# --- the counter ----------------------------------------------------------------------------------------------


def _named(record: m.MailingRecord) -> set[str]:
    """Whom a record names: the person, and whom it is addressed to (a householder under 支援措置 would be named by
    a family member's record)."""
    return {record.addressee_number} | ({record.addressee} if record.addressee else set())


def view(uow: UnitOfWork, record: m.MailingRecord) -> dict[str, Any]:
    """A record for the counter: who, its state and why, whom and where it goes, its flags."""
    person = uow.queries.resident(record.addressee_number)
    category, circumstance = record.flags()
    refusal = record.refusal()
    items = record.items
    return {
        "record_id": record.record_id,
        "addressee_number": record.addressee_number,
        "name": f"{person.family_name}\u3000{person.given_name}" if person is not None else "",
        "resident_code": record.resident_code,
        "request_id": record.request_id,
        "state": record.state,
        "hold_reason": record.hold_reason if record.state == m.HELD else None,
        "refusal": {"code": refusal[0], "item": refusal[1]} if refusal else None,
        "print_category": category,
        "special_circumstance": circumstance,
        "goes": record.goes,
        "addressed_to": record.addressed_to,
        "destination": {
            "name": items.get("送付先氏名 漢字"),
            "postal_code": items.get("送付先郵便番号"),
            "address": items.get("送付先住所 漢字"),
        },
        "built_at": record.built_at.isoformat(),
        "state_at": record.state_at.isoformat(),
    }


def list_records(
    uow_factory: UnitOfWorkFactory, actor: Actor, state: str, limit: int = 200
) -> dict[str, Any]:
    """The records in one state (held, refused, ready — released ones included —, delivered), oldest first, each
    screened: a record naming a person the actor may not see is left out (the supervisors get the alert)."""
    authorize(uow_factory, actor, REGISTER_READ, "mailing:list")
    if state not in m.LISTED:
        raise InvalidField("状態は held / refused / ready / delivered のいずれかです", "state")
    wanted = _limit(limit)
    with uow_factory() as uow:
        records = uow.mailing.records(m.LISTED[state], wanted)
        named = set().union(*(_named(r) for r in records)) if records else set()
        hidden = protection.screen(uow, actor, named, "mailing:list")
        shown = [r for r in records if not _named(r) & hidden]
        persons = sorted({r.addressee_number for r in shown})
        answer = {"state": state, "records": [view(uow, r) for r in shown]}
        uow.log(actor, LogEntry("mailing:list", persons, detail=f"state={state}"))
        uow.commit()
    return answer


@contextmanager
def _acting(
    uow_factory: UnitOfWorkFactory, actor: Actor, record_id: str, action: str
) -> Iterator[tuple[UnitOfWork, m.MailingRecord]]:
    """A counter action on one record: the record (locked) as the actor may see it — one naming a person they may
    not see looks not found (the alert and the hidden access are committed first) — in the action's
    transaction, with refusals logged."""
    with _refusals_logged(uow_factory, actor, action), uow_factory() as uow:
        record = _record(uow, record_id)
        if protection.screen(uow, actor, _named(record), action):
            uow.log(actor, LogEntry(action, [record.addressee_number], result="hidden"))
            uow.commit()
            raise m.MailingRecordNotFound()
        yield uow, record


def set_flags(
    uow_factory: UnitOfWorkFactory, actor: Actor, record_id: str, payload: Mapping[str, Any]
) -> dict[str, Any]:
    """Set the print category and/or the special circumstance of a record not delivered yet (j1090: it goes once
    both are set). The values are the city's words (at most FLAG_LENGTH characters)."""
    authorize(uow_factory, actor, REGISTER_FILE, "mailing:flags")
    given = {
        k: free_text(payload, k, FLAG_LENGTH)
        for k in ("print_category", "special_circumstance")
        if k in payload
    }
    if not given:
        raise Required("印字区分または特殊事情を指定してください", "print_category")
    with _acting(uow_factory, actor, record_id, "mailing:flags") as (uow, record):
        if record.state not in m.OPEN:
            raise m.MailingRecordClosed()
        category, circumstance = record.flags()
        flags = {
            m.PRINT_CATEGORY: given.get("print_category", category),
            m.SPECIAL_CIRCUMSTANCE: given.get("special_circumstance", circumstance),
        }
        _event(uow, actor, record.record_id, record.state, flags)
        uow.log(actor, LogEntry("mailing:flags", [record.addressee_number], detail=record.record_id))
        answer = _view_of(uow, record.record_id)
        uow.commit()
    return answer


def _view_of(uow: UnitOfWork, record_id: str) -> dict[str, Any]:
    record = uow.mailing.record(record_id)
    assert record is not None
    return view(uow, record)


def release(
    uow_factory: UnitOfWorkFactory, actor: Actor, record_id: str, config: MailingConfig
) -> dict[str, Any]:
    """Let a held record go, once what held it is fixed: it is built again from the register as it is now. Still
    without a usable address or householder → `mailing_record_held` (fix the register first). Under 支援措置
    without a 居所 it is the counter's decision to let it go to the household's address (the clerk sees the person
    only under a temporary release). Unchanged, the record itself is released; changed, a new record replaces it."""
    authorize(uow_factory, actor, REGISTER_FILE, "mailing:release")
    settings = settings_of(config)
    with _acting(uow_factory, actor, record_id, "mailing:release") as (uow, record):
        if record.state != m.HELD:
            raise m.MailingRecordNotHeld()
        subject, _ = _subject(uow, record.addressee_number)
        again = m.build(record.record_id, subject, settings)
        if again.hold_reason is not None and again.hold_reason not in m.RELEASABLE:
            reason = m.HOLD_REASONS[again.hold_reason]
            raise m.MailingRecordHeld(f"{reason}ため、まだ送付できません（{again.hold_reason}）")
        result = record
        if again.items != dict(record.items) or again.destination.kind != record.addressed_to:
            result = _store(
                uow, actor, settings, record.addressee_number, record.request_id, [record], "release"
            )
            uow.log(actor, _built_entry("mailing:build", result, [record]))
        if result.state == m.HELD:
            _event(uow, actor, result.record_id, m.RELEASED, {})
        uow.log(actor, LogEntry("mailing:release", [record.addressee_number], detail=result.record_id))
        answer = _view_of(uow, result.record_id)
        uow.commit()
    return answer


def rebuild(
    uow_factory: UnitOfWorkFactory, actor: Actor, record_id: str, config: MailingConfig
) -> dict[str, Any]:
    """A record J-LIS refused, built again from the register as it is now (after the register was put right): a
    new record, the refused one kept (replaced), and any other open record of the person with it."""
    authorize(uow_factory, actor, REGISTER_FILE, "mailing:rebuild")
    settings = settings_of(config)
    with _acting(uow_factory, actor, record_id, "mailing:rebuild") as (uow, record):
        if record.state != m.REFUSED:
            raise m.MailingRecordNotRefused()
        olds = [record, *uow.mailing.open_records_of(record.addressee_number)]
        new = _store(uow, actor, settings, record.addressee_number, record.request_id, olds, "rebuild")
        uow.log(actor, _built_entry("mailing:rebuild", new, olds))
        answer = view(uow, new)
        uow.commit()
    return answer


# --- 居所 for delivery (支援措置) ----------------------------------------------------------------------------------


def _residence_view(number: str, stored: m.StoredResidence | None, rebuilt: list[str]) -> dict[str, Any]:
    place = stored.residence if stored is not None else None
    return {
        "addressee_number": number,
        "residence": {"postal_code": place.postal_code, "address": place.address} if place else None,
        "registered_at": stored.registered_at.isoformat() if stored is not None else None,
        "rebuilt": rebuilt,
    }


@contextmanager
def _person(
    uow_factory: UnitOfWorkFactory, actor: Actor, addressee_number: str, action: str
) -> Iterator[tuple[UnitOfWork, str, str]]:
    """The person (宛名番号, 世帯番号) as the actor may see them, in the action's transaction, refusals logged."""
    number = validate_addressee_number(addressee_number, "addressee_number")
    with _refusals_logged(uow_factory, actor, action), uow_factory() as uow:
        row = uow.queries.resident(number)
        if row is None:
            raise ResidentNotFound()
        if protection.screen(uow, actor, [(number, row.household_number)], action):
            uow.log(actor, LogEntry(action, [number], result="hidden"))
            uow.commit()
            raise ResidentNotFound()
        yield uow, number, row.household_number


def _rebuild_open(
    uow: UnitOfWork, actor: Actor, settings: m.MailingSettings, number: str, why: str
) -> list[str]:
    """The person's records not delivered yet, built again (to the 居所 as it is now), so none goes astray."""
    olds = uow.mailing.open_records_of(number)
    if not olds:
        return []
    new = _store(uow, actor, settings, number, olds[-1].request_id, olds, why)
    uow.log(actor, _built_entry("mailing:build", new, olds))
    return [new.record_id]


def register_residence(
    uow_factory: UnitOfWorkFactory,
    actor: Actor,
    addressee_number: str,
    payload: Mapping[str, Any],
    config: MailingConfig,
) -> dict[str, Any]:
    """A 居所 where a person under 支援措置 receives the 個人番号通知書 (j1120), registered by the 支援措置's supervisor;
    a later one replaces it. The person's records not delivered yet are built again to it."""
    _authorize_residence(uow_factory, actor, "mailing:residence:set")
    postal_code = validate_postal_code(str(payload.get("postal_code", "")))
    address = free_text(payload, "address", 200)

    def may(uow: UnitOfWork, number: str, household: str) -> None:
        if not _under_support(uow, number, household):
            raise m.DeliveryResidenceNotProtected()

    return _change_residence(uow_factory, actor, addressee_number, config, "set", may, postal_code, address)


def end_residence(
    uow_factory: UnitOfWorkFactory, actor: Actor, addressee_number: str, config: MailingConfig
) -> dict[str, Any]:
    """The registration ends (a row without an address): records not delivered yet are built again to the
    household's address (held again while the person is under 支援措置)."""
    _authorize_residence(uow_factory, actor, "mailing:residence:end")

    def may(uow: UnitOfWork, number: str, household: str) -> None:
        stored = uow.mailing.residence(number)
        if stored is None or stored.residence is None:
            raise m.DeliveryResidenceNotFound()

    return _change_residence(uow_factory, actor, addressee_number, config, "end", may, None, None)


def _authorize_residence(uow_factory: UnitOfWorkFactory, actor: Actor, action: str) -> None:
    """The 支援措置's supervisor, who sees protected persons (the person is one)."""
    authorize(uow_factory, actor, PROTECTION_SET, action)
    authorize(uow_factory, actor, PROTECTION_VIEW, action)


def _change_residence(
    uow_factory: UnitOfWorkFactory,
    actor: Actor,
    addressee_number: str,
    config: MailingConfig,
    verb: str,
    may: Callable[[UnitOfWork, str, str], None],
    postal_code: str | None,
    address: str | None,
) -> dict[str, Any]:
    """A 居所 registered (`set`) or its registration ended (`end`, a row without an address); the person's records
    not delivered yet are built again, in the same transaction."""
    action = f"mailing:residence:{verb}"
    settings = settings_of(config)
    with _person(uow_factory, actor, addressee_number, action) as (uow, number, household):
        may(uow, number, household)
        uow.mailing.add_residence(
            dict(addressee_number=number, postal_code=postal_code, address=address, registered_at=uow.now,
                 staff_id=actor.staff_id)
        )  # fmt: skip
        rebuilt = _rebuild_open(uow, actor, settings, number, "residence")
        uow.log(actor, LogEntry(action, [number], detail=" ".join(rebuilt)))
        answer = _residence_view(number, uow.mailing.residence(number), rebuilt)
        uow.commit()
    return answer


def get_residence(uow_factory: UnitOfWorkFactory, actor: Actor, addressee_number: str) -> dict[str, Any]:
    """The person's 居所 for delivery (null when none is registered), for whoever sees protected persons."""
    authorize(uow_factory, actor, PROTECTION_VIEW, "mailing:residence:view")
    with _person(uow_factory, actor, addressee_number, "mailing:residence:view") as (uow, number, _):
        stored = uow.mailing.residence(number)
        uow.log(actor, LogEntry("mailing:residence:view", [number]))
        uow.commit()
    return _residence_view(number, stored, [])
