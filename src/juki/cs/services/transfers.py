"""Telegrams between cities through the 住基ネット (docs/cs-transfers.md):

- out: a 特例転出 (転出 with `transfer.card`) sends the person's 転出証明書情報 to the destination city (住基法24条の2
  第3項; 標準仕様書 j670); a 転入 from another city sends a 転入通知 to the previous one (住基法9条1項; j1090). Each
  is queued at intake, in the CS transaction of the change, and goes only after the person's notices up to that
  change were acknowledged by the prefecture, a person's telegrams one after the other; unreachable, it is tried
  again with the delivery's backoff; refused, it waits in the telegram error queue with the code.
- in: the CS takes its inbox in order from a cursor it keeps. A 転出証明書情報 is held for the register's 特例転入
  (the port `Juki.moveout_certificates`), unless the person is a resident here; a 転入通知 for one of our 転出
  confirms it in the register (`confirm`, as CS_SYSTEM: j690). A telegram seen before is passed over.
- purge: a 転出証明書情報 not used within its period (転出予定日 + 30 days) is erased; a log line stays.

The CS log names telegrams, kinds, codes and item names, never a value.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from juki.cs.domain import transfers as rules
from juki.cs.domain.items import Items
from juki.cs.domain.notices import Failure
from juki.cs.services import restrictions
from juki.cs.services.delivery import SYSTEM_ID, Backoff
from juki.cs.services.ports import FINAL as NOTICE_FINAL
from juki.cs.services.ports import CsStore, CsTransaction, LogLine
from juki.cs.wire import (
    TELEGRAM_NAMES,
    Accepted,
    CitiesClient,
    Received,
    Refused,
    Telegram,
    TelegramKind,
    Unreachable,
)
from juki.domain.errors import DomainError
from juki.policy.roles import CS_OPERATE, Actor
from juki.services import protection
from juki.services.audit import LogEntry
from juki.services.authorization import authorize
from juki.services.outbox import ChangeEvent
from juki.services.unit_of_work import UnitOfWorkFactory

QUEUED, SENT, ACKNOWLEDGED, ERROR, DISCARDED = "queued", "sent", "acknowledged", "error", "discarded"
FINAL = (ACKNOWLEDGED, DISCARDED)
HELD, CONFIRMED, REFUSED = "held", "confirmed", "refused"  # what became of a telegram that came in
ALREADY_CONFIRMED = "move_out_already_confirmed"  # the register's answer to a repeat: done


@dataclass(frozen=True)
class OutTelegram:
    id: int
    telegram_id: str
    kind: str
    to_city_code: str | None
    addressee_number: str
    resident_code: str | None
    event_position: int
    items: Items  # with the 個人番号, opened
    state: str
    attempts: int
    next_attempt_at: datetime | None
    error_code: str | None
    error_item: str | None
    error_message: str | None
    updated_at: datetime


@dataclass(frozen=True)
class InTelegram:
    id: int | None
    telegram_id: str
    seq: int
    kind: str
    from_city_code: str
    resident_code: str | None
    items: dict[str, Any] | None
    outcome: str
    code: str | None
    item: str | None
    message: str | None
    received_at: datetime | None = None


@dataclass(frozen=True)
class HeldCertificate:
    certificate_id: str
    resident_code: str
    from_city_code: str
    birth_date: date
    planned_on: date
    provisional_protection: bool
    items: Items  # with the 個人番号, opened
    received_on: date
    used_at: datetime | None = None
    addressee_number: str | None = None


class TransferStore(Protocol):
    now: datetime

    def add_out(self, values: dict[str, object]) -> int: ...
    def change_out(self, telegram: int, values: dict[str, object]) -> None: ...
    def out_telegram(self, telegram: int) -> OutTelegram | None: ...
    def outs_of(self, addressee_number: str) -> list[OutTelegram]: ...
    def persons_sending(self) -> list[str]: ...
    def outgoing(self, limit: int) -> list[OutTelegram]: ...
    def received(self, telegram_id: str) -> bool: ...
    def add_in(self, telegram: InTelegram) -> None: ...
    def incoming(self, limit: int) -> list[InTelegram]: ...
    def cursor(self, city_code: str) -> int: ...
    def set_cursor(self, city_code: str, after: int) -> None: ...
    def status_of(self, resident_code: str) -> str | None: ...
    def hold(self, held: HeldCertificate) -> None: ...
    def held(self, *, resident_code: str | None = None, kana: str | None = None,
             birth_date: date | None = None, unused: bool = False) -> list[HeldCertificate]: ...  # fmt: skip
    def mark_used(self, certificate_id: str, addressee_number: str) -> bool: ...
    def erase(self, certificate_id: str) -> None: ...


# The transfer store in a CS store's transaction (adapters/transfer_store.of).
TransfersOf = Callable[[CsStore], TransferStore]


@dataclass(frozen=True)
class MoveIn:
    """A 転入通知 for one of our 転出, as the register's `card_moves.confirm_move_out` takes it."""

    resident_code: str
    moved_in_on: date
    destination_address: str
    destination_city_code: str
    notified_on: date


# Records a 転入通知 in the register (the 消除 confirmed, j690); raises the register's DomainError on a refusal.
Confirm = Callable[[MoveIn], object]


# --- intake: the telegrams a change makes ------------------------------------------------------------------------


def take_in(
    store: CsStore, transfers: TransferStore, event: ChangeEvent, items: Items, city_code: str
) -> None:
    """The telegram the register's change makes, queued in the intake's transaction (none for most changes)."""
    transfer = event.body.get("transfer")
    if rules.wants_certificate(event.change_reason, transfer):
        assert isinstance(transfer, Mapping)
        householder = _householder_name(store, event, items)
        provisional = any(
            r.restriction == "support" for r in restrictions.in_force(store, event.addressee_number)
        )
        content = rules.certificate(items, transfer, householder, provisional)
        _queue(store, transfers, event, TelegramKind.MOVE_OUT_CERTIFICATE, transfer.get("destination_city_code"),
               content)  # fmt: skip
    elif rules.wants_move_in_notice(event.change_reason, transfer):
        assert isinstance(transfer, Mapping)
        content = rules.move_in_notice(items, event.changed_on, restrictions.today_of(store.now))
        _queue(
            store, transfers, event, TelegramKind.MOVE_IN_NOTICE, transfer.get("previous_city_code"), content
        )


def _householder_name(store: CsStore, event: ChangeEvent, items: Items) -> str | None:
    """世帯主氏名: the person's own name for a 世帯主, else the householder's as the CS holds it."""
    householder = (event.body.get("household") or {}).get("householder")
    if householder == event.addressee_number or (householder is None and items.get("続柄") == "世帯主"):
        return items.get("漢字氏名")
    held = store.current(str(householder)) if householder else None
    return held.items.get("漢字氏名") if held else None


def _queue(
    store: CsStore,
    transfers: TransferStore,
    event: ChangeEvent,
    kind: TelegramKind,
    to_city: object,
    content: dict[str, str | None],
) -> None:
    known = rules.is_city_code(to_city)
    failure = None if known else _unknown_city()
    telegram = transfers.add_out(
        {"telegram_id": uuid.uuid4().hex, "kind": kind.value, "to_city_code": to_city if known else None,
         "addressee_number": event.addressee_number, "event_position": event.position, "items": content,
         "state": QUEUED if known else ERROR} | _failure(failure)
    )  # fmt: skip
    names = "、".join(name for name, value in content.items() if value is not None)
    result, message = ("queued", f"送信待ちにしました（{names}）")
    if failure is not None:
        result, message = failure.code, failure.message
    _log(store, "telegram", result, f"{TELEGRAM_NAMES[kind]} 電文{telegram}: {message}", event.addressee_number,
         kind.value, staff=str((event.body.get("recorded_by") or {}).get("staff_id") or SYSTEM_ID))  # fmt: skip


def _unknown_city() -> Failure:
    return Failure(rules.UNKNOWN_CITY, "市町村コード", "送信先の市町村コードがないか正しくありません")


def _failure(failure: Failure | None) -> dict[str, object]:
    if failure is None:
        return {"error_code": None, "error_item": None, "error_message": None}
    return {"error_code": failure.code, "error_item": failure.item, "error_message": failure.message}


# --- out: sending, per person in order --------------------------------------------------------------------------


@dataclass
class ExchangeReport:
    sent: list[int] = field(default_factory=list)  # telegrams acknowledged, in the order they went
    refused: list[int] = field(default_factory=list)
    unreachable: list[int] = field(default_factory=list)
    received: list[str] = field(default_factory=list)  # outcomes of what came in, in order


@dataclass(frozen=True)
class Link:
    """One pass's link to the other cities and what it needs."""

    cs: CsTransaction
    transfers_of: TransfersOf
    client: CitiesClient
    city_code: str
    terminal: str
    backoff: Backoff
    now: datetime | None = None


def send_due(link: Link, report: ExchangeReport) -> None:
    """Every person's telegrams that may go now, one after the other, each after the person's notices before it."""
    with link.cs() as store:
        persons = link.transfers_of(store).persons_sending()
    for person in persons:
        while (due := _take_next(link, person)) is not None:
            try:
                answer = link.client.send(due[1])
            except Unreachable:
                _record(link, due[0], None, report)
                break
            if not _record(link, due[0], answer, report):
                break


def _take_next(link: Link, person: str) -> tuple[int, Telegram] | None:
    with link.cs() as store:
        transfers = link.transfers_of(store)
        telegram = next((t for t in transfers.outs_of(person) if t.state not in FINAL), None)
        now = link.now or store.now
        if telegram is None or telegram.state not in (QUEUED, SENT) or telegram.to_city_code is None:
            return None
        if telegram.next_attempt_at is not None and telegram.next_attempt_at > now:
            return None
        if _notices_waiting(store, telegram):
            return None
        transfers.change_out(telegram.id, {"state": SENT, "attempts": telegram.attempts + 1})
        _log_out(
            store, telegram, "telegram_send", "sent", f"{telegram.attempts + 1}回目の送信", link.terminal
        )
        kind = TelegramKind(telegram.kind)
        return telegram.id, Telegram(telegram.telegram_id, kind, link.city_code, telegram.to_city_code,
                                     dict(telegram.items))  # fmt: skip


def _notices_waiting(store: CsStore, telegram: OutTelegram) -> bool:
    """The person's notices to the prefecture up to the change that made the telegram go first (j1090: order)."""
    return any(
        e.event_position <= telegram.event_position and e.state not in NOTICE_FINAL
        for e in store.entries_of(telegram.addressee_number)
    )


def _record(link: Link, telegram_id: int, answer: Accepted | Refused | None, report: ExchangeReport) -> bool:
    with link.cs() as store:
        transfers = link.transfers_of(store)
        telegram = transfers.out_telegram(telegram_id)
        assert telegram is not None
        if isinstance(answer, Accepted):
            transfers.change_out(
                telegram.id, {"state": ACKNOWLEDGED, "next_attempt_at": None} | _failure(None)
            )
            result = "duplicate" if answer.duplicate else "accepted"
            _log_out(store, telegram, "telegram_answer", result, "送信先が受け付けました", link.terminal)
            report.sent.append(telegram.id)
            return True
        if isinstance(answer, Refused):
            failure = Failure(answer.code, answer.item, _refusal_message(answer))
            transfers.change_out(telegram.id, {"state": ERROR} | _failure(failure))
            _log_out(store, telegram, "telegram_answer", answer.code, failure.message, link.terminal)
            report.refused.append(telegram.id)
            return False
        wait = link.backoff.after(telegram.attempts)
        transfers.change_out(telegram.id, {"state": QUEUED, "next_attempt_at": (link.now or store.now) + wait,
                                           "error_code": "unreachable", "error_item": None,
                                           "error_message": "住基ネットから応答がありません"})  # fmt: skip
        _log_out(store, telegram, "telegram_answer", "unreachable", f"{int(wait.total_seconds())}秒後に再送します",
                 link.terminal)  # fmt: skip
        report.unreachable.append(telegram.id)
        return False


def _refusal_message(answer: Refused) -> str:
    """Our own words: the answer's message may quote a value."""
    item = f"（{answer.item}）" if answer.item else ""
    return f"送信先が受け付けませんでした: {answer.code}{item}"


# --- in: our inbox, in order, once --------------------------------------------------------------------------------


def receive(link: Link, confirm: Confirm, report: ExchangeReport) -> None:
    """What came for us since the cursor, one telegram after the other; the cursor moves with each."""
    with link.cs() as store:
        after = link.transfers_of(store).cursor(link.city_code)
    try:
        inbox = link.client.inbox(link.city_code, after)
    except Unreachable:  # the next pass asks again from the same cursor
        return
    for received in inbox:
        report.received.append(_take(link, confirm, received))


def _take(link: Link, confirm: Confirm, received: Received) -> str:
    telegram = received.telegram
    with link.cs() as store:
        transfers = link.transfers_of(store)
        if transfers.received(telegram.telegram_id):  # a repeat: passed over
            transfers.set_cursor(link.city_code, received.seq)
            return "repeat"
        failure = rules.check_incoming(telegram, link.city_code)
        if failure is None and telegram.kind is TelegramKind.MOVE_OUT_CERTIFICATE:
            outcome = _hold(store, transfers, received)
            transfers.set_cursor(link.city_code, received.seq)
            return outcome
    if failure is None:  # a 転入通知: the register first (its own transaction), then the record of it here
        failure = _confirm(confirm, telegram)
    with link.cs() as store:
        transfers = link.transfers_of(store)
        _keep(store, transfers, received, failure, CONFIRMED)
        transfers.set_cursor(link.city_code, received.seq)
    return REFUSED if failure else CONFIRMED


def _hold(store: CsStore, transfers: TransferStore, received: Received) -> str:
    telegram, items = received.telegram, received.telegram.items
    code = str(items["住民票コード"])
    if rules.resident_here(transfers.status_of(code)):
        failure = Failure(
            rules.ALREADY_RESIDENT, "住民票コード", "この市町村に現存する者の転出証明書情報です"
        )
        _keep(store, transfers, received, failure, HELD)
        return REFUSED
    transfers.hold(
        HeldCertificate(
            telegram.telegram_id, code, telegram.from_city_code, date.fromisoformat(str(items["生年月日"])),
            date.fromisoformat(str(items["転出予定日"])), items.get(rules.PROVISIONAL) == "1", dict(items),
            restrictions.today_of(store.now),
        )
    )  # fmt: skip
    _keep(store, transfers, received, None, HELD)
    return HELD


def _confirm(confirm: Confirm, telegram: Telegram) -> Failure | None:
    items = telegram.items
    notice = MoveIn(str(items["住民票コード"]), date.fromisoformat(str(items["転入日"])),
                    str(items["転入先住所"]), telegram.from_city_code, date.fromisoformat(str(items["通知日"])))  # fmt: skip
    try:
        confirm(notice)
    except DomainError as refusal:
        if refusal.code == ALREADY_CONFIRMED:  # a 転入通知 sent again: done before
            return None
        return Failure(refusal.code, refusal.field, "既存住基が転入通知を受理できませんでした")
    return None


def _keep(
    store: CsStore, transfers: TransferStore, received: Received, failure: Failure | None, outcome: str
) -> None:
    """What came in and what became of it (append-only); a 転入通知's items kept, a 転出証明書情報's never here."""
    telegram = received.telegram
    notice = telegram.kind is TelegramKind.MOVE_IN_NOTICE
    code = telegram.items.get("住民票コード")
    transfers.add_in(
        InTelegram(
            None, telegram.telegram_id, received.seq, telegram.kind.value, telegram.from_city_code[:6],
            code[:11] if isinstance(code, str) else None, dict(telegram.items) if notice and failure is None else None,
            REFUSED if failure else outcome, failure.code if failure else None, failure.item if failure else None,
            failure.message if failure else None,
        )
    )  # fmt: skip
    name = TELEGRAM_NAMES[telegram.kind]
    result, message = (failure.code, failure.message) if failure else (outcome, "受信しました")
    _log(
        store, "telegram_receive", result, f"{name} 受信{received.seq}: {message}", None, telegram.kind.value
    )


# --- purge ----------------------------------------------------------------------------------------------------------


def purge(cs: CsTransaction, transfers_of: TransfersOf, today: date) -> list[str]:
    """Erase every 転出証明書情報 not used within its period (cs/domain/transfers.HELD_FOR); the ids erased. A log
    line stays for each, naming the certificate, never its content."""
    with cs() as store:
        transfers = transfers_of(store)
        gone = [h for h in transfers.held(unused=True) if rules.expired(h.planned_on, today)]
        for held in gone:
            transfers.erase(held.certificate_id)
            _log(store, "moveout_certificate", "purged",
                 f"転出証明書情報 {held.certificate_id} を消去しました（転出予定日から{rules.HELD_FOR.days}日経過）",
                 None, TelegramKind.MOVE_OUT_CERTIFICATE.value)  # fmt: skip
    return [h.certificate_id for h in gone]


# --- the CS log ---------------------------------------------------------------------------------------------------


def _log_out(
    store: CsStore, telegram: OutTelegram, action: str, result: str, message: str, terminal: str
) -> None:
    name = TELEGRAM_NAMES[TelegramKind(telegram.kind)]
    _log(store, action, result, f"{name} 電文{telegram.id}: {message}", telegram.addressee_number, telegram.kind,
         terminal=terminal)  # fmt: skip


def _log(
    store: CsStore,
    action: str,
    result: str,
    message: str,
    addressee_number: str | None,
    kind: str,
    *,
    staff: str = SYSTEM_ID,
    terminal: str = "cs-server",
) -> None:
    store.log(LogLine(action, result, message, staff, terminal, None, addressee_number, kind[:20]))


# --- the CS operator's page (/ui/cs/transfers) and the telegram error queue ---------------------------------------

LISTED = 50  # telegrams of each direction on the page, the latest first; the CS log keeps the rest


@dataclass(frozen=True)
class HeldLine:
    """A 転出証明書情報 held, as the operator sees it: no 個人番号; no name or birth date of a protected person."""

    certificate_id: str
    resident_code: str
    name: str | None
    birth_date: date | None
    from_city_code: str
    planned_on: date
    erased_after: date
    received_on: date
    used: bool
    protected: bool


@dataclass(frozen=True)
class TransfersView:
    held: list[HeldLine]
    sent: list[OutTelegram]  # the items stay here: the page shows 住民票コード, kind, city and state only
    received: list[InTelegram]


class TelegramNotInError(DomainError):
    code = "telegram_not_in_error"
    status = 409
    default_message = "この電文はエラーではありません。画面を開き直して状態を確認してください"


class TelegramNeedsCity(DomainError):
    code = "telegram_needs_city"
    status = 409
    default_message = (
        "送信先の市町村コードがないため再送できません（破棄して、転出証明書の交付などで対応してください）"
    )


def overview(
    uow_factory: UnitOfWorkFactory, cs: CsTransaction, transfers_of: TransfersOf, actor: Actor
) -> TransfersView:
    """What the page lists, logged in the CS log and the register's operation log (`cs:transfers`)."""
    authorize(uow_factory, actor, CS_OPERATE, "cs:transfers")
    with cs() as store:
        transfers = transfers_of(store)
        held, sent, received = transfers.held(), transfers.outgoing(LISTED), transfers.incoming(LISTED)
        store.log(LogLine("transfers", "ok", f"転出証明書情報{len(held)}件・送信{len(sent)}件・受信{len(received)}件",
                          actor.staff_id, actor.terminal))  # fmt: skip
    used = {h.addressee_number for h in held if h.addressee_number}
    with uow_factory() as uow:
        hidden = protection.screen(uow, actor, used, "cs:transfers") if used else set()
        facts = {"held": len(held), "sent": len(sent), "received": len(received)}
        uow.log(
            actor, LogEntry("cs:transfers", sorted(used | {t.addressee_number for t in sent}), facts=facts)
        )
        uow.commit()
    return TransfersView([_held_line(h, hidden) for h in held], sent, received)


def _held_line(held: HeldCertificate, hidden: set[str]) -> HeldLine:
    protected = held.provisional_protection or (held.addressee_number in hidden)
    return HeldLine(
        held.certificate_id, held.resident_code, None if protected else held.items.get("漢字氏名"),
        None if protected else held.birth_date, held.from_city_code, held.planned_on,
        rules.purge_after(held.planned_on), held.received_on, held.used_at is not None, protected,
    )  # fmt: skip


def resend(
    uow_factory: UnitOfWorkFactory, cs: CsTransaction, transfers_of: TransfersOf, actor: Actor, telegram: int
) -> None:
    """A telegram out of the error queue, sent again at the next pass (its place in the person's order kept)."""
    _act(uow_factory, cs, transfers_of, actor, telegram, "resend", "")


def discard(
    uow_factory: UnitOfWorkFactory, cs: CsTransaction, transfers_of: TransfersOf, actor: Actor, telegram: int,
    reason: str,
) -> None:  # fmt: skip
    """A telegram in error that will not be sent (the person's later telegrams go on): e.g. a 転出 whose city is
    not on the 住基ネット, for which the counter gives a paper 転出証明書 instead."""
    _act(uow_factory, cs, transfers_of, actor, telegram, "discard", reason)


def _act(
    uow_factory: UnitOfWorkFactory, cs: CsTransaction, transfers_of: TransfersOf, actor: Actor, telegram: int,
    action: str, reason: str,
) -> None:  # fmt: skip
    authorize(uow_factory, actor, CS_OPERATE, f"cs:telegram_{action}", (f"cs-telegram:{telegram}",))
    with cs() as store:
        transfers = transfers_of(store)
        found = transfers.out_telegram(telegram)
        if found is None or found.state != ERROR:
            raise TelegramNotInError()
        if action == "resend" and found.to_city_code is None:
            raise TelegramNeedsCity()
        state = QUEUED if action == "resend" else DISCARDED
        transfers.change_out(
            telegram, {"state": state, "next_attempt_at": None, "attempts": 0} | _failure(None)
        )
        said = "再送待ちにしました" if action == "resend" else f"破棄しました（理由: {len(reason)}文字）"
        _log(store, f"telegram_{action}", "ok", f"{TELEGRAM_NAMES[TelegramKind(found.kind)]} 電文{telegram}: {said}",
             found.addressee_number, found.kind, staff=actor.staff_id, terminal=actor.terminal)  # fmt: skip
    with uow_factory() as uow:
        uow.log(
            actor, LogEntry(f"cs:telegram_{action}", [found.addressee_number], facts={"telegram": telegram})
        )
        uow.commit()
