"""Command handlers: every change to the register goes through `file`, `approve` or `cancel` here.

One door (docs/architecture.md): authorise the actor, parse the filing, let the domain decide, and write the new
versions, the filing, the operation-log entry and the outbox rows in one transaction.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from juki.domain import commands as c
from juki.domain import intake, register
from juki.domain.errors import (
    DomainError,
    FilingKindNotFound,
    Forbidden,
    HouseholdNotFound,
    InvalidField,
    PendingApprovalNotFound,
)
from juki.domain.identifiers import validate_addressee_number, validate_household_number
from juki.domain.intake import PARSERS
from juki.domain.register import Outcome
from juki.policy.roles import REGISTER_APPROVE, REGISTER_FILE, Actor
from juki.services import number_requests, protection
from juki.services.audit import LogEntry
from juki.services.authorization import authorize
from juki.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

# A step of a filing inside its transaction: `prepare` completes the parsed command from what the register's
# neighbours hold (特例転入: the CS's 転出証明書情報), `after` adds what the same transaction writes beside it.
Prepare = Callable[[UnitOfWork, c.Command], c.Command]
After = Callable[[UnitOfWork, "FilingResult"], None]

HANDLERS: dict[type, Callable[[Any, Any], register.Outcome]] = {
    c.MoveIn: register.move_in,
    c.MoveWithin: register.move_within,
    c.MoveOut: register.move_out,
    c.RegisterBirth: register.register_birth,
    c.RegisterDeath: register.register_death,
    c.ChangeHousehold: register.change_household,
    c.ExOfficioEntry: register.ex_officio_entry,
    c.ExOfficioCorrection: register.ex_officio_correction,
    c.ExOfficioRemoval: register.ex_officio_removal,
    c.ExOfficioRestoration: register.ex_officio_restoration,
    c.CancelFiling: register.cancel_filing,
    c.ReorderMembers: register.reorder_members,
    c.ConfirmMoveOut: register.confirm_move_out,
    c.ChangeResidentCode: register.change_resident_code,
    c.AssignMyNumber: register.assign_my_number,
}

EX_OFFICIO_REASONS = {
    "ex-officio-entry": c.EX_OFFICIO_ENTRY,
    "ex-officio-correction": c.EX_OFFICIO_CORRECTION,
    "ex-officio-removal": c.EX_OFFICIO_REMOVAL,
    "ex-officio-restoration": c.EX_OFFICIO_RESTORATION,
}


@dataclass(frozen=True)
class FilingResult:
    filing_id: str
    household_number: str
    changes: list[dict[str, Any]]
    late: bool
    approval_state: str = "none"
    warnings: list[dict[str, str]] = field(default_factory=list)


def _split_secrets(payload: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Keep My Numbers out of the stored filing text; they go to the secret column (encrypted by the uow)."""
    public = copy.deepcopy(dict(payload))
    secrets: dict[str, Any] = {}

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for key in list(node):
                if key == "my_number" and node[key]:
                    secrets[path + key] = node.pop(key)
                else:
                    walk(node[key], f"{path}{key}.")
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{path}{i}.")

    walk(public, "")
    return public, secrets


def join_secrets(public: Mapping[str, Any], secrets: Mapping[str, Any] | None) -> dict[str, Any]:
    data = copy.deepcopy(dict(public))
    for path, value in (secrets or {}).items():
        node: Any = data
        *parents, leaf = path.split(".")
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[leaf] = value
    return data


def _apply(
    uow: UnitOfWork,
    command: c.Command,
    kind: str,
    payload: Mapping[str, Any],
    actor: Actor,
    approval: dict[str, Any] | None = None,
) -> FilingResult:
    outcome = checked_outcome(uow, command, actor, f"filing:{kind}")
    public, secrets = _split_secrets(payload)
    first = outcome.changes[0] if outcome.changes else None
    values = dict(
        kind=kind,
        change_reason=first.change_reason if first else None,
        changed_on=first.changed_on if first else None,
        filed_on=command.filed_on,
        late=outcome.late,
        household_number=outcome.household_number,
        staff_id=actor.staff_id,
        payload=public,
        secret_payload=secrets or None,
        approval_state="none",
    )
    filing_id = uow.add_filing({**values, **(approval or {})})
    uow.write(outcome, filing_id, actor)
    number_requests.request_for_new_persons(uow, outcome, filing_id, actor)  # 番号法8条, same transaction
    targets = [ch.record.addressee_number for ch in outcome.changes]
    uow.log(actor, LogEntry(f"filing:{kind}", targets, detail=filing_id))
    changes = [
        {
            "addressee_number": ch.record.addressee_number,
            "change_reason": ch.change_reason,
            "version": ch.previous_version + 1,
        }
        for ch in outcome.changes
    ]
    warnings = protection.screen_warnings(uow, actor, outcome.warnings, f"filing:{kind}")  # j440
    return FilingResult(filing_id, outcome.household_number, changes, outcome.late, warnings=warnings)


def checked_outcome(uow: UnitOfWork, command: c.Command, actor: Actor, action: str) -> Outcome:
    """The domain's outcome, then the holds on 異動入力 (j410) of everyone it changes: a blocking one refuses the
    filing (HeldRecord), an alert-level one adds a warning."""
    outcome = HANDLERS[type(command)](uow.reader, command)
    pairs = [(ch.record.addressee_number, ch.record.household_number) for ch in outcome.changes]
    outcome.warnings.extend(protection.check_filing(uow, actor, pairs, action))
    return outcome


# A refusal by the register's rules (a 409 or 422 of the domain) is logged as `refused`; a 404 or 403 is not one.
REFUSED_STATUSES = (409, 422)


def card_options(kind: str, command: c.Command, payload: Mapping[str, Any]) -> c.Command:
    """特例転出 and 特例転入 (標準仕様書 j670; 住基法24条の2), asked by the filing's `card_move_out` / `card_move_in`
    (JSON booleans, the request models') and the 転出証明書情報 chosen (`moveout_certificate_id`)."""
    if isinstance(command, c.MoveOut) and payload.get("card_move_out") is True:
        return dataclasses.replace(command, card=True)
    if isinstance(command, c.MoveIn) and payload.get("card_move_in") is True:
        chosen = payload.get("moveout_certificate_id")
        return dataclasses.replace(command, card=True, moveout_certificate_id=str(chosen) if chosen else None)
    return command


def parse(kind: str, payload: Mapping[str, Any]) -> c.Command:
    """The command a filing's payload asks for: its kind's parser, then the card options. The one parse of a
    filing, for its entry, its preview (確認画面) and its approval."""
    parser = PARSERS.get(kind)
    if parser is None:
        raise FilingKindNotFound()
    return card_options(kind, parser(payload), payload)


@contextmanager
def _refusals_logged(uow_factory: UnitOfWorkFactory, actor: Actor, action: str) -> Iterator[None]:
    """A filing refused by a hold, or by a rule of the register, leaves an operation-log entry in its own
    transaction (the filing's is rolled back). The entry names the error's code and field, never its message or
    any value entered: the message may quote what the clerk typed."""
    try:
        yield
    except protection.HeldRecord as exc:
        _log_refusal(uow_factory, actor, LogEntry(action, exc.persons, result="held"))
        raise
    except DomainError as exc:
        if exc.status in REFUSED_STATUSES:
            detail = f"{exc.code} {exc.field}" if exc.field else exc.code
            _log_refusal(uow_factory, actor, LogEntry(action, result="refused", detail=detail[:200]))
        raise


def _log_refusal(uow_factory: UnitOfWorkFactory, actor: Actor, entry: LogEntry) -> None:
    with uow_factory() as uow:
        uow.log(actor, entry)
        uow.commit()


def file(
    uow_factory: UnitOfWorkFactory,
    actor: Actor,
    kind: str,
    payload: Mapping[str, Any],
    prepare: Prepare | None = None,
    after: After | None = None,
) -> FilingResult:
    """Enter a filing. Ex officio changes are checked now but wait for a supervisor's approval (決裁)."""
    authorize(uow_factory, actor, REGISTER_FILE, f"filing:{kind}")
    if kind not in PARSERS:
        raise FilingKindNotFound()
    with _refusals_logged(uow_factory, actor, f"filing:{kind}"), uow_factory() as uow:
        command = parse(kind, payload)
        if prepare is not None:
            command = prepare(uow, command)
        if kind in EX_OFFICIO_REASONS:
            checked_outcome(uow, command, actor, f"filing:{kind}")  # the logic checks and holds at entry too
            public, secrets = _split_secrets(payload)
            filing_id = uow.add_filing(
                dict(
                    kind=kind,
                    change_reason=getattr(command, "change_reason", EX_OFFICIO_REASONS[kind]),
                    changed_on=getattr(command, "changed_on", None),
                    filed_on=command.filed_on,
                    late=False,
                    household_number=None,
                    staff_id=actor.staff_id,
                    payload=public,
                    secret_payload=secrets or None,
                    approval_state="pending",
                    reason=getattr(command, "reason", None),
                )
            )
            uow.log(actor, LogEntry(f"filing:{kind}", detail=f"{filing_id} pending"))
            uow.commit()
            return FilingResult(filing_id, "", [], False, "pending")
        result = _apply(uow, command, kind, payload, actor)
        if after is not None:
            after(uow, result)
        uow.commit()
        return result


def record_change(
    uow_factory: UnitOfWorkFactory,
    actor: Actor,
    permission: str,
    kind: str,
    command_of: Callable[[UnitOfWork], c.Command],
    payload: Mapping[str, Any],
    after: After | None = None,
) -> FilingResult:
    """A change the register records on a notice rather than a 届出 (転入通知受理, a number from J-LIS), through the
    same door: the domain's handler, then the versions, the filing, the operation-log entry and the outbox — and
    what `after` writes beside them — in one transaction."""
    action = f"filing:{kind}"
    authorize(uow_factory, actor, permission, action)
    with _refusals_logged(uow_factory, actor, action), uow_factory() as uow:
        result = _apply(uow, command_of(uow), kind, payload, actor)
        if after is not None:
            after(uow, result)
        uow.commit()
        return result


def decide(
    uow_factory: UnitOfWorkFactory, actor: Actor, filing_id: str, approve: bool, comment: str = ""
) -> FilingResult:
    """決裁: a supervisor who did not enter the change approves it (it takes effect) or sends it back."""
    authorize(uow_factory, actor, REGISTER_APPROVE, "approval")
    with _refusals_logged(uow_factory, actor, "approval:approve"), uow_factory() as uow:
        row = uow.queries.filing(filing_id)
        if row is None or row.approval_state != "pending":
            raise PendingApprovalNotFound()
        if row.staff_id == actor.staff_id:
            raise Forbidden("入力した職員は自分の職権処理を決裁できません", "filing_id")
        decided = {
            "approval_state": "approved" if approve else "returned",
            "approved_by": actor.staff_id,
            "decided_at": uow.now,
        }
        uow.decide_filing(filing_id, decided)
        if not approve:
            uow.log(actor, LogEntry("approval:return", detail=f"{filing_id} {comment}"[:500]))
            uow.commit()
            return FilingResult(filing_id, "", [], False, "returned")
        payload = join_secrets(row.payload, row.secret_payload)
        command = parse(row.kind, payload)
        result = _apply(
            uow,
            command,
            row.kind,
            payload,
            actor,
            approval={
                "approval_state": "approved",
                "approved_by": actor.staff_id,
                "decided_at": uow.now,
                "reason": f"{filing_id} の決裁",
            },
        )
        uow.log(
            actor,
            LogEntry(
                "approval:approve",
                [ch["addressee_number"] for ch in result.changes],
                detail=filing_id,
            ),
        )
        uow.commit()
        return FilingResult(
            result.filing_id, result.household_number, result.changes, False, "approved", result.warnings
        )


def cancel(
    uow_factory: UnitOfWorkFactory, actor: Actor, filing_id: str, payload: Mapping[str, Any]
) -> FilingResult:
    """取消し (標準仕様書 4.6): appends versions that restore what the filing changed; deletes nothing."""
    authorize(uow_factory, actor, REGISTER_APPROVE, "filing:cancel")
    with _refusals_logged(uow_factory, actor, "filing:cancel"), uow_factory() as uow:
        command = intake.cancellation(filing_id, payload)
        stored: dict[str, Any] = {
            "filing_id": filing_id,
            "reason": command.reason,
            "filed_on": command.filed_on.isoformat(),
        }
        if command.addressee_numbers:
            stored["addressee_numbers"] = list(command.addressee_numbers)
        result = _apply(uow, command, "cancel", stored, actor)
        uow.commit()
        return result


# --- 記載順位の変更 (標準仕様書 j1010) -------------------------------------------------------------------------

MEMBER_ORDER_KIND = "member-order"
MEMBER_ORDER_MODES = ("standard", "manual")


def _member_order_command(household_number: str, payload: Mapping[str, Any], today: Any) -> c.ReorderMembers:
    """`{"mode": "standard"}` or `{"mode": "manual", "addressee_numbers": [...]}`, with an optional `version`.

    The body arrives typed, as the request model `MemberOrderBody` (web/schemas.py) gives it for the API and the
    household page alike (the numbers strings, `version` an integer): only values are checked here."""
    mode = payload.get("mode")
    if mode not in MEMBER_ORDER_MODES:
        raise InvalidField("並べ替えの方法は standard（標準の順）か manual（指定の順）です", "mode")
    numbers = payload.get("addressee_numbers")
    order: tuple[str, ...] | None = None
    if mode == "standard":
        if numbers:
            raise InvalidField("標準の順に並べ替えるときは宛名番号を指定しません", "addressee_numbers")
    else:
        if not numbers:
            raise InvalidField("世帯員全員の宛名番号を並べたい順に指定してください", "addressee_numbers")
        order = tuple(validate_addressee_number(n, f"addressee_numbers.{i}") for i, n in enumerate(numbers))
    version = payload.get("version")
    if version is not None and version < 1:
        raise InvalidField("世帯の版（version）は1以上の整数です", "version")
    return c.ReorderMembers(
        filed_on=today, household_number=household_number, order=order, expected_version=version
    )


def _screened_outcome(
    uow: UnitOfWork, actor: Actor, household_number: str, payload: Mapping[str, Any], action: str
) -> tuple[Outcome, dict[str, Any]]:
    """The reorder's outcome and the order it gives, after the household's 支援措置 screen: a household the actor
    may not see looks not found (its access alerted and logged as hidden, as `GET /households/{n}` does)."""
    command = _member_order_command(household_number, payload, uow.reader.today)
    rows = uow.queries.members(household_number, active_only=False)
    pairs = [(r.addressee_number, r.household_number) for r in rows]
    if pairs and protection.screen(uow, actor, pairs, action):
        uow.log(actor, LogEntry(action, [p for p, _ in pairs], result="hidden"))
        uow.commit()
        raise HouseholdNotFound()
    outcome = checked_outcome(uow, command, actor, action)
    before = {r.addressee_number: r.position for r in rows if r.status == "active"}
    hh = outcome.households[household_number]
    answer = {
        "household_number": household_number,
        "version": hh.version,
        "members": [
            {
                "addressee_number": m.addressee_number,
                "relationship": m.relationship,
                "position": m.position,
                "previous_position": before.get(m.addressee_number),
                "family_name": m.family_name,
                "given_name": m.given_name,
                "birth_date": m.birth_date.isoformat(),
            }
            for m in hh.members
        ],
        "changed": [ch.record.addressee_number for ch in outcome.changes],
        "warnings": outcome.warnings,
    }
    return outcome, answer


def reorder_members(
    uow_factory: UnitOfWorkFactory, actor: Actor, household_number: str, payload: Mapping[str, Any]
) -> dict[str, Any]:
    """記載順位の変更 through the one door: a filing of kind `member-order` whose versions change `position` only,
    written with its operation-log entry and outbox rows in one transaction. A household already in that order
    changes nothing (no filing; the call is logged). Holds on 異動入力 apply as to any filing."""
    action = f"filing:{MEMBER_ORDER_KIND}"
    authorize(uow_factory, actor, REGISTER_FILE, action)
    number = validate_household_number(household_number)
    with _refusals_logged(uow_factory, actor, action), uow_factory() as uow:
        outcome, answer = _screened_outcome(uow, actor, number, payload, action)
        members = [m["addressee_number"] for m in answer["members"]]
        filing_id = None
        if outcome.changes:
            stored = {k: payload[k] for k in ("mode", "addressee_numbers", "version") if k in payload}
            filing_id = uow.add_filing(
                dict(
                    kind=MEMBER_ORDER_KIND,
                    change_reason=c.MEMBER_ORDER,
                    changed_on=None,
                    filed_on=outcome.changes[0].filed_on,
                    late=False,
                    household_number=number,
                    staff_id=actor.staff_id,
                    payload=stored,
                    secret_payload=None,
                    approval_state="none",
                )
            )
            uow.write(outcome, filing_id, actor)
            answer["version"] += 1
        uow.log(actor, LogEntry(action, members, detail=filing_id or "unchanged"))
        uow.commit()
    changes = [
        {
            "addressee_number": ch.record.addressee_number,
            "change_reason": ch.change_reason,
            "version": ch.previous_version + 1,
        }
        for ch in outcome.changes
    ]
    return {
        "filing_id": filing_id,
        "household_number": number,
        "version": answer["version"],
        "members": [
            {k: m[k] for k in ("addressee_number", "relationship", "position")} for m in answer["members"]
        ],
        "changes": changes,
        "warnings": answer["warnings"],
    }


def preview_member_order(
    uow_factory: UnitOfWorkFactory, actor: Actor, household_number: str, payload: Mapping[str, Any]
) -> dict[str, Any]:
    """The confirmation step of a reorder: the order it would give (names, old and new positions), nothing
    written but the operation-log entry; the same errors, holds and screen as `reorder_members`."""
    action = f"filing:preview:{MEMBER_ORDER_KIND}"
    authorize(uow_factory, actor, REGISTER_FILE, action)
    number = validate_household_number(household_number)
    with _refusals_logged(uow_factory, actor, action):
        with uow_factory() as uow:  # never committed: an alert-level hold's alert is rolled back with it
            _, answer = _screened_outcome(uow, actor, number, payload, action)
        with uow_factory() as uow:
            uow.log(actor, LogEntry(action, [m["addressee_number"] for m in answer["members"]]))
            uow.commit()
    return answer
