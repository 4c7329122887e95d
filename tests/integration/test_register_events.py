"""Register events in the outbox, on both engines: written by the domain's outcome in the filing's transaction,
one per person changed, their body as docs/events.md says, and the My Number only sealed with the event key."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from juki.adapters import tables as t
from juki.adapters.event_key import event_key_file, load_event_key
from juki.adapters.vault import VaultError, key_file_for
from juki.domain.events import PROTECTION_CHANGED, SCHEMA_VERSION
from juki.policy.roles import Actor
from juki.services import filings, outbox, protection
from tests import factories as f
from tests.leakcheck import spellings

CLERK = Actor("clerk1", "窓口 一郎", "clerk", "test")
BODY_KEYS = {
    "schema_version", "event", "change_reason", "changed_on", "filed_on", "filing_id", "addressee_number",
    "version", "removed", "household", "previous_household_number", "persons", "has_my_number", "record",
    "recorded_by", "transfer",
}  # fmt: skip


def _events(j, after: int = 0) -> list[outbox.ChangeEvent]:
    return outbox.read(j.uow, after)


def test_a_move_in_emits_one_event_per_person_with_the_household_after_it(j):
    done = filings.file(j.uow, CLERK, "move-in", f.move_in())
    numbers = [c["addressee_number"] for c in done.changes]
    events = _events(j)
    assert [e.event for e in events] == ["ResidentMovedIn"] * 4
    first = events[0].body
    assert set(first) == BODY_KEYS and first["schema_version"] == SCHEMA_VERSION
    assert (first["changed_on"], first["filed_on"]) == ("2025-06-01", "2025-06-02")
    assert first["household"] == {
        "household_number": done.household_number,
        "address": f.ADDRESS,
        "householder": numbers[0],
        "member_count": 4,
    }
    assert first["persons"] == numbers and first["previous_household_number"] is None
    assert [e.body["version"] for e in events] == [1, 1, 1, 1] and not first["removed"]
    assert first["record"]["family_name"] == "山田" and first["filing_id"] == done.filing_id
    assert first["recorded_by"] == {"staff_id": "clerk1", "terminal": "test"}  # the 操作者ID and 操作端末ID


def test_a_householders_death_emits_the_death_and_the_successions_own_events(j):
    done = filings.file(j.uow, CLERK, "move-in", f.move_in(f.family_of_four()[:2]))
    head, wife = (c["addressee_number"] for c in done.changes)
    after = _events(j)[-1].position
    filings.file(
        j.uow, CLERK, "death", {"filed_on": "2025-06-20", "died_on": "2025-06-19", "addressee_number": head}
    )
    events = _events(j, after)
    by_person = {e.addressee_number: e for e in events}
    assert by_person[head].event == "ResidentDied" and by_person[head].body["removed"]
    assert by_person[head].body["household"]["household_number"] == done.household_number  # the one left
    assert by_person[head].body["version"] == 2
    assert by_person[wife].event == "HouseholderChanged"
    assert by_person[wife].body["household"]["householder"] == wife
    assert by_person[wife].body["previous_household_number"] == done.household_number
    assert set(by_person[head].body["persons"]) == {head, wife}


def test_the_body_holds_no_my_number_and_the_sealed_one_opens_only_with_the_event_key_for_its_person(j):
    body = f.move_in(f.family_of_four()[:2])
    numbers = [p["my_number"] for p in body["persons"]]
    filings.file(j.uow, CLERK, "move-in", body)
    with j.engine.connect() as conn:
        stored = conn.execute(select(t.outbox).order_by(t.outbox.c.seq)).all()
    text = json.dumps([row.payload for row in stored], ensure_ascii=False)
    assert not any(n in spellings(text) for n in numbers)
    events = _events(j)
    assert all(e.has_my_number and e.my_number_sealed for e in events)
    key = load_event_key(event_key_file(key_file_for(j.settings.database_url, j.settings.key_file)))
    first, second = events
    assert [key.open_for(e.my_number_sealed, e.addressee_number, e.version) for e in events] == numbers
    with pytest.raises(VaultError):  # moved onto another person's event, it does not open
        key.open_for(first.my_number_sealed, second.addressee_number, second.version)
    with pytest.raises(VaultError):  # the register's own key is another key
        j.vault.decrypt(first.my_number_sealed)


def test_a_person_without_a_my_number_has_no_sealed_one(j):
    person = f.person()
    person.pop("my_number")
    filings.file(j.uow, CLERK, "move-in", f.move_in([person]))
    (event,) = _events(j)
    assert event.my_number_sealed is None and not event.has_my_number


def test_a_protection_measure_is_an_event_of_its_own_pointing_at_the_current_version(j):
    done = filings.file(j.uow, CLERK, "move-in", f.move_in(f.family_of_four()[:2]))
    wife = done.changes[1]["addressee_number"]
    after = _events(j)[-1].position
    boss = Actor("super1", "係長 花子", "supervisor", "desk-1", procedure="protection")
    measure = protection.set_measure(j.uow, boss, f.support_measure(wife))
    (event,) = _events(j, after)
    assert (event.event, event.addressee_number, event.version) == (PROTECTION_CHANGED, wife, 1)
    assert event.body["schema_version"] == SCHEMA_VERSION and event.filing_id == measure["measure_id"]
    assert "record" not in event.body and not event.has_my_number and event.my_number_sealed is None
    text = json.dumps(event.body, ensure_ascii=False)
    assert (
        f.ADDRESS not in text and "DV" not in text and "本人" not in text
    )  # no address, reason or requester
