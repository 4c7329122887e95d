"""The staff's functions on the 中間サーバー, for the web layer: each takes the Actor and checks the permission here
(policy/roles.py: `intermediate:read`, `intermediate:review`, `provision_log:read`), and leaves a line in the
中間サーバー's log. A refusal is logged too.

Staff find a person by the register's 宛名番号. They see the 符号's state, never the 符号, and the 団体内統合宛名番号
masked (domain/unified.masked): the full number is a key between the city's systems and the 中間サーバー and has no
use at a desk. They never see a My Number here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from juki.domain.errors import Conflict, Forbidden, InvalidField, NotFound
from juki.intermediate.domain import provision_log as plog
from juki.intermediate.domain import replica as layout
from juki.intermediate.domain import unified
from juki.intermediate.ports import Flag, ImsStore, ImsTransaction, LogLine, ProvisionFilter, QueryRow
from juki.intermediate.services import addressees, link_codes, provision_log, queries
from juki.policy.roles import INTERMEDIATE_READ, INTERMEDIATE_REVIEW, PROVISION_LOG_READ, Actor

MAX_REASON = 500
# What has waited longer than this is counted apart in the overview: a 符号 J-LIS keeps answering "not yet known"
# for, an answer the network has not taken, a held answer nobody decided. The relay retries without end (its
# backoff is capped at 30 minutes), so it is a person who must look.
OVERDUE = timedelta(days=1)


def _line(
    actor: Actor, action: str, result: str, message: str, addressee_number: str | None = None
) -> LogLine:
    return LogLine(action, result, message, actor.staff_id, actor.terminal, addressee_number)


def _check(ims: ImsTransaction, actor: Actor, permission: str, action: str) -> None:
    """A refusal is committed on its own (the caller's transaction would roll it back with the error)."""
    with ims() as store:
        if not actor.may(permission):
            store.log(_line(actor, action, "denied", permission))
            denied = True
        else:
            denied = False
    if denied:
        raise Forbidden("この操作の権限がありません")


# --- reading -------------------------------------------------------------------------------------------------------


def overview(ims: ImsTransaction, actor: Actor) -> dict[str, Any]:
    _check(ims, actor, INTERMEDIATE_READ, "overview")
    with ims() as store:
        counts = {state: 0 for state in link_codes.STATES}
        counts.update(store.link_code_counts())
        counts[link_codes.NONE] = store.persons_without_unified(addressees.REGISTER_SYSTEM)
        before = store.now - OVERDUE
        result = {
            "link_codes": counts,
            "review_queue": len(store.review_queue()),
            "answers_waiting": len(store.due_answers()),
            "persons": store.person_count(),
            "waiting_over_a_day": {
                "link_codes": store.link_codes_waiting_since(before),
                "answers": len(store.due_answers(received_before=before)),
                "review_queue": len(store.review_queue(received_before=before)),
            },
        }
        store.log(_line(actor, "overview", "ok", "概況を表示しました"))
    return result


def person_state(ims: ImsTransaction, actor: Actor, addressee_number: str) -> dict[str, Any]:
    """A person by the register's 宛名番号: the 符号's state, the masked unified number, 自動応答不可 and why, and
    their 副本's current version."""
    _check(ims, actor, INTERMEDIATE_READ, "person")
    with ims() as store:
        person = store.person(addressee_number)
        if person is None:
            raise NotFound("中間サーバーにこの宛名番号の記録がありません", "addressee_number")
        number = addressees.unified_of(store, addressees.REGISTER_SYSTEM, addressee_number)
        holder = store.unified(number) if number else None
        state = holder.link_code_state if holder else link_codes.NONE
        record = store.current_replica(number, layout.INFO_CODE) if number else None
        flag = store.flag(addressee_number)
        result = {
            "addressee_number": addressee_number,
            "removed": person.removed,
            "unified_number": unified.masked(number) if number else None,
            "link_code_state": state,
            "link_code_state_word": link_codes.STATE_WORDS[state],
            "no_auto_reply": queries.no_auto_reply(store, addressee_number),
            "no_auto_reply_by_hand": bool(flag and flag.no_auto_reply),
            "replica": None
            if record is None
            else {
                "version": record.record_version,
                "operation": record.operation,
                "registered_at": record.registered_at.isoformat(),
                "items": {
                    v["name"]: {"value": v["value"], "version": v["version"], "null_reason": v["null_reason"]}
                    for v in record.items.values()
                },
            },
        }
        store.log(_line(actor, "person", "ok", "符号の状態を表示しました", addressee_number))
    return result


def _query_view(store: ImsStore, row: QueryRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "query_id": row.query_id,
        "received_at": row.received_at.isoformat(),
        "requester": row.requester,
        "legal_basis": row.legal_basis,
        "procedure": row.procedure,
        "information": row.information,
        "items": list(row.answer_items),
        "addressee_numbers": addressees.addressees_of(store, row.unified_number)
        if row.unified_number
        else [],
        "state": row.state,
    }


def review_queue(ims: ImsTransaction, actor: Actor) -> list[dict[str, Any]]:
    _check(ims, actor, INTERMEDIATE_READ, "review_queue")
    with ims() as store:
        rows = [_query_view(store, r) for r in store.review_queue()]
        store.log(_line(actor, "review_queue", "ok", f"審査待ち {len(rows)} 件を表示しました"))
    return rows


# --- deciding ------------------------------------------------------------------------------------------------------


def release(ims: ImsTransaction, actor: Actor, row_id: int) -> dict[str, Any]:
    """Let a held answer go; it is sent at the next pass (or by the caller's `relay.send_answers`)."""
    _check(ims, actor, INTERMEDIATE_REVIEW, "release")
    with ims() as store:
        try:
            row = queries.release(store, row_id, actor.staff_id)
        except queries.NotInQueue as gone:
            raise Conflict(str(gone), "id") from None
        store.log(_line(actor, "release", "ok", "審査の上、提供しました"))
        return _query_view(store, row)


def refuse(ims: ImsTransaction, actor: Actor, row_id: int, reason: str) -> dict[str, Any]:
    """Refuse a held answer; `reason` stays in the city (the requester reads 提供できません)."""
    _check(ims, actor, INTERMEDIATE_REVIEW, "refuse")
    reason = _reason(reason)
    with ims() as store:
        try:
            row = queries.refuse(store, row_id, actor.staff_id, reason)
        except queries.NotInQueue as gone:
            raise Conflict(str(gone), "id") from None
        store.log(_line(actor, "refuse", "ok", "審査の上、提供しないこととしました"))
        return _query_view(store, row)


def set_no_auto_reply(
    ims: ImsTransaction, actor: Actor, addressee_number: str, on: bool, reason: str
) -> dict[str, Any]:
    """Set or clear 自動応答不可 by hand, with the reason (kept here, never sent out). A 支援措置 in force holds the
    person's answers whatever this flag says."""
    _check(ims, actor, INTERMEDIATE_REVIEW, "no_auto_reply")
    reason = _reason(reason)
    with ims() as store:
        if store.person(addressee_number) is None:
            raise NotFound("中間サーバーにこの宛名番号の記録がありません", "addressee_number")
        store.add_flag(Flag(addressee_number, on, reason, actor.staff_id, store.now))
        store.log(
            _line(
                actor,
                "no_auto_reply",
                "set" if on else "cleared",
                "自動応答不可を変更しました",
                addressee_number,
            )
        )
        return {
            "addressee_number": addressee_number,
            "no_auto_reply": queries.no_auto_reply(store, addressee_number),
        }


def request_link_code_again(ims: ImsTransaction, actor: Actor, addressee_number: str) -> dict[str, Any]:
    _check(ims, actor, INTERMEDIATE_REVIEW, "link_code_again")
    with ims() as store:
        number = addressees.unified_of(store, addressees.REGISTER_SYSTEM, addressee_number)
        holder = store.unified(number) if number else None
        if holder is None:
            raise Conflict("個人番号がないため、符号を要求できません", "addressee_number")
        if holder.link_code_state == link_codes.ISSUED:
            raise Conflict("符号は取得済みです", "addressee_number")
        link_codes.request_again(store, holder.unified_number)
        store.log(_line(actor, "link_code_again", "ok", "符号を再要求しました", addressee_number))
        return {"addressee_number": addressee_number, "link_code_state": link_codes.WAITING}


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_REASON:
        raise InvalidField(f"理由を{MAX_REASON}文字以内で入力してください", "reason")
    return reason


# --- the 情報提供等記録 ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogSearch:
    start: datetime | None = None
    end: datetime | None = None
    requester: str | None = None
    addressee_number: str | None = None
    limit: int = 500


def search_provision_log(ims: ImsTransaction, actor: Actor, search: LogSearch) -> list[dict[str, Any]]:
    _check(ims, actor, PROVISION_LOG_READ, "provision_log")
    with ims() as store:
        numbers = None
        if search.addressee_number:
            number = addressees.unified_of(store, addressees.REGISTER_SYSTEM, search.addressee_number)
            numbers = [number] if number else []
        rows = provision_log.search(
            store,
            ProvisionFilter(
                search.start, search.end, search.requester, numbers, None, min(search.limit, 5000)
            ),
        )
        result = [_entry(store, r.fields) for r in rows]
        store.log(_line(actor, "provision_log", "ok", f"情報提供等記録 {len(result)} 件を表示しました"))
    return result


def _entry(store: ImsStore, f: plog.Fields) -> dict[str, Any]:
    return {
        "seq": f.seq,
        "at": f.at.isoformat(),
        "action": f.action,
        "action_word": plog.ACTION_WORDS.get(f.action, f.action),
        "query_id": f.query_id,
        "requester": f.requester,
        "legal_basis": f.legal_basis,
        "procedure": f.procedure,
        "information": f.information,
        "unified_number": unified.masked(f.unified_number) if f.unified_number else None,
        "items": list(f.items),
        "status": f.status,
        "message": f.message,
        "staff_id": f.staff_id,
        "retain_until": f.retain_until.isoformat(),
    }


def verify_chain(ims: ImsTransaction, actor: Actor) -> dict[str, Any]:
    _check(ims, actor, PROVISION_LOG_READ, "provision_log_verify")
    with ims() as store:
        result = provision_log.verify(store)
        store.log(
            _line(
                actor,
                "provision_log_verify",
                "ok" if result.ok else "broken",
                "情報提供等記録の連鎖を検証しました",
            )
        )
    return {"ok": result.ok, "entries": result.entries, "first_broken": result.first_broken}
