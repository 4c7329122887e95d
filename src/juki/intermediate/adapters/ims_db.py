"""The 中間サーバー's own database and key file (adapters/component_db.py: where a component keeps them).

- SQLite: a file of its own beside the register's (`<register>.ims.db`), unless a URL is given;
- PostgreSQL: the register's database by default (every table is named `ims_…` and the 中間サーバー has its own
  Alembic version table, `ims_alembic_version`), or a database of its own given by URL (or JUKI_IMS_DATABASE_URL).
  Either way it never reads the register's tables: it is fed by the register's outbox only.

The 個人番号 it holds (団体内統合宛名 searches by it) is encrypted with a key file of its own (`juki-ims-keys.json`
beside its SQLite file; `var/juki-ims-keys.json` for a server database unless a path is given), not the register's
and not the CS's.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection

from juki.adapters.component_db import Component, ComponentDatabase
from juki.intermediate.adapters.store import SqlImsStore

IMS = Component(
    suffix=".ims.db", key_file_name="juki-ims-keys.json", migrations=Path(__file__).parent / "migrations"
)
URL_SETTING = "JUKI_IMS_DATABASE_URL"


def ims_database_url(register_url: str, explicit: str | None = None) -> str:
    """The 中間サーバー's database: `explicit`, else JUKI_IMS_DATABASE_URL, else beside the register's (see above)."""
    return IMS.database_url(register_url, explicit or os.environ.get(URL_SETTING))


def ims_key_file(ims_url: str) -> Path:
    return IMS.key_file(ims_url)


def migrate_intermediate(url: str) -> None:
    IMS.migrate(url)


def downgrade_intermediate(url: str) -> None:
    IMS.downgrade(url)


class ImsDatabase(ComponentDatabase[SqlImsStore]):
    """The 中間サーバー's database: `transaction()` is one of its transactions."""

    def _store(self, conn: Connection, now: datetime) -> SqlImsStore:
        return SqlImsStore(conn, self.vault, now)


def open_intermediate(
    register_url: str, url: str | None = None, key_file: str | Path | None = None, migrate: bool = True
) -> ImsDatabase:
    """The 中間サーバー's database beside the register (or at `url`), migrated, with its key file (created if new)."""
    return ImsDatabase(*IMS.open(ims_database_url(register_url, url), key_file, migrate))
