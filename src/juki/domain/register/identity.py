"""Who a person is for life (標準仕様書 j600): the My Number, the 住民票コード and the 在留カード番号 name one person;
a match with a 除票 of a returnable removal and the same birth date is that person coming back, any other match is
refused by the rule it breaks."""

from __future__ import annotations

from dataclasses import dataclass

from juki.domain import commands as c
from juki.domain.errors import (
    AlreadyResident,
    DomainError,
    DuplicateMyNumber,
    DuplicateResidenceCardNumber,
    DuplicateResidentCode,
)
from juki.domain.model import (
    ResidentRecord,
)
from juki.domain.register.state import (
    RegisterReader,
    ResidentState,
    Work,
)

# 標準仕様書 j600: a 除票 of these reasons belongs to someone who may come back and take their 宛名番号 again. A
# 取消（減） undid an entry made in error, so the same person may arrive properly later. A dead person never returns.
RETURNABLE = (c.MOVE_OUT, c.MOVE_OUT_ABROAD, c.EX_OFFICIO_REMOVAL, c.CANCELLATION_REMOVE)


@dataclass(frozen=True)
class _Identifier:
    """One of the numbers that name a person for life: its field, its duplicate error and its Japanese name."""

    key: str
    error: type[DomainError]
    label: str

    def of(self, holder: ResidentRecord | c.PersonInput) -> str | None:
        if self.key == "my_number":
            return holder.my_number
        if self.key == "resident_code":
            return holder.resident_code
        return holder.foreign.residence_card_number if holder.foreign else None


MY_NUMBER, RESIDENT_CODE, CARD = (
    _Identifier("my_number", DuplicateMyNumber, "個人番号"),
    _Identifier("resident_code", DuplicateResidentCode, "住民票コード"),
    _Identifier("foreign.residence_card_number", DuplicateResidenceCardNumber, "在留カード番号"),
)
_IDENTIFIERS = (MY_NUMBER, RESIDENT_CODE, CARD)
Given = dict[_Identifier, str | None]


def _given(holder: ResidentRecord | c.PersonInput) -> Given:
    return {ident: ident.of(holder) for ident in _IDENTIFIERS}


def _holders(reader: RegisterReader, given: Given) -> list[ResidentState]:
    return reader.holders(given[MY_NUMBER], given[RESIDENT_CODE], given[CARD])


def _shared(record: ResidentRecord, given: Given) -> list[_Identifier]:
    """The identifiers given that `record` holds too."""
    return [ident for ident, value in given.items() if value and value == ident.of(record)]


def _refuse(shared: list[_Identifier], prefix: str, rule: str) -> DomainError:
    """A collision: the code names the first identifier shared, the message the rule (never the number)."""
    ident = shared[0]
    return ident.error(f"この{ident.label}は別の住民の記録にあります（{rule}）", prefix + ident.key)


def check_identity(work: Work, p: c.PersonInput, i: int, may_return: bool) -> ResidentState | None:
    """A My Number, a 住民票コード and a 在留カード番号 name one person for life (j600). already_resident first
    (API.md), then any other holder, active or removed, refuses the person — except the one 除票 of a returning
    resident, which is returned so the person gets their 宛名番号 back."""
    prefix = f"persons.{i}."
    given = _given(p)
    found = _holders(work.reader, given)
    active = [s.record for s in found if s.record.is_active]
    for r in active:
        shared = _shared(r, given)
        same = (r.family_name, r.given_name, r.birth_date) == (p.family_name, p.given_name, p.birth_date)
        if RESIDENT_CODE in shared or same:  # API.md: the same person, already here
            named = RESIDENT_CODE if RESIDENT_CODE in shared else shared[0]
            raise AlreadyResident("すでに住民として記録されています", prefix + named.key)
    if active:
        raise _refuse(_shared(active[0], given), prefix, "現存の住民")
    if not found:
        return None
    back = found[0]
    shared = _shared(back.record, given)
    removal = back.record.removal
    if len({s.record.addressee_number for s in found}) > 1:
        raise _refuse(shared, prefix, "番号が別々の除票の住民を指しています")
    if not may_return:
        raise _refuse(shared, prefix, "出生した子に既存の住民の番号は記載できません")
    if removal is None or removal.reason == c.DEATH:
        raise _refuse(shared, prefix, "死亡により消除された住民は再転入できません")
    if removal.reason not in RETURNABLE:
        raise _refuse(shared, prefix, f"{removal.reason}の除票は再転入として回復できません")
    if back.record.birth_date != p.birth_date:
        raise _refuse(shared, prefix, "除票の住民と生年月日が異なります")
    warn_returning_differs(work, back.record, p, i)
    return back


def warn_returning_differs(work: Work, old: ResidentRecord, p: c.PersonInput, i: int) -> None:
    """j600: a returning resident's name or sex may have changed since (婚姻, 性別変更): the clerk should look."""
    items = [
        label
        for label, before, now in (
            ("氏名", (old.family_name, old.given_name), (p.family_name, p.given_name)),
            ("性別", old.sex, p.sex),
        )
        if before != now
    ]
    if items:
        work.warn(
            "returning_resident_differs",
            f"persons.{i}",
            f"再転入の住民（宛名番号 {old.addressee_number}）の除票と{'・'.join(items)}が異なります",
        )


def warn_same_three_info(work: Work, p: c.PersonInput, i: int) -> None:
    """j600 / API.md: a match on name, sex and birth date alone is only a warning (アラート), never a refusal."""
    matches = work.reader.same_three_info(p.family_name, p.given_name, p.sex, p.birth_date)
    if matches:
        work.warnings.append(
            {
                "code": "possible_same_person",
                "field": f"persons.{i}",
                "message": "氏名・性別・生年月日が同じ住民が記録されています（宛名番号 "
                + "、".join(matches[:5])
                + "）",
            }
        )


def check_batch_unique(persons: tuple[c.PersonInput, ...]) -> None:
    for ident in _IDENTIFIERS:
        seen: set[str] = set()
        for i, p in enumerate(persons):
            value = ident.of(p)
            if value and value in seen:
                raise ident.error(f"同じ{ident.label}が二人に記載されています", f"persons.{i}.{ident.key}")
            if value:
                seen.add(value)


def check_unclaimed(reader: RegisterReader, old: ResidentRecord, new: ResidentRecord) -> None:
    """An identifier a correction gives the person must be no one else's, active or removed (j600)."""
    given = {ident: value if value != ident.of(old) else None for ident, value in _given(new).items()}
    for other in _holders(reader, given):
        if other.record.addressee_number != old.addressee_number:
            raise _refuse(
                _shared(other.record, given), "corrections.", "修正で別の住民の番号は記載できません"
            )
