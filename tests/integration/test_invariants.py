"""The register's invariants hold after any sequence of filings (hypothesis, stateful).

A state machine files random move-ins (new households and joins, and people coming back with a removed person's
numbers — the same birth date or another), move-withins (whole households, and parts forming or joining a
household), move-outs, births, deaths, household changes (householder change, split, merge) and cancellations (whole
or in part) through `juki.services.filings`, on a fresh register per example. A refusal (`DomainError`) is a
legitimate outcome, but must write nothing. After every step the database itself is checked:

- every household has at most one 世帯主 (j100 allows none), and all its members live at its address;
- a 除票 is changed by no one else's filing (j600): its versions stay as they were, unless the record itself comes
  back — a move-in with its number and birth date after a 転出 (or a cancellation of its own removal); a dead
  person never comes back;
- every active resident belongs to exactly one active household; a household is active iff it has members,
  and `member_count` / `householder` agree with its members; 記載順位 (position) is unique in a household;
- My Numbers and 住民票コード are unique;
- history replays to the current state: versions are 1..n without gaps, the last version's record (and My
  Number) is the current record, `residents.version` is the last version, and every version has exactly one
  outbox row (and every outbox row a version).
"""

from __future__ import annotations

import random
import shutil
from collections import Counter, defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select
from stdnum.jp import in_ as my_number_rule  # python-stdnum: an independent My Number check digit

from juki.adapters import tables as t
from juki.bootstrap import Juki, build
from juki.domain.errors import DomainError
from juki.domain.identifiers import generate_resident_code
from juki.policy.roles import Actor
from juki.services import filings
from tests.conftest import TODAY, Template, _pg_url
from tests.pg_pool import PooledDatabase

CLERK = Actor("clerk1", "窓口 一郎", "clerk", "hypothesis")
SUPERVISOR = Actor("super1", "係長 花子", "supervisor", "hypothesis")
RETURNING = ("転出", "国外転出", "職権消除", "取消（減）")  # 消除事由 a person comes back from (j600)
START = date(2020, 1, 1)
# Few addresses, so that households share one and merges and joins have somewhere to go.
ADDRESSES = (
    "東京都小平市小川町一丁目100番地5",
    "東京都小平市花小金井南町三丁目5番12号",
    "東京都小平市学園東町一丁目2番3号",
)
ELSEWHERE = {"address": "東京都武蔵野市吉祥寺本町一丁目1番1号", "municipality_code": "132039"}
ABROAD = {"address": "アメリカ合衆国カリフォルニア州", "country": "アメリカ合衆国"}
FAMILY_NAMES = (
    ("山田", "ヤマダ"),
    ("佐藤", "サトウ"),
    ("鈴木", "スズキ"),
    ("髙橋", "タカハシ"),
    ("渡邊", "ワタナベ"),
)
GIVEN_NAMES = (("太郎", "タロウ"), ("花子", "ハナコ"), ("一郎", "イチロウ"), ("桜", "サクラ"), ("蓮", "レン"))
MEMBER_RELATIONSHIPS = ("妻", "夫", "子", "父", "母", "子の妻", "妻の子", "同居人", "兄", "妹")
ANY_RELATIONSHIP = ("同居人", "子", "妻", "夫", "母", "父", "縁故者")
OUTCOMES: Counter[str] = Counter()  # over all examples: the run was not vacuous
TABLES = ("residents", "resident_versions", "filings", "outbox", "households")


def my_number(rng: random.Random) -> str:
    body = "".join(rng.choice("0123456789") for _ in range(11))
    return body + str(my_number_rule.calc_check_digit(body))


class Registers:
    """A register per example, each from the template's state: on SQLite a new copy of the template's file (the
    one before it kept beside, for the leak check's scan of tmp_path), on PostgreSQL this process's pooled copy of
    the template, put back after each example (tests/pg_pool.py) instead of a CREATE and DROP DATABASE per example.
    One engine serves them all, so each example does not compile the same statements again."""

    def __init__(self, template: Template, workdir: Path, pool: PooledDatabase | None) -> None:
        self.template, self.workdir, self.pool = template, workdir, pool
        self.path = workdir / "register.db"
        self.done_examples = 0
        url = _pg_url(pool.name) if pool is not None else str(self.path)
        self.j = build(url, run_migrations=False, today=TODAY)

    def fresh(self) -> Juki:
        if self.pool is None:
            shutil.copy(self.template.location, self.path)
        return self.j

    def done(self) -> None:
        self.j.engine.dispose()
        self.done_examples += 1
        if self.pool is not None:
            self.pool.reset()
            return
        for suffix in ("", "-wal", "-shm"):
            used = Path(f"{self.path}{suffix}")
            if used.exists():
                used.rename(self.workdir / f"register-{self.done_examples}.db{suffix}")


class Register(RuleBasedStateMachine):
    """Filings against one register; `registers` is set by the test before it runs."""

    registers: Registers

    def __init__(self) -> None:
        super().__init__()
        self.j = self.registers.fresh()
        self.clock = START  # the latest legal date so far: dates mostly move forward
        self.outcomes: Counter[str] = Counter()
        self.filing_ids: list[str] = []
        self.removed: dict[str, Any] = {}  # 除票 as last seen: 宛名番号 → residents row

    def teardown(self) -> None:
        OUTCOMES.update(self.outcomes)
        self.registers.done()

    # --- reading the register ---------------------------------------------------------------------------

    def _rows(self, query: Any) -> list[Any]:
        with self.j.engine.connect() as conn:
            return list(conn.execute(query).all())

    def counts(self) -> dict[str, int]:
        with self.j.engine.connect() as conn:
            return {
                name: conn.execute(select(func.count()).select_from(t.metadata.tables[name])).scalar_one()
                for name in TABLES
            }

    def households(self) -> dict[str, list[Any]]:
        """Active members of each household with any, in position order."""
        r = t.residents.c
        members: dict[str, list[Any]] = defaultdict(list)
        for row in self._rows(
            select(r.addressee_number, r.household_number, r.relationship, r.position, r.address)
            .where(r.status == "active")
            .order_by(r.position)
        ):
            members[row.household_number].append(row)
        return dict(members)

    def identifiers(self) -> tuple[list[str], list[str]]:
        r = t.residents.c
        rows = self._rows(select(r.my_number_ciphertext, r.resident_code))
        numbers = [self.j.vault.open(x.my_number_ciphertext) for x in rows if x.my_number_ciphertext]
        return [n for n in numbers if n], [x.resident_code for x in rows if x.resident_code]

    def has_households(self) -> bool:
        return bool(self.households())

    def has_big_households(self) -> bool:
        return any(len(m) >= 2 for m in self.households().values())

    # --- drawing values ---------------------------------------------------------------------------------------

    def dates(self, data: st.DataObject) -> tuple[str, str]:
        """(legal date, filing date): usually at or after the latest so far, sometimes a little before it."""
        step = data.draw(st.integers(min_value=-5, max_value=60), label="days")
        legal = min(self.clock + timedelta(days=step), TODAY)
        filed = min(legal + timedelta(days=data.draw(st.integers(0, 20), label="filed after")), TODAY)
        return legal.isoformat(), filed.isoformat()

    def person(self, data: st.DataObject, relationship: str, born_by: str) -> dict[str, Any]:
        rng = data.draw(st.randoms(use_true_random=False), label="rng")
        family, family_kana = data.draw(st.sampled_from(FAMILY_NAMES), label="family")
        given, given_kana = data.draw(st.sampled_from(GIVEN_NAMES), label="given")
        latest = date.fromisoformat(born_by)
        born = data.draw(st.dates(min_value=date(1930, 1, 1), max_value=latest), label="birth_date")
        body: dict[str, Any] = {
            "family_name": family,
            "given_name": given,
            "family_name_kana": family_kana,
            "given_name_kana": given_kana,
            "birth_date": born.isoformat(),
            "sex": data.draw(st.sampled_from(("male", "female")), label="sex"),
            "relationship": relationship,
        }
        my_numbers, codes = self.identifiers()
        source = data.draw(st.sampled_from(("new", "new", "new", "none", "reuse")), label="my_number from")
        if source == "new":
            body["my_number"] = my_number(rng)
        elif source == "reuse" and my_numbers:  # the same person again, or someone else's number
            body["my_number"] = data.draw(st.sampled_from(sorted(my_numbers)), label="reused my_number")
        code_source = data.draw(st.sampled_from(("new", "new", "none", "reuse")), label="resident_code from")
        if code_source == "new":
            body["resident_code"] = generate_resident_code(rng)
        elif code_source == "reuse" and codes:
            body["resident_code"] = data.draw(st.sampled_from(sorted(codes)), label="reused resident_code")
        return body

    def pick_household(self, data: st.DataObject, min_members: int = 1) -> tuple[str, list[Any]]:
        choices = {k: v for k, v in self.households().items() if len(v) >= min_members}
        number = data.draw(st.sampled_from(sorted(choices)), label="household")
        return number, choices[number]

    def subset(self, data: st.DataObject, members: list[Any], label: str) -> list[str]:
        numbers = [m.addressee_number for m in members]
        return data.draw(
            st.lists(st.sampled_from(numbers), min_size=1, max_size=len(numbers), unique=True), label=label
        )

    def relationships(self, data: st.DataObject, numbers: list[str]) -> dict[str, str]:
        """For some (or none) of `numbers`, a 続柄 to the new head, as a clerk might give it."""
        given = {}
        mode = data.draw(st.sampled_from(("none", "some", "all")), label="relationships given")
        for n in numbers:
            if mode == "all" or (mode == "some" and data.draw(st.booleans(), label="give relationship")):
                given[n] = data.draw(st.sampled_from(ANY_RELATIONSHIP), label="relationship")
        return given

    # --- filing -------------------------------------------------------------------------------------------

    def file(self, kind: str, payload: dict[str, Any], legal: str) -> None:
        before = self.counts()
        label = f"{kind}/{payload['type']}" if kind == "household-change" else kind
        try:
            if kind == "cancel":
                result = filings.cancel(self.j.uow, SUPERVISOR, payload.pop("filing_id"), payload)
            else:
                result = filings.file(self.j.uow, CLERK, kind, payload)
        except DomainError as refusal:
            self.outcomes[f"{label}: {refusal.code}"] += 1
            # API.md: `conflict` means someone else changed the household or person since it was read. One
            # writer at a time cannot cause that; answered here it hides another broken rule.
            assert refusal.code != "conflict", (
                f"{kind} refused as a conflict with no concurrent writer: {refusal!r}"
            )
            assert self.counts() == before, f"refused {kind} ({refusal!r}) wrote to the register"
            return
        self.outcomes[f"{label}: ok"] += 1
        self.filing_ids.append(result.filing_id)
        self.clock = max(self.clock, date.fromisoformat(legal))
        after = self.counts()
        assert after["filings"] == before["filings"] + 1
        assert after["resident_versions"] - before["resident_versions"] == len(result.changes)
        assert after["outbox"] - before["outbox"] == len(result.changes)
        assert len({c["addressee_number"] for c in result.changes}) == len(result.changes), result.changes
        v = t.resident_versions.c
        written = self._rows(select(v.addressee_number, v.version).where(v.filing_id == result.filing_id))
        assert sorted((c["addressee_number"], c["version"]) for c in result.changes) == sorted(
            (w.addressee_number, w.version) for w in written
        )

    # --- rules --------------------------------------------------------------------------------------------

    @rule(data=st.data())
    def move_in_new_household(self, data: st.DataObject) -> None:
        legal, filed = self.dates(data)
        size = data.draw(st.integers(1, 4), label="persons")
        persons = [self.person(data, "世帯主", legal)] + [
            self.person(data, data.draw(st.sampled_from(MEMBER_RELATIONSHIPS), label="rel"), legal)
            for _ in range(size - 1)
        ]
        previous = data.draw(st.sampled_from((ELSEWHERE, ABROAD)), label="from")
        self.move_in_as_new_household(data, persons, previous, legal, filed)

    def move_in_as_new_household(
        self,
        data: st.DataObject,
        persons: list[dict[str, Any]],
        previous: dict[str, str],
        legal: str,
        filed: str,
    ) -> None:
        self.file(
            "move-in",
            {
                "filed_on": filed,
                "changed_on": legal,
                "previous_address": previous,
                "address": {"address": data.draw(st.sampled_from(ADDRESSES), label="address")},
                "household": {"new": True},
                "persons": persons,
            },
            legal,
        )

    @precondition(lambda self: self.has_households())
    @rule(data=st.data())
    def move_in_joining_a_household(self, data: st.DataObject) -> None:
        legal, filed = self.dates(data)
        number, members = self.pick_household(data)
        persons = [
            self.person(data, data.draw(st.sampled_from(MEMBER_RELATIONSHIPS), label="rel"), legal)
            for _ in range(data.draw(st.integers(1, 2), label="persons"))
        ]
        self.file(
            "move-in",
            {
                "filed_on": filed,
                "changed_on": legal,
                "previous_address": ELSEWHERE,
                "address": {"address": members[0].address},
                "household": {"household_number": number},
                "persons": persons,
            },
            legal,
        )

    @precondition(lambda self: self.has_households())
    @rule(data=st.data())
    def move_within(self, data: st.DataObject) -> None:
        legal, filed = self.dates(data)
        number, members = self.pick_household(data)
        movers = self.subset(data, members, "movers")
        body: dict[str, Any] = {
            "filed_on": filed,
            "changed_on": legal,
            "household_number": number,
            "addressee_numbers": movers,
        }
        staying = [m.addressee_number for m in members if m.addressee_number not in movers]
        others = {k: v for k, v in self.households().items() if k != number}
        mode = data.draw(st.sampled_from(("new", "join") if others else ("new",)), label="mode")
        if staying and mode == "join":
            target = data.draw(st.sampled_from(sorted(others)), label="join")
            body.update(join_household_number=target, address={"address": others[target][0].address})
        else:
            body["address"] = {"address": data.draw(st.sampled_from(ADDRESSES), label="address")}
            if staying:
                body.update(new_household=True, householder=data.draw(st.sampled_from(movers), label="head"))
        if staying:  # 続柄 to the new heads, and a successor for those left behind if their head moves
            body["new_relationships"] = self.relationships(data, [m.addressee_number for m in members])
            if data.draw(st.booleans(), label="name successor"):
                body["new_householder"] = data.draw(st.sampled_from(staying), label="new head")
        self.file("move-within", body, legal)

    @precondition(lambda self: self.has_households())
    @rule(data=st.data())
    def move_out(self, data: st.DataObject) -> None:
        legal, filed = self.dates(data)
        _, members = self.pick_household(data)
        leaving = self.subset(data, members, "leaving")
        staying = [m.addressee_number for m in members if m.addressee_number not in leaving]
        body: dict[str, Any] = {
            "filed_on": filed,
            "planned_on": legal,
            "addressee_numbers": leaving,
            "destination": data.draw(st.sampled_from((ELSEWHERE, ABROAD)), label="to"),
        }
        if staying and data.draw(st.booleans(), label="name successor"):
            body["new_householder"] = data.draw(st.sampled_from(staying), label="new head")
            body["new_relationships"] = self.relationships(data, [*staying, *leaving])
        self.file("move-out", body, legal)

    @precondition(lambda self: self.has_households())
    @rule(data=st.data())
    def birth(self, data: st.DataObject) -> None:
        legal, filed = self.dates(data)
        number, _ = self.pick_household(data)
        child = self.person(data, data.draw(st.sampled_from(("子", "子の子", "妻の子")), label="rel"), legal)
        child.pop("my_number", None)
        child.pop("resident_code", None)
        child.pop("birth_date")
        self.file(
            "birth",
            {"filed_on": filed, "birth_date": legal, "household_number": number, "person": child},
            legal,
        )

    @precondition(lambda self: self.has_households())
    @rule(data=st.data())
    def death(self, data: st.DataObject) -> None:
        legal, filed = self.dates(data)
        _, members = self.pick_household(data)
        dead = data.draw(st.sampled_from([m.addressee_number for m in members]), label="dead")
        body: dict[str, Any] = {"filed_on": filed, "died_on": legal, "addressee_number": dead}
        staying = [m.addressee_number for m in members if m.addressee_number != dead]
        if staying and data.draw(st.booleans(), label="name successor"):
            body["new_householder"] = data.draw(st.sampled_from(staying), label="new head")
            body["new_relationships"] = self.relationships(data, [*staying, dead])
        self.file("death", body, legal)

    @precondition(lambda self: self.has_big_households())
    @rule(data=st.data())
    def householder_change(self, data: st.DataObject) -> None:
        legal, filed = self.dates(data)
        number, members = self.pick_household(data, min_members=2)
        numbers = [m.addressee_number for m in members]
        head = data.draw(
            st.sampled_from([m.addressee_number for m in members if m.relationship != "世帯主"]),
            label="new head",
        )
        self.file(
            "household-change",
            {
                "filed_on": filed,
                "changed_on": legal,
                "type": "householder_change",
                "household_number": number,
                "new_householder": head,
                "new_relationships": self.relationships(data, numbers),
            },
            legal,
        )

    @precondition(lambda self: self.has_big_households())
    @rule(data=st.data())
    def split(self, data: st.DataObject) -> None:
        legal, filed = self.dates(data)
        number, members = self.pick_household(data, min_members=2)
        leaving = self.subset(data, members, "leaving")
        staying = [m.addressee_number for m in members if m.addressee_number not in leaving]
        body: dict[str, Any] = {
            "filed_on": filed,
            "changed_on": legal,
            "type": "split",
            "household_number": number,
            "addressee_numbers": leaving,
            "householder": data.draw(st.sampled_from(leaving), label="head"),
            "new_relationships": self.relationships(data, [m.addressee_number for m in members]),
        }
        if staying and data.draw(st.booleans(), label="name successor"):
            body["new_householder"] = data.draw(st.sampled_from(staying), label="new head")
        self.file("household-change", body, legal)

    @precondition(lambda self: len(self.households()) >= 2)
    @rule(data=st.data())
    def merge(self, data: st.DataObject) -> None:
        legal, filed = self.dates(data)
        number, members = self.pick_household(data)
        others = sorted(k for k in self.households() if k != number)
        into = data.draw(st.sampled_from(others), label="into")
        self.file(
            "household-change",
            {
                "filed_on": filed,
                "changed_on": legal,
                "type": "merge",
                "household_number": number,
                "into_household_number": into,
                "new_relationships": self.relationships(data, [m.addressee_number for m in members]),
            },
            legal,
        )

    def has_removed(self) -> bool:
        return bool(
            self._rows(select(t.residents.c.addressee_number).where(t.residents.c.status == "removed"))
        )

    @precondition(lambda self: self.has_removed())
    @rule(data=st.data())
    def move_in_with_a_removed_persons_numbers(self, data: st.DataObject) -> None:
        """Someone comes with the numbers of a removed person: that person coming back (same birth date, maybe
        another name or sex), or someone else."""
        legal, filed = self.dates(data)
        r = t.residents.c
        gone = self._rows(
            select(r.addressee_number, r.my_number_ciphertext, r.resident_code, r.birth_date).where(
                r.status == "removed"
            )
        )
        old = data.draw(
            st.sampled_from(sorted(gone, key=lambda g: g.addressee_number)), label="removed person"
        )
        body = self.person(data, "世帯主", legal)
        body.pop("my_number", None)
        body.pop("resident_code", None)
        number = self.j.vault.open(old.my_number_ciphertext)
        which = data.draw(st.sampled_from(("my_number", "resident_code", "both")), label="numbers reused")
        if number and which in ("my_number", "both"):
            body["my_number"] = number
        if old.resident_code and which in ("resident_code", "both"):
            body["resident_code"] = old.resident_code
        if data.draw(st.booleans(), label="same birth date"):
            body["birth_date"] = min(old.birth_date, date.fromisoformat(legal)).isoformat()
        self.move_in_as_new_household(data, [body], ELSEWHERE, legal, filed)

    @precondition(lambda self: bool(self.filing_ids))
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        """取消し of any earlier filing (j980), whole or for some of its persons."""
        filing_id = data.draw(st.sampled_from(self.filing_ids), label="filing cancelled")
        v = t.resident_versions.c
        persons = sorted(self._rows(select(v.addressee_number).where(v.filing_id == filing_id)))
        body: dict[str, Any] = {"filing_id": filing_id, "filed_on": TODAY.isoformat(), "reason": "取消し"}
        if len(persons) > 1 and data.draw(st.booleans(), label="part of it"):
            body["addressee_numbers"] = data.draw(
                st.lists(st.sampled_from([p.addressee_number for p in persons]), min_size=1, unique=True),
                label="cancelled persons",
            )
        self.file("cancel", body, START.isoformat())

    # --- invariants ------------------------------------------------------------------------------------------

    @invariant()
    def removed_records_are_changed_by_no_one_else(self) -> None:
        """A 除票 keeps its versions, unless it is the person's own: back by a move-in with its number and birth
        date after a removal they can come back from, or by the cancellation of its removal."""
        v = t.resident_versions.c
        rows = {row.addressee_number: row for row in self._rows(select(t.residents))}
        for number, old in self.removed.items():
            now = rows[number]
            if now.version == old.version:
                assert now.record == old.record, f"除票 {number} changed without a new version"
                continue
            following = self._rows(
                select(v.change_reason, v.record, v.version)
                .where(v.addressee_number == number, v.version > old.version)
                .order_by(v.version)
            )
            first = following[0]
            reason = old.record["removal"]["reason"]
            if first.change_reason in ("転入", "国外転入", "職権記載"):
                assert reason in RETURNING, f"除票 {number} ({reason}) taken by a move-in"
                born = first.record["birth_date"]
                assert born == old.birth_date.isoformat(), (
                    f"除票 {number} taken by someone born on another day"
                )
            else:
                assert first.change_reason == "取消（増）", (number, reason, first.change_reason)
        self.removed = {n: row for n, row in rows.items() if row.status == "removed"}

    @invariant()
    def households_have_one_head_and_one_address(self) -> None:
        residents = self._rows(select(t.residents))
        households = {h.household_number: h for h in self._rows(select(t.households))}
        active: dict[str, list[Any]] = defaultdict(list)
        for r in residents:
            if r.status == "active":
                assert r.household_number in households, f"{r.addressee_number} in a household with no row"
                active[r.household_number].append(r)
        for number, hh in households.items():
            members = active.get(number, [])
            heads = [m.addressee_number for m in members if m.relationship == "世帯主"]
            assert hh.member_count == len(members), (number, hh.member_count, len(members))
            assert hh.status == ("active" if members else "removed"), (number, hh.status, len(members))
            if members:
                assert len(heads) <= 1, f"household {number} has heads {heads}"
                assert hh.householder == (heads[0] if heads else None), (number, hh.householder, heads)
                assert {m.address for m in members} == {hh.address}, (
                    number,
                    hh.address,
                    [m.address for m in members],
                )
                positions = [m.position for m in members]
                assert len(set(positions)) == len(positions), f"household {number} positions {positions}"
            else:
                assert hh.householder is None, (number, hh.householder)

    @invariant()
    def identifiers_are_unique(self) -> None:
        my_numbers, codes = self.identifiers()
        assert not [n for n, c in Counter(my_numbers).items() if c > 1], "a My Number is held twice"
        assert not [n for n, c in Counter(codes).items() if c > 1], "a 住民票コード is held twice"

    @invariant()
    def history_replays_to_the_current_state(self) -> None:
        v, o = t.resident_versions.c, t.outbox.c
        versions: dict[str, list[Any]] = defaultdict(list)
        for row in self._rows(
            select(
                v.addressee_number, v.version, v.record, v.my_number_ciphertext, v.household_number
            ).order_by(v.addressee_number, v.version)
        ):
            versions[row.addressee_number].append(row)
        outbox = Counter(
            (row.addressee_number, row.version) for row in self._rows(select(o.addressee_number, o.version))
        )
        residents = self._rows(select(t.residents))
        assert {r.addressee_number for r in residents} == set(versions), "a resident without history or v.v."
        for r in residents:
            history = versions[r.addressee_number]
            assert [h.version for h in history] == list(range(1, len(history) + 1)), r.addressee_number
            last = history[-1]
            assert r.version == last.version, (r.addressee_number, r.version, last.version)
            assert r.record == last.record, (
                f"{r.addressee_number}: current record differs from its last version"
            )
            open_ = self.j.vault.open
            assert open_(r.my_number_ciphertext) == open_(last.my_number_ciphertext)
            assert r.household_number == last.household_number
            record = r.record
            assert (
                record["status"],
                record["household_number"],
                record["relationship"],
                record["position"],
                record["birth_date"],
                record["address"]["address"],
            ) == (
                r.status,
                r.household_number,
                r.relationship,
                r.position,
                r.birth_date.isoformat(),
                r.address,
            )
        every_version = {(n, h.version) for n, hs in versions.items() for h in hs}
        assert set(outbox) == every_version, "versions and outbox rows differ"
        assert all(c == 1 for c in outbox.values()), "a version has more than one outbox row"


def test_any_sequence_of_filings_keeps_the_register_consistent(
    template: Template, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    pool = request.getfixturevalue("pg_pool") if template.kind == "postgres" else None
    Register.registers = registers = Registers(template, tmp_path, pool)
    OUTCOMES.clear()
    run_state_machine_as_test(
        Register,
        settings=settings(
            max_examples=25,
            stateful_step_count=20,
            deadline=None,
            database=None,
            suppress_health_check=[
                HealthCheck.too_slow,
                HealthCheck.filter_too_much,
                HealthCheck.data_too_large,
            ],
        ),
    )
    registers.j.engine.dispose()
    accepted = {label.split(":")[0] for label, n in OUTCOMES.items() if label.endswith(": ok") and n}
    assert "move-in" in accepted and len(accepted) >= 4, f"too few filings went through: {dict(OUTCOMES)}"


def test_numbers_of_two_different_removed_residents_are_refused_but_not_as_a_conflict(j) -> None:
    """The case the machine above found: My Number of one former resident, 住民票コード of another.

    One person cannot be both; whatever the register answers, it is not `conflict` (which tells the clerk that
    someone else changed the record meanwhile and to try again) and it writes nothing.
    """
    rng = random.Random(11)
    people = []
    for family, kana in (("山田", "ヤマダ"), ("佐藤", "サトウ")):
        person = {
            "family_name": family,
            "given_name": "太郎",
            "family_name_kana": kana,
            "given_name_kana": "タロウ",
            "birth_date": "1980-04-01",
            "sex": "male",
            "relationship": "世帯主",
            "my_number": my_number(rng),
            "resident_code": generate_resident_code(rng),
        }
        moved = filings.file(
            j.uow,
            CLERK,
            "move-in",
            {
                "filed_on": "2025-01-10",
                "changed_on": "2025-01-10",
                "previous_address": ELSEWHERE,
                "address": {"address": ADDRESSES[0]},
                "household": {"new": True},
                "persons": [person],
            },
        )
        filings.file(
            j.uow,
            CLERK,
            "move-out",
            {
                "filed_on": "2025-02-01",
                "planned_on": "2025-02-10",
                "destination": ELSEWHERE,
                "addressee_numbers": [moved.changes[0]["addressee_number"]],
            },
        )
        people.append(person)
    both = dict(people[0], resident_code=people[1]["resident_code"])  # 山田's My Number, 佐藤's 住民票コード
    with j.engine.connect() as conn:
        before = [
            conn.execute(select(func.count()).select_from(t.metadata.tables[n])).scalar_one() for n in TABLES
        ]
    try:
        filings.file(
            j.uow,
            CLERK,
            "move-in",
            {
                "filed_on": "2025-06-02",
                "changed_on": "2025-06-01",
                "previous_address": ELSEWHERE,
                "address": {"address": ADDRESSES[1]},
                "household": {"new": True},
                "persons": [both],
            },
        )
    except DomainError as refusal:
        assert refusal.code != "conflict", f"answered {refusal!r}"
        assert 400 <= refusal.status < 500
    else:
        raise AssertionError("one person was recorded with two former residents' numbers")
    with j.engine.connect() as conn:
        after = [
            conn.execute(select(func.count()).select_from(t.metadata.tables[n])).scalar_one() for n in TABLES
        ]
    assert after == before
