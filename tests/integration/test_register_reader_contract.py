"""One contract for the domain's `RegisterReader`: the in-memory `FakeRegister` (tests/fakes.py) that the unit tests
of the rules use answers every question as the SQL reader (`SqlRegisterReader`) does, on both engines.

Each test keeps one register twice: filings go through the services' one door into the database, and the same
domain commands run against the fake, whose outcomes it applies under the same filing numbers. Every question is
then asked of both readers (`Twin.agree`): they must give the same answer, and that answer must be the expected
one. Where the SQL reader promises no order (`same_three_info`, `filing_versions`), both are compared sorted.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

import pytest

from juki.bootstrap import Juki
from juki.domain import commands as c
from juki.domain import register
from juki.domain.errors import DomainError, LaterChangeExists
from juki.domain.intake import PARSERS
from juki.domain.model import Address
from juki.domain.register import Outcome, RegisterReader
from juki.policy.roles import Actor
from juki.services import filings
from tests import factories as f
from tests.conftest import TODAY
from tests.fakes import FakeRegister

CLERK = Actor("clerk1", "窓口 一郎", "clerk", "test")
SUPERVISOR = Actor("super1", "係長 花子", "supervisor", "test")
UNKNOWN_PERSON = "9999999999"
UNKNOWN_HOUSEHOLD = "9999999998"
ELSEWHERE = {"address": "東京都武蔵野市吉祥寺本町一丁目1番1号", "municipality_code": "132039"}
CARD = "AB12345678CD"

T = TypeVar("T")


class Twin:
    """The register in the database and in a `FakeRegister`, kept in step by the same commands."""

    def __init__(self, j: Juki) -> None:
        self.j = j
        self.fake = FakeRegister(TODAY)
        self.filing_ids: list[str] = []
        self.people: dict[str, dict[str, Any]] = {}  # addressee number → the person's body as filed

    # --- writing: the services' door for SQL, the same domain command for the fake --------------------------

    def file(self, kind: str, body: dict[str, Any]) -> filings.FilingResult:
        result = filings.file(self.j.uow, CLERK, kind, body)
        if result.approval_state == "pending":  # 職権: takes effect when a supervisor approves it
            result = filings.decide(self.j.uow, SUPERVISOR, result.filing_id, True)
        self._mirror(PARSERS[kind](body), result)
        for ch, filed in zip(result.changes, body.get("persons", [body.get("person")]), strict=False):
            if filed is not None and ch["version"] == 1:
                self.people[ch["addressee_number"]] = filed
        return result

    def cancel(self, filing_id: str, **over: Any) -> filings.FilingResult:
        body = {"filed_on": TODAY.isoformat(), "reason": "届出の誤り", **over}
        result = filings.cancel(self.j.uow, SUPERVISOR, filing_id, body)
        command = c.CancelFiling(TODAY, filing_id, body["reason"], tuple(over.get("addressee_numbers", ())))
        self._mirror(command, result)
        return result

    def reorder(self, household_number: str, order: list[str]) -> str:
        done = filings.reorder_members(
            self.j.uow, CLERK, household_number, {"mode": "manual", "addressee_numbers": order}
        )
        command = c.ReorderMembers(filed_on=TODAY, household_number=household_number, order=tuple(order))
        outcome = self.fake.apply(register.reorder_members(self.fake, command), done["filing_id"])
        assert _written(outcome) == [
            (x["addressee_number"], x["change_reason"], x["version"]) for x in done["changes"]
        ]
        self.filing_ids.append(done["filing_id"])
        return str(done["filing_id"])

    def _mirror(self, command: c.Command, result: filings.FilingResult) -> None:
        outcome = filings.HANDLERS[type(command)](self.fake, command)
        self.fake.apply(outcome, result.filing_id)
        # the same command on either reader decides the same changes (numbers, reasons, versions)
        assert _written(outcome) == [
            (x["addressee_number"], x["change_reason"], x["version"]) for x in result.changes
        ]
        assert (outcome.household_number, outcome.late) == (result.household_number, result.late)
        self.filing_ids.append(result.filing_id)

    # --- reading: the same question of both readers ----------------------------------------------------------

    def agree(self, ask: Callable[[RegisterReader], T], unordered: bool = False) -> T:
        """The answer of both readers to one question; the test fails here if they differ."""
        with self.j.uow() as uow:  # never committed: a number drawn here is given back
            sql = ask(uow.reader)
        fake = ask(self.fake.copy())
        if unordered and sql is not None and fake is not None:
            sql, fake = sorted(sql), sorted(fake)  # type: ignore[call-overload]
        assert fake == sql, f"the fake answers {fake!r}, the SQL reader {sql!r}"
        return sql

    def refusal(self, command: c.Command, through_services: Callable[[], object]) -> DomainError:
        """The same refusal from both sides: the services over SQL, the domain over the fake."""
        with pytest.raises(DomainError) as sql:
            through_services()
        with pytest.raises(DomainError) as fake:
            filings.HANDLERS[type(command)](self.fake, command)
        assert (type(fake.value), fake.value.field) == (type(sql.value), sql.value.field)
        return sql.value


def _written(outcome: Outcome) -> list[tuple[str, str, int]]:
    return [(ch.record.addressee_number, ch.change_reason, ch.previous_version + 1) for ch in outcome.changes]


@pytest.fixture
def twin(j: Juki) -> Twin:
    return Twin(j)


def family(tw: Twin) -> tuple[str, list[str]]:
    """山田 太郎 (世帯主), 花子 (妻), 一郎 (子, 2010), 桜 (子, 2013) move in on 2025-06-01."""
    done = tw.file("move-in", f.move_in())
    return done.household_number, [x["addressee_number"] for x in done.changes]


def foreigner(tw: Twin, card: str = CARD) -> tuple[str, str]:
    body = f.move_in([f.foreign_person("NGUYEN", "VAN AN", "グエン", "ヴァンアン", card=card)])
    done = tw.file("move-in", body)
    return done.household_number, done.changes[0]["addressee_number"]


def death(tw: Twin, number: str, died_on: str = "2025-06-12", **over: Any) -> filings.FilingResult:
    body = {"filed_on": "2025-06-13", "died_on": died_on, "addressee_number": number, **over}
    return tw.file("death", body)


def move_out(tw: Twin, *numbers: str, **over: Any) -> filings.FilingResult:
    body = {
        "filed_on": "2025-06-14",
        "planned_on": "2025-06-15",
        "addressee_numbers": list(numbers),
        "destination": ELSEWHERE,
        **over,
    }
    return tw.file("move-out", body)


def names(members: list[Any]) -> list[str]:
    return [m.given_name for m in members]


# --- resident ------------------------------------------------------------------------------------------------


def test_a_resident_is_read_with_its_version_and_latest_change_date_and_an_unknown_one_is_none(twin):
    _hh, numbers = family(twin)
    for number in numbers:
        state = twin.agree(lambda r, n=number: r.resident(n))
        assert state is not None and state.version == 1 and state.last_changed_on == date(2025, 6, 1)
        assert state.record.my_number == twin.people[number]["my_number"]  # decrypted on the SQL side
    assert twin.agree(lambda r: r.resident(UNKNOWN_PERSON)) is None


def test_a_removed_resident_is_still_read_as_removed(twin):
    _hh, (_head, _wife, _son, daughter) = family(twin)
    death(twin, daughter)
    state = twin.agree(lambda r: r.resident(daughter))
    assert state is not None and not state.record.is_active and state.version == 2
    assert state.record.removal is not None and state.record.removal.reason == "死亡"
    assert state.last_changed_on == date(2025, 6, 12)


# --- household -----------------------------------------------------------------------------------------------


def test_a_household_has_its_active_members_in_their_order_and_its_version(twin):
    hh, (head, wife, son, daughter) = family(twin)
    newborn = twin.file(
        "birth",
        {
            "filed_on": "2025-06-11",
            "birth_date": "2025-06-10",
            "household_number": hh,
            "person": {k: v for k, v in f.person("子", given_name="蓮", given_name_kana="レン").items()
                       if k not in ("my_number", "birth_date")},  # a typed code: the SQL reader draws at random
        },
    ).changes[0]["addressee_number"]  # fmt: skip
    death(twin, daughter)
    twin.reorder(hh, [head, wife, newborn, son])  # the clerk's own order (j1010)
    found = twin.agree(lambda r: r.household(hh))
    assert found is not None
    assert [m.addressee_number for m in found.members] == [head, wife, newborn, son]
    assert names(found.members) == ["太郎", "花子", "蓮", "一郎"]
    assert found.version == 4  # 1 at the move-in, then the birth, the death and the reorder
    assert twin.agree(lambda r: r.household(UNKNOWN_HOUSEHOLD)) is None


def test_a_household_everyone_left_is_empty_and_keeps_its_address_text(twin):
    hh, number = foreigner(twin)
    move_out(twin, number)
    found = twin.agree(lambda r: r.household(hh))
    assert found is not None and found.members == [] and found.version == 2
    assert found.address == Address(f.ADDRESS)


# --- holders: one number, one person for life (標準仕様書 j600) ----------------------------------------------


def test_the_holders_of_a_number_are_found_among_active_and_removed_records(twin):
    _hh, (head, wife, _son, daughter) = family(twin)
    _hh2, alien = foreigner(twin)
    death(twin, daughter)
    move_out(twin, alien)
    mine, code = twin.people[daughter]["my_number"], twin.people[wife]["resident_code"]

    def holders(my_number: str | None, resident_code: str | None, card: str | None) -> list[str]:
        found = twin.agree(lambda r: r.holders(my_number, resident_code, card))
        return [s.record.addressee_number for s in found]

    assert holders(mine, None, None) == [daughter]  # removed by death
    assert holders(None, code, None) == [wife]  # active
    assert holders(None, None, CARD) == [alien]  # moved out
    assert holders(twin.people[head]["my_number"], code, CARD) == sorted([head, wife, alien])
    assert holders(None, None, None) == []
    assert holders("123456789018", "12345678901", "ZZ99999999ZZ") == []


def test_the_same_name_sex_and_birth_date_are_found_among_active_and_removed_records(twin):
    _hh, (head, *_rest) = family(twin)
    again = twin.file("move-in", f.move_in([f.person()])).changes[0]["addressee_number"]  # another 山田 太郎
    move_out(twin, again)
    found = twin.agree(lambda r: r.same_three_info("山田", "太郎", "male", date(1980, 4, 1)), unordered=True)
    assert found == sorted([head, again])
    assert twin.agree(lambda r: r.same_three_info("山田", "太郎", "female", date(1980, 4, 1))) == []


# --- history: what a 取消し reads (標準仕様書 j980) -------------------------------------------------------------


def test_the_versions_a_filing_wrote_are_found_by_its_number(twin):
    _hh, numbers = family(twin)
    death(twin, numbers[3])
    moved_in, died = twin.filing_ids
    assert twin.agree(lambda r: r.filing_versions(moved_in), unordered=True) == sorted(
        (n, 1) for n in numbers
    )
    assert twin.agree(lambda r: r.filing_versions(died)) == [(numbers[3], 2)]
    assert twin.agree(lambda r: r.filing_versions("F20250630-9999999")) is None


def test_a_past_version_is_read_with_the_latest_change_date_up_to_it(twin):
    _hh, alien = foreigner(twin)
    move_out(twin, alien)
    twin.cancel(twin.filing_ids[-1])  # the 転出 cancelled: a third version equal to the first
    first = twin.agree(lambda r: r.version_state(alien, 1))
    second = twin.agree(lambda r: r.version_state(alien, 2))
    third = twin.agree(lambda r: r.version_state(alien, 3))
    assert first is not None and first.record.is_active and first.last_changed_on == date(2025, 6, 1)
    assert second is not None and not second.record.is_active and second.last_changed_on == date(2025, 6, 15)
    assert third is not None and third.record.is_active
    # the history keeps the cancelled change's 異動日; the current state goes back to the date before it
    assert third.last_changed_on == date(2025, 6, 15)
    now = twin.agree(lambda r: r.resident(alien))
    assert now is not None and now.version == 3 and now.last_changed_on == date(2025, 6, 1)
    # the 取消し cancelled in turn: a fourth version written with the 異動日 the person had (2025-06-01), read
    # with the latest one up to it (the 転出's)
    twin.cancel(twin.filing_ids[-1])
    fourth = twin.agree(lambda r: r.version_state(alien, 4))
    assert fourth is not None and not fourth.record.is_active and fourth.last_changed_on == date(2025, 6, 15)
    assert twin.agree(lambda r: r.version_state(alien, 5)) is None
    assert twin.agree(lambda r: r.version_state(UNKNOWN_PERSON, 1)) is None


def test_a_later_change_of_a_person_or_of_a_household_member_is_found_in_commit_order(twin):
    hh, (head, wife, son, daughter) = family(twin)
    _hh2, alien = foreigner(twin)
    moved_in, alien_in = twin.filing_ids
    died = death(twin, daughter).filing_id
    reordered = twin.reorder(hh, [head, son, wife])
    # the reorder changed 一郎 and 花子, who are still members of the household the death touched
    assert twin.agree(lambda r: r.later_change(died, [daughter], [hh], [daughter])) == reordered
    assert twin.agree(lambda r: r.later_change(died, [daughter], [], [daughter])) is None
    assert twin.agree(lambda r: r.later_change(moved_in, [daughter], [], [])) == died
    assert twin.agree(lambda r: r.later_change(moved_in, [alien], [], [])) == alien_in
    assert twin.agree(lambda r: r.later_change(alien_in, [head], [], [])) is None  # only the earlier move-in
    assert twin.agree(lambda r: r.later_change(reordered, [head, wife, son], [hh], [])) is None
    assert twin.agree(lambda r: r.later_change("F20250630-9999999", [head], [hh], [])) is None
    # and so the death cannot be cancelled, by either side
    command = c.CancelFiling(TODAY, died, "届出の誤り")
    refused = twin.refusal(command, lambda: twin.cancel(died))
    assert isinstance(refused, LaterChangeExists) and reordered in refused.message


def test_the_next_numbers_follow_the_last_ones_given(twin):
    _hh, numbers = family(twin)
    hh2, _alien = foreigner(twin)
    assert twin.agree(lambda r: r.next_addressee_number()) > max(numbers)
    assert twin.agree(lambda r: r.next_household_number()) > hh2
    assert twin.agree(lambda r: r.today) == TODAY


# --- the whole reader over a mixed history -----------------------------------------------------------------------


def test_every_question_gets_the_same_answer_after_a_mixed_history(twin):
    """Move-ins, a death, a reorder, a 転居 into a new household, a 職権消除 approved by a supervisor, a 転出
    and its 取消し; then every method, for every person, household, filing, version and number held."""
    hh, (head, wife, son, daughter) = family(twin)
    hh2, alien = foreigner(twin)
    death(twin, daughter)
    twin.reorder(hh, [head, son, wife])
    split = twin.file(
        "move-within",
        {
            "filed_on": "2025-06-20",
            "changed_on": "2025-06-19",
            "household_number": hh,
            "addressee_numbers": [son],
            "address": {"address": "東京都小平市天神町一丁目1番1号"},
            "new_household": True,
            "householder": son,
            "new_relationships": {son: "世帯主"},
        },
    )
    twin.file(
        "ex-officio-removal",
        {
            "filed_on": "2025-06-25",
            "changed_on": "2025-06-24",
            "reason": "居住実態なし",
            "addressee_numbers": [son],
        },
    )
    move_out(twin, alien)
    twin.cancel(twin.filing_ids[-1])

    households = [hh, hh2, split.household_number, UNKNOWN_HOUSEHOLD]
    persons = [*sorted(twin.fake.residents), UNKNOWN_PERSON]
    for number in persons:
        current = twin.agree(lambda r, n=number: r.resident(n))
        for version in range(0, (current.version if current else 0) + 2):
            twin.agree(lambda r, n=number, v=version: r.version_state(n, v))
        body = twin.people.get(number, {})
        card = (body.get("foreign") or {}).get("residence_card_number")
        for ids in [
            (body.get("my_number"), None, None),
            (None, body.get("resident_code"), None),
            (None, None, card),
        ]:
            twin.agree(lambda r, ids=ids: r.holders(*ids))
        if current is not None:
            rec = current.record
            twin.agree(
                lambda r, x=rec: r.same_three_info(x.family_name, x.given_name, x.sex, x.birth_date),
                unordered=True,
            )
    for number in households:
        twin.agree(lambda r, h=number: r.household(h))
    for filing_id in [*twin.filing_ids, "F20250630-9999999"]:
        touched = twin.agree(lambda r, fid=filing_id: r.filing_versions(fid), unordered=True) or []
        people = [n for n, _ in touched]
        for hhs in (households, []):
            for others in (people, []):
                twin.agree(lambda r, fid=filing_id, p=people, h=hhs, o=others: r.later_change(fid, p, h, o))
    twin.agree(lambda r: (r.next_addressee_number(), r.next_household_number()))
    assert len(twin.filing_ids) == 8
