"""The leak check itself (tests/leakcheck.py) notices a My Number where it must not be — else it proves nothing."""

from __future__ import annotations

import logging

import pytest

from juki.services import filings, register_queries
from tests import factories as f
from tests.e2e.role_cases.common import CLERK
from tests.leakcheck import KNOWN, _scan_files, take_leaks, written_forms


def _someone(j) -> tuple[str, str]:
    person = f.person()
    result = filings.file(j.uow, CLERK, "move-in", f.move_in([person]))
    return result.changes[0]["addressee_number"], person["my_number"]


def test_the_numbers_the_tests_make_are_known(j):
    _, my_number = _someone(j)
    assert my_number in KNOWN


def test_an_answer_that_shows_a_my_number_unasked_is_caught(client, headers, j, monkeypatch):
    number, my_number = _someone(j)
    auth = headers("clerk")
    assert client.get(f"/api/v1/residents/{number}?include=my_number", headers=auth).status_code == 200
    assert take_leaks() == []  # asked for, by a role that may: not a leak

    leaky = register_queries.resident_view
    monkeypatch.setattr(register_queries, "resident_view", lambda row, include: leaky(row, True))
    assert client.get(f"/api/v1/residents/{number}", headers=auth).status_code == 200
    leaks = take_leaks()
    assert len(leaks) == 1 and f"/api/v1/residents/{number}" in leaks[0]
    assert my_number not in leaks[0] and my_number[-4:] in leaks[0]  # masked in the report itself


def test_a_role_that_may_not_reveal_is_caught_even_when_it_asks(client, headers, j, monkeypatch):
    number, _ = _someone(j)
    monkeypatch.setattr("juki.services.authorization.authorize", lambda *a, **k: None)
    monkeypatch.setattr("juki.services.register_queries.authorize", lambda *a, **k: None)
    res = client.get(f"/api/v1/residents/{number}?include=my_number", headers=headers("auditor"))
    assert res.status_code == 200  # the permission check is switched off: the checker must notice
    assert len(take_leaks()) == 1


def test_a_log_line_with_a_my_number_is_caught(j):
    _, my_number = _someone(j)
    logging.getLogger("juki.somewhere").warning("looked up %s", my_number)
    assert len(take_leaks()) == 1


def test_a_written_file_with_a_my_number_is_caught(j, tmp_path):
    _, my_number = _someone(j)
    (tmp_path / "export.csv").write_text(f"山田,{my_number[:4]}-{my_number[4:8]}-{my_number[8:]}\n")
    _scan_files(tmp_path)
    assert [leak.split(":")[0] for leak in take_leaks()] == ["file export.csv"]
    (tmp_path / "export.csv").unlink()


# A number written any other way is still the number: the scan reads percent-encoded, full-width, grouped and spaced
# spellings, and mixes of them.
ANY_SPELLING = [
    "full-width",
    "hyphens",
    "full-width hyphens",
    "digit by digit",
    "percent full-width",
    "mixed",
]


@pytest.mark.parametrize("spelling", ANY_SPELLING)
def test_a_log_line_with_a_my_number_in_any_spelling_is_caught(j, spelling):
    _, my_number = _someone(j)
    logging.getLogger("juki.somewhere").warning("GET /api/v1/x?q=%s", written_forms(my_number)[spelling])
    leaks = take_leaks()
    assert len(leaks) == 1 and leaks[0].startswith("log juki.somewhere")


@pytest.mark.parametrize("spelling", ANY_SPELLING)
def test_an_answer_that_shows_a_my_number_in_any_spelling_is_caught(
    client, headers, j, monkeypatch, spelling
):
    number, my_number = _someone(j)
    leaky = register_queries.resident_view

    def with_a_note(row, include):
        return {**leaky(row, include), "note": f"番号 {written_forms(my_number)[spelling]}"}

    monkeypatch.setattr(register_queries, "resident_view", with_a_note)
    assert client.get(f"/api/v1/residents/{number}", headers=headers("clerk")).status_code == 200
    leaks = take_leaks()
    assert len(leaks) == 1 and f"/api/v1/residents/{number}" in leaks[0]


@pytest.mark.parametrize("spelling", ANY_SPELLING)
def test_a_written_file_with_a_my_number_in_any_spelling_is_caught(j, tmp_path, spelling):
    _, my_number = _someone(j)
    (tmp_path / "export.csv").write_text(f"山田,{written_forms(my_number)[spelling]}\n", encoding="utf-8")
    _scan_files(tmp_path)
    assert [leak.split(":")[0] for leak in take_leaks()] == ["file export.csv"]
    (tmp_path / "export.csv").unlink()


def test_other_numbers_beside_each_other_are_not_taken_for_a_known_one(j):
    _, my_number = _someone(j)
    first, second = my_number[:6], my_number[6:]
    logging.getLogger("juki.somewhere").warning("宛名番号 %s0000 と %s", first, second)
    logging.getLogger("juki.somewhere").warning("%s-%s%s", my_number[:4], my_number[4:], "1")
    assert take_leaks() == []
