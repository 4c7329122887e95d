"""The triggers that make a table append-only, for the migrations of the register and of the CS.

SQLite: a trigger per UPDATE and DELETE that aborts. PostgreSQL: a plpgsql function that raises (the register's
`juki_append_only()`, made by migration 0001; the CS's `cs_append_only()`, made by cs0001) on UPDATE, DELETE and
TRUNCATE. Migrations call this to make their tables append-only, so its DDL is part of their history: change it
only with a migration that replaces the triggers it made.
"""

from __future__ import annotations

from alembic import op


def make_append_only(*tables: str, function: str = "juki_append_only") -> None:
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
            f"FOR EACH ROW EXECUTE FUNCTION {function}()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        )
