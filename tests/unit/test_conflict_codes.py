"""A lost race is told by the engine's error code, not by its message (which changes with version and locale)."""

from __future__ import annotations

import sqlite3
from types import SimpleNamespace

import pytest

from juki.adapters.db import is_conflict


def _sqlite_error(*statements: str) -> sqlite3.Error:
    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE TABLE x (id INTEGER PRIMARY KEY, code TEXT UNIQUE, n INTEGER NOT NULL CHECK (n > 0))"
    )
    conn.execute("INSERT INTO x VALUES (1, 'a', 1)")
    with pytest.raises(sqlite3.Error) as caught:
        for statement in statements:
            conn.execute(statement)
    return caught.value


@pytest.mark.parametrize(
    ("statement", "race"),
    [
        ("INSERT INTO x VALUES (2, 'a', 1)", True),  # a unique key taken
        ("INSERT INTO x VALUES (1, 'b', 1)", True),  # a primary key taken
        ("INSERT INTO x VALUES (3, 'c', 0)", False),  # a CHECK: juki's own fault, never retried
        ("INSERT INTO x VALUES (3, 'c', NULL)", False),
    ],
)
def test_sqlite_unique_violations_are_races_and_other_constraints_are_not(statement, race):
    assert is_conflict(SimpleNamespace(orig=_sqlite_error(statement))) is race


def test_sqlite_busy_and_locked_are_races_by_code_whatever_the_message():
    for code in (5, 6, 517, 261):  # BUSY, LOCKED, BUSY_SNAPSHOT, BUSY_RECOVERY
        error = sqlite3.OperationalError("データベースはロックされています")
        error.sqlite_errorcode = code  # type: ignore[attr-defined]
        assert is_conflict(SimpleNamespace(orig=error))
    error = sqlite3.OperationalError("database is locked")  # the words alone prove nothing
    error.sqlite_errorcode = 1  # type: ignore[attr-defined]  # SQLITE_ERROR
    assert not is_conflict(SimpleNamespace(orig=error))


@pytest.mark.parametrize(
    ("sqlstate", "race"),
    [("40001", True), ("40P01", True), ("23505", True), ("23503", False), ("42P01", False)],
)
def test_postgresql_races_by_sqlstate(sqlstate, race):
    assert is_conflict(SimpleNamespace(orig=SimpleNamespace(sqlstate=sqlstate))) is race
