"""Data-subject requests (開示・訂正・利用停止請求) in SQL, read and written through the unit of work.

Besides the requests themselves, this store answers the disclosure package's two questions about one person:
who used their record (the operation log) and what went out about them (the outbox). Neither reads a whole table:

- The log's `targets` is a JSON list on both engines. PostgreSQL finds a person with JSON containment,
  `targets::jsonb @> '["<number>"]'`, which the GIN index `ix_operation_log_targets` (migration 0005) answers.
  SQLite has no index for a value inside a JSON array, so there the query is narrowed by time — nobody can have
  used a record before it was first recorded, so entries before the person's first version are never read
  (`ix_operation_log_at`) — and the rest is matched on the JSON text, `"<number>"` with its quotes (numbers are
  digits only, so nothing in the pattern is a wildcard). Both engines then check the list itself in Python, so a
  string that merely contains the number never counts.
- The outbox has `ix_outbox_addressee` (migration 0005).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Connection, and_, insert, or_, select, update

from juki.adapters import tables as t
from juki.adapters.audit_store import names_person
from juki.adapters.repository import next_counter
from juki.adapters.rows import model, model_or_none, models
from juki.domain.errors import Conflict
from juki.domain.subject_requests import ANSWERED
from juki.services.ports import SubjectRequestStore, Values
from juki.services.read_models import ChangeSent, StaffStatus, SubjectRequest, UseOfRecord

sr = t.subject_requests.c


class SqlSubjectRequestStore(SubjectRequestStore):
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # --- the requests -------------------------------------------------------------------------------------------

    def add(self, values: Values, today: date) -> str:
        seq = next_counter(self.conn, "subject_request")
        request_id = f"SR{today:%Y%m%d}-{seq:07d}"
        self.conn.execute(insert(t.subject_requests).values(request_id=request_id, version=1, **values))
        return request_id

    def get(self, request_id: str) -> SubjectRequest | None:
        q = select(t.subject_requests).where(sr.request_id == request_id)
        return model_or_none(SubjectRequest, self.conn.execute(q).first())

    def change(self, request_id: str, version: int, values: Values) -> None:
        """One step of the request, if nobody took another step since it was read."""
        done = self.conn.execute(
            update(t.subject_requests)
            .where(sr.request_id == request_id, sr.version == version)
            .values(version=version + 1, **values)
        )
        if done.rowcount != 1:
            raise Conflict("この請求は他の職員が処理しました。もう一度照会してください", "request_id")

    def find(
        self,
        *,
        kind: str | None = None,
        state: str | None = None,
        addressee_number: str | None = None,
        overdue_on: date | None = None,
        not_overdue_on: date | None = None,
        limit: int = 200,
    ) -> list[SubjectRequest]:
        """Requests by filter; `overdue_on=today`: not answered and past their last day (`not_overdue_on`: the rest)."""
        q = select(t.subject_requests)
        if kind:
            q = q.where(sr.kind == kind)
        if state:
            q = q.where(sr.state == state)
        if addressee_number:
            q = q.where(sr.addressee_number == addressee_number)
        if overdue_on is not None:
            q = q.where(sr.state != ANSWERED, sr.due_on < overdue_on)
        if not_overdue_on is not None:
            q = q.where(or_(sr.state == ANSWERED, sr.due_on >= not_overdue_on))
        return models(SubjectRequest, self.conn.execute(q.order_by(sr.due_on, sr.request_id).limit(limit)))

    def staff_member(self, staff_id: str) -> StaffStatus | None:
        q = select(t.staff.c.staff_id, t.staff.c.active).where(t.staff.c.staff_id == staff_id)
        return model_or_none(StaffStatus, self.conn.execute(q).first())

    # --- what the disclosure package shows ----------------------------------------------------------------------

    def log_entries_about(self, addressee_number: str, since: datetime) -> list[UseOfRecord]:
        """Completed operations (`result = ok`) whose targets name the person, oldest first, with the department
        of the staff member who did them."""
        log = t.operation_log.c
        about = names_person(self.conn, addressee_number)
        q = (
            select(
                log.seq,
                log.at,
                log.staff_name,
                log.role,
                t.staff.c.department,
                log.procedure,
                log.action,
                log.my_number_shown,
                log.targets,
            )
            .outerjoin(t.staff, t.staff.c.staff_id == log.staff_id)
            .where(and_(log.at >= since, log.result == "ok", about))
            .order_by(log.at, log.seq)
        )
        return [
            model(UseOfRecord, row) for row in self.conn.execute(q) if addressee_number in (row.targets or ())
        ]

    def change_feed(self, addressee_number: str) -> list[ChangeSent]:
        o = t.outbox.c
        q = (
            select(o.seq, o.event, o.version, o.change_reason, o.changed_on, o.filing_id, o.recorded_at)
            .where(o.addressee_number == addressee_number)
            .order_by(o.seq)
        )
        return models(ChangeSent, self.conn.execute(q))

    def cursors(self) -> dict[str, int]:
        c = t.subscriber_cursors.c
        return {
            row.subscriber: int(row.position) for row in self.conn.execute(select(c.subscriber, c.position))
        }
