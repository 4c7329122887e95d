"""The CS's own database and key file.

- SQLite: a file of its own beside the register's (`<register>.cs.db`), unless a URL is given;
- PostgreSQL: the register's database by default (every CS table is named `cs_…` and the CS has its own Alembic
  version table), or a database of its own given by URL. Either way the CS never reads the register's tables.

The 個人番号 in the CS's tables is encrypted with a key file of the CS's own (`juki-cs-keys.json` beside the CS's
SQLite file; `var/juki-cs-keys.json` for a server database unless a path is given), not the register's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from juki.adapters.db import database_url, make_engine
from juki.adapters.vault import MyNumberVault, load_or_create
from juki.config import load_settings
from juki.cs.adapters.store import SqlCsStore

MIGRATIONS = Path(__file__).parent / "migrations"
KEY_FILE_NAME = "juki-cs-keys.json"


def cs_database_url(register_url: str, explicit: str | None = None) -> str:
    """The CS's database: `explicit`, else JUKI_CS_DATABASE_URL (Settings.cs_database_url), else beside the
    register's (see above)."""
    chosen = explicit or load_settings().cs_database_url
    if chosen:
        return database_url(chosen)
    url = make_url(database_url(register_url))
    if url.drivername.startswith("sqlite") and url.database and url.database != ":memory:":
        return database_url(str(Path(url.database).with_suffix(".cs.db")))
    return url.render_as_string(hide_password=False)


def cs_key_file(cs_url: str) -> Path:
    url = make_url(cs_url)
    if url.drivername.startswith("sqlite") and url.database and url.database != ":memory:":
        return Path(url.database).parent / KEY_FILE_NAME
    return Path("var") / KEY_FILE_NAME


def migrate_cs(url: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", database_url(url).replace("%", "%%"))
    command.upgrade(cfg, "head")


def downgrade_cs(url: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", database_url(url).replace("%", "%%"))
    command.downgrade(cfg, "base")


@dataclass
class CsDatabase:
    url: str
    engine: Engine
    vault: MyNumberVault

    @contextmanager
    def transaction(self) -> Iterator[SqlCsStore]:
        """One CS transaction: committed when the block ends without an error, rolled back otherwise."""
        with self.engine.begin() as conn:
            yield SqlCsStore(conn, self.vault, datetime.now(UTC))

    def dispose(self) -> None:
        self.engine.dispose()


def open_cs(
    register_url: str, url: str | None = None, key_file: str | Path | None = None, migrate: bool = True
) -> CsDatabase:
    """The CS's database beside the register (or at `url`), migrated, with its key file (created if new)."""
    cs_url = cs_database_url(register_url, url)
    if migrate:
        migrate_cs(cs_url)
    vault = load_or_create(Path(key_file) if key_file else cs_key_file(cs_url))
    return CsDatabase(cs_url, make_engine(cs_url), vault)
