"""Persons arriving: 転入 (and 国外転入), 職権記載 and 出生."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

from juki.domain import commands as c
from juki.domain.errors import (
    CardMoveInPeriodOver,
    HouseholderRequired,
    InvalidDate,
    InvalidField,
    MoveOutCertificateNotFound,
    MultipleHouseholders,
)
from juki.domain.model import (
    ACTIVE,
    Address,
    HouseholdState,
    ResidentRecord,
)
from juki.domain.register.identity import (
    check_batch_unique,
    check_identity,
    warn_same_three_info,
)
from juki.domain.register.state import (
    Outcome,
    RegisterReader,
    ResidentState,
    Work,
    not_after,
)
from juki.domain.relationship import HOUSEHOLDER

# 住基法30条の3: a person recorded for the first time gets a 住民票コード from the city's stock — a newborn, someone
# arriving from abroad, someone entered ex officio — when they bring none. A 転入 from another city of Japan brings
# the code the 転出証明書 (or its 情報) gives; it is never drawn anew.
CODE_ISSUING_REASONS = frozenset({c.BIRTH, c.MOVE_IN_FROM_ABROAD, c.EX_OFFICIO_ENTRY})


def new_record(
    work: Work,
    p: c.PersonInput,
    returning: ResidentState | None,
    hh: HouseholdState,
    address: Address,
    since: date,
    previous: Address | None,
    reason: str,
) -> ResidentRecord:
    position = max((m.position for m in hh.members), default=0) + 1
    if returning is not None:
        work.states[returning.record.addressee_number] = returning
    old = returning.record if returning else None
    addressee_number = old.addressee_number if old else work.reader.next_addressee_number()
    code = p.resident_code or (old.resident_code if old else None)
    if code is None and reason in CODE_ISSUING_REASONS:
        code = work.draw_resident_code(addressee_number)
    return ResidentRecord(
        addressee_number=addressee_number,
        household_number=hh.household_number,
        relationship=p.relationship,
        position=position,
        family_name=p.family_name,
        given_name=p.given_name,
        family_name_kana=p.family_name_kana,
        given_name_kana=p.given_name_kana,
        sex=p.sex,
        birth_date=p.birth_date,
        address=address,
        resident_since=since,
        address_since=since,
        filed_on=work.cmd.filed_on,
        status=ACTIVE,
        honseki=p.honseki,
        family_register_head=p.family_register_head,
        # j70: a returning resident keeps the 旧氏 they had unless they ask otherwise.
        former_surname=p.former_surname or (old.former_surname if old else None),
        former_surname_kana=p.former_surname_kana or (old.former_surname_kana if old else None),
        previous_address=previous,
        resident_code=code,
        my_number=p.my_number or (old.my_number if old else None),
        foreign=p.foreign,
        birth_date_unknown=p.birth_date_unknown,
        birth_date_unknown_parts=p.birth_date_unknown_parts,
    )


def arrive(
    work: Work,
    persons: tuple[c.PersonInput, ...],
    household_number: str | None,
    address: Address,
    changed_on: date,
    previous: Address | None,
    reason: str,
) -> HouseholdState:
    if not persons:
        raise InvalidField("住民を一人以上記載してください", "persons")
    check_batch_unique(persons)
    may_return = reason != c.BIRTH  # a newborn has no 除票 to come back to
    returning = [check_identity(work, p, i, may_return) for i, p in enumerate(persons)]
    back = [r.record.addressee_number for r in returning if r is not None]
    if len(set(back)) != len(back):
        raise InvalidField("二人の番号が同じ除票の住民を指しています", "persons")
    for i, (p, old) in enumerate(zip(persons, returning, strict=True)):
        if old is None:
            warn_same_three_info(work, p, i)
    heads = [i for i, p in enumerate(persons) if p.relationship == HOUSEHOLDER]
    if household_number is None:
        if not heads:
            raise HouseholderRequired("新しい世帯には世帯主が必要です", "persons")
        if len(heads) > 1:
            raise MultipleHouseholders("世帯主が二人記載されています", f"persons.{heads[1]}.relationship")
        hh = work.new_household(address)
    else:
        hh = work.household(household_number, "household.household_number")
        if len(heads) > 1 or (heads and hh.householder is not None):
            raise MultipleHouseholders(
                "この世帯にはすでに世帯主がいます", f"persons.{heads[-1]}.relationship"
            )
        if hh.address.address != address.address:
            raise InvalidField("世帯の住所と異なる住所です", "address")
        address = dataclasses.replace(address, katagaki=address.katagaki or hh.address.katagaki)
    for i, p in enumerate(persons):
        not_after(p.birth_date, changed_on, f"persons.{i}.birth_date", "異動日より後の生年月日です")
        record = new_record(work, p, returning[i], hh, address, changed_on, previous, reason)
        work.record(record, reason, changed_on)
    return hh


def move_in(reader: RegisterReader, cmd: c.MoveIn) -> Outcome:
    work = Work(reader, cmd)
    not_after(cmd.changed_on, cmd.filed_on, "changed_on", "届出日より後の転入日です")
    reason = c.MOVE_IN_FROM_ABROAD if cmd.previous_address.country else c.MOVE_IN
    if cmd.card:
        check_card_move_in(cmd)
    hh = arrive(
        work, cmd.persons, cmd.household_number, cmd.address, cmd.changed_on, cmd.previous_address, reason
    )
    for ch in work.changes:
        code = ch.record.resident_code
        work.transfers[ch.record.addressee_number] = {
            "card": cmd.card,
            "previous_city_code": cmd.previous_address.municipality_code,
            "previous_address": cmd.previous_address.address,
            "moveout_certificate_id": cmd.moveout_certificates.get(code) if code else None,
        }
    return work.outcome(hh.household_number, late_from=cmd.changed_on)


# 住基法24条の2第1項: the first 転入届 after a 特例転出 needs no 転出証明書 — except in the cases its ただし書 leaves to
# the 政令 (施行令), among them a 転入届 made after the earlier of 転出予定日 + 30 days and 転入日 + 14 days; then the
# person brings a paper 転出証明書 from the previous city instead.
CARD_MOVE_IN_DAYS_AFTER_PLANNED = 30
CARD_MOVE_IN_DAYS_AFTER_MOVE = 14


def card_move_in_deadline(planned_on: date, changed_on: date) -> date:
    """The last day a 特例転入 may be filed (住基法24条の2)."""
    return min(
        planned_on + timedelta(days=CARD_MOVE_IN_DAYS_AFTER_PLANNED),
        changed_on + timedelta(days=CARD_MOVE_IN_DAYS_AFTER_MOVE),
    )


def check_card_move_in(cmd: c.MoveIn) -> None:
    """A 特例転入 comes from another city of Japan, on the 転出証明書情報 of each person it brings."""
    if cmd.previous_address.country or not cmd.previous_address.municipality_code:
        raise InvalidField(
            "特例転入は国内の転出元（市町村コード）からに限ります", "previous_address.municipality_code"
        )
    if not cmd.moveout_certificate_id or cmd.moveout_certificate_id not in cmd.moveout_certificates.values():
        raise MoveOutCertificateNotFound()
    if cmd.moveout_planned_on is None or cmd.filed_on > card_move_in_deadline(
        cmd.moveout_planned_on, cmd.changed_on
    ):
        raise CardMoveInPeriodOver()
    for i, p in enumerate(cmd.persons):
        if not p.resident_code or p.resident_code not in cmd.moveout_certificates:
            raise MoveOutCertificateNotFound(
                "この住民の転出証明書情報が市町村CSにありません", f"persons.{i}.resident_code"
            )


def ex_officio_entry(reader: RegisterReader, cmd: c.ExOfficioEntry) -> Outcome:
    work = Work(reader, cmd)
    not_after(cmd.changed_on, cmd.filed_on, "changed_on", "処理日より後の異動日です")
    hh = arrive(
        work, cmd.persons, cmd.household_number, cmd.address, cmd.changed_on, None, c.EX_OFFICIO_ENTRY
    )
    return work.outcome(hh.household_number)


def register_birth(reader: RegisterReader, cmd: c.RegisterBirth) -> Outcome:
    work = Work(reader, cmd)
    not_after(cmd.birth_date, cmd.filed_on, "birth_date", "届出日より後の出生日です")
    if cmd.person.birth_date != cmd.birth_date:
        raise InvalidDate("出生日と生年月日が一致しません", "person.birth_date")
    hh = work.household(cmd.household_number)
    hh_address = hh.address
    arrive(work, (cmd.person,), cmd.household_number, hh_address, cmd.birth_date, None, c.BIRTH)
    return work.outcome(hh.household_number)
