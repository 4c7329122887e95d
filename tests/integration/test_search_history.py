"""Search on both engines (標準仕様書 j330/j340): earlier names and addresses, and the indexes that keep a
前方一致 or a history search from reading every row (migration 0008)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import event, text

from juki.adapters import tables as t
from juki.adapters.db import alembic_config
from juki.policy.roles import Actor
from juki.policy.search import parse_criteria
from juki.services import filings, register_queries
from tests import factories as f
from tests.conftest import STAFF
from tests.e2e.role_cases.common import CLERK

SEARCH_INDEXES = {
    "residents": {
        "ix_residents_family_name_key",
        "ix_residents_given_name_key",
        "ix_residents_alias_name_key",
        "ix_residents_parallel_name_key",
        "ix_residents_family_kana_key",
        "ix_residents_given_kana_key",
    },
    "resident_versions": {
        "ix_resident_versions_family_kana_key",
        "ix_resident_versions_given_kana_key",
        "ix_resident_versions_family_name_key",
        "ix_resident_versions_given_name_key",
        "ix_resident_versions_alias_name_key",
        "ix_resident_versions_parallel_name_key",
    },
}
NEW_IN_0008 = {
    "ix_resident_versions_given_kana_key",
    "ix_resident_versions_family_name",
    "ix_resident_versions_given_name",
}
REPLACED_IN_0012 = {"ix_resident_versions_family_name", "ix_resident_versions_given_name"}


def _move_in(j, **person: Any) -> tuple[str, str]:
    result = filings.file(j.uow, CLERK, "move-in", f.move_in([f.person(**person)]))
    return result.household_number, result.changes[0]["addressee_number"]


def _search(j, **params: str) -> list[dict[str, Any]]:
    return register_queries.search(j.uow, CLERK, params)["results"]


@contextmanager
def _statements(j) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        seen.append((statement, parameters))

    event.listen(j.engine, "before_cursor_execute", capture)
    try:
        yield seen
    finally:
        event.remove(j.engine, "before_cursor_execute", capture)


def _plan(j, **params: str) -> str:
    """The query plan of the register's search for these criteria, as one text."""
    query = parse_criteria(params)
    with j.uow() as uow, _statements(j) as seen:
        uow.queries.search(query)
    statement, parameters = seen[-1]
    with j.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
            return "\n".join(str(r[-1]) for r in rows)
        # A test register is tiny and a sequential scan is the cheapest plan there: forbid it to see whether an
        # index can answer at all (a LIKE 'x%' cannot use a plain index under a collation other than "C").
        conn.exec_driver_sql("SET enable_seqscan = off")
        rows = conn.exec_driver_sql("EXPLAIN " + statement, parameters).all()
        return "\n".join(str(r[0]) for r in rows)


def _index_names(j, table: str) -> set[str]:
    with j.engine.connect() as conn:
        return {i["name"] for i in conn.dialect.get_indexes(conn, table)}


# --- what a history search finds ---------------------------------------------------------------------------------


def test_a_person_who_moved_within_the_city_and_died_is_found_by_the_address_they_left(j):
    household, number = _move_in(j, family_name="高橋", family_name_kana="タカハシ", birth_date="1950-03-03")
    filings.file(
        j.uow,
        CLERK,
        "move-within",
        {
            "filed_on": "2025-06-20",
            "changed_on": "2025-06-15",
            "household_number": household,
            "addressee_numbers": [number],
            "address": {"address": "東京都小平市天神町一丁目1番1号"},
        },
    )
    filings.file(
        j.uow, CLERK, "death", {"filed_on": "2025-06-25", "died_on": "2025-06-24", "addressee_number": number}
    )
    assert _search(j, name="タカハシ", address="小川町一丁目") == []
    found = _search(j, name="タカハシ", address="小川町一丁目", history="true")
    assert [(r["addressee_number"], r["status"], r["matched_on"]) for r in found] == [
        (number, "removed", "history")
    ]
    assert found[0]["matched_history"][0]["until"] == "2025-06-15"
    today = _search(j, name="タカハシ", address="天神町", history="true")
    assert [(r["matched_on"], r["matched_history"]) for r in today] == [("current", [])]


def test_an_earlier_kana_reading_is_found_with_the_same_fuzzy_rules(j):
    _, number = _move_in(j, given_name="勇", given_name_kana="イサム", birth_date="1960-06-06")
    result = filings.file(
        j.uow,
        CLERK,
        "ex-officio-correction",
        {
            "filed_on": "2025-06-20",
            "changed_on": "2025-06-20",
            "reason": "フリガナの誤記を修正",
            "addressee_number": number,
            "corrections": {"given_name_kana": "イサオ"},
        },
    )
    supervisor = Actor(STAFF["supervisor"][0], STAFF["supervisor"][1], "supervisor", "test")
    filings.decide(j.uow, supervisor, result.filing_id, approve=True)
    assert _search(j, name="やまだ いさむ", birth_date="1960-06-06") == []
    found = _search(j, name="ﾔﾏﾀﾞ ｲｻﾑ", birth_date="1960-06-06", history="true")
    assert [r["addressee_number"] for r in found] == [number]
    assert found[0]["matched_history"][0]["value"] == "山田 勇"  # the name as it was written then
    assert [
        r["addressee_number"] for r in _search(j, name="イサ", birth_date="1960-06-06", name_match="prefix")
    ] == [number]


# --- indexes (migration 0008) ----------------------------------------------------------------------------------


def test_the_search_indexes_exist_and_on_postgresql_answer_a_like_prefix(j):
    for table, names in SEARCH_INDEXES.items():
        assert names <= _index_names(j, table)
    if j.engine.dialect.name != "postgresql":
        return
    with j.engine.connect() as conn:
        definitions = dict(
            conn.execute(
                text(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('residents', 'resident_versions')"
                )
            ).all()
        )
    for names in SEARCH_INDEXES.values():
        for name in names:
            assert "varchar_pattern_ops" in definitions[name], definitions[name]


@pytest.mark.parametrize(
    "params",
    [
        {"name": "ヤマ", "address": "小川町", "name_match": "prefix"},
        {"name": "山", "address": "小川町", "name_match": "prefix"},
        {"name": "ヤマダ", "address": "小川町"},
        {"name": "ヤマダタロウ", "address": "小川町"},
        {"name": "山田 太郎", "address": "小川町"},
    ],
    ids=["kana prefix", "kanji prefix", "kana word", "kana joined", "kanji family and given"],
)
@pytest.mark.parametrize("history", [False, True], ids=["today", "history"])
def test_a_name_search_with_an_address_is_answered_by_name_indexes(j, params, history):
    _move_in(j)
    plan = _plan(j, **params, **({"history": "true"} if history else {}))
    if history:  # candidates from the names of every version, then each resident by number
        assert "ix_resident_versions_" in plan, plan
        assert (
            "SCAN resident_versions\n" not in plan + "\n" and "Seq Scan on resident_versions" not in plan
        ), plan
    else:
        assert "ix_residents_" in plan, plan
    assert "SCAN residents\n" not in plan + "\n" and "Seq Scan on residents" not in plan, plan
    if j.engine.dialect.name == "postgresql" and params.get("name_match") == "prefix":
        assert "~>=~" in plan, plan  # the index itself answers LIKE 'x%' (varchar_pattern_ops)


def test_an_address_in_history_is_checked_per_candidate_not_by_reading_the_history(j):
    _move_in(j)
    plan = _plan(j, birth_date="1980-04-01", address="小川町", history="true")
    assert "ix_residents_birth_date" in plan, plan
    assert "Seq Scan on resident_versions" not in plan and "SCAN resident_versions\n" not in plan + "\n", plan


def test_migration_0008_goes_down_and_up_and_leaves_tables_and_migrations_agreeing(j, db_url):
    _move_in(j)
    j.engine.dispose()
    command.downgrade(alembic_config(db_url), "0007")
    assert not NEW_IN_0008 & _index_names(j, "resident_versions")
    if j.engine.dialect.name == "postgresql":
        with j.engine.connect() as conn:
            definition = conn.execute(
                text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_residents_family_kana_key'")
            ).scalar_one()
        assert "pattern_ops" not in definition
    j.engine.dispose()
    command.upgrade(alembic_config(db_url), "0008")
    assert _index_names(j, "resident_versions") >= NEW_IN_0008
    j.engine.dispose()
    command.upgrade(alembic_config(db_url), "head")
    assert _index_names(j, "resident_versions") >= (NEW_IN_0008 - REPLACED_IN_0012)
    with j.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), t.metadata) == []
    assert [r["matched_on"] for r in _search(j, name="ヤマ", address="小川町", name_match="prefix")] == [
        "current"
    ]
