"""The triggers that make a CS table append-only (docs/cs.md), for the CS's migrations.

SQLite: a trigger per UPDATE and DELETE that aborts. PostgreSQL: the function `cs_append_only()` (made once, by
migration cs0001) on UPDATE, DELETE and TRUNCATE. Every CS migration since cs0001 calls `make_append_only`, so this
DDL is part of their history: change it only with a migration that replaces the triggers it made.
"""

from __future__ import annotations

from alembic import op


def make_append_only(*tables: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in tables:
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )
        return
    for table in tables:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION cs_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION cs_append_only()"
        )
