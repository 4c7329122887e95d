"""From plans to records: the demo city's households (demo/households.py) with numbers, real 小平市 addresses,
dates of arrival and leaving, and the register's other items, in batches for `adapters.bulk`.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from juki.adapters.bulk import HouseholdRow, ImportBatch
from juki.demo.households import (
    BIRTH,
    DEATH,
    HOUSEHOLDER,
    MOVE_IN,
    MOVE_IN_FROM_ABROAD,
    MOVE_OUT,
    Member,
    People,
    Plan,
    age_on,
    birthday,
    years,
)
from juki.demo.sources import BUILDINGS, OTHER_MUNICIPALITIES
from juki.domain.address import MUNICIPALITY, PREFECTURE, Town, towns
from juki.domain.identifiers import (
    make_addressee_number,
    make_household_number,
    my_number_check_digit,
    resident_code_check_digit,
)
from juki.domain.intake import CITY_CODE
from juki.domain.model import (
    ACTIVE,
    REMOVED,
    Address,
    Enrollment,
    MoveOutData,
    Removal,
    ResidentRecord,
    Version,
)

REMOVED_SHARE = 0.05  # removed records, as a share of active residents
FOREIGN_SHARE = 0.02  # 小平市 has about 2% foreign residents


_NONE = Enrollment()  # not enrolled (frozen, so one instance serves everyone)


@dataclass
class _Counts:
    active: int = 0
    removed: int = 0
    foreign: int = 0
    addressee: int = 0  # last 宛名番号 sequence used
    household: int = 0  # last 世帯番号 sequence used


@dataclass
class _Insurance:
    health: Enrollment = _NONE
    late_elderly: Enrollment = _NONE
    long_term_care: Enrollment = _NONE
    pension: Enrollment = _NONE


@dataclass
class _Arrival:
    reason: str
    on: date
    previous: Address | None


class City:
    """Turns household plans into versions with numbers, addresses, dates and the register's other items."""

    def __init__(self, rng: random.Random, today: date) -> None:
        self.rng = rng
        self.today = today
        self.people = People(rng, today)
        self.towns = towns()
        self.district = {t.town: f"第{i % 31 + 1}投票区" for i, t in enumerate(self.towns)}
        self.counts = _Counts()
        self._my_numbers: set[str] = set()
        self._resident_codes: set[str] = set()

    def batches(self, residents: int, batch_persons: int) -> Iterator[ImportBatch]:
        """The households, `batch_persons` persons or a household more at a time, until `residents` are active."""
        households: list[HouseholdRow] = []
        versions: list[Version] = []
        persons = 0
        while self.counts.active < residents:
            plan = self._trim(self._next_plan(), residents - self.counts.active)
            row, made = self.household(plan)
            households.append(row)
            versions += made
            persons += len(plan.members)
            if persons >= batch_persons:
                yield ImportBatch(households, versions)
                households, versions, persons = [], [], 0
        if households:
            yield ImportBatch(households, versions)

    def _next_plan(self) -> Plan:
        """Mostly Japanese households; a foreign or a removed one whenever their share falls behind."""
        c = self.counts
        if c.removed < REMOVED_SHARE * c.active and self.rng.random() < 0.5:
            return self.people.with_removal()
        if c.foreign < FOREIGN_SHARE * c.active and self.rng.random() < 0.5:
            return self.people.foreign_household()
        return self.people.japanese_household()

    @staticmethod
    def _trim(plan: Plan, room: int) -> Plan:
        """The last household may hold more people than are left to make; keep its first ones (the 世帯主 first)."""
        if plan.leaves is not None or sum(m.leaves is None for m in plan.members) <= room:
            return plan
        kept = [i for i, m in enumerate(plan.members) if m.leaves is None][:room]
        new_index = {old: new for new, old in enumerate(kept)}
        members = [plan.members[i] for i in kept]
        for m in members:  # a child whose mother was dropped arrives with the household
            m.mother = new_index.get(m.mother) if m.mother is not None else None
        plan.members = members
        return plan

    def household(self, plan: Plan) -> tuple[HouseholdRow, list[Version]]:
        self.counts.household += 1
        number = make_household_number(self.counts.household)
        address = self.address(plan.apartment)
        honseki = self.honseki()
        arrivals = self.arrivals(plan)
        versions: list[Version] = []
        active: list[ResidentRecord] = []
        left_on = self.leaving_date(max(a.on for a in arrivals)) if plan.leaves else None
        for position, (member, arrival) in enumerate(zip(plan.members, arrivals, strict=True), start=1):
            record = self.record(member, number, position, address, arrival, honseki)
            versions.append(Version(record, 1, arrival.reason, arrival.on, record.filed_on))
            leaves = plan.leaves or member.leaves
            if leaves:
                removed = self.removed(record, leaves, left_on or self.leaving_date(arrival.on))
                versions.append(removed)
                self.counts.removed += 1
            else:
                active.append(record)
                self.counts.active += 1
                self.counts.foreign += record.foreign is not None
        head = next((r.addressee_number for r in active if r.relationship == HOUSEHOLDER), None)
        row = HouseholdRow(number, address.address, head, len(active), ACTIVE if active else REMOVED)
        return row, versions

    # dates of arrival and leaving

    def arrivals(self, plan: Plan) -> list[_Arrival]:
        """Each member came with the household, was born into it, or (子の妻) married into it later."""
        came_from = self.previous_address(plan.from_abroad)
        reason = MOVE_IN_FROM_ABROAD if plan.from_abroad else MOVE_IN
        first_child: dict[int, date] = {}
        for m in plan.members:
            if m.mother is not None:
                first_child[m.mother] = min(m.birth, first_child.get(m.mother, m.birth))
        result: list[_Arrival] = []
        for i, m in enumerate(plan.members):
            base = plan.arrived
            if m.mother is not None:
                base = max(base, result[m.mother].on)
            if m.married_in:  # the wedding, or before her first child at the latest
                wedding = min(
                    m.birth + years(self.rng.uniform(24, 32)),
                    first_child.get(i, self.today),
                    self.today - timedelta(days=1),
                )
                result.append(_Arrival(MOVE_IN, max(base, wedding), self.previous_address(False)))
            elif m.birth >= base and m.mother is not None:
                result.append(_Arrival(BIRTH, m.birth, None))
            else:
                result.append(_Arrival(reason, max(base, m.birth), came_from))
        return result

    def leaving_date(self, arrived: date) -> date:
        lo = max(arrived + timedelta(days=30), self.today - years(8))
        return min(self.people.between(lo, self.today - timedelta(days=1)), self.today)

    def filed(self, on: date) -> date:
        """Most filings come within the 14 days the law allows."""
        return min(on + timedelta(days=self.rng.randint(0, 13)), self.today)

    # records

    def record(
        self, m: Member, household: str, position: int, address: Address, arrival: _Arrival, honseki: str
    ) -> ResidentRecord:
        self.counts.addressee += 1
        age = age_on(m.birth, self.today)
        voter = m.foreign is None and age >= 18 and arrival.on <= self.today - timedelta(days=92)
        cover = self.insurance(m, age, arrival.on)
        return ResidentRecord(
            addressee_number=make_addressee_number(self.counts.addressee),
            household_number=household,
            relationship=m.relationship,
            position=position,
            family_name=m.family[0],
            given_name=m.given[0],
            family_name_kana=m.family[1],
            given_name_kana=m.given[1],
            sex=m.sex,
            birth_date=m.birth,
            address=address,
            resident_since=arrival.on,
            address_since=arrival.on,
            filed_on=self.filed(arrival.on),
            honseki=None if m.foreign else honseki,
            family_register_head=m.register_head,
            previous_address=arrival.previous,
            resident_code=self.resident_code(),
            my_number=self.my_number(),
            foreign=m.foreign,
            voter_registered=voter,
            voting_district=self.district[address.town or ""] if voter else None,
            national_health_insurance=cover.health,
            late_elderly_insurance=cover.late_elderly,
            long_term_care_insurance=cover.long_term_care,
            national_pension=cover.pension,
        )

    def removed(self, record: ResidentRecord, reason: str, on: date) -> Version:
        if reason == DEATH:
            filed = self.filed(on)
            changed = dataclasses.replace(record, status=REMOVED, removal=Removal(DEATH, on), filed_on=filed)
            return Version(changed, 2, DEATH, on, filed)
        # a 転出届 is filed up to 14 days before the move, never before the arrival was filed
        filed = max(on - timedelta(days=self.rng.randint(0, 14)), record.filed_on)
        move_out = MoveOutData(self.other_address(), on, filed)
        changed = dataclasses.replace(
            record, status=REMOVED, removal=Removal(MOVE_OUT, on), move_out=move_out, filed_on=filed
        )
        return Version(changed, 2, MOVE_OUT, on, filed)

    def insurance(self, m: Member, age: int, since: date) -> _Insurance:
        """Plausible enrolments for the person's age: everyone 65+ in 介護, 75+ in 後期高齢, 20–59 in 国民年金."""
        items = _Insurance()
        if age >= 65:  # 介護保険 第1号被保険者 from the day before the 65th birthday
            items.long_term_care = Enrollment(True, max(birthday(m.birth, 65) - timedelta(1), since))
        if age >= 75:
            items.late_elderly = Enrollment(True, max(birthday(m.birth, 75), since))
        draw = self.rng.random()
        category = None
        if 20 <= age < 60:
            # 第3号 (a dependent spouse) only for wives here; 第1号 (self-employed, students) pay into 国保 too
            category = (
                "第3号"
                if m.relationship in ("妻", "子の妻") and draw < 0.3
                else ("第1号" if draw < 0.6 else "第2号")
            )
            number = f"{self.rng.randrange(10**9, 10**10)}"  # 基礎年金番号, 10 digits
            items.pension = Enrollment(True, max(birthday(m.birth, 20), since), None, number, category)
        if age < 75 and (category == "第1号" or (age >= 65 and draw < 0.75) or draw > 0.92):
            items.health = Enrollment(True, since)
        return items

    # identifiers.generate_my_number / generate_resident_code draw digit by digit; one draw per body is several
    # times faster, and the check digit comes from the same rule functions.

    def my_number(self) -> str:
        while True:
            body = f"{self.rng.randrange(10**11):011d}"
            number = body + my_number_check_digit(body)
            if number not in self._my_numbers:
                self._my_numbers.add(number)
                return number

    def resident_code(self) -> str:
        while True:
            body = f"{self.rng.randrange(10**10):010d}"
            code = body + resident_code_check_digit(body)
            if code not in self._resident_codes:
                self._resident_codes.add(code)
                return code

    # addresses

    def address(self, apartment: float) -> Address:
        """A canonical address in a real 町字: 住居表示 (N番M号) or 地番 (N番地, N番地M), maybe with a 方書."""
        town = self.rng.choice(self.towns)
        katagaki = self.katagaki(town) if self.rng.random() < apartment else ""
        text = f"{PREFECTURE}{MUNICIPALITY}{town.town}{self.banchi(town)}"
        return Address(text, katagaki, town.postal_code, town.town, CITY_CODE)

    def banchi(self, town: Town) -> str:
        # The town list does not say which areas are under 住居表示; the towns without 丁目 and 小川町 (the city
        # hall's 小川町二丁目1333番地) are written in 地番 here, the others in 住居表示. Plausible, not a survey.
        if town.chome is None or town.base_name == "小川町":
            lot = self.rng.randint(1, 3300)
            return f"{lot}番地" + (f"{self.rng.randint(1, 40)}" if self.rng.random() < 0.6 else "")
        return f"{self.rng.randint(1, 35)}番{self.rng.randint(1, 30)}号"

    def katagaki(self, town: Town) -> str:
        """方書: a building name and room number, as on a letterbox (「花小金井南パレス203」)."""
        name = town.base_name.removesuffix("町")
        room = f"{self.rng.randint(1, 6)}{self.rng.randint(1, 9):02d}"
        return f"{name}{self.rng.choice(BUILDINGS)}{room}"

    def other_address(self) -> Address:
        place = self.rng.choice(OTHER_MUNICIPALITIES)
        chome = "一二三四五"[self.rng.randrange(5)]
        text = f"{place.name}{self.rng.choice(place.towns)}{chome}丁目{self.rng.randint(1, 30)}番{self.rng.randint(1, 25)}号"
        return Address(text, "", None, None, place.code)

    def previous_address(self, abroad: bool) -> Address:
        if abroad:
            nation = self.people.nation()
            return Address(nation.abroad, "", None, None, None, nation.name)
        return self.other_address()

    def honseki(self) -> str:
        """本籍: often in the city itself, otherwise where the family came from."""
        if self.rng.random() < 0.4:
            town = self.rng.choice(self.towns)
            return f"{PREFECTURE}{MUNICIPALITY}{town.town}{self.rng.randint(1, 3300)}番地"
        place = self.rng.choice(OTHER_MUNICIPALITIES)
        return f"{place.name}{self.rng.choice(place.towns)}{self.rng.randint(1, 999)}番地"
