"""No My Number in any text the CS writes for people: its log, the error queue's messages, what the operator
lists, the comparison's report, the register's operation log entries it adds (tests/leakcheck.py finds every
spelling; the plugin also scans the files the test wrote, the CS's database among them)."""

from __future__ import annotations

import json

from sqlalchemy import select

from juki.adapters import tables as rt
from juki.cs.adapters import tables as t
from juki.cs.services import errors
from juki.cs.services.comparison import RegisterQueries, compare
from juki.cs.wire import Refused
from juki.services import filings
from tests import factories as f
from tests.cs.support import CITY, CLERK, CS_OPERATOR, SUPERVISOR, deliver, notices, rows, take_in
from tests.leakcheck import spellings


def test_no_my_number_in_the_cs_log_errors_lists_reports_or_the_registers_log(j, cs, prefecture):
    body = f.move_in(f.family_of_four()[:2])
    numbers = [p["my_number"] for p in body["persons"]]
    filings.file(j.uow, CLERK, "move-in", body)
    take_in(j, cs)
    code = body["persons"][0]["resident_code"]
    prefecture.refuse[(code, 1)] = Refused("format_error", "個人番号", f"bad 個人番号 {numbers[0]}")
    deliver(cs, prefecture)
    entry = notices(cs)[0].id
    listed = errors.list_errors(j.uow, cs.transaction, CS_OPERATOR)
    errors.correct(j.uow, cs.transaction, CS_OPERATOR, entry, {"個人番号": numbers[0]})
    errors.resend(j.uow, cs.transaction, CS_OPERATOR, entry)
    report = compare(j.uow, cs.transaction, RegisterQueries(j.uow, SUPERVISOR), SUPERVISOR, CITY)
    texts = [json.dumps(listed, ensure_ascii=False), json.dumps(report.to_json(), ensure_ascii=False)]
    texts += [f"{r.action} {r.result} {r.message}" for r in rows(cs, t.log, t.log.c.id)]
    texts += [f"{n.error_code} {n.error_item} {n.error_message}" for n in notices(cs)]
    with j.engine.connect() as conn:
        log = conn.execute(select(rt.operation_log).where(rt.operation_log.c.action.like("cs:%"))).all()
    texts += [f"{r.detail} {r.facts}" for r in log]
    found = spellings("\n".join(texts))
    assert not any(n in found for n in numbers)
    assert len(log) == 4  # list, correct, resend, comparison
