"""Ex officio corrections (職権修正), restoration (職権回復) and the cancellation of a change (取消し, j980)."""

from __future__ import annotations

import dataclasses

from juki.domain import commands as c
from juki.domain.errors import (
    FilingNotFound,
    InvalidField,
    LaterChangeExists,
    MinorCorrectionNotAllowed,
    ResidentNotFound,
)
from juki.domain.model import (
    ACTIVE,
    REMOVED,
    HouseholdState,
    Removal,
    ResidentRecord,
)
from juki.domain.register.identity import check_unclaimed
from juki.domain.register.state import (
    Outcome,
    RegisterReader,
    ResidentState,
    Work,
    not_after,
)
from juki.domain.relationship import HOUSEHOLDER

CORRECTABLE = {
    "family_name",
    "given_name",
    "family_name_kana",
    "given_name_kana",
    "sex",
    "birth_date",
    "birth_date_unknown",
    "birth_date_unknown_parts",
    "former_surname",
    "former_surname_kana",
    "honseki",
    "family_register_head",
    "resident_code",
    "my_number",
    "relationship",
    "foreign",
    "voter_registered",
    "school_district",
    "voting_district",
    "resident_since",
    "national_health_insurance",
    "late_elderly_insurance",
    "long_term_care_insurance",
    "national_pension",
    "child_allowance",
}


# 軽微な修正: how a name or its kana is written (a character, the kana's spelling); nothing that identifies the
# person otherwise (生年月日, 性別, 続柄, 住民票コード, 個人番号) and no insurance or voting item.
MINOR_CORRECTABLE = frozenset(
    {
        "family_name",
        "given_name",
        "family_name_kana",
        "given_name_kana",
        "former_surname",
        "former_surname_kana",
    }
)


def _check_minor(cmd: c.ExOfficioCorrection) -> None:
    other = sorted(set(cmd.corrections) - MINOR_CORRECTABLE)
    if cmd.change_reason == c.MINOR_CORRECTION and other:
        raise MinorCorrectionNotAllowed(field=f"corrections.{other[0]}")


def ex_officio_correction(reader: RegisterReader, cmd: c.ExOfficioCorrection) -> Outcome:
    work = Work(reader, cmd)
    not_after(cmd.changed_on, cmd.filed_on, "changed_on", "処理日より後の異動日です")
    state = work.active(cmd.addressee_number, "addressee_number")
    unknown = set(cmd.corrections) - CORRECTABLE
    if unknown or not cmd.corrections:
        raise InvalidField("修正できない項目です: " + ", ".join(sorted(unknown)), "corrections")
    if cmd.change_reason not in c.CORRECTION_REASONS:
        raise InvalidField("職権修正の異動事由が正しくありません", "change_reason")
    _check_minor(cmd)
    corrected = dataclasses.replace(state.record, **cmd.corrections)  # type: ignore[arg-type]
    if cmd.change_reason == c.GENDER_CHANGE and corrected.sex == state.record.sex:
        raise InvalidField("性別変更には新しい性別を指定してください", "corrections.sex")
    check_unclaimed(reader, state.record, corrected)
    not_after(
        corrected.birth_date,
        corrected.resident_since,
        "corrections.birth_date",
        "住民となった日より後の生年月日です",
    )
    work.household(state.record.household_number)
    work.record(corrected, cmd.change_reason, cmd.changed_on)
    return work.outcome(state.record.household_number)


def ex_officio_restoration(reader: RegisterReader, cmd: c.ExOfficioRestoration) -> Outcome:
    """職権回復: a wrongly removed record returns, as it was before the removal (its 届出日 too), to its household."""
    work = Work(reader, cmd)
    state = reader.resident(cmd.addressee_number)
    if state is None:
        raise ResidentNotFound()
    if state.record.is_active:
        raise InvalidField("消除されていない住民は回復できません", "addressee_number")
    work.states[cmd.addressee_number] = state
    found = reader.household(state.record.household_number)
    if found is None or not found.members:
        hh = HouseholdState(
            state.record.household_number,
            state.record.address,
            [],
            version=found.version if found else 0,
            is_new=found is None,
        )
        work.households[hh.household_number] = hh
        record = dataclasses.replace(state.record, relationship=HOUSEHOLDER)
    else:
        work.households[found.household_number] = found
        record = state.record
    prior = reader.version_state(cmd.addressee_number, state.version - 1) if state.version > 1 else None
    filed_on = prior.record.filed_on if prior else record.filed_on
    restored = dataclasses.replace(record, status=ACTIVE, removal=None, move_out=None, filed_on=filed_on)
    work.record(restored, c.EX_OFFICIO_RESTORATION, cmd.changed_on)
    return work.outcome(restored.household_number)


def _cancellation_reason(cancelled: ResidentRecord, restored: ResidentRecord) -> str:
    """標準仕様書 j980: 取消（増） brings a person back, 取消（減） takes one off, 取消（修正） restores items. Undoing a
    change of 記載順位 alone is itself one (j1010: no 異動, not printed as history)."""
    if dataclasses.replace(cancelled, position=restored.position, filed_on=restored.filed_on) == restored:
        return c.MEMBER_ORDER
    if restored.is_active and not cancelled.is_active:
        return c.CANCELLATION_ADD
    if cancelled.is_active and not restored.is_active:
        return c.CANCELLATION_REMOVE
    return c.CANCELLATION_AMEND


def _cancelled_persons(reader: RegisterReader, cmd: c.CancelFiling) -> list[tuple[str, int]]:
    touched = reader.filing_versions(cmd.filing_id)
    if not touched:
        raise FilingNotFound()
    if not cmd.addressee_numbers:
        return touched
    versions = dict(touched)
    for i, n in enumerate(cmd.addressee_numbers):
        if n not in versions:
            raise InvalidField("この届出で異動した住民ではありません", f"addressee_numbers.{i}")
    return [(n, versions[n]) for n in dict.fromkeys(cmd.addressee_numbers)]


def _check_nothing_later(
    reader: RegisterReader, cmd: c.CancelFiling, chosen: list[tuple[str, ResidentState, ResidentState | None]]
) -> None:
    """j980: any change may be cancelled unless a later one builds on it — a later version of a person it changed,
    or a later change of someone it did not change who now lives in a household it touched. That one is named."""
    everyone = [n for n, _ in reader.filing_versions(cmd.filing_id) or []]
    households = {s.record.household_number for _, s, _ in chosen} | {
        b.record.household_number for _, _, b in chosen if b is not None
    }
    later = reader.later_change(cmd.filing_id, [n for n, _, _ in chosen], sorted(households), everyone)
    if later is not None:
        raise LaterChangeExists(
            f"この異動の後の異動（届出番号 {later}）があるため取り消せません。後の異動から取り消してください",
            "filing_id",
        )


def cancel_filing(reader: RegisterReader, cmd: c.CancelFiling) -> Outcome:
    """取消し appends (j980): each person gets a new version equal to their record before the filing — its 届出日
    and 異動日 too. The cancellation's own date is the history entry's `filed_on`; the entry's `changed_on` is
    the 異動日 of the change it cancels."""
    work = Work(reader, cmd)
    chosen = []
    stale = False
    for addressee_number, version in _cancelled_persons(reader, cmd):
        state = reader.resident(addressee_number)
        if state is None:
            raise ResidentNotFound(field="filing_id")
        before = reader.version_state(addressee_number, version - 1) if version > 1 else None
        chosen.append((addressee_number, state, before))
        stale = stale or state.version != version
    _check_nothing_later(reader, cmd, chosen)
    if stale:  # later_change found none, yet a version is not the filing's: refuse all the same
        raise LaterChangeExists("この異動の後の異動があるため取り消せません", "filing_id")
    primary = ""
    for addressee_number, state, before in chosen:
        work.states[addressee_number] = state
        if state.record.is_active:
            work.household_of(state.record.household_number)
        if before is None:  # the filing created this person: the cancellation removes the entry again
            restored = dataclasses.replace(
                state.record, status=REMOVED, removal=Removal(c.CANCELLATION_REMOVE, state.last_changed_on)
            )
            last = state.last_changed_on
        else:
            restored, last = before.record, before.last_changed_on
        if restored.is_active:  # the household goes back with its members (a cancelled 転居 of all of them)
            work.household_of(restored.household_number).address = restored.address
        reason = _cancellation_reason(state.record, restored)
        work.record(restored, reason, state.last_changed_on, last)
        primary = primary or restored.household_number
    return work.outcome(primary, primary=tuple(n for n, _, _ in chosen))
