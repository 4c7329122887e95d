"""The CS's own database and key file (adapters/component_db.py: where a component keeps them).

- SQLite: a file of its own beside the register's (`<register>.cs.db`), unless a URL is given;
- PostgreSQL: the register's database by default (every CS table is named `cs_…` and the CS has its own Alembic
  version table), or a database of its own given by URL. Either way the CS never reads the register's tables.

The 個人番号 in the CS's tables is encrypted with a key file of the CS's own (`juki-cs-keys.json` beside the CS's
SQLite file; `var/juki-cs-keys.json` for a server database unless a path is given), not the register's.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection

from juki.adapters.component_db import Component, ComponentDatabase
from juki.config import load_settings
from juki.cs.adapters.store import SqlCsStore

CS = Component(
    suffix=".cs.db", key_file_name="juki-cs-keys.json", migrations=Path(__file__).parent / "migrations"
)


def cs_database_url(register_url: str, explicit: str | None = None) -> str:
    """The CS's database: `explicit`, else JUKI_CS_DATABASE_URL (Settings.cs_database_url), else beside the
    register's (see above)."""
    return CS.database_url(register_url, explicit or load_settings().cs_database_url)


def cs_key_file(cs_url: str) -> Path:
    return CS.key_file(cs_url)


def migrate_cs(url: str) -> None:
    CS.migrate(url)


def downgrade_cs(url: str) -> None:
    CS.downgrade(url)


class CsDatabase(ComponentDatabase[SqlCsStore]):
    """The CS's database: `transaction()` is one CS transaction."""

    def _store(self, conn: Connection, now: datetime) -> SqlCsStore:
        return SqlCsStore(conn, self.vault, now)


def open_cs(
    register_url: str, url: str | None = None, key_file: str | Path | None = None, migrate: bool = True
) -> CsDatabase:
    """The CS's database beside the register (or at `url`), migrated, with its key file (created if new)."""
    return CsDatabase(*CS.open(cs_database_url(register_url, url), key_file, migrate))
