"""Answering 照会 (provision) from the network's inbox, the review queue, and sending the answers.

A query is decided in one transaction, which records the decision (`ims_queries`) and the 情報提供等記録 entries; its
answer is then sent to the network — at once, and again at each pass while the network does not take it (`due`).
In order:

1. a query id seen before at another place of the inbox is a replay: refused (照会番号が重複しています), the first
   answer stands (the network keeps it); a message read twice (same place) is handled once;
2. the 照会許可照合リスト must name exactly (requester, legal basis, information) and allow every item asked —
   else refused (照会は許可されていません); answered before the 符号's, so that an unpermitted body learns nothing
   of it (the 符号 is still looked up, so that the person's own history shows the refusal);
3. the 符号 must be one the network issued to the city — else refused (符号が登録されていません);
4. a person flagged 自動応答不可 — a 支援措置 in force, or set by hand — and an answer that names a 世帯主 so
   flagged are held (pending) and enter the review queue: a supervisor releases (the answer then goes with its
   data) or refuses (提供できません; the reason stays in the city);
5. else answered with exactly the items asked (item name → value), never a My Number and never the 符号.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from juki.domain.dates import JST
from juki.intermediate import wire
from juki.intermediate.domain import provision_log as plog
from juki.intermediate.domain import replica as layout
from juki.intermediate.domain.permissions import QueryPermissionList
from juki.intermediate.ports import ImsStore, ImsTransaction, LogLine, QueryRow, ReplicaRecord
from juki.intermediate.services import addressees, link_codes, provision_log

INBOX_CURSOR = "network_inbox"
# What became of a query (ims_queries.state).
ANSWERED, REFUSED, PENDING, RELEASED, WITHHELD, DUPLICATE = (
    "answered", "refused", "pending", "released", "withheld", "duplicate",
)  # fmt: skip
SUPPORT = "support"
RECEIVED_STATUS = "received"


def today_of(store: ImsStore) -> date:
    return store.now.astimezone(JST).date()


# --- 自動応答不可 -------------------------------------------------------------------------------------------------


def no_auto_reply(store: ImsStore, addressee_number: str, today: date | None = None) -> bool:
    """A 支援措置 in force today (as the register passed it on), or the flag a supervisor set by hand."""
    day = today or today_of(store)
    flag = store.flag(addressee_number)
    if flag is not None and flag.no_auto_reply:
        return True
    return any(p.restriction == SUPPORT and p.in_force(day) for p in store.protections(addressee_number))


def _held(store: ImsStore, unified_number: str, record: ReplicaRecord, items: Sequence[str]) -> bool:
    persons = addressees.addressees_of(store, unified_number)
    if any(no_auto_reply(store, a) for a in persons):
        return True
    names_head = layout.RESIDENT_INFO.item(layout.HOUSEHOLDER_NAME)
    if names_head is None or names_head.name not in items:
        return False
    if (record.items.get(layout.HOUSEHOLDER_NAME) or {}).get("value") is None:
        return False
    for person in persons:  # the answer names their 世帯主: a 世帯主 under a 支援措置 holds it too
        state = store.person(person)
        head = store.householder(state.household_number) if state and state.household_number else None
        if head and head != person and no_auto_reply(store, head):
            return True
    return False


# --- deciding ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    state: str
    status: str
    message: str
    items: tuple[str, ...]  # answered: the items given; otherwise the items asked
    procedure: str = ""
    unified_number: str | None = None
    replica_id: int | None = None


def decide(store: ImsStore, query: wire.Query, permissions: QueryPermissionList) -> int | None:
    """Record one query and its answer (due to be sent); None when this very message was handled before."""
    earlier = store.queries_by_id(query.query_id)
    if any(row.seq == query.seq for row in earlier):
        return None
    outcome = _outcome(store, query, permissions, replay=bool(earlier))
    row_id = store.add_query(
        {
            "query_id": query.query_id, "seq": query.seq, "requester": query.requester,
            "legal_basis": query.legal_basis, "procedure": outcome.procedure, "information": query.information,
            "items_asked": None if query.items is None else list(query.items), "link_code": query.link_code,
            "unified_number": outcome.unified_number, "state": outcome.state, "status": outcome.status,
            "message": outcome.message, "answer_items": list(outcome.items), "replica_id": outcome.replica_id,
            "due": True, "attempts": 0, "received_at": store.now,
        }
    )  # fmt: skip
    row = store.query(row_id)
    assert row is not None
    provision_log.record(
        store, plog.RECEIVED, row, items=query.items or (), status=RECEIVED_STATUS, message=""
    )
    action = {ANSWERED: plog.ANSWERED, PENDING: plog.HELD}.get(outcome.state, plog.REFUSED)
    provision_log.record(
        store, action, row, items=outcome.items, status=outcome.status, message=outcome.message
    )
    return row_id


def _outcome(store: ImsStore, query: wire.Query, permissions: QueryPermissionList, replay: bool) -> Outcome:
    asked = tuple(query.items or ())
    holder = store.unified_by_link_code(query.link_code) if query.link_code else None
    # The person is recorded whatever the answer, so that their own history shows a refusal too.
    number = holder.unified_number if holder and holder.link_code_state == link_codes.ISSUED else None
    if replay:
        return Outcome(DUPLICATE, wire.REFUSED, wire.DUPLICATE_QUERY, asked, unified_number=number)
    decision = permissions.decide(query.requester, query.legal_basis, query.information, query.items)
    procedure = decision.entry.procedure if decision.entry else ""
    if not decision.allowed:
        return Outcome(REFUSED, wire.REFUSED, wire.NOT_PERMITTED, asked, procedure, number)
    if number is None:
        return Outcome(REFUSED, wire.REFUSED, wire.UNKNOWN_LINK_CODE, asked, procedure)
    spec = layout.LAYOUTS_BY_NAME[query.information]
    record = store.current_replica(number, spec.code)
    if record is None or record.operation != layout.REGISTER:
        return Outcome(REFUSED, wire.REFUSED, wire.NOT_PROVIDED, asked, procedure, number)
    if _held(store, number, record, decision.items):
        return Outcome(
            PENDING, wire.PENDING, wire.HELD_FOR_REVIEW, decision.items, procedure, number, record.id
        )
    return Outcome(ANSWERED, wire.ANSWERED, wire.PROVIDED, decision.items, procedure, number, record.id)


# --- the review queue ----------------------------------------------------------------------------------------------


class NotInQueue(LookupError):
    """The query is not (or no longer) waiting for a supervisor."""


def release(store: ImsStore, row_id: int, staff_id: str) -> QueryRow:
    """A supervisor lets the held answer go, with the 副本 as it is now."""
    row = _waiting(store, row_id)
    record = store.current_replica(row.unified_number or "", layout.LAYOUTS_BY_NAME[row.information].code)
    if record is None or record.operation != layout.REGISTER:
        return _close(store, row, WITHHELD, plog.WITHHELD, staff_id, "副本がありません")
    store.change_query(
        row.id,
        {"state": RELEASED, "status": wire.ANSWERED, "message": wire.PROVIDED, "replica_id": record.id, "due": True,
         "decided_by": staff_id, "decided_at": store.now},
    )  # fmt: skip
    done = store.query(row.id)
    assert done is not None
    provision_log.record(store, plog.RELEASED, done, items=done.answer_items, status=wire.ANSWERED,
                         message=wire.PROVIDED, staff_id=staff_id)  # fmt: skip
    return done


def refuse(store: ImsStore, row_id: int, staff_id: str, reason: str) -> QueryRow:
    """A supervisor refuses the held answer: the requester reads 提供できません, never the reason."""
    return _close(store, _waiting(store, row_id), WITHHELD, plog.WITHHELD, staff_id, reason)


def _close(store: ImsStore, row: QueryRow, state: str, action: str, staff_id: str, reason: str) -> QueryRow:
    store.change_query(
        row.id,
        {"state": state, "status": wire.REFUSED, "message": wire.NOT_PROVIDED, "replica_id": None, "due": True,
         "decided_by": staff_id, "decided_at": store.now, "review_reason": reason},
    )  # fmt: skip
    done = store.query(row.id)
    assert done is not None
    provision_log.record(store, action, done, items=done.answer_items, status=wire.REFUSED,
                         message=wire.NOT_PROVIDED, staff_id=staff_id)  # fmt: skip
    return done


def _waiting(store: ImsStore, row_id: int) -> QueryRow:
    row = store.query(row_id)
    if row is None or row.state != PENDING:
        raise NotInQueue("この照会は審査待ちではありません")
    return row


# --- sending -------------------------------------------------------------------------------------------------------


def answer_of(store: ImsStore, row: QueryRow) -> wire.QueryAnswer:
    data: dict[str, str | None] | None = None
    if row.status == wire.ANSWERED and row.replica_id is not None:
        record = store.replica(row.replica_id)
        data = layout.answer_data(record.items, row.answer_items) if record else None
    return wire.QueryAnswer(row.query_id, row.status, data, row.message)


@dataclass
class SendReport:
    sent: list[int] = field(default_factory=list)
    unreachable: bool = False


def send_due(
    ims: ImsTransaction, network: wire.NetworkClient, only: Sequence[int] | None = None
) -> SendReport:
    """Every answer not yet taken by the network (or those of `only`), oldest first; stops at the first
    `NetworkUnreachable` (the rest wait for the next pass)."""
    report = SendReport()
    with ims() as store:
        due = [(r.id, answer_of(store, r)) for r in store.due_answers() if only is None or r.id in only]
    for row_id, answer in due:
        try:
            network.answer(answer)
        except wire.UnknownQuery:  # a definite answer: sending again will not help
            with ims() as store:
                _given_up(store, row_id)
            continue
        except wire.NetworkUnreachable:
            with ims() as store:
                _attempted(store, row_id, None)
            report.unreachable = True
            break
        with ims() as store:
            _attempted(store, row_id, answer)
        report.sent.append(row_id)
    return report


def _attempted(store: ImsStore, row_id: int, sent: wire.QueryAnswer | None) -> None:
    """Count the attempt; an answer the network took is done unless a decision made meanwhile (a release) changed
    what is to be sent."""
    row = store.query(row_id)
    if row is None:
        return
    values: dict[str, Any] = {"attempts": row.attempts + 1}
    if sent is not None and (row.status, row.message) == (sent.status, sent.message):
        values.update({"sent_at": store.now, "due": False})
    store.change_query(row_id, values)


def _given_up(store: ImsStore, row_id: int) -> None:
    """The network does not know the query (404 unknown_query): sending again will not help."""
    row = store.query(row_id)
    if row is not None:
        store.change_query(row_id, {"attempts": row.attempts + 1, "due": False})
        store.log(
            LogLine("answer", "unknown_query", "ネットワークがこの照会を知らないため、回答の送信をやめました")
        )


# --- the inbox -------------------------------------------------------------------------------------------------------


@dataclass
class InboxReport:
    link_codes: int = 0
    queries: int = 0
    malformed: int = 0
    answers: list[int] = field(default_factory=list)  # query rows whose answer is due


def take_inbox(
    ims: ImsTransaction,
    network: wire.NetworkClient,
    city_code: str,
    permissions: QueryPermissionList,
    wait: float = 0,
) -> InboxReport:
    """Read the inbox after the kept cursor and handle each message in its own transaction, the cursor with it."""
    with ims() as store:
        after = store.cursor(INBOX_CURSOR)
    report = InboxReport()
    for message in network.inbox(city_code, after, wait):
        if message.seq <= after:
            continue
        with ims() as store:
            if isinstance(message, wire.LinkCodeIssued):
                report.link_codes += link_codes.issued(store, message)
            elif isinstance(message, wire.Query):
                row_id = decide(store, message, permissions)
                if row_id is not None:
                    report.queries += 1
                    report.answers.append(row_id)
            else:
                report.malformed += 1
                store.log(
                    LogLine("inbox", "malformed", f"受信メッセージの形式が正しくありません: {message.reason}")
                )
            store.set_cursor(INBOX_CURSOR, message.seq)
        after = message.seq
    return report
