"""The auditor's search of the operation log (標準仕様書 j1370 操作ログの検索): by period, staff, action, target,
result, terminal; a page at a time. Only the auditor (`log:read`) may search, and every search is itself logged."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from juki.domain.identifiers import validate_addressee_number
from juki.policy.roles import LOG_READ, Actor
from juki.services.audit import LogEntry
from juki.services.audit_hours import jst_iso, start_of
from juki.services.audit_params import (
    bool_param,
    describe,
    given,
    int_param,
    output_format,
    period,
    text_param,
)
from juki.services.audit_report_table import Cell, Column, Report, TableRow
from juki.services.authorization import authorize
from juki.services.ports import AuditStore
from juki.services.read_models import LogRecord
from juki.services.unit_of_work import UnitOfWorkFactory

MAX_PAGE = 500
DEFAULT_PAGE = 100

LOG_COLUMNS = (
    Column("seq", "通番"),
    Column("at", "日時"),
    Column("staff_id", "職員ID"),
    Column("staff_name", "職員名"),
    Column("role", "権限"),
    Column("terminal", "端末"),
    Column("procedure", "事務"),
    Column("action", "操作"),
    Column("targets", "対象宛名番号"),
    Column("my_number_shown", "個人番号表示"),
    Column("result", "結果"),
    Column("detail", "詳細"),
)


def entry_view(row: LogRecord) -> TableRow:
    """A log entry as the auditor sees it: its own fields, the time in Japan."""
    return {
        "seq": row.seq,
        "at": jst_iso(row.at),
        "staff_id": row.staff_id,
        "staff_name": row.staff_name,
        "role": row.role,
        "terminal": row.terminal,
        "procedure": row.procedure,
        "action": row.action,
        "targets": list(row.targets),
        "my_number_shown": row.my_number_shown,
        "result": row.result,
        "detail": row.detail,
    }


@dataclass(frozen=True)
class LogQuery:
    """What the auditor asked of the log: a period of Japan dates, filters, and a page (`limit` after `after`)."""

    first: date | None
    last: date | None
    staff_id: str | None
    action: str | None  # ending in `*`: a prefix
    target: str | None
    result: str | None
    terminal: str | None
    my_number_shown: bool | None
    after: int
    limit: int

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> LogQuery:
        first, last = period(params, required=False)
        target = text_param(params, "target")
        return cls(
            first,
            last,
            staff_id=text_param(params, "staff_id"),
            action=text_param(params, "action"),
            target=None if target is None else validate_addressee_number(target, "target"),
            result=text_param(params, "result"),
            terminal=text_param(params, "terminal"),
            my_number_shown=bool_param(params, "my_number_shown"),
            after=int_param(params, "after", 0, 0, 2**62),
            limit=int_param(params, "limit", DEFAULT_PAGE, 1, MAX_PAGE),
        )

    def parameters(self) -> dict[str, Cell]:
        return {
            "from": None if self.first is None else self.first.isoformat(),
            "to": None if self.last is None else self.last.isoformat(),
            "staff_id": self.staff_id,
            "action": self.action,
            "target": self.target,
            "result": self.result,
            "terminal": self.terminal,
            "my_number_shown": self.my_number_shown,
            "after": self.after,
            "limit": self.limit,
        }

    def fetch(self, audit: AuditStore) -> list[LogRecord]:
        """One entry more than the page, to tell whether there is a next page."""
        prefix = self.action[:-1] if self.action and self.action.endswith("*") else None
        return audit.entries(
            start=None if self.first is None else start_of(self.first),
            end=None if self.last is None else start_of(self.last + timedelta(days=1)),
            staff_id=self.staff_id,
            action=None if prefix is not None else self.action,
            action_prefix=prefix,
            target=self.target,
            result=self.result,
            terminal=self.terminal,
            my_number_shown=self.my_number_shown,
            after=self.after,
            limit=self.limit + 1,
        )


def search_log(uow_factory: UnitOfWorkFactory, actor: Actor, params: Mapping[str, str]) -> Report:
    """操作ログの検索: by period (Japan dates), staff id, action (`auth:*` for a prefix), target addressee number,
    result, terminal, whether a My Number was shown; in log order, `limit` (≤ 500) after the `after` cursor."""
    authorize(uow_factory, actor, LOG_READ, "audit:log")
    query = LogQuery.parse(params)
    fmt = output_format(params)
    parameters = query.parameters()
    with uow_factory() as uow:
        rows = query.fetch(uow.audit)
        more = len(rows) > query.limit
        rows = rows[: query.limit]
        # Looking up who touched a person concerns that person: the target is the entry's target.
        uow.log(
            actor,
            LogEntry(
                "audit:log",
                [query.target] if query.target else [],
                detail=describe({**parameters, "format": fmt, "entries": len(rows)}),
                facts={"filters": given(parameters), "format": fmt, "entries": len(rows)},
            ),
        )
        uow.commit()
    return Report(
        "log",
        "操作ログ",
        LOG_COLUMNS,
        [entry_view(r) for r in rows],
        {k: v for k, v in parameters.items() if v is not None},
        format=fmt,
        next=str(rows[-1].seq) if more and rows else None,
    )
