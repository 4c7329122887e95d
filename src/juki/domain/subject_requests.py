"""Data-subject requests (開示・訂正・利用停止請求, seed IV-1): the rules, without storage.

A request is received in writing (seed IV-1②: 書面の提出により受け付ける), from the person, a legal representative
(法定代理人) or an agent (任意代理人, allowed for 特定個人情報 by 番号法第30条). Its identity check records only the
*kind* of document shown: a document's number is never kept (a 個人番号カード's number could be anything).

The period (個人情報保護法第83条・第94条・第102条): a decision within 30 days of the day the request arrived,
counted without that day (民法第140条), so the period ends on `received_on + 30 days`. It can be extended once,
by at most 30 more days, for a stated reason, and only while the period is running (同第83条第2項: the requester is
told of the extension and its reason without delay). When the period ends on a day the city is closed, it ends on
the next open day (地方自治法第4条の2第4項); the city's closed days are those of 同条第2項 — Saturdays, Sundays,
national holidays and 12/29–1/3.

States: received → (extended) → decided → answered. A decision is taken once; the answer (the written notice) only
after it. A granted correction does not change the register by itself: it points at the filing or ex officio
correction that does.
"""

from __future__ import annotations

from datetime import date, timedelta

import jpholiday

from juki.domain.errors import Conflict, InvalidDate, InvalidField, redact


class InvalidState(Conflict):
    """The request is not in a state that allows the step (answer before deciding, decide twice …)."""

    code = "invalid_state"
    status = 409


KINDS = {"disclosure": "開示請求", "correction": "訂正請求", "suspension": "利用停止請求"}
REQUESTER_TYPES = {"self": "本人", "legal_representative": "法定代理人", "agent": "任意代理人"}
# Only the kind of document is kept, never its number.
IDENTITY_DOCUMENTS = {
    "my_number_card": "個人番号カード",
    "driver_license": "運転免許証",
    "passport": "旅券",
    "residence_card": "在留カード",
    "special_permanent_resident_certificate": "特別永住者証明書",
    "health_insurance": "健康保険の資格確認書等",
    "other": "その他の官公署発行の書類",
}
# What shows a representative's or agent's authority (required unless the person asks for themselves).
AUTHORITY_DOCUMENTS = {
    "family_register": "戸籍謄本等（親権者）",
    "guardianship_certificate": "登記事項証明書（成年後見人）",
    "power_of_attorney": "委任状",
    "other": "その他",
}
DECISIONS = {
    "disclosure": ("disclose", "partial", "refuse"),  # 開示 / 部分開示 / 不開示
    "correction": ("correct", "no_correction"),  # 訂正 / 訂正しない
    "suspension": ("suspend", "no_suspension"),  # 利用停止 / 利用停止しない
}
# Anything short of granting the whole request must say why (行政手続法第8条: 理由の提示).
NEEDS_REASON = frozenset({"partial", "refuse", "no_correction", "no_suspension"})

RECEIVED, EXTENDED, DECIDED, ANSWERED = "received", "extended", "decided", "answered"
STATES = (RECEIVED, EXTENDED, DECIDED, ANSWERED)
OPEN = (RECEIVED, EXTENDED)  # not yet decided

PERIOD_DAYS = 30
MAX_EXTENSION_DAYS = 30


def _one_of(value: str, allowed: dict[str, str] | tuple[str, ...], field: str, what: str) -> str:
    if value not in allowed:
        raise InvalidField(f"{what}は {', '.join(allowed)} のいずれかです", field)
    return value


def check_kind(kind: str) -> str:
    return _one_of(kind, KINDS, "kind", "請求の種類")


def check_requester_type(value: str) -> str:
    return _one_of(value, REQUESTER_TYPES, "requester.type", "請求者の区分")


def check_identity_document(value: str) -> str:
    return _one_of(value, IDENTITY_DOCUMENTS, "identity_check.document", "本人確認書類の種類")


def check_authority(requester_type: str, relationship: str | None, authority_document: str | None) -> None:
    """A representative or agent states the relationship and shows what gives them the authority."""
    if requester_type == "self":
        return
    if not relationship:
        raise InvalidField("代理人による請求は本人との関係が必要です", "requester.relationship")
    if authority_document is None:
        raise InvalidField("代理権を確認した書類の種類が必要です", "identity_check.authority_document")
    _one_of(
        authority_document, AUTHORITY_DOCUMENTS, "identity_check.authority_document", "代理権を確認した書類"
    )


def refuse_my_number(text: str, field: str) -> str:
    """Free text of a procedure that does not use My Numbers must not hold one (番号法第20条: no keeping)."""
    if redact(text) != text:
        raise InvalidField("個人番号と思われる12桁の数字は記載できません", field)
    return text


# --- the period -----------------------------------------------------------------------------------------------


def is_closed_day(day: date) -> bool:
    """A day the city is closed (地方自治法第4条の2第2項): weekend, national holiday, 12/29–1/3."""
    if day.weekday() >= 5 or jpholiday.is_holiday(day):
        return True
    return (day.month, day.day) >= (12, 29) or (day.month, day.day) <= (1, 3)


def next_open_day(day: date) -> date:
    while is_closed_day(day):
        day += timedelta(days=1)
    return day


def due_date(received_on: date, extension_days: int = 0) -> date:
    """The last day for the decision: the period's end (初日不算入), moved past days the city is closed."""
    return next_open_day(received_on + timedelta(days=PERIOD_DAYS + extension_days))


def check_received_on(received_on: date, today: date) -> date:
    if received_on > today:
        raise InvalidDate("受付日が未来の日付です", "received_on")
    return received_on


def check_extension(state: str, days: int, today: date, due_on: date) -> int:
    if state == EXTENDED:
        raise InvalidState("期限の延長は一度だけです", "state")
    if state != RECEIVED:
        raise InvalidState("決定済みの請求の期限は延長できません", "state")
    if not 1 <= days <= MAX_EXTENSION_DAYS:
        raise InvalidField(f"延長できる日数は1日から{MAX_EXTENSION_DAYS}日までです", "days")
    if today > due_on:
        raise InvalidState("期限を過ぎた請求は延長できません（延長は期間内に通知します）", "state")
    return days


def check_decision(kind: str, state: str, decision: str, reason: str | None, filing_id: str | None) -> None:
    if state not in OPEN:
        raise InvalidState("この請求は既に決定されています", "state")
    _one_of(decision, DECISIONS[kind], "decision", f"{KINDS[kind]}の決定")
    if decision in NEEDS_REASON and not reason:
        raise InvalidField("全部を認める決定でない場合は理由が必要です", "reason")
    if filing_id is not None and decision != "correct":
        raise InvalidField("訂正の届出・職権修正は訂正決定にのみ結び付けられます", "correction_filing_id")


def check_decided_on(decided_on: date, received_on: date, today: date) -> date:
    if decided_on > today:
        raise InvalidDate("決定日が未来の日付です", "decided_on")
    if decided_on < received_on:
        raise InvalidDate("決定日が受付日より前です", "decided_on")
    return decided_on


def check_answer(state: str, answered_on: date, decided_on: date, today: date) -> date:
    if state in OPEN:
        raise InvalidState("決定前の請求には回答できません", "state")
    if state == ANSWERED:
        raise InvalidState("この請求には既に回答しています", "state")
    if answered_on > today:
        raise InvalidDate("通知日が未来の日付です", "answered_on")
    if answered_on < decided_on:
        raise InvalidDate("通知日が決定日より前です", "answered_on")
    return answered_on


def is_overdue(state: str, due_on: date, today: date) -> bool:
    """Past the last day and not answered yet."""
    return state != ANSWERED and today > due_on
