"""Households as plans: who lives together, born when, how they came to the city and how some left it.

`People` draws the kinds of household a Tokyo suburb has (people alone, couples, families, single parents, three
generations; foreign residents alone or with a family; removed ones), with birth dates that fit together.
demo/city.py turns a plan into the register's records.
"""

from __future__ import annotations

import dataclasses
import random
from bisect import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import accumulate
from typing import TypeVar

from juki.demo.sources import (
    FAMILY,
    FAMILY_CUM,
    FAMILY_STATUSES,
    GIVEN,
    NATION_CUM,
    NATIONS,
    PERIODS,
    REMOVALS,
    REMOVALS_CUM,
    Nation,
    Pair,
)
from juki.domain.model import (
    ForeignResidentItems,
)

HOUSEHOLDER = "世帯主"
MOVE_IN, MOVE_IN_FROM_ABROAD, BIRTH, MOVE_OUT, DEATH = "転入", "国外転入", "出生", "転出", "死亡"
FOREIGN_REGISTER_START = date(2012, 7, 9)  # foreign residents entered the register on this day (改正住基法)

T = TypeVar("T")


@dataclass
class Member:
    relationship: str
    sex: str
    birth: date
    family: Pair
    given: Pair
    register_head: str | None = None  # 戸籍の筆頭者 (Japanese nationals only)
    foreign: ForeignResidentItems | None = None
    mother: int | None = (
        None  # index of the mother in the household: a child arrives with her or is born here
    )
    married_in: bool = False  # joined the household on marriage (子の妻), not with it
    leaves: str | None = None  # MOVE_OUT or DEATH for a removed record


@dataclass
class Plan:
    members: list[Member]
    arrived: date  # when the household came to the city
    from_abroad: bool = False
    apartment: float = 0.3  # chance of a 方書
    leaves: str | None = None  # the whole household moved out (MOVE_OUT) or its only member died (DEATH)


def years(n: float) -> timedelta:
    return timedelta(days=round(n * 365.25))


def age_on(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def birthday(birth: date, age: int) -> date:
    try:
        return birth.replace(year=birth.year + age)
    except ValueError:  # born on 29 February
        return date(birth.year + age, 3, 1)


def weighted(rng: random.Random, items: Sequence[T], cum_weights: Sequence[float]) -> T:
    """One item by cumulative weight: random.choices without the list it builds (called per person)."""
    return items[bisect(cum_weights, rng.random() * cum_weights[-1], 0, len(items) - 1)]


def full_name(family: Pair, given: Pair) -> str:
    return f"{family[0]} {given[0]}"


class People:
    """Household plans: the kinds of household a Japanese suburb has, with birth dates that fit together."""

    def __init__(self, rng: random.Random, today: date) -> None:
        self.rng = rng
        self.today = today
        self._cards: set[str] = set()
        # (weight, kind): shares of household kinds, roughly those of a Tokyo suburb
        japanese: list[tuple[int, Callable[[], Plan]]] = [
            (22, lambda: self.alone(19, 39)),
            (8, lambda: self.alone(40, 64)),
            (12, lambda: self.alone(65, 98, female_share=0.7)),
            (17, lambda: self.couple(25, 88)),
            (25, self.family),
            (5, self.single_parent),
            (5, self.with_parents),
            (4, self.with_grandchildren),
        ]
        foreign: list[tuple[int, Callable[[], Plan]]] = [
            (50, self.foreign_alone),
            (25, self.foreign_family),
            (10, self.special_permanent),
            (15, self.mixed_marriage),
        ]
        self._japanese_kinds = [k for _, k in japanese]
        self._japanese_cum = list(accumulate(w for w, _ in japanese))
        self._foreign_kinds = [k for _, k in foreign]
        self._foreign_cum = list(accumulate(w for w, _ in foreign))

    # dates

    def between(self, lo: date, hi: date) -> date:
        return lo + timedelta(days=self.rng.randint(0, max(0, (hi - lo).days)))

    def born(self, youngest: int, oldest: int) -> date:
        return self.between(self.today - years(oldest + 1) + timedelta(days=1), self.today - years(youngest))

    def arrival(
        self, head: Member, earliest_age: int = 20, within_years: int = 50, before_days: int = 1
    ) -> date:
        lo = max(head.birth + years(earliest_age), self.today - years(within_years))
        return self.between(lo, self.today - timedelta(days=before_days))

    # people

    def family_name(self) -> Pair:
        return weighted(self.rng, FAMILY, FAMILY_CUM)

    def japanese(
        self, relationship: str, sex: str, birth: date, family: Pair, head: str | None = None
    ) -> Member:
        given = self.rng.choice(GIVEN[sex])
        return Member(relationship, sex, birth, family, given, head or full_name(family, given))

    def spouse(self, partner: Member, relationship: str, family: Pair) -> Member:
        """A spouse of the other sex, a few years younger (wife) or older (husband)."""
        gap = self.rng.randint(-2, 6)
        sex = "female" if partner.sex == "male" else "male"
        birth = partner.birth + (years(gap) if sex == "female" else -years(gap))
        birth = min(birth, self.today - years(18))
        return self.japanese(relationship, sex, birth, family, partner.register_head)

    def children(
        self,
        mother_index: int,
        members: list[Member],
        relationship: str,
        family: Pair,
        count: int,
        head: str | None,
    ) -> list[Member]:
        mother = members[mother_index]
        births = sorted(mother.birth + years(self.rng.uniform(22, 42)) for _ in range(count))
        kids = []
        for birth in births:
            if birth < self.today:  # a child not yet born is left out
                kid = self.japanese(relationship, self.rng.choice(("male", "female")), birth, family, head)
                kid.mother = mother_index
                kids.append(kid)
        return kids

    # Japanese households

    def alone(self, youngest: int, oldest: int, female_share: float = 0.5) -> Plan:
        sex = "female" if self.rng.random() < female_share else "male"
        head = self.japanese(HOUSEHOLDER, sex, self.born(youngest, oldest), self.family_name())
        return Plan([head], self.arrival(head, 18), apartment=0.7 if youngest < 40 else 0.2)

    def couple(self, youngest: int, oldest: int) -> Plan:
        family = self.family_name()
        head = self.japanese(HOUSEHOLDER, "male", self.born(youngest, oldest), family)
        return Plan([head, self.spouse(head, "妻", family)], self.arrival(head, 22), apartment=0.4)

    def family(self, kids: int | None = None, youngest: int = 28, oldest: int = 55) -> Plan:
        plan = self.couple(youngest, oldest)
        count = kids if kids is not None else self.rng.choice((1, 1, 2, 2, 2, 3))
        family, head = plan.members[0].family, plan.members[0].register_head
        plan.members += self.children(1, plan.members, "子", family, count, head)
        plan.apartment = 0.3
        return plan

    def single_parent(self) -> Plan:
        plan = self.alone(28, 55, female_share=0.85)
        head = plan.members[0]
        if head.sex == "female":
            plan.members += self.children(
                0, plan.members, "子", head.family, self.rng.randint(1, 2), head.register_head
            )
        else:  # a father alone: the children's mother is not in the household, so date them from him
            plan.members += [
                self.japanese(
                    "子",
                    self.rng.choice(("male", "female")),
                    self.between(head.birth + years(25), self.today - years(1)),
                    head.family,
                    head.register_head,
                )
            ]
        return plan

    def with_parents(self) -> Plan:
        """世帯主, 妻, 子 and the householder's (or the wife's) parents: three generations, parents at the end."""
        plan = self.family(self.rng.randint(0, 2))
        head, wife = plan.members[0], plan.members[1]
        if self.rng.random() < 0.15:  # the wife's mother
            mother_birth = wife.birth - years(self.rng.uniform(24, 36))
            plan.members.append(self.japanese("妻の母", "female", mother_birth, self.family_name()))
            return plan
        father = self.japanese("父", "male", head.birth - years(self.rng.uniform(26, 38)), head.family)
        mother = self.spouse(father, "母", head.family)
        plan.members += [p for p in (father, mother) if self.rng.random() < 0.7] or [mother]
        plan.arrived = self.arrival(head, 25)
        return plan

    def with_grandchildren(self) -> Plan:
        """世帯主, 妻, 子, 子の妻, 子の子: an older couple with their son's family."""
        plan = self.couple(58, 85)
        head, family = plan.members[0], plan.members[0].family
        son = self.japanese("子", "male", plan.members[1].birth + years(self.rng.uniform(24, 36)), family)
        son.mother = 1
        daughter_in_law = self.spouse(son, "子の妻", family)
        daughter_in_law.married_in = True
        plan.members += [son, daughter_in_law]
        plan.members += self.children(
            3, plan.members, "子の子", family, self.rng.randint(1, 3), son.register_head
        )
        plan.arrived = self.arrival(head, 25)
        return plan

    def japanese_household(self) -> Plan:
        return weighted(self.rng, self._japanese_kinds, self._japanese_cum)()

    # foreign residents

    def card_number(self) -> str:
        """在留カード番号 (or 特別永住者証明書番号): 2 letters, 8 digits, 2 letters, unique in the city."""
        letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
        while True:
            number = (
                self.rng.choice(letters)
                + self.rng.choice(letters)
                + f"{self.rng.randrange(10**8):08d}"
                + self.rng.choice(letters)
                + self.rng.choice(letters)
            )
            if number not in self._cards:
                self._cards.add(number)
                return number

    def residence(self, nation: str, status: str, since: date) -> ForeignResidentItems:
        since = max(since, FOREIGN_REGISTER_START)
        if status == "永住者":
            return ForeignResidentItems(
                nation, "中長期在留者", status, None, None, self.card_number(), foreign_resident_since=since
            )
        period = self.rng.choice(tuple(PERIODS))
        expires = self.between(self.today + timedelta(days=30), self.today + years(PERIODS[period]))
        return ForeignResidentItems(
            nation, "中長期在留者", status, period, expires, self.card_number(), foreign_resident_since=since
        )

    def foreigner(
        self,
        nation: Nation,
        relationship: str,
        sex: str,
        birth: date,
        family: Pair,
        status: str,
        since: date,
    ) -> Member:
        given = self.rng.choice(nation.male if sex == "male" else nation.female)
        return Member(
            relationship, sex, birth, family, given, None, self.residence(nation.name, status, since)
        )

    def foreign_household(self) -> Plan:
        return weighted(self.rng, self._foreign_kinds, self._foreign_cum)()

    def nation(self) -> Nation:
        return weighted(self.rng, NATIONS, NATION_CUM)

    def foreign_alone(self) -> Plan:
        nation = self.nation()
        arrived = self.between(self.today - years(8), self.today - timedelta(days=1))
        head = self.foreigner(
            nation,
            HOUSEHOLDER,
            self.rng.choice(("male", "female")),
            self.born(19, 40),
            self.rng.choice(nation.families),
            self.rng.choice(nation.statuses),
            arrived,
        )
        return Plan([head], arrived, from_abroad=self.rng.random() < 0.7, apartment=0.9)

    def foreign_family(self) -> Plan:
        nation = self.nation()
        arrived = self.between(self.today - years(12), self.today - timedelta(days=1))
        status = self.rng.choice(FAMILY_STATUSES)
        dependant = "永住者の配偶者等" if status == "永住者" else "家族滞在"
        family = self.rng.choice(nation.families)
        head = self.foreigner(nation, HOUSEHOLDER, "male", self.born(27, 50), family, status, arrived)
        wife_family = self.rng.choice(nation.families) if nation.wife_keeps_name else family
        wife = self.foreigner(
            nation,
            "妻",
            "female",
            min(head.birth + years(self.rng.randint(-2, 6)), self.today - years(20)),
            wife_family,
            dependant,
            arrived,
        )
        members = [head, wife]
        for birth in sorted(
            wife.birth + years(self.rng.uniform(24, 40)) for _ in range(self.rng.randint(0, 2))
        ):
            if birth < self.today:
                kid = self.foreigner(
                    nation,
                    "子",
                    self.rng.choice(("male", "female")),
                    birth,
                    family,
                    "永住者" if status == "永住者" else "家族滞在",
                    max(arrived, birth),
                )
                kid.mother = 1
                members.append(kid)
        return Plan(members, arrived, from_abroad=self.rng.random() < 0.6, apartment=0.6)

    def special_permanent(self) -> Plan:
        """特別永住者 (韓国・朝鮮), born in Japan; many use a registered Japanese alias (通称)."""
        nation = NATIONS[1]
        plan = self.couple(30, 90) if self.rng.random() < 0.5 else self.alone(30, 90)
        since = max(plan.arrived, FOREIGN_REGISTER_START)
        plan.arrived = self.between(since, self.today - timedelta(days=1))
        alias_family = self.family_name()
        for m in plan.members:
            m.family = self.rng.choice(nation.families)  # husband and wife keep their own surnames
            m.given = self.rng.choice(nation.male if m.sex == "male" else nation.female)
            m.register_head = None
            alias = (alias_family, self.rng.choice(GIVEN[m.sex])) if self.rng.random() < 0.6 else None
            m.foreign = ForeignResidentItems(
                self.rng.choice(("韓国",) * 9 + ("朝鮮",)),
                "特別永住者",
                special_permanent_resident_certificate_number=self.card_number(),
                alias_name=full_name(*alias) if alias else None,
                alias_name_kana=f"{alias[0][1]} {alias[1][1]}" if alias else None,
                foreign_resident_since=FOREIGN_REGISTER_START,
            )
        return plan

    def mixed_marriage(self) -> Plan:
        """A Japanese householder and a foreign wife (日本人の配偶者等); the children are Japanese."""
        plan = self.family(self.rng.randint(0, 2))
        # foreign residents are in the register since 2012 (before, they were in 外国人登録)
        plan.arrived = max(plan.arrived, FOREIGN_REGISTER_START)
        nation = self.rng.choice(NATIONS[:4])
        wife = plan.members[1]
        wife.family, wife.register_head = self.rng.choice(nation.families), None
        wife.given = self.rng.choice(nation.female)
        wife.foreign = self.residence(nation.name, "日本人の配偶者等", plan.arrived)
        return plan

    # removed records

    def with_removal(self) -> Plan:
        """A household that left whole, an elderly person who died alone, or a household that lost a member."""
        kind = weighted(self.rng, REMOVALS, REMOVALS_CUM)
        if kind == "left":
            plan = self.rng.choice((lambda: self.alone(19, 45), lambda: self.couple(25, 70), self.family))()
            plan.leaves, plan.arrived = MOVE_OUT, self.arrival(plan.members[0], 18, 30, before_days=400)
        elif kind == "died":
            plan = self.alone(70, 98, female_share=0.6)
            plan.leaves = DEATH
        elif kind == "child":  # a grown-up child who moved out (to study, to work, to marry)
            plan = self.family(0, 48, 68)
            plan.members += self.children(
                1, plan.members, "子", plan.members[0].family, 1, plan.members[0].register_head
            )
            plan.members[-1:] = [
                dataclasses.replace(m, leaves=MOVE_OUT)
                for m in plan.members[-1:]
                if age_on(m.birth, self.today) >= 20
            ]
            plan.arrived = self.arrival(plan.members[0], 22)
        elif kind == "spouse":  # a widower: his late wife's record stays as a 除票
            plan = self.couple(70, 95)
            plan.members[1].leaves = DEATH
        else:
            plan = self.with_parents()
            plan.members[-1].leaves = DEATH
        return plan
