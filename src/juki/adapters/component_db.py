"""A component's own database beside the register's: the CS's (cs/adapters/cs_db.py) and the 中間サーバー's
(intermediate/adapters/ims_db.py).

- SQLite: a file of its own beside the register's (`<register><suffix>`, e.g. `.cs.db`), unless a URL is given;
- PostgreSQL: the register's database by default (the component's tables carry its prefix and it has an Alembic
  version table of its own, set in its migrations' env.py through `run_component_migrations`), or a database of
  its own given by URL. Either way the component never reads the register's tables.

The 個人番号 in the component's tables is encrypted with a key file of its own (beside its SQLite file; under
`var/` for a server database unless a path is given), not the register's.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Generic, TypeVar

from alembic import command, context
from alembic.config import Config
from sqlalchemy import Connection, Engine, MetaData, pool
from sqlalchemy.engine import make_url

from juki.adapters.db import database_url, make_engine
from juki.adapters.vault import MyNumberVault, load_or_create

# How a component's constraints and indexes are named (the CS's and the 中間サーバー's tables): names that migrations
# can refer to, the same on both engines.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "pk": "pk_%(table_name)s",
}

StoreT = TypeVar("StoreT")


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL; None for a server database or an in-memory one."""
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite") and parsed.database and parsed.database != ":memory:":
        return Path(parsed.database)
    return None


@dataclass(frozen=True)
class Component:
    """Where a component keeps its database, its key file and its migrations."""

    suffix: str  # of its SQLite file beside the register's, e.g. ".cs.db"
    key_file_name: str  # e.g. "juki-cs-keys.json"
    migrations: Path  # its own Alembic folder

    def database_url(self, register_url: str, chosen: str | None) -> str:
        """`chosen` (an explicit URL or a setting), else beside the register's (module docstring)."""
        if chosen:
            return database_url(chosen)
        register = database_url(register_url)
        beside = sqlite_file(register)
        if beside is not None:
            return database_url(str(beside.with_suffix(self.suffix)))
        return make_url(register).render_as_string(hide_password=False)

    def key_file(self, url: str) -> Path:
        """Beside the component's SQLite file, else under `var/`."""
        file = sqlite_file(url)
        return (file.parent if file is not None else Path("var")) / self.key_file_name

    def _alembic(self, url: str) -> Config:
        cfg = Config()
        cfg.set_main_option("script_location", str(self.migrations))
        cfg.set_main_option("sqlalchemy.url", database_url(url).replace("%", "%%"))
        return cfg

    def migrate(self, url: str) -> None:
        command.upgrade(self._alembic(url), "head")

    def downgrade(self, url: str) -> None:
        command.downgrade(self._alembic(url), "base")

    def open(self, url: str, key_file: str | Path | None, migrate: bool) -> tuple[str, Engine, MyNumberVault]:
        """The database at `url` (migrated when asked) and its key file (created if new): a ComponentDatabase's
        fields."""
        if migrate:
            self.migrate(url)
        vault = load_or_create(Path(key_file) if key_file else self.key_file(url))
        return url, make_engine(url), vault


@dataclass
class ComponentDatabase(ABC, Generic[StoreT]):
    """A component's open database: its URL, its engine and its key file; `transaction()` hands out its store."""

    url: str
    engine: Engine
    vault: MyNumberVault

    @abstractmethod
    def _store(self, conn: Connection, now: datetime) -> StoreT: ...

    @contextmanager
    def transaction(self) -> Iterator[StoreT]:
        """One transaction: committed when the block ends without an error, rolled back otherwise."""
        with self.engine.begin() as conn:
            yield self._store(conn, datetime.now(UTC))

    def dispose(self) -> None:
        self.engine.dispose()


def run_component_migrations(metadata: MetaData, version_table: str) -> None:
    """The body of a component's Alembic env.py: its migrations against the configured URL, recorded in its own
    version table so that it may share a PostgreSQL database with the register (and the other components)
    without touching their migrations."""
    engine = make_engine(context.config.get_main_option("sqlalchemy.url") or "", poolclass=pool.NullPool)
    with engine.connect() as conn:
        context.configure(
            connection=conn, target_metadata=metadata, render_as_batch=True, version_table=version_table
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
