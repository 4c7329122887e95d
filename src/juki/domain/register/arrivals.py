"""Persons arriving: 転入 (and 国外転入), 職権記載 and 出生."""

from __future__ import annotations

import dataclasses
from datetime import date

from juki.domain import commands as c
from juki.domain.errors import (
    HouseholderRequired,
    InvalidDate,
    InvalidField,
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


def new_record(
    work: Work,
    p: c.PersonInput,
    returning: ResidentState | None,
    hh: HouseholdState,
    address: Address,
    since: date,
    previous: Address | None,
) -> ResidentRecord:
    position = max((m.position for m in hh.members), default=0) + 1
    if returning is not None:
        work.states[returning.record.addressee_number] = returning
    old = returning.record if returning else None
    return ResidentRecord(
        addressee_number=old.addressee_number if old else work.reader.next_addressee_number(),
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
        resident_code=p.resident_code or (old.resident_code if old else None),
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
        record = new_record(work, p, returning[i], hh, address, changed_on, previous)
        work.record(record, reason, changed_on)
    return hh


def move_in(reader: RegisterReader, cmd: c.MoveIn) -> Outcome:
    work = Work(reader, cmd)
    not_after(cmd.changed_on, cmd.filed_on, "changed_on", "届出日より後の転入日です")
    reason = c.MOVE_IN_FROM_ABROAD if cmd.previous_address.country else c.MOVE_IN
    hh = arrive(
        work, cmd.persons, cmd.household_number, cmd.address, cmd.changed_on, cmd.previous_address, reason
    )
    return work.outcome(hh.household_number, late_from=cmd.changed_on)


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
