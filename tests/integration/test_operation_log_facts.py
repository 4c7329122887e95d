"""The operation log's structured facts (migration 0015): stored as data, covered by the hash chain only when an
entry has some, read by the auditor's reports — and an entry without them keeps the hash it was written with."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from sqlalchemy import insert, select, text

from juki.adapters import tables as t
from juki.domain.identifiers import generate_my_number
from juki.services import audit_queries
from juki.services import audit_reports as ar
from juki.services.audit import GENESIS, LogEntry, chain_hash, entry_fields
from juki.services.audit_log_search import search_log
from juki.services.audit_queries import verify_chain
from tests.integration.test_audit_reports import AUDITOR, CLERK, N1, at, jst, log, log_rows

WHEN = datetime(2025, 6, 3, 1, 0, tzinfo=UTC)


def _row(j, seq: int):
    with j.engine.connect() as conn:
        return conn.execute(select(t.operation_log).where(t.operation_log.c.seq == seq)).one()


def test_an_entry_with_facts_stores_them_and_the_chain_covers_them(j):
    with_facts = log(j, jst(2025, 6, 3, 10, 0), CLERK, "resident:search", (N1,), facts={"criteria": ["name"]})
    without = log(j, jst(2025, 6, 3, 10, 1), CLERK, "resident:view", (N1,))
    assert _row(j, with_facts).facts == {"criteria": ["name"]}
    assert _row(j, without).facts is None  # NULL, not the JSON null
    assert verify_chain(j.uow) == (without, None)


def test_an_entry_without_facts_hashes_as_it_did_before_facts_existed():
    fields = entry_fields(1, WHEN, CLERK, LogEntry("resident:view", ("0000000001",)))
    assert "facts" not in fields
    before = {  # the fields an entry was hashed over before the log had facts
        "seq": 1, "at": WHEN, "staff_id": "clerk1", "staff_name": "窓口 一郎", "role": "clerk", "terminal": "窓口1",
        "procedure": CLERK.procedure_name, "action": "resident:view", "targets": ["0000000001"],
        "my_number_shown": False, "result": "ok", "detail": "",
    }  # fmt: skip
    assert chain_hash(GENESIS, fields) == chain_hash(GENESIS, before)  # type: ignore[arg-type]
    with_facts = entry_fields(
        1, WHEN, CLERK, LogEntry("resident:view", ("0000000001",), facts={"results": 1})
    )
    assert chain_hash(GENESIS, with_facts) != chain_hash(GENESIS, fields)


def test_an_edited_fact_breaks_the_chain_at_its_entry(j):
    log(j, jst(2025, 6, 3, 10, 0), CLERK, "resident:view", (N1,))
    edited = log(j, jst(2025, 6, 3, 10, 1), CLERK, "resident:search", (N1,), facts={"criteria": ["name"]})
    with j.engine.begin() as conn:
        if j.engine.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER operation_log_no_update"))
        else:
            conn.execute(text("ALTER TABLE operation_log DISABLE TRIGGER operation_log_append_only"))
        conn.execute(
            t.operation_log.update()
            .where(t.operation_log.c.seq == edited)
            .values(facts={"criteria": ["address"]})
        )
    assert verify_chain(j.uow) == (edited - 1, edited)


def test_a_fact_never_holds_a_my_number():
    my_number = generate_my_number(random.Random(7))
    fields = entry_fields(1, WHEN, CLERK, LogEntry("x", facts={"criteria": [my_number], "note": my_number}))
    assert my_number not in repr(fields)


def test_the_number_lookups_report_reads_a_search_from_its_facts_and_an_older_one_from_its_detail(j):
    log(j, jst(2025, 6, 3, 10, 0), CLERK, "resident:search", (N1,), facts={"criteria": ["resident_code"]})
    log(j, jst(2025, 6, 3, 10, 1), CLERK, "resident:search", (N1,), detail="criteria=['my_number'] results=1")
    log(
        j, jst(2025, 6, 3, 10, 2), CLERK, "resident:search", (N1,), facts={"criteria": ["name", "birth_date"]}
    )
    # The sentence for people is not what the report reads once an entry has facts.
    log(
        j, jst(2025, 6, 3, 10, 3), CLERK, "resident:search", (N1,),
        detail="criteria=['resident_code']", facts={"criteria": ["name"]},
    )  # fmt: skip

    report = ar.report(j.uow, AUDITOR, "number_lookups", {"from": "2025-06-03", "to": "2025-06-03"})

    assert [(r["at"], r["keys"], r["found"]) for r in report.rows] == [
        ("2025-06-03T10:00:00+09:00", "住民票コード", 1),
        ("2025-06-03T10:01:00+09:00", "個人番号", 1),
    ]


def test_the_auditors_own_looks_log_what_they_asked_as_facts(j):
    seq = log(j, jst(2025, 6, 3, 10, 0), CLERK, "resident:view", (N1,))
    search_log(at(j, jst(2025, 6, 4, 9, 0)), AUDITOR, {"target": N1, "from": "2025-06-01"})
    ar.report(j.uow, AUDITOR, "after_hours", {"from": "2025-06-01", "to": "2025-06-30", "format": "csv"})
    searched, reported = log_rows(j, seq)
    assert searched.facts == {"filters": ["from", "target", "after", "limit"], "format": "json", "entries": 1}
    assert reported.facts == {
        "parameters": ["from", "to", "business_start", "business_end"],
        "format": "csv",
        "rows": 0,
        "truncated": False,
    }
    assert verify_chain(j.uow) == (reported.seq, None)


def test_the_auditors_check_of_the_chain_logs_its_answer_as_facts(j):
    seq = log(j, jst(2025, 6, 3, 10, 0), CLERK, "resident:view", (N1,))
    assert audit_queries.verify_for(j.uow, AUDITOR)["intact"] is True
    (checked,) = log_rows(j, seq)
    assert (checked.action, checked.facts) == ("audit:verify", {"intact": seq})


def test_an_entry_restored_with_json_null_facts_counts_as_one_without_facts(j):
    """A backup's restore inserts every column, so an entry without facts comes back as JSON null, not NULL."""
    seq = log(j, jst(2025, 6, 3, 9, 0), CLERK, "resident:view", (N1,))
    refused = LogEntry("resident:search:my_number", result="denied", detail="my_number:search")
    restored = seq + 1000  # beyond the log's counter, which the report's own entry takes next
    fields = entry_fields(restored, jst(2025, 6, 3, 10, 0), CLERK, refused)
    with j.engine.begin() as conn:
        conn.execute(insert(t.operation_log).values(**fields, facts=None, prev_hash="0", hash="0"))
    assert _row(j, restored).facts is None

    report = ar.report(j.uow, AUDITOR, "number_lookups", {"from": "2025-06-03", "to": "2025-06-03"})

    assert [(r["seq"], r["keys"], r["result"]) for r in report.rows] == [(restored, "個人番号", "denied")]
