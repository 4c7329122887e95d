"""Data-subject requests (開示・訂正・利用停止請求, seed IV-1): record, extend, decide, answer, and the
disclosure package.

Who may do what (policy/roles.py, procedure `subject_request`): a clerk or supervisor records a request and reads
the requests; only a supervisor extends the period, decides, answers, and builds the disclosure package. Every
read and write is logged with the person as its target; a refusal changes nothing and is logged as denied.

The disclosure package shows a person what the register holds about them (the current record and every version),
who used it (the operation log: when, which staff member by name, role and department, for which procedure, what
they did, whether a My Number was shown — 個人情報保護法 lets the person see who handled their data), and what
was provided or transferred about them (`PROVISION_SOURCES`: today the change feed to the city's departments and
systems; certificates and the intermediate server's answers are further sources of the same shape). The person's
own My Number is in the package only when the request asks for it and the procedure the actor acts for allows it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from juki.domain import subject_requests as rules
from juki.domain.dates import parse_date
from juki.domain.errors import InvalidField, NotFound, ProtectedRecord, Required, ResidentNotFound
from juki.domain.identifiers import validate_addressee_number
from juki.policy.roles import MY_NUMBER_REVEAL, SUBJECT_REQUEST_DECIDE, SUBJECT_REQUEST_FILE, Actor
from juki.services import protection
from juki.services.audit import LogEntry
from juki.services.authorization import authorize
from juki.services.read_models import SubjectRequest
from juki.services.register_queries import resident_view, version_view
from juki.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

_NOT_FOUND = "該当する請求が見つかりません"


# --- reading the body -----------------------------------------------------------------------------------------


def _text(payload: Mapping[str, Any], key: str, field: str, limit: int, required: bool = True) -> str | None:
    value = payload.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise Required(field=field)
        return None
    if not isinstance(value, str):
        raise InvalidField("文字列で入力してください", field)
    if len(value) > limit:
        raise InvalidField("長すぎます", field)
    return rules.refuse_my_number(value.strip(), field)


def _date(payload: Mapping[str, Any], key: str) -> date:
    value = payload.get(key)
    if not isinstance(value, str) or not value.strip():
        raise Required(field=key)
    return parse_date(value, key)


def _section(payload: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = payload.get(key)
    if not isinstance(value, Mapping):
        raise Required(field=key)
    return value


# --- the view of a request ------------------------------------------------------------------------------------


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def view(row: SubjectRequest, today: date) -> dict[str, Any]:
    return {
        "request_id": row.request_id,
        "kind": row.kind,
        "addressee_number": row.addressee_number,
        "state": row.state,
        "requester": {
            "type": row.requester_type,
            "name": row.requester_name,
            "relationship": row.requester_relationship,
        },
        "identity_check": {
            "document": row.identity_document,
            "authority_document": row.authority_document,
            "checked_by": row.identity_checked_by,
        },
        "received_on": row.received_on.isoformat(),
        "initial_due_on": row.initial_due_on.isoformat(),
        "due_on": row.due_on.isoformat(),
        "overdue": rules.is_overdue(row.state, row.due_on, today),
        "text": row.request_text,
        "include_my_number": row.include_my_number,
        "extension": None
        if row.extension_days is None
        else {
            "days": row.extension_days,
            "reason": row.extension_reason,
            "by": row.extended_by,
            "at": _iso(row.extended_at),
        },
        "decision": None
        if row.decision is None
        else {
            "outcome": row.decision,
            "reason": row.decision_reason,
            "decided_on": _iso(row.decided_on),
            "correction_filing_id": row.correction_filing_id,
            "by": row.decided_by,
            "at": _iso(row.decided_at),
        },
        "answer": None
        if row.answered_on is None
        else {
            "answered_on": row.answered_on.isoformat(),
            "late": row.answered_on > row.due_on,
            "by": row.answered_by,
            "at": _iso(row.answered_at),
        },
        "created_by": row.created_by,
        "created_at": _iso(row.created_at),
        "version": row.version,
    }


def _load(uow: UnitOfWork, request_id: str) -> SubjectRequest:
    row = uow.subject_requests.get(request_id)
    if row is None:
        raise NotFound(_NOT_FOUND, "request_id")
    return row


# --- recording, reading ---------------------------------------------------------------------------------------


def _screened(uow: UnitOfWork, actor: Actor, rows: list[SubjectRequest], action: str) -> list[dict[str, Any]]:
    """Requests as this actor may see them (支援措置, j440): one about a person the actor may not see keeps its
    request id, kind, state and dates for the work to go on, without whom it is about (the 宛名番号, the
    requester's name, the request's text). A temporary release (一時解除) by the officer shows it whole."""
    hidden = protection.screen(uow, actor, {r.addressee_number for r in rows}, action)
    views = []
    for row in rows:
        shown = view(row, uow.reader.today)
        if row.addressee_number in hidden:
            shown = {**shown, "addressee_number": None, "text": None}
            shown["requester"] = {**shown["requester"], "name": None, "relationship": None}
        views.append(shown)
    return views


def create(uow_factory: UnitOfWorkFactory, actor: Actor, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Record a written request (請求書の受付) with the identity check done at the counter."""
    authorize(uow_factory, actor, SUBJECT_REQUEST_FILE, "subject_request:file")
    kind = rules.check_kind(str(payload.get("kind", "")))
    number = validate_addressee_number(str(payload.get("addressee_number", "")))
    requester = _section(payload, "requester")
    requester_type = rules.check_requester_type(str(requester.get("type", "")))
    requester_name = _text(requester, "name", "requester.name", 200)
    relationship = _text(requester, "relationship", "requester.relationship", 200, required=False)
    check = _section(payload, "identity_check")
    document = rules.check_identity_document(str(check.get("document", "")))
    authority = check.get("authority_document")
    rules.check_authority(requester_type, relationship, None if authority is None else str(authority))
    checked_by = check.get("checked_by") or actor.staff_id
    received_on = _date(payload, "received_on")
    request_text = _text(payload, "text", "text", 4000)
    include_my_number = payload.get("include_my_number", False) is True
    if include_my_number and kind != "disclosure":
        raise InvalidField("個人番号の開示は開示請求でのみ求められます", "include_my_number")
    with uow_factory() as uow:
        today = uow.reader.today
        rules.check_received_on(received_on, today)
        staff = uow.subject_requests.staff_member(str(checked_by))
        if staff is None or not staff.active:
            raise InvalidField("本人確認をした職員が見つかりません", "identity_check.checked_by")
        if uow.queries.resident(number) is None:
            raise ResidentNotFound()
        due = rules.due_date(received_on)
        request_id = uow.subject_requests.add(
            dict(
                kind=kind, addressee_number=number, requester_type=requester_type,
                requester_name=requester_name, requester_relationship=relationship,
                identity_document=document, authority_document=None if requester_type == "self" else authority,
                identity_checked_by=staff.staff_id, received_on=received_on, initial_due_on=due, due_on=due,
                request_text=request_text, include_my_number=include_my_number, state=rules.RECEIVED,
                created_by=actor.staff_id, created_at=uow.now,
            ),
            today,
        )  # fmt: skip
        uow.log(actor, LogEntry("subject_request:file", [number], detail=f"{request_id} {kind}"))
        uow.commit()
        return view(_load(uow, request_id), today)


def get(uow_factory: UnitOfWorkFactory, actor: Actor, request_id: str) -> dict[str, Any]:
    authorize(uow_factory, actor, SUBJECT_REQUEST_FILE, "subject_request:view")
    with uow_factory() as uow:
        row = _load(uow, request_id)
        [shown] = _screened(uow, actor, [row], "subject_request:view")
        uow.log(actor, LogEntry("subject_request:view", [row.addressee_number], detail=request_id))
        uow.commit()
        return shown


def list_requests(
    uow_factory: UnitOfWorkFactory,
    actor: Actor,
    *,
    kind: str | None = None,
    state: str | None = None,
    addressee_number: str | None = None,
    overdue: bool | None = None,
    limit: int = 200,
) -> dict[str, Any]:
    """The requests, nearest deadline first; `overdue=True` lists those past their last day and not answered."""
    authorize(uow_factory, actor, SUBJECT_REQUEST_FILE, "subject_request:list")
    if kind is not None:
        rules.check_kind(kind)
    if state is not None and state not in rules.STATES:
        raise InvalidField(f"状態は {', '.join(rules.STATES)} のいずれかです", "state")
    number = validate_addressee_number(addressee_number) if addressee_number is not None else None
    with uow_factory() as uow:
        today = uow.reader.today
        rows = uow.subject_requests.find(
            kind=kind,
            state=state,
            addressee_number=number,
            overdue_on=today if overdue is True else None,
            not_overdue_on=today if overdue is False else None,
            limit=limit + 1,
        )
        truncated = len(rows) > limit
        rows = rows[:limit]
        views = _screened(uow, actor, rows, "subject_request:list")
        uow.log(
            actor,
            LogEntry(
                "subject_request:list",
                sorted({r.addressee_number for r in rows}),
                detail=f"kind={kind} state={state} overdue={overdue} results={len(rows)}",
            ),
        )
        uow.commit()
    return {"requests": views, "truncated": truncated}


# --- the steps ------------------------------------------------------------------------------------------------


def _step(
    uow_factory: UnitOfWorkFactory,
    actor: Actor,
    request_id: str,
    action: str,
    values_for: Callable[[UnitOfWork, SubjectRequest], dict[str, Any]],
) -> dict[str, Any]:
    authorize(uow_factory, actor, SUBJECT_REQUEST_DECIDE, action)
    with uow_factory() as uow:
        row = _load(uow, request_id)
        values = values_for(uow, row)
        uow.subject_requests.change(request_id, row.version, values)
        detail = f"{request_id} {values.get('decision') or values.get('state', '')}".strip()
        [shown] = _screened(uow, actor, [_load(uow, request_id)], action)
        uow.log(actor, LogEntry(action, [row.addressee_number], detail=detail))
        uow.commit()
        return shown


def extend(
    uow_factory: UnitOfWorkFactory, actor: Actor, request_id: str, payload: Mapping[str, Any]
) -> dict[str, Any]:
    """Extend the period once, by up to 30 days, for a stated reason, while it is still running."""
    days = payload.get("days", rules.MAX_EXTENSION_DAYS)
    if not isinstance(days, int) or isinstance(days, bool):
        raise InvalidField("日数は整数で入力してください", "days")
    reason = _text(payload, "reason", "reason", 2000)

    def values(uow: UnitOfWork, row: SubjectRequest) -> dict[str, Any]:
        rules.check_extension(row.state, days, uow.reader.today, row.due_on)
        return {
            "state": rules.EXTENDED,
            "due_on": rules.due_date(row.received_on, days),
            "extension_days": days,
            "extension_reason": reason,
            "extended_by": actor.staff_id,
            "extended_at": uow.now,
        }

    return _step(uow_factory, actor, request_id, "subject_request:extend", values)


def _check_correction_filing(uow: UnitOfWork, filing_id: str, addressee_number: str) -> None:
    """The filing or ex officio correction that carries out a granted correction must be about the person."""
    filing = uow.queries.filing(filing_id)
    if filing is None:
        raise InvalidField("訂正を行った届出・職権修正が見つかりません", "correction_filing_id")
    payload = filing.payload or {}
    named = {payload.get("addressee_number"), *(payload.get("addressee_numbers") or [])}
    changed = {c.addressee_number for c in uow.queries.filing_changes(filing_id)}
    if addressee_number not in named | changed:
        raise InvalidField(
            "その届出・職権修正は請求の対象者についてのものではありません", "correction_filing_id"
        )


def decide(
    uow_factory: UnitOfWorkFactory, actor: Actor, request_id: str, payload: Mapping[str, Any]
) -> dict[str, Any]:
    """開示決定・訂正決定・利用停止決定 (or their refusals), once, with reasons for anything short of granting."""
    decision = str(payload.get("decision", ""))
    decided_on = _date(payload, "decided_on") if payload.get("decided_on") else None
    reason = _text(payload, "reason", "reason", 4000, required=False)
    filing_id = payload.get("correction_filing_id")
    filing_id = str(filing_id) if filing_id else None

    def values(uow: UnitOfWork, row: SubjectRequest) -> dict[str, Any]:
        rules.check_decision(row.kind, row.state, decision, reason, filing_id)
        on = rules.check_decided_on(decided_on or uow.reader.today, row.received_on, uow.reader.today)
        if filing_id is not None:
            _check_correction_filing(uow, filing_id, row.addressee_number)
        return {
            "state": rules.DECIDED,
            "decision": decision,
            "decision_reason": reason,
            "decided_on": on,
            "correction_filing_id": filing_id,
            "decided_by": actor.staff_id,
            "decided_at": uow.now,
        }

    return _step(uow_factory, actor, request_id, "subject_request:decide", values)


def answer(
    uow_factory: UnitOfWorkFactory, actor: Actor, request_id: str, payload: Mapping[str, Any]
) -> dict[str, Any]:
    """The written notice of the decision (決定通知) went out on `answered_on`. A granted correction may name the
    filing that carried it out here, if it was not named at the decision."""
    answered_on = _date(payload, "answered_on")
    filing_id = payload.get("correction_filing_id")
    filing_id = str(filing_id) if filing_id else None

    def values(uow: UnitOfWork, row: SubjectRequest) -> dict[str, Any]:
        rules.check_answer(row.state, answered_on, row.decided_on or row.received_on, uow.reader.today)
        extra: dict[str, Any] = {}
        if filing_id is not None:
            if row.decision != "correct":
                raise InvalidField(
                    "訂正の届出・職権修正は訂正決定にのみ結び付けられます", "correction_filing_id"
                )
            if row.correction_filing_id not in (None, filing_id):
                raise InvalidField("訂正を行った届出は決定時に記録済みです", "correction_filing_id")
            _check_correction_filing(uow, filing_id, row.addressee_number)
            extra["correction_filing_id"] = filing_id
        return {
            "state": rules.ANSWERED,
            "answered_on": answered_on,
            "answered_by": actor.staff_id,
            "answered_at": uow.now,
            **extra,
        }

    return _step(uow_factory, actor, request_id, "subject_request:answer", values)


# --- the disclosure package -----------------------------------------------------------------------------------

# What was provided or transferred about a person: each source gives entries of the same shape
# (`source`, `at`, `recipients`, and what went). Certificates and the intermediate server's answers join here.
ProvisionSource = Callable[[UnitOfWork, str], list[dict[str, Any]]]


def _change_feed(uow: UnitOfWork, addressee_number: str) -> list[dict[str, Any]]:
    """The outbox: each change of the record, and the subscribers (departments, CS …) that have read it."""
    cursors = uow.subject_requests.cursors()
    return [
        {
            "source": "change_feed",
            "at": row.recorded_at.isoformat(),
            "recipients": sorted(name for name, position in cursors.items() if position >= row.seq),
            "event": row.event,
            "version": row.version,
            "change_reason": row.change_reason,
            "changed_on": row.changed_on.isoformat(),
            "filing_id": row.filing_id,
        }
        for row in uow.subject_requests.change_feed(addressee_number)
    ]


PROVISION_SOURCES: dict[str, ProvisionSource] = {"change_feed": _change_feed}


def disclosure_package(
    uow_factory: UnitOfWorkFactory, actor: Actor, request_id: str, include_my_number: bool = False
) -> dict[str, Any]:
    """What a disclosure request discloses, for the supervisor to review and hand over (building it is logged).

    The person's own My Number is in it only when the request asked for it and the supervisor shows it
    (`include_my_number`, an explicit and logged action refused to whoever may not reveal it).
    """
    authorize(uow_factory, actor, SUBJECT_REQUEST_DECIDE, "subject_request:disclosure")
    if include_my_number:
        authorize(uow_factory, actor, MY_NUMBER_REVEAL, "subject_request:disclosure:my_number")
    with uow_factory() as uow:
        request = _load(uow, request_id)
        if request.kind != "disclosure":
            raise rules.InvalidState("開示請求ではありません", "kind")
        number = request.addressee_number
        current = uow.queries.resident(number)
        versions = uow.queries.history(number)
        if current is None or not versions:
            raise ResidentNotFound()
        # 支援措置: only the person themself may receive a protected record's disclosure (as with certificates),
        # and the package is built only by who may see the record: the officer lifts the screen for it with a
        # temporary release after review (j440), as for any other read.
        guarded = protection.in_force_for(uow, [(number, current.household_number)], for_other_systems=True)
        hidden = protection.screen(
            uow, actor, [(number, current.household_number)], "subject_request:disclosure"
        )
        if (guarded and request.requester_type != "self") or hidden:
            uow.log(
                actor, LogEntry("subject_request:disclosure", [number], result="protected", detail=request_id)
            )
            uow.commit()
            if hidden and request.requester_type == "self":
                raise ProtectedRecord("支援措置の対象者です。支援措置の一時解除の後に作成してください")
            raise ProtectedRecord("支援措置の対象者の開示は本人にのみ行えます")
        with_number = bool(request.include_my_number) and include_my_number
        viewers = [
            {
                "at": row.at.isoformat(),
                "staff_name": row.staff_name,
                "role": row.role,
                "department": row.department,
                "procedure": row.procedure,
                "action": row.action,
                "my_number_shown": row.my_number_shown,
            }
            for row in uow.subject_requests.log_entries_about(number, versions[0].recorded_at)
        ]
        provided = [entry for source in PROVISION_SOURCES.values() for entry in source(uow, number)]
        shown = with_number and current.has_my_number
        uow.log(
            actor,
            LogEntry("subject_request:disclosure", [number], my_number_shown=shown, detail=request_id),
        )
        uow.commit()
        return {
            "request_id": request_id,
            "addressee_number": number,
            "generated_at": uow.now.isoformat(),
            "my_number_included": shown,
            "record": resident_view(current, with_number),
            "history": [version_view(v, with_number) for v in versions],
            "viewers": viewers,
            "provided": provided,
        }
