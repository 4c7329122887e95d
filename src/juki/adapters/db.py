"""Engines for SQLite (default) and PostgreSQL (production), and the schema's migrations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from juki.adapters.vault import MyNumberVault

MIGRATIONS = Path(__file__).parent / "migrations"


# What a lost race looks like on each engine, by error code rather than by message text (which varies with the
# version and the locale): PostgreSQL's SQLSTATE, SQLite's (extended) result codes.
_PG_RACE = {
    "40001",  # serialization_failure
    "40P01",  # deadlock_detected
    "23505",  # unique_violation
}
_SQLITE_BUSY, _SQLITE_LOCKED = (
    5,
    6,
)  # primary codes; their extended codes (BUSY_SNAPSHOT …) share the low byte
_SQLITE_UNIQUE = {
    2067,  # SQLITE_CONSTRAINT_UNIQUE
    1555,  # SQLITE_CONSTRAINT_PRIMARYKEY
}


def is_conflict(exc: BaseException) -> bool:
    """Whether a database error is a lost race another attempt may win: SQLite busy or locked past the timeout,
    PostgreSQL's serialization failure or deadlock, or a unique key taken by a concurrent writer.

    A unique violation can only be a race here: the domain checks every number before writing (a number held by
    someone else is refused with its own code first), so the loser of two concurrent writers gets `conflict`.
    """
    orig = getattr(exc, "orig", exc)
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate is not None:
        return sqlstate in _PG_RACE
    code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED) or code in _SQLITE_UNIQUE
    return False


def dumps(value: Any) -> str:
    """How JSON columns are written: UTF-8 text as is (a register of names and addresses; half the size)."""
    return json.dumps(value, ensure_ascii=False)


def database_url(value: str) -> str:
    """`--db` takes an SQLAlchemy URL or a file path (a path means SQLite)."""
    if "://" in value:
        url = make_url(value)
        if url.drivername in ("postgresql", "postgres"):
            return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        return value
    path = Path(value).expanduser().resolve()
    return f"sqlite:///{path}"


def make_engine(url: str, busy_timeout_seconds: float = 30.0, **kwargs: Any) -> Engine:
    """`busy_timeout_seconds`: SQLite's wait for another connection's write lock (JUKI_SQLITE_BUSY_TIMEOUT_SECONDS)."""
    url = database_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"timeout": busy_timeout_seconds, "check_same_thread": False},
            json_serializer=dumps,
            **kwargs,
        )
        _configure_sqlite(engine, busy_timeout_seconds)
        return engine
    if "poolclass" not in kwargs:
        kwargs.update(pool_size=10, max_overflow=10)
    return create_engine(url, pool_pre_ping=True, json_serializer=dumps, **kwargs)


def _configure_sqlite(engine: Engine, busy_timeout_seconds: float) -> None:
    # pysqlite's own transaction handling starts transactions late (at the first write), so a read-then-write
    # would not see a concurrent commit as a conflict. Let SQLAlchemy emit BEGIN itself (SQLAlchemy docs,
    # "Serializable isolation / Savepoints / Transactional DDL"). IMMEDIATE: nearly every unit of work writes (at
    # least its operation-log entry), and a deferred transaction that read first cannot take the write lock once
    # another has committed (SQLITE_BUSY_SNAPSHOT, no waiting) — two pages loading at once would fail with
    # `conflict`. Taking the lock at BEGIN makes them wait their turn (busy_timeout) instead.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={round(busy_timeout_seconds * 1000)}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", database_url(url).replace("%", "%%"))
    return cfg


def migrate(url: str, vault: MyNumberVault | None = None) -> None:
    """Create or upgrade the schema to the newest migration (the same migrations on both engines).

    `vault` is for migrations that encrypt existing data (0002); without it they use JUKI_KEY_FILE or the default.
    """
    cfg = alembic_config(url)
    if vault is not None:
        cfg.attributes["vault"] = vault
    command.upgrade(cfg, "head")
