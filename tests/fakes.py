"""An in-memory register: the domain's `RegisterReader` over dicts, for unit tests of the rules.

`FakeRegister` answers every method of the Protocol as `adapters.repository.SqlRegisterReader` does, and
`apply` stores an outcome as `write_outcome` does (versions checked, history, outbox order), so the rules can be
tested without a database. tests/integration/test_register_reader_contract.py runs the same cases on both.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from juki.domain.errors import Conflict
from juki.domain.identifiers import generate_resident_code, make_addressee_number, make_household_number
from juki.domain.model import Address, HouseholdState, ResidentRecord
from juki.domain.register import Outcome, ResidentState


@dataclass(frozen=True)
class _Version:
    """One row of the history (`resident_versions`): the record as written and the change's 異動日."""

    record: ResidentRecord
    changed_on: date
    filing_id: str


@dataclass(frozen=True)
class _Event:
    """One row of the outbox: which filing changed whom, in commit order."""

    seq: int
    filing_id: str
    addressee_number: str
    household_number: str


@dataclass
class _Household:
    address: str  # the stored household keeps the address text only, as the SQL table does
    version: int


# A stock of 住民票コード as the CS hands over (標準仕様書 j870), the same in every fake register.
_RNG = random.Random(870)
STOCK: tuple[str, ...] = tuple(dict.fromkeys(generate_resident_code(_RNG) for _ in range(20)))


class FakeRegister:
    """A `RegisterReader` over dicts; `apply` stores an outcome as the SQL writer would."""

    def __init__(self, today: date = date(2025, 6, 30)) -> None:
        self.today = today
        self.residents: dict[str, ResidentState] = {}
        self.households: dict[str, _Household] = {}
        self.history: dict[tuple[str, int], _Version] = {}
        self.outbox: list[_Event] = []
        self.seq = {"a": 0, "h": 0}
        self._filings = 0
        self.stock: list[str] = list(STOCK)  # 住民票コード the CS handed over
        self.used: set[str] = set()

    @classmethod
    def holding(
        cls,
        records: Iterable[ResidentRecord],
        *,
        version: int = 1,
        household_version: int = 1,
        last_changed_on: date = date(2024, 4, 1),
        today: date = date(2025, 6, 30),
    ) -> FakeRegister:
        """A register that already holds `records`, each at `version`, their households at `household_version`
        (a register built by filings this test does not repeat)."""
        reg = cls(today)
        for r in records:
            reg.residents[r.addressee_number] = ResidentState(r, version, last_changed_on)
            if r.household_number not in reg.households:
                reg.households[r.household_number] = _Household(r.address.address, household_version)
        return reg

    # --- RegisterReader ---------------------------------------------------------------------------------------

    def resident(self, addressee_number: str) -> ResidentState | None:
        return self.residents.get(addressee_number)

    def household(self, household_number: str) -> HouseholdState | None:
        hh = self.households.get(household_number)
        if hh is None:
            return None
        members = sorted(
            (
                s.record
                for s in self.residents.values()
                if s.record.household_number == household_number and s.record.is_active
            ),
            key=lambda r: r.position,
        )
        address = members[0].address if members else Address(hh.address)
        return HouseholdState(household_number, address, members, version=hh.version)

    def holders(
        self, my_number: str | None, resident_code: str | None, card: str | None
    ) -> list[ResidentState]:
        def holds(r: ResidentRecord) -> bool:
            return bool(
                (my_number and r.my_number == my_number)
                or (resident_code and r.resident_code == resident_code)
                or (card and r.foreign and r.foreign.residence_card_number == card)
            )

        found = sorted((s for s in self.residents.values() if holds(s.record)), key=_number)
        return found[:3]

    def filing_versions(self, filing_id: str) -> list[tuple[str, int]] | None:
        found = [(n, v) for (n, v), row in self.history.items() if row.filing_id == filing_id]
        return found or None

    def later_change(
        self,
        filing_id: str,
        addressee_numbers: list[str],
        household_numbers: list[str],
        others_than: list[str],
    ) -> str | None:
        own = [e.seq for e in self.outbox if e.filing_id == filing_id]
        if not own:
            return None
        members = {
            s.record.addressee_number
            for s in self.residents.values()
            if s.record.household_number in household_numbers and s.record.is_active
        }
        for e in self.outbox:
            if e.seq <= max(own):
                continue
            if e.addressee_number in addressee_numbers or (
                e.household_number in household_numbers
                and e.addressee_number not in others_than
                and e.addressee_number in members
            ):
                return e.filing_id
        return None

    def same_three_info(self, family_name: str, given_name: str, sex: str, birth_date: date) -> list[str]:
        return [
            s.record.addressee_number
            for s in self.residents.values()
            if (s.record.family_name, s.record.given_name, s.record.sex, s.record.birth_date)
            == (family_name, given_name, sex, birth_date)
        ][:10]

    def version_state(self, addressee_number: str, version: int) -> ResidentState | None:
        row = self.history.get((addressee_number, version))
        if row is None:
            return None
        last = max(
            v.changed_on for (n, k), v in self.history.items() if n == addressee_number and k <= version
        )
        return ResidentState(row.record, version, last)

    def next_addressee_number(self) -> str:
        self.seq["a"] += 1
        return make_addressee_number(self.seq["a"])

    def next_household_number(self) -> str:
        self.seq["h"] += 1
        return make_household_number(self.seq["h"])

    def draw_resident_code(self, exclude: frozenset[str]) -> str | None:
        """The first of `stock` nobody holds or took (the SQL reader draws at random; a test wants to know)."""
        held = {state.record.resident_code for state in self.residents.values()}
        free = [
            code for code in self.stock if code not in held and code not in self.used and code not in exclude
        ]
        return free[0] if free else None

    # --- the writer -------------------------------------------------------------------------------------------

    def apply(self, outcome: Outcome, filing_id: str | None = None) -> Outcome:
        """Store the outcome as `write_outcome` does: households and people at their next version (a version read
        that is no longer current is a conflict), one history row and one outbox event per change."""
        if filing_id is None:
            self._filings += 1
            filing_id = f"F{self.today:%Y%m%d}-{self._filings:07d}"
        for hh in outcome.households.values():  # checked first: a refused outcome writes nothing
            stored = self.households.get(hh.household_number)
            if hh.is_new and stored is not None:
                raise Conflict("他の操作で更新されました。もう一度照会してください")
            if not hh.is_new and (stored is None or stored.version != hh.version):
                raise Conflict("世帯が他の操作で更新されました。もう一度照会してください", "household_number")
        for ch in outcome.changes:
            current = self.residents.get(ch.record.addressee_number)
            if (current.version if current else 0) != ch.previous_version:
                raise Conflict("住民が他の操作で更新されました。もう一度照会してください", "addressee_number")
        for hh in outcome.households.values():
            version = 1 if hh.is_new else hh.version + 1
            self.households[hh.household_number] = _Household(hh.address.address, version)
        for ch in outcome.changes:
            number, version = ch.record.addressee_number, ch.previous_version + 1
            self.history[number, version] = _Version(ch.record, ch.changed_on, filing_id)
            self.residents[number] = ResidentState(ch.record, version, ch.last_changed_on or ch.changed_on)
            seq = len(self.outbox) + 1
            self.outbox.append(_Event(seq, filing_id, number, ch.record.household_number))
        for code in outcome.drawn_codes:
            if code in self.used:
                raise Conflict("他の操作で更新されました。もう一度照会してください")
            self.used.add(code)
        return outcome

    def copy(self) -> FakeRegister:
        """An independent copy (to draw numbers from without moving this register's counters)."""
        twin = FakeRegister(self.today)
        twin.residents = dict(self.residents)
        twin.households = {k: dataclasses.replace(v) for k, v in self.households.items()}
        twin.history = dict(self.history)
        twin.outbox = list(self.outbox)
        twin.seq = dict(self.seq)
        twin._filings = self._filings
        twin.stock, twin.used = list(self.stock), set(self.used)
        return twin


def _number(state: ResidentState) -> str:
    return state.record.addressee_number
