"""The CS's part of the numbers J-LIS gives the city, one step of each relay pass (docs/cs-jlis.md):

1. **住民票コード stock** (住基法30条の2第2項, 標準仕様書 j870): the register's stock is asked (`numbers.stock`); when
   low, a block is asked of J-LIS, recorded here, then handed to the register (`numbers.receive_codes`). A block
   recorded but not handed (a crash between) is handed at the next pass; a block J-LIS issued whose answer was lost
   is asked again by the same request id and comes again, never twice.
2. **個人番号 requests** (番号法8条, 7条2項; j1130): each open request of the register (`numbers.open_requests`) is
   sent to J-LIS once it takes it; "not yet known" (the person's 出生 or 転入 notice has not reached the national
   server) is asked again after the relay's backoff — a wait, not an error.
3. **Answers**: J-LIS's feed, from the cursor the CS keeps, each answer handed to the register in order
   (`numbers.assign`, with the 送付先情報 hook): the number set, the request closed, the record built — one register
   transaction. A refusal (`number_request_not_found`, `duplicate_my_number`, `invalid_my_number` …) or an entry that
   is not an answer (`malformed_answer`) goes to the J-LIS error queue; the cursor moves past it.
4. **送付先情報**: the records the register has ready (`mailing.ready`) to J-LIS; accepted → `mailing.delivered`,
   refused (a mismatch naming the item, a format error) → `mailing.refused` and the J-LIS error queue.

The 符号取得 requests of the 団体内統合宛名 function go over the same link right after these four
(services/link_codes.py, run by the relay); their refusals join the J-LIS error queue here (subject `link_code`).

What the CS did is its own append-only story (`cs_jlis_events`, one row per step of a block, request, answer or
record; cs/adapters/jlis_tables.py) and lines of the CS log. Nothing here writes a 個人番号: an answer's number goes
from the wire to the register's `assign` and nowhere else; refusals are kept by code and item name.

Crash between a step and its record: an answer handed and not recorded comes again from the feed and the register
says its request is closed (`number_request_not_found`): since the CS had begun handing that very answer, it is
recorded as handed before (`assigned_before`), not an error; the same for a block the register already took
(`resident_code_block_overlaps` after a hand-over begun: `handed_before`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from juki.cs.jlis_wire import (
    ANSWERS_PAGE,
    Answer,
    Block,
    BlockRequest,
    JlisClient,
    MailingRecord,
    MailingValue,
    MalformedAnswer,
    NotYetKnown,
    NumberRequestOut,
    Taken,
)
from juki.cs.services.delivery import Backoff
from juki.cs.services.ports import CsStore, CsTransaction, LogLine
from juki.cs.wire import Accepted, Refused, Unreachable
from juki.domain.errors import DomainError, NumberRequestNotFound, ResidentCodeBlockOverlaps
from juki.policy.roles import CS_OPERATE, CS_SYSTEM, Actor
from juki.services import numbers
from juki.services.authorization import authorize
from juki.services.ids import dated_id
from juki.services.numbers import NumberAnswer, OnAssigned, Stock
from juki.services.unit_of_work import UnitOfWorkFactory

if TYPE_CHECKING:
    from juki.cs.services.link_codes import LinkCodesOf

log = logging.getLogger("juki.cs.jlis")

# What a row of `cs_jlis_events` is about, and what happened.
BLOCK, REQUEST, ANSWER, MAILING = "block", "request", "answer", "mailing"
LINK_CODE = "link_code"  # a 符号取得の要求 (services/link_codes.py): only its refusals are rows here
ASKED, RECEIVED, HANDING, HANDED, HANDED_BEFORE = "asked", "received", "handing", "handed", "handed_before"
TAKEN, NOT_YET_KNOWN = "taken", "not_yet_known"
ASSIGNED, ASSIGNED_BEFORE, MALFORMED = "assigned", "assigned_before", "malformed"
DELIVERED, REFUSED = "delivered", "refused"
ERROR_EVENTS = (REFUSED, MALFORMED)  # the J-LIS error queue: the operator's page lists them
BLOCK_DONE = (HANDED, HANDED_BEFORE, REFUSED)
ANSWER_DONE = (ASSIGNED, ASSIGNED_BEFORE, REFUSED, MALFORMED)
SUBJECT_WORDS = {
    BLOCK: "住民票コード",
    REQUEST: "個人番号の要求",
    ANSWER: "個人番号の回答",
    MAILING: "送付先情報",
    LINK_CODE: "符号取得の要求",
}
MALFORMED_ANSWER = "malformed_answer"

REQUESTS_PER_PASS = 1000  # open requests read a pass (oldest first); those J-LIS took are only waited for
MAILING_PER_PASS = 200


@dataclass(frozen=True)
class JlisEvent:
    """One step of a block, request, answer or 送付先情報 record (never a number; codes of a block in `detail`)."""

    subject: str
    ref: str  # the block request's id, the 個人番号 request's id, the record's id
    event: str
    resident_code: str | None = None
    seq: int | None = None  # an answer's place in J-LIS's feed
    attempts: int | None = None
    next_attempt_at: datetime | None = None
    code: str | None = None
    item: str | None = None
    detail: Mapping[str, Any] | None = None
    at: datetime | None = None  # given by the store
    id: int | None = None


@dataclass(frozen=True)
class StockSeen:
    """The stock as the CS last saw it (for its operator, who does not read the register)."""

    at: datetime
    available: int
    threshold: int

    @property
    def low(self) -> bool:
        return self.available < self.threshold


class JlisStore(Protocol):
    now: datetime

    def add(self, event: JlisEvent) -> None: ...

    def latest(self, subject: str, refs: Sequence[str]) -> dict[str, JlisEvent]:
        """The latest event of each of `refs` that has one."""
        ...

    def blocks(self) -> list[JlisEvent]:
        """The latest event of every block request, oldest request first."""
        ...

    def received(self, ref: str) -> JlisEvent | None:
        """The `received` event of a block request (its block id and codes)."""
        ...

    def cursor(self) -> int:
        """The last place of J-LIS's feed dealt with (0: none)."""
        ...

    def errors(self, limit: int) -> tuple[list[JlisEvent], int]:
        """The latest error events (newest first, at most `limit`) and how many there are."""
        ...

    def see_stock(self, available: int, threshold: int) -> None: ...

    def last_stock(self) -> StockSeen | None: ...


JlisOf = Callable[[CsStore], JlisStore]


class MailingOut(Protocol):
    """A 送付先情報 record ready for J-LIS (services/mailing.MailingOut)."""

    @property
    def record_id(self) -> str: ...

    @property
    def resident_code(self) -> str: ...

    @property
    def items(self) -> Mapping[str, MailingValue]: ...


class MailingPort(Protocol):
    """What the CS needs of the register's 送付先情報 (services/mailing.py), each as the CS itself."""

    def ready(self, uow_factory: UnitOfWorkFactory, actor: Actor, limit: int) -> Sequence[MailingOut]: ...

    def delivered(self, uow_factory: UnitOfWorkFactory, actor: Actor, record_id: str) -> None: ...

    def refused(
        self, uow_factory: UnitOfWorkFactory, actor: Actor, record_id: str, code: str, item: str | None
    ) -> None: ...


@dataclass(frozen=True)
class Setup:
    """How the CS's J-LIS step is wired (bootstrap.Juki.cs_relay)."""

    uow_factory: UnitOfWorkFactory
    cs: CsTransaction
    jlis_of: JlisOf
    city_code: str
    threshold: int
    block_size: int
    mailing: MailingPort | None = None
    on_assigned: OnAssigned | None = None
    backoff: Backoff = field(default_factory=Backoff)
    terminal: str = "cs-server"
    actor: Actor = CS_SYSTEM
    # The 符号取得 requests' store (services/link_codes.py, cs/adapters/link_code_tables.of); None: not sent.
    link_codes_of: LinkCodesOf | None = None


@dataclass
class JlisReport:
    codes_received: int = 0
    requests_sent: int = 0  # taken by J-LIS this pass
    not_yet_known: int = 0
    assigned: int = 0
    mailing_delivered: int = 0
    link_codes_sent: int = 0  # 符号取得 requests J-LIS took this pass (services/link_codes.py)
    link_codes_waiting: int = 0  # not yet known, or the network unreachable: asked again after the backoff
    refused: int = 0  # into the J-LIS error queue this pass
    unreachable: bool = False
    stock: Stock | None = None

    @property
    def busy(self) -> bool:
        return bool(self.codes_received or self.requests_sent or self.assigned or self.mailing_delivered
                    or self.link_codes_sent or self.refused)  # fmt: skip


def run(setup: Setup, client: JlisClient) -> JlisReport:
    """The four steps in order; J-LIS unreachable stops the pass's J-LIS part (tried again at the next pass)."""
    report = JlisReport()
    try:
        top_up(setup, client, report)
        send_requests(setup, client, report)
        take_answers(setup, client, report)
        deliver_mailing(setup, client, report)
    except Unreachable as exc:
        report.unreachable = True  # every pass while it lasts: not worth a line each time
        log.debug("J-LIS unreachable: %s", exc)
    return report


# --- bookkeeping -------------------------------------------------------------------------------------------------


def _record(setup: Setup, event: JlisEvent, message: str | None = None) -> None:
    """The event, and a line of the CS log when it says something to people (`message`), in one transaction."""
    with setup.cs() as store:
        setup.jlis_of(store).add(event)
        if message is not None:
            store.log(LogLine(f"jlis_{event.subject}", event.code or event.event, message, CS_SYSTEM.staff_id,
                              setup.terminal, kind=SUBJECT_WORDS[event.subject]))  # fmt: skip


def _refused(setup: Setup, event: JlisEvent, report: JlisReport, message: str) -> None:
    _record(setup, event, message)
    report.refused += 1
    log.warning("J-LIS %s %s refused: %s (%s)", event.subject, event.ref, event.code, event.item or "-")


def _new_id(prefix: str, now: datetime) -> str:
    return dated_id(prefix, now.date())


# --- 1. the 住民票コード stock -------------------------------------------------------------------------------------


def top_up(setup: Setup, client: JlisClient, report: JlisReport | None = None) -> Stock:
    """Hand over any block recorded and not handed; then, when the stock is low, ask J-LIS for one (unless blocks
    were refused just now: then after the backoff). The stock as it is afterwards."""
    report = report if report is not None else JlisReport()
    with setup.cs() as store:
        pending = [b for b in setup.jlis_of(store).blocks() if b.event not in BLOCK_DONE]
    for block in pending:
        _settle(setup, client, block, report)
    stock = _stock(setup)
    if stock.low and _may_ask(setup):
        with setup.cs() as store:
            asked = JlisEvent(BLOCK, _new_id("B", store.now), ASKED, detail={"size": setup.block_size})
            setup.jlis_of(store).add(asked)
        _settle(setup, client, asked, report)
        stock = _stock(setup)
    report.stock = stock
    return stock


def _stock(setup: Setup) -> Stock:
    stock = numbers.stock(setup.uow_factory, setup.actor, setup.threshold)
    with setup.cs() as store:
        jlis = setup.jlis_of(store)
        seen = jlis.last_stock()
        if seen is None or (seen.available, seen.threshold) != (stock.available, stock.threshold):
            jlis.see_stock(stock.available, stock.threshold)
    return stock


def _may_ask(setup: Setup) -> bool:
    """No new block while the last ones were refused, until the backoff after them has passed."""
    with setup.cs() as store:
        latest = setup.jlis_of(store).blocks()
        now = store.now
    refused = 0
    for block in reversed(latest):
        if block.event != REFUSED:
            break
        refused += 1
    if refused == 0 or latest[-1].at is None:
        return True
    return now >= latest[-1].at + setup.backoff.after(refused)


def _settle(setup: Setup, client: JlisClient, block: JlisEvent, report: JlisReport) -> None:
    if block.event == ASKED:
        size = int((block.detail or {}).get("size") or setup.block_size)
        answer = client.issue_block(BlockRequest(block.ref, setup.city_code, size))
        if isinstance(answer, Refused):
            event = JlisEvent(BLOCK, block.ref, REFUSED, code=answer.code, item=answer.item)
            _refused(
                setup, event, report, f"J-LISが住民票コードの払出しを受け付けませんでした: {answer.code}"
            )
            return
        _record(setup, _received(answer), f"J-LISから住民票コード{len(answer.codes)}件を受け取りました")
    with setup.cs() as store:
        received = setup.jlis_of(store).received(block.ref)
    if received is not None:
        _hand_over(setup, received, again=block.event == HANDING, report=report)


def _received(block: Block) -> JlisEvent:
    detail = {"block_id": block.block_id, "codes": list(block.codes)}
    return JlisEvent(BLOCK, block.block_request_id, RECEIVED, detail=detail)


def _hand_over(setup: Setup, received: JlisEvent, *, again: bool, report: JlisReport) -> None:
    detail = received.detail or {}
    block_id, codes = str(detail["block_id"]), [str(c) for c in detail["codes"]]
    _record(setup, JlisEvent(BLOCK, received.ref, HANDING, detail={"block_id": block_id}))
    try:
        taken = numbers.receive_codes(setup.uow_factory, setup.actor, block_id, codes)
    except ResidentCodeBlockOverlaps as exc:
        if again:  # a hand-over begun before and not recorded: the register took it then (module docstring)
            _record(setup, JlisEvent(BLOCK, received.ref, HANDED_BEFORE, code=exc.code),
                    "既存住基が受け取り済みの住民票コードでした（前回の受渡しが記録されていませんでした）")  # fmt: skip
            return
        _refused(setup, JlisEvent(BLOCK, received.ref, REFUSED, code=exc.code),
                 report, "既存住基が住民票コードを受け取りませんでした: 使用済みまたは在庫済みのコードを含みます")  # fmt: skip
        return
    except DomainError as exc:
        _refused(setup, JlisEvent(BLOCK, received.ref, REFUSED, code=exc.code, item=exc.field), report,
                 f"既存住基が住民票コードを受け取りませんでした: {exc.code}")  # fmt: skip
        return
    _record(setup, JlisEvent(BLOCK, received.ref, HANDED, detail={"block_id": block_id, "count": taken}),
            f"住民票コード{taken}件を既存住基の在庫に渡しました")  # fmt: skip
    report.codes_received += taken


# --- 2. the 個人番号 requests ---------------------------------------------------------------------------------------


def send_requests(setup: Setup, client: JlisClient, report: JlisReport) -> None:
    """Each open request J-LIS has not taken yet, and each "not yet known" whose wait is over."""
    requests = numbers.open_requests(setup.uow_factory, setup.actor, REQUESTS_PER_PASS)
    if not requests:
        return
    with setup.cs() as store:
        latest = setup.jlis_of(store).latest(REQUEST, [r.request_id for r in requests])
        now = store.now
    for request in requests:
        last = latest.get(request.request_id)
        if not _due(last, now):
            continue
        out = NumberRequestOut(request.request_id, request.kind, setup.city_code, request.resident_code)
        answer = client.request_number(out)
        _requested(setup, request.request_id, request.resident_code, last, answer, report)


def _due(last: JlisEvent | None, now: datetime) -> bool:
    if last is None:
        return True
    return last.event == NOT_YET_KNOWN and (last.next_attempt_at is None or last.next_attempt_at <= now)


def _requested(setup: Setup, request_id: str, code: str, last: JlisEvent | None,
               answer: Taken | NotYetKnown | Refused, report: JlisReport) -> None:  # fmt: skip
    if isinstance(answer, Taken):
        _record(setup, JlisEvent(REQUEST, request_id, TAKEN, code),
                "J-LISが個人番号の要求を受け付けました" + ("（再送）" if answer.duplicate else ""))  # fmt: skip
        report.requests_sent += 1
    elif isinstance(answer, NotYetKnown):
        attempts = (last.attempts or 0) + 1 if last is not None else 1
        with setup.cs() as store:
            retry = store.now + setup.backoff.after(attempts)
            setup.jlis_of(store).add(JlisEvent(REQUEST, request_id, NOT_YET_KNOWN, code, attempts=attempts,
                                               next_attempt_at=retry))  # fmt: skip
        report.not_yet_known += 1
    else:
        event = JlisEvent(REQUEST, request_id, REFUSED, code, code=answer.code, item=answer.item)
        _refused(setup, event, report, f"J-LISが個人番号の要求を受け付けませんでした: {answer.code}")


# --- 3. J-LIS's answers ---------------------------------------------------------------------------------------------


def take_answers(setup: Setup, client: JlisClient, report: JlisReport) -> None:
    """The feed from the cursor, page after page, each answer in order."""
    while True:
        with setup.cs() as store:
            after = setup.jlis_of(store).cursor()
        page = client.answers(setup.city_code, after)
        for answer in page:
            _take(setup, answer, report)
        if len(page) < ANSWERS_PAGE:
            return


def _take(setup: Setup, answer: Answer | MalformedAnswer, report: JlisReport) -> None:
    if isinstance(answer, MalformedAnswer):
        event = JlisEvent(ANSWER, answer.request_id or f"seq-{answer.seq}", MALFORMED, seq=answer.seq,
                          code=MALFORMED_ANSWER, detail={"reason": answer.reason})  # fmt: skip
        _refused(setup, event, report, f"J-LISの回答の形式が正しくありません（{answer.reason}）")
        return
    with setup.cs() as store:
        last = setup.jlis_of(store).latest(ANSWER, [answer.request_id]).get(answer.request_id)
    again = last is not None and last.seq == answer.seq and last.event == HANDING
    base = JlisEvent(ANSWER, answer.request_id, HANDING, answer.resident_code[:11], seq=answer.seq)
    _record(setup, base)
    given = NumberAnswer(answer.request_id, answer.resident_code, answer.my_number)
    try:
        filing_id = numbers.assign(setup.uow_factory, setup.actor, given, setup.on_assigned)
    except NumberRequestNotFound as exc:
        if again:
            _record(
                setup,
                _as(base, ASSIGNED_BEFORE),
                "既存住基で処理済みの回答でした（前回の受渡しが記録されていませんでした）",
            )
            return
        _refused(setup, _as(base, REFUSED, exc), report, "要求していない個人番号の回答です")
        return
    except DomainError as exc:
        _refused(
            setup,
            _as(base, REFUSED, exc),
            report,
            f"既存住基が個人番号の回答を受け付けませんでした: {exc.code}",
        )
        return
    _record(setup, _assigned(base, filing_id), "個人番号を既存住基に渡しました（個人番号指定・変更）")
    report.assigned += 1


def _as(base: JlisEvent, event: str, exc: DomainError | None = None) -> JlisEvent:
    return JlisEvent(base.subject, base.ref, event, base.resident_code, base.seq,
                     code=exc.code if exc else None, item=exc.field if exc else None)  # fmt: skip


def _assigned(base: JlisEvent, filing_id: str) -> JlisEvent:
    return JlisEvent(
        base.subject, base.ref, ASSIGNED, base.resident_code, base.seq, detail={"filing_id": filing_id}
    )


# --- 4. 送付先情報 ---------------------------------------------------------------------------------------------------


def deliver_mailing(setup: Setup, client: JlisClient, report: JlisReport) -> None:
    """Each record the register has ready, unless J-LIS (or the register) refused it before: a refused record
    stays refused; the counter builds a new one (services/mailing.rebuild)."""
    if setup.mailing is None:
        return
    records = list(setup.mailing.ready(setup.uow_factory, setup.actor, MAILING_PER_PASS))
    if not records:
        return
    with setup.cs() as store:
        latest = setup.jlis_of(store).latest(MAILING, [r.record_id for r in records])
    for out in records:
        last = latest.get(out.record_id)
        if last is not None and last.event == REFUSED:
            continue
        record = MailingRecord(out.record_id, setup.city_code, out.resident_code, to_residence(out),
                               dict(out.items))  # fmt: skip
        answer = client.deliver_mailing(record)
        if isinstance(answer, Accepted):
            _delivered(setup, out, answer, report)
        else:
            _mailing_refused(setup, out, answer, report)


def _delivered(setup: Setup, out: MailingOut, answer: Accepted, report: JlisReport) -> None:
    base = JlisEvent(MAILING, out.record_id, DELIVERED, out.resident_code[:11])
    assert setup.mailing is not None
    try:
        setup.mailing.delivered(setup.uow_factory, setup.actor, out.record_id)
    except DomainError as exc:  # J-LIS has it; the register would not record it: the operator looks
        event = JlisEvent(MAILING, out.record_id, REFUSED, base.resident_code, code=exc.code, item=exc.field)
        _refused(
            setup,
            event,
            report,
            f"J-LISが受け付けた送付先情報を既存住基が送付済みにできませんでした: {exc.code}",
        )
        return
    _record(setup, base, "送付先情報をJ-LISに送りました" + ("（再送）" if answer.duplicate else ""))
    report.mailing_delivered += 1


def _mailing_refused(setup: Setup, out: MailingOut, answer: Refused, report: JlisReport) -> None:
    """J-LIS's refusal to the register (with the item it named; without, when the register does not know the
    name) and into the J-LIS error queue."""
    assert setup.mailing is not None
    for item in dict.fromkeys((answer.item, None)):
        try:
            setup.mailing.refused(setup.uow_factory, setup.actor, out.record_id, answer.code, item)
            break
        except DomainError as exc:  # kept in the J-LIS error queue below whatever the register said
            log.warning("the register did not take J-LIS's refusal of %s: %s", out.record_id, exc.code)
    refused = JlisEvent(MAILING, out.record_id, REFUSED, out.resident_code[:11], code=answer.code,
                        item=answer.item)  # fmt: skip
    item = f"（{answer.item}）" if answer.item else ""
    _refused(setup, refused, report, f"J-LISが送付先情報を受け付けませんでした: {answer.code}{item}")


def to_residence(out: MailingOut) -> bool:
    """Whether the record goes to a 居所 registered for delivery (J-LIS then does not compare the address with the
    本人確認情報): a record that says so (`to_residence`, or `addressed_to` "residence"); one that does not say
    goes to the household's 住所."""
    return bool(getattr(out, "to_residence", False)) or getattr(out, "addressed_to", None) == "residence"


# --- the operator's view ----------------------------------------------------------------------------------------

ERRORS_SHOWN = 50


@dataclass(frozen=True)
class Status:
    """What the CS operator's page shows of J-LIS (j870's warning; the J-LIS error queue)."""

    stock: StockSeen | None
    errors: list[JlisEvent]
    errors_total: int


def status(uow_factory: UnitOfWorkFactory, cs: CsTransaction, jlis_of: JlisOf, actor: Actor) -> Status:
    authorize(uow_factory, actor, CS_OPERATE, "cs:jlis")
    with cs() as store:
        jlis = jlis_of(store)
        errors, total = jlis.errors(ERRORS_SHOWN)
        return Status(jlis.last_stock(), errors, total)
