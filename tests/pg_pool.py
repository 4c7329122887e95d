"""A PostgreSQL register per test without a CREATE DATABASE per test.

Each pytest process (each xdist worker) copies the template database once (CREATE DATABASE … TEMPLATE), and after
every test puts that copy back to the template's rows: as superuser, with `session_replication_role = replica`
(which sets aside the append-only triggers and the foreign-key checks for this one transaction), it deletes every
row, copies the template's rows back in and sets every sequence to the template's value. A test that changed the
schema (the migration tests downgrade and upgrade) gets its copy dropped and made again from the template.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from psycopg import sql

# What a test could change in the schema: relations, columns, triggers, functions (oids change when recreated).
_SCHEMA = """
select md5(coalesce(string_agg(x, ',' order by x), '')) from (
  select 'c' || c.oid || c.relname || c.relkind::text as x
    from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public'
  union all
  select 'a' || a.attrelid || a.attnum || a.attname || a.atttypid || a.attisdropped
    from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
   where n.nspname = 'public' and a.attnum > 0
  union all
  select 't' || t.oid || t.tgname || t.tgenabled::text
    from pg_trigger t join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace
   where n.nspname = 'public'
  union all
  select 'p' || p.oid || p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace
   where n.nspname = 'public'
) parts
"""


@dataclass(frozen=True)
class Snapshot:
    """A database's rows (COPY text, by table) and sequence values: what a reset restores and a test compares."""

    tables: dict[str, bytes]
    sequences: dict[str, tuple[int, bool]]  # name → (value, is_called) as setval takes them


def snapshot(conn: psycopg.Connection) -> Snapshot:
    tables = {}
    names = conn.execute("select tablename from pg_tables where schemaname = 'public' order by 1").fetchall()
    for (name,) in names:
        data = bytearray()
        with conn.cursor().copy(sql.SQL("COPY {} TO STDOUT").format(sql.Identifier(name))) as copy:
            for chunk in copy:
                data += chunk
        tables[name] = bytes(data)
    sequences = {
        name: (start, False) if last is None else (last, True)
        for name, start, last in conn.execute(
            "select sequencename, start_value, last_value from pg_sequences where schemaname = 'public'"
        ).fetchall()
    }
    return Snapshot(tables, sequences)


def schema_fingerprint(conn: psycopg.Connection) -> str:
    row = conn.execute(_SCHEMA).fetchone()
    assert row is not None
    return str(row[0])


class PooledDatabase:
    """One database made from the template once, reset to the template's state after each test."""

    def __init__(self, admin: Callable[[], psycopg.Connection], connect: Callable[[str], psycopg.Connection],
                 template: str, name: str) -> None:  # fmt: skip
        self.admin, self.connect, self.template, self.name = admin, connect, template, name
        with self.connect(template) as conn:
            self.state = snapshot(conn)
            self.schema = schema_fingerprint(conn)
        self._create()

    def _create(self) -> None:
        with self.admin() as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    *map(sql.Identifier, (self.name, self.template))
                )
            )
        self.conn = self.connect(self.name)

    def recreate(self) -> None:
        self.drop()
        self._create()

    def drop(self) -> None:
        self.conn.close()
        with self.admin() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name)))

    def reset(self, to: Snapshot | None = None) -> None:
        """Back to the template's state, or to `to` (a snapshot of this database taken with the template's schema);
        the test's own connections (if it left any) are ended first."""
        conn = self.conn
        conn.execute(
            "select pg_terminate_backend(pid) from pg_stat_activity"
            " where datname = current_database() and pid <> pg_backend_pid()"
        )
        if schema_fingerprint(conn) != self.schema:
            self.recreate()
            if to is None:
                return
            conn = self.conn
        state = to or self.state
        with conn.transaction():
            conn.execute("SET LOCAL session_replication_role = replica")
            conn.execute("".join(f'DELETE FROM "{name}";' for name in state.tables))
            for name, data in state.tables.items():
                if data:
                    with conn.cursor().copy(
                        sql.SQL("COPY {} FROM STDIN").format(sql.Identifier(name))
                    ) as copy:
                        copy.write(data)
            if state.sequences:
                conn.execute(_setvals(state))


def _setvals(state: Snapshot) -> sql.Composed:
    calls = [
        sql.SQL("setval({}::regclass, {}, {})").format(*map(sql.Literal, (f'"{name}"', value, called)))
        for name, (value, called) in state.sequences.items()
    ]
    return sql.SQL("select ") + sql.SQL(", ").join(calls)
