"""What the clerk UI needs beyond the API's services: a filing's preview, the approval diff, the screen lock.

A preview runs the same parser, the same domain handler and the same holds on 異動入力 (j410) as `filings.file`, in
a transaction that is rolled back: the confirmation step shows exactly the versions a filing would write, with the
same errors, codes and warnings, and writes nothing but its operation-log entry. Every function authorises and
logs like `register_queries`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC
from typing import Any

from juki.domain import protection as hold_rules
from juki.domain.errors import (
    DomainError,
    PendingApprovalNotFound,
    ResidentNotFound,
    Unauthenticated,
)
from juki.domain.model import ResidentRecord, to_plain
from juki.domain.register import Outcome
from juki.policy.roles import REGISTER_FILE, REGISTER_READ, Actor
from juki.services import protection
from juki.services.audit import LogEntry, utc
from juki.services.auth import actor_of, password_ok, token_hash, usable
from juki.services.authorization import authorize
from juki.services.filings import Prepare, checked_outcome, join_secrets, parse
from juki.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

_PASSWORD_WRONG = "パスワードが正しくありません"


def _plain(record: ResidentRecord | None) -> dict[str, Any] | None:
    """A record for display: never the My Number itself, only whether one is held."""
    if record is None:
        return None
    plain: dict[str, Any] = to_plain(record)
    plain["has_my_number"] = plain.pop("my_number", None) is not None
    return plain


def _outcome(
    uow_factory: UnitOfWorkFactory,
    actor: Actor,
    kind: str,
    payload: Mapping[str, Any],
    prepare: Prepare | None = None,
) -> dict[str, Any]:
    """Run the command's handler and the holds on 異動入力 on the current register and roll back: the changes it
    would make. A blocking hold raises `HeldRecord`; an alert-level one is a warning (its alert is rolled back)."""
    command = parse(kind, payload)
    with uow_factory() as uow:  # never committed: the counters a new person or household takes are given back
        if prepare is not None:  # what the filing itself would read first (a 特例転入's 転出証明書情報)
            command = prepare(uow, command)
        outcome: Outcome = checked_outcome(uow, command, actor, f"filing:preview:{kind}")
        changes = []
        for ch in outcome.changes:
            before = uow.reader.resident(ch.record.addressee_number) if ch.previous_version else None
            old = before.record if before else None
            changes.append(
                {
                    "addressee_number": ch.record.addressee_number,
                    "is_new": ch.previous_version == 0,
                    "change_reason": ch.change_reason,
                    "changed_on": ch.changed_on.isoformat(),
                    "version": ch.previous_version + 1,
                    "before": _plain(old),
                    "after": _plain(ch.record),
                    "my_number_changed": (old.my_number if old else None) != ch.record.my_number,
                }
            )
        household = outcome.households.get(outcome.household_number)
    return {
        "household_number": outcome.household_number,
        "new_household": bool(household and household.is_new),
        "late": outcome.late,
        "warnings": outcome.warnings,
        "changes": changes,
    }


def _targets(preview: Mapping[str, Any]) -> list[str]:
    return [c["addressee_number"] for c in preview["changes"] if not c["is_new"]]


def preview(
    uow_factory: UnitOfWorkFactory,
    actor: Actor,
    kind: str,
    payload: Mapping[str, Any],
    prepare: Prepare | None = None,
) -> dict[str, Any]:
    """The confirmation step (確認画面): what `filings.file(kind, payload, prepare)` would change, nothing
    written."""
    authorize(uow_factory, actor, REGISTER_FILE, f"filing:preview:{kind}")
    try:
        result = _outcome(uow_factory, actor, kind, payload, prepare)
    except protection.HeldRecord as exc:  # logged like the filing it previews (filings._refusals_logged)
        with uow_factory() as uow:
            uow.log(actor, LogEntry(f"filing:preview:{kind}", exc.persons, result="held"))
            uow.commit()
        raise
    with uow_factory() as uow:
        hidden = protection.screen(uow, actor, set(_targets(result)), f"filing:preview:{kind}")
        if not hidden:
            result = _screened(uow, actor, result, f"filing:preview:{kind}")
        shown = "hidden" if hidden else "ok"
        uow.log(actor, LogEntry(f"filing:preview:{kind}", _targets(result), result=shown))
        uow.commit()
    if hidden:  # someone the actor may not see: the record looks not found, as on every read
        raise ResidentNotFound()
    return result


def _screened(uow: UnitOfWork, actor: Actor, preview: dict[str, Any], action: str) -> dict[str, Any]:
    """A preview's warnings as the actor may see them (a protected namesake is not named)."""
    return {**preview, "warnings": protection.screen_warnings(uow, actor, preview["warnings"], action)}


def pending_change(uow_factory: UnitOfWorkFactory, actor: Actor, filing_id: str) -> dict[str, Any]:
    """An ex officio change waiting for 決裁, and the diff it would make if approved now.

    `preview` is None and `error` says why when the change no longer applies to the register as it is.
    """
    authorize(uow_factory, actor, REGISTER_READ, "approval:view", (filing_id,))
    with uow_factory() as uow:
        row = uow.queries.filing(filing_id)
        if row is None or row.approval_state != "pending":
            raise PendingApprovalNotFound()
        payload = join_secrets(row.payload, row.secret_payload)
        filing = {
            "filing_id": row.filing_id,
            "kind": row.kind,
            "change_reason": row.change_reason,
            "changed_on": row.changed_on.isoformat() if row.changed_on else None,
            "filed_on": row.filed_on.isoformat(),
            "staff_id": row.staff_id,
            "recorded_at": row.recorded_at.replace(tzinfo=row.recorded_at.tzinfo or UTC).isoformat(),
            "reason": row.reason,
        }
    result: dict[str, Any] | None
    try:
        result = _outcome(uow_factory, actor, row.kind, payload)
        error = None
    except DomainError as exc:
        result, error = None, exc.to_dict()
    named = protection.numbers_in(payload) | set(_targets(result) if result else [])
    with uow_factory() as uow:
        # the diff is all about the persons it changes: one the actor may not see hides it whole (支援措置)
        hidden = protection.screen(uow, actor, named, "approval:view")
        if result is not None and not hidden:
            result = _screened(uow, actor, result, "approval:view")
        result_of = "hidden" if hidden else "ok"
        uow.log(actor, LogEntry("approval:view", sorted(named - hidden), detail=filing_id, result=result_of))
        uow.commit()
    if hidden:
        raise PendingApprovalNotFound()
    return {"filing": filing, "preview": result, "error": error}


class ProtectionFlags(dict[str, str]):
    """The flags of the persons on a screen: addressee number → `in_force` / `released` for those a 支援措置 hides
    (as before), and in `holds`, for every person a measure holds anything for, what it holds — each
    `{kind, operation, level, released}` (j410: the record shows 「異動入力の抑止（エラー）」 and the like)."""

    def __init__(
        self, flags: Mapping[str, str] | None = None, holds: dict[str, list[dict[str, Any]]] | None = None
    ) -> None:
        super().__init__(flags or {})
        self.holds: dict[str, list[dict[str, Any]]] = holds or {}


def protection_flags(
    uow_factory: UnitOfWorkFactory, actor: Actor, persons: list[tuple[str, str]]
) -> ProtectionFlags:
    """Which of the persons on a screen are under a 支援措置 or another hold (標準仕様書 j380, j410: shown clearly on
    their record).

    `persons` are (addressee, household) pairs the actor has just been shown; the answer maps each protected one
    to `in_force` or `released` (一時解除中), and lists in `holds` what each measure holds (operation and level),
    so that the clerk knows before filing. Only the facts: the measure itself (reason, requester) is for
    `protection:view`.
    """
    authorize(uow_factory, actor, REGISTER_READ, "protection:flag")
    if not persons:
        return ProtectionFlags()
    holds: dict[str, list[dict[str, Any]]] = {}
    with uow_factory() as uow:
        for operation in hold_rules.OPERATIONS:
            for measure, covered in protection.measures_holding(
                uow, persons, operation, for_other_systems=True
            ):
                released = measure.released_until is not None and utc(measure.released_until) > uow.now
                entry = {
                    "kind": measure.kind,
                    "operation": operation,
                    "level": measure.level,
                    "released": released,
                }
                for number in covered:
                    if entry not in holds.setdefault(number, []):
                        holds[number].append(entry)
        if not holds:
            return ProtectionFlags()
        under = protection.in_force_for(uow, persons, for_other_systems=True)
        in_force = protection.in_force_for(uow, persons)
        uow.log(actor, LogEntry("protection:flag", sorted(holds)))
        uow.commit()
    flags = {n: "in_force" if n in in_force else "released" for n in under}
    return ProtectionFlags(flags, holds)


def record_lock(uow_factory: UnitOfWorkFactory, actor: Actor) -> None:
    """The screen locked after the idle period (or by the clerk): a line in the operation log."""
    with uow_factory() as uow:
        uow.log(actor, LogEntry("ui:lock"))
        uow.commit()


def unlock(uow_factory: UnitOfWorkFactory, token: str, password: str, max_failures: int) -> None:
    """Unlock a locked screen with the password of the account that signed in (the session stays the same).

    A wrong password counts towards the account's lock-out like a failed sign-in; at the limit the session is
    revoked and a full sign-in (with the one-time code) is needed. Raises `Unauthenticated`: with field
    `password` for a wrong password, without a field when the session is over.
    """
    with uow_factory() as uow:
        row = uow.staff.session(token_hash(token))
        expires = None if row is None else row.expires_at
        if expires is not None and expires.tzinfo is None:
            expires = expires.replace(tzinfo=UTC)
        if row is None or row.revoked or (expires and expires <= uow.now) or not row.active:
            raise Unauthenticated("セッションが終了しました。もう一度ログインしてください")
        actor = actor_of(row, row.terminal)
        if usable(uow, row, max_failures) and password_ok(row, password):
            uow.staff.record_success(row.staff_id, row.last_otp_step)
            uow.log(actor, LogEntry("ui:unlock"))
            uow.commit()
            return
        uow.staff.record_failure(row.staff_id)
        ended = row.failed_logins + 1 >= max_failures or not usable(uow, row, max_failures)
        if ended:
            uow.staff.revoke(token_hash(token))
        uow.log(actor, LogEntry("ui:unlock", result="failed"))
        uow.commit()
    if ended:
        raise Unauthenticated("パスワードを続けて誤ったため、ログインし直してください")
    raise Unauthenticated(_PASSWORD_WRONG, "password")


def staff_names(uow_factory: UnitOfWorkFactory) -> dict[str, str]:
    """Staff ids to display names, for pages that say who entered, checked or decided something."""
    with uow_factory() as uow:
        return {row.staff_id: row.display_name for row in uow.staff.all()}
