"""The register's storage on both engines: migrations, append-only history, one transaction, concurrency."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import DBAPIError

from juki.adapters import tables as t
from juki.bootstrap import build
from juki.domain import register
from juki.domain.errors import Conflict
from juki.domain.intake import PARSERS
from juki.policy.roles import Actor
from juki.services import filings, outbox
from juki.services.audit_queries import verify_chain
from tests import factories as f
from tests.conftest import TODAY

CLERK = Actor("clerk1", "窓口 一郎", "clerk", "test")


def move_family(j) -> filings.FilingResult:
    return filings.file(j.uow, CLERK, "move-in", f.move_in())


def count(j, table) -> int:
    with j.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_migrations_and_models_agree(j):
    with j.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), t.metadata)
    assert diff == []


_A_TEXT_COLUMN = {
    "resident_versions": "filing_id",
    "operation_log": "detail",
    "outbox": "event",
    "certificate_issuances": "terminal",
    "certificate_disposals": "reason",
    "certificate_settings": "reason",
    "certificate_overflows": "text",
}


@pytest.mark.parametrize("table", t.APPEND_ONLY)
@pytest.mark.parametrize("verb", ["UPDATE {table} SET {column} = 'x'", "DELETE FROM {table}"])
def test_append_only_tables_refuse_update_and_delete(j, table, verb):
    move_family(j)
    with j.engine.begin() as conn:
        conn.execute(
            insert(t.media_exports).values(
                record_id="M1", recorded_at=datetime.now(UTC), staff_id="clerk1", witness_id="super1",
                purpose="test", medium="USB", item_count=1, sha256="0" * 64,
            )
        )  # fmt: skip
        now = datetime.now(UTC)
        conn.execute(
            insert(t.certificate_issuances).values(
                issuance_number="20250630-000001", issued_at=now, issued_on=now.date(), kind="residence_certificate",
                layout="household", addressee_numbers=[], items=[], my_number_printed=False, copy_no=1, copies=1,
                pages=1, channel="counter", office="市民課", terminal="t", staff_id="clerk1", requester_type="self",
                purpose="test", fee=300, sha256="0" * 64,
            )
        )  # fmt: skip
        conn.execute(
            insert(t.certificate_disposals).values(
                issuance_number="20250630-000001", disposed_at=now, staff_id="super1", reason="誤交付"
            )
        )
        conn.execute(
            insert(t.certificate_settings).values(
                version=1, settings={}, changed_at=now, changed_by="admin1", reason="初期設定"
            )
        )
        conn.execute(
            insert(t.certificate_overflows).values(
                issuance_number="20250630-000001", line=1, issued_on=now.date(), item="住所", problem="overflow",
                text="長い方書",
            )
        )  # fmt: skip
    statement = verb.format(table=table, column=_A_TEXT_COLUMN.get(table, "purpose"))
    with pytest.raises(DBAPIError, match="append-only"), j.engine.begin() as conn:
        conn.execute(text(statement))
    assert count(j, t.metadata.tables[table]) > 0


def test_a_filing_writes_versions_filing_log_and_outbox_together(j):
    before = {name: count(j, t.metadata.tables[name]) for name in ("resident_versions", "filings", "outbox")}
    log_before = count(j, t.operation_log)
    result = move_family(j)
    assert count(j, t.resident_versions) - before["resident_versions"] == 4
    assert count(j, t.filings) - before["filings"] == 1
    assert count(j, t.outbox) - before["outbox"] == 4
    assert count(j, t.operation_log) == log_before + 1
    with j.engine.connect() as conn:
        filing_ids = set(conn.execute(select(t.outbox.c.filing_id)).scalars())
    assert filing_ids == {result.filing_id}


def test_nothing_is_written_when_the_transaction_fails_at_the_last_step(j, monkeypatch):
    import juki.adapters.repository as repo

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(repo, "_write_outbox", broken)
    before = [count(j, table) for table in (t.residents, t.resident_versions, t.filings, t.households)]
    with pytest.raises(RuntimeError):
        move_family(j)
    after = [count(j, table) for table in (t.residents, t.resident_versions, t.filings, t.households)]
    assert after == before


def _move_within(first: filings.FilingResult) -> Any:
    numbers = [c["addressee_number"] for c in first.changes]
    body = {
        "filed_on": "2025-06-20",
        "changed_on": "2025-06-15",
        "household_number": first.household_number,
        "addressee_numbers": numbers,
        "address": {"address": "東京都小平市花小金井南町三丁目5番12号"},
    }
    return PARSERS["move-within"](body)


def _death(j, first: filings.FilingResult) -> filings.FilingResult:
    number = first.changes[3]["addressee_number"]
    body = {"filed_on": "2025-06-20", "died_on": "2025-06-19", "addressee_number": number}
    return filings.file(j.uow, CLERK, "death", body)


def _reasons(j, first: filings.FilingResult) -> list[str]:
    """The head of the household's history: what clerk A's move within would have added to."""
    v = t.resident_versions.c
    with j.engine.connect() as conn:
        rows = conn.execute(
            select(v.change_reason).where(v.addressee_number == first.changes[0]["addressee_number"])
        )
        return list(rows.scalars())


def _assert_refused_by_the_version_check(refused: pytest.ExceptionInfo[Conflict]) -> None:
    """The household's version check (adapters/repository.py), not a lock wait relabelled `conflict`."""
    assert refused.value.field == "household_number", refused.value.message


def test_a_change_worked_out_from_a_version_another_clerk_has_since_changed_gets_conflict(j):
    """Two clerks read one household at version 1; clerk B commits first; clerk A's change, worked out from
    version 1, is refused by the version check when it is written and writes nothing."""
    first = move_family(j)
    with j.uow() as uow:  # clerk A reads the household …
        outcome = register.move_within(uow.reader, _move_within(first))
    _death(j, first)  # … clerk B, who read the same version, commits first
    with pytest.raises(Conflict) as refused, j.uow() as uow:
        uow.write(outcome, "F-test", CLERK)
        uow.commit()
    _assert_refused_by_the_version_check(refused)
    assert _reasons(j, first) == ["転入"]  # clerk A wrote nothing


@pytest.mark.postgres
def test_two_open_units_of_work_read_one_version_and_the_second_to_commit_gets_conflict(j):
    """On PostgreSQL (read committed) both transactions are open at once: clerk A's, still open, has read the
    household when clerk B's commits; A's version check then sees B's commit."""
    first = move_family(j)
    with pytest.raises(Conflict) as refused, j.uow() as uow:
        outcome = register.move_within(uow.reader, _move_within(first))  # clerk A has read the household …
        _death(j, first)  # … clerk B commits first
        uow.write(outcome, "F-test", CLERK)
        uow.commit()
    _assert_refused_by_the_version_check(refused)
    assert _reasons(j, first) == ["転入"]


@pytest.mark.sqlite
def test_a_unit_of_work_that_waits_out_the_busy_timeout_gets_conflict(j, db_url):
    """On SQLite each unit of work takes the write lock at BEGIN; one that cannot get it within
    JUKI_SQLITE_BUSY_TIMEOUT_SECONDS gives up with `conflict` (try again) and writes nothing."""
    impatient = build(db_url, run_migrations=False, today=TODAY, sqlite_busy_timeout_seconds=0.2)
    try:
        with (
            j.uow(),
            pytest.raises(Conflict) as refused,
        ):  # another unit of work holds the write lock meanwhile
            move_family(impatient)
        assert refused.value.field is None
        assert count(j, t.filings) == 0
        assert move_family(impatient).filing_id  # once the lock is free, the same filing goes through
    finally:
        impatient.engine.dispose()


@pytest.mark.sqlite
def test_the_busy_timeout_is_a_setting(db_url):
    quick = build(db_url, run_migrations=False, sqlite_busy_timeout_seconds=1.5)
    try:
        with quick.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1500
    finally:
        quick.engine.dispose()


def test_outbox_is_read_in_commit_order_with_a_cursor_per_subscriber(j):
    first = move_family(j)
    numbers = [c["addressee_number"] for c in first.changes]
    filings.file(
        j.uow,
        CLERK,
        "death",
        {"filed_on": "2025-06-20", "died_on": "2025-06-19", "addressee_number": numbers[3]},
    )
    events = outbox.pending(j.uow, "cs")
    assert [e.change_reason for e in events] == ["転入"] * 4 + ["死亡"]
    assert [e.position for e in events] == sorted(e.position for e in events)
    assert all("my_number" not in e.record for e in events) and events[0].has_my_number
    outbox.acknowledge(j.uow, "cs", events[3].position)
    assert [e.change_reason for e in outbox.pending(j.uow, "cs")] == ["死亡"]
    assert len(outbox.pending(j.uow, "transfer")) == 5  # another subscriber keeps its own place


def test_audit_verify_names_the_first_edited_entry(j):
    move_family(j)
    move_family_again = filings.file(j.uow, CLERK, "move-in", f.move_in([f.person(family_name="鈴木")]))
    assert move_family_again.filing_id
    total, broken = verify_chain(j.uow)
    assert broken is None and total == count(j, t.operation_log)
    with j.engine.begin() as conn:
        if j.engine.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER operation_log_no_update"))
        else:
            conn.execute(text("ALTER TABLE operation_log DISABLE TRIGGER operation_log_append_only"))
        conn.execute(text("UPDATE operation_log SET staff_id = 'someone' WHERE seq = 1"))
    assert verify_chain(j.uow) == (0, 1)


def test_the_schema_migrates_down_to_nothing_and_up_again(j, db_url):
    from alembic import command

    from juki.adapters.db import alembic_config

    move_family(j)
    j.engine.dispose()
    command.downgrade(alembic_config(db_url), "base")
    with j.engine.connect() as conn:
        remaining = set(t.metadata.tables) & set(conn.dialect.get_table_names(conn))
    assert remaining == set()
    command.upgrade(alembic_config(db_url), "head")
    assert move_family(j).filing_id


def test_two_units_of_work_that_read_then_log_at_once_both_commit(j):
    """Every request reads and then writes its log entry. On SQLite a deferred transaction that read before another
    committed cannot write any more (SQLITE_BUSY_SNAPSHOT, no waiting): two pages loading at once failed with
    `conflict`. Both must succeed — the later one waits its turn."""
    import threading
    import time

    from juki.policy.roles import Actor
    from juki.services.audit import LogEntry

    actor = Actor("clerk1", "窓口", "clerk", "test")
    first_read = threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with j.uow() as uow:
                uow.queries.household("0000000019")
                first_read.set()
                time.sleep(0.3)  # the other one reads meanwhile (or waits for this one)
                uow.log(actor, LogEntry("test:first"))
                uow.commit()
        except BaseException as exc:
            first_read.set()
            errors.append(exc)

    def second() -> None:
        first_read.wait(5)
        try:
            with j.uow() as uow:
                uow.queries.household("0000000019")
                uow.log(actor, LogEntry("test:second"))
                uow.commit()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    with j.engine.connect() as conn:
        actions = set(conn.execute(select(t.operation_log.c.action)).scalars())
    assert {"test:first", "test:second"} <= actions
