"""The register's storage on both engines: migrations, append-only history, one transaction, concurrency."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import DBAPIError

from juki.adapters import tables as t
from juki.domain import register
from juki.domain.errors import Conflict
from juki.domain.intake import PARSERS
from juki.policy.roles import Actor
from juki.services import filings, outbox
from juki.services.audit_queries import verify_chain
from tests import factories as f

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


def test_two_clerks_changing_one_household_at_once_one_gets_conflict(j):
    first = move_family(j)
    numbers = [c["addressee_number"] for c in first.changes]
    body = {
        "filed_on": "2025-06-20",
        "changed_on": "2025-06-15",
        "household_number": first.household_number,
        "addressee_numbers": numbers,
        "address": {"address": "東京都小平市花小金井南町三丁目5番12号"},
    }
    command = PARSERS["move-within"](body)
    slow = j.uow()
    with pytest.raises(Conflict), slow as uow:
        outcome = register.move_within(uow.reader, command)  # clerk A has read the household …
        filings.file(
            j.uow,
            CLERK,
            "death",
            {"filed_on": "2025-06-20", "died_on": "2025-06-19", "addressee_number": numbers[3]},
        )  # … clerk B commits first
        uow.write(outcome, "F-test", CLERK)
        uow.commit()
    with j.engine.connect() as conn:
        versions = (
            conn.execute(
                select(t.resident_versions.c.change_reason).where(
                    t.resident_versions.c.addressee_number == numbers[0]
                )
            )
            .scalars()
            .all()
        )
    assert versions == ["転入"]  # clerk A wrote nothing


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
