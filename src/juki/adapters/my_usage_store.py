"""自己情報 (やりとり履歴)'s tables (migration 0019) and its reads of the operation log, in the unit of work's
transaction (services/my_usage.py; docs/my-usage.md).

- `my_challenges`: the one-time challenges the resident's card signs to sign in (2 minutes, single use);
- `my_sessions`: a resident's session, by its token's SHA-256 (the table never holds a token), bound to the card and
  the person, short-lived, ended on sign-out;
- `usage_withholding_decisions`: a supervisor's release or extension of a withheld entry (append-only: the latest
  decision about an entry is the one in force).

The tables are in adapters/tables.py with the register's others (one metadata: the migrations' check and backups
see them).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    delete,
    insert,
    select,
    update,
)

from juki.adapters import tables as t
from juki.adapters.audit_store import names_person
from juki.adapters.tables import my_challenges, my_sessions, usage_withholding_decisions
from juki.services.audit import utc
from juki.services.read_models import ChangeSent

MY_USAGE_APPEND_ONLY = ("usage_withholding_decisions",)


class SqlMyUsageStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # --- sign-in -------------------------------------------------------------------------------------------------

    def add_challenge(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(my_challenges).values(**values))

    def drop_challenges(self, expired_before: datetime) -> None:
        """Challenges past their time are of no use (they name nobody): kept, anyone could fill the table."""
        self.conn.execute(delete(my_challenges).where(my_challenges.c.expires_at < expired_before))

    def take_challenge(self, challenge_id: str, at: datetime) -> Any:
        """The challenge, marked used, if it is live and unused (a second taker finds none); else None."""
        c = my_challenges.c
        done = self.conn.execute(
            update(my_challenges)
            .where(c.challenge_id == challenge_id, c.used_at.is_(None), c.expires_at > at)
            .values(used_at=at)
        )
        if done.rowcount != 1:
            return None
        return self.conn.execute(select(my_challenges).where(c.challenge_id == challenge_id)).first()

    def add_session(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(my_sessions).values(**values))

    def session(self, token_hash: str) -> Any:
        return self.conn.execute(select(my_sessions).where(my_sessions.c.token_hash == token_hash)).first()

    def end_session(self, token_hash: str, at: datetime) -> bool:
        c = my_sessions.c
        done = self.conn.execute(
            update(my_sessions).where(c.token_hash == token_hash, c.ended_at.is_(None)).values(ended_at=at)
        )
        return done.rowcount == 1

    # --- what the history reads ----------------------------------------------------------------------------------

    def log_about(self, addressee_number: str) -> list[Any]:
        """Completed operation-log entries naming the person, oldest first, with the acting staff member's
        department (None for a system or an account no longer in the staff table)."""
        log = t.operation_log.c
        about = names_person(self.conn, addressee_number)
        query = (
            select(
                log.seq,
                log.at,
                log.staff_id,
                log.role,
                t.staff.c.department,
                log.procedure,
                log.action,
                log.my_number_shown,
                log.targets,
                log.facts,
            )
            .outerjoin(t.staff, t.staff.c.staff_id == log.staff_id)
            .where(and_(log.result == "ok", about))
            .order_by(log.seq)
        )
        return [row for row in self.conn.execute(query) if addressee_number in (row.targets or ())]

    def changes_of(self, addressee_number: str) -> list[ChangeSent]:
        """The outbox's entries about the person (what a delivery may have carried), oldest first."""
        o = t.outbox.c
        query = (
            select(o.seq, o.event, o.version, o.change_reason, o.changed_on, o.filing_id, o.recorded_at)
            .where(o.addressee_number == addressee_number)
            .order_by(o.seq)
        )
        return [
            ChangeSent(
                r.seq, r.event, r.version, r.change_reason, r.changed_on, r.filing_id, utc(r.recorded_at)
            )
            for r in self.conn.execute(query)
        ]

    # --- a supervisor's decisions --------------------------------------------------------------------------------

    def add_decision(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(usage_withholding_decisions).values(**values))

    def decisions(self, addressee_number: str) -> list[Any]:
        d = usage_withholding_decisions.c
        query = select(usage_withholding_decisions).where(d.addressee_number == addressee_number)
        return list(self.conn.execute(query.order_by(d.decision_id)))


def of(uow: Any) -> SqlMyUsageStore:
    """The store in the unit of work's transaction (the same connection)."""
    conn = getattr(uow, "conn", None)
    if not isinstance(conn, Connection):
        raise TypeError("the やりとり履歴 store needs the SQL unit of work")
    return SqlMyUsageStore(conn)
