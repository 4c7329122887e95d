"""The 中間サーバー's own database and key file.

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
from juki.intermediate.adapters.store import SqlImsStore

MIGRATIONS = Path(__file__).parent / "migrations"
KEY_FILE_NAME = "juki-ims-keys.json"
URL_SETTING = "JUKI_IMS_DATABASE_URL"


def ims_database_url(register_url: str, explicit: str | None = None) -> str:
    """The 中間サーバー's database: `explicit`, else JUKI_IMS_DATABASE_URL, else beside the register's (see above)."""
    chosen = explicit or os.environ.get(URL_SETTING)
    if chosen:
        return database_url(chosen)
    url = make_url(database_url(register_url))
    if url.drivername.startswith("sqlite") and url.database and url.database != ":memory:":
        return database_url(str(Path(url.database).with_suffix(".ims.db")))
    return url.render_as_string(hide_password=False)


def ims_key_file(ims_url: str) -> Path:
    url = make_url(ims_url)
    if url.drivername.startswith("sqlite") and url.database and url.database != ":memory:":
        return Path(url.database).parent / KEY_FILE_NAME
    return Path("var") / KEY_FILE_NAME


def _config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", database_url(url).replace("%", "%%"))
    return cfg


def migrate_intermediate(url: str) -> None:
    command.upgrade(_config(url), "head")


def downgrade_intermediate(url: str) -> None:
    command.downgrade(_config(url), "base")


@dataclass
class ImsDatabase:
    url: str
    engine: Engine
    vault: MyNumberVault

    @contextmanager
    def transaction(self) -> Iterator[SqlImsStore]:
        """One transaction: committed when the block ends without an error, rolled back otherwise."""
        with self.engine.begin() as conn:
            yield SqlImsStore(conn, self.vault, datetime.now(UTC))

    def dispose(self) -> None:
        self.engine.dispose()


def open_intermediate(
    register_url: str, url: str | None = None, key_file: str | Path | None = None, migrate: bool = True
) -> ImsDatabase:
    """The 中間サーバー's database beside the register (or at `url`), migrated, with its key file (created if new)."""
    ims_url = ims_database_url(register_url, url)
    if migrate:
        migrate_intermediate(ims_url)
    vault = load_or_create(Path(key_file) if key_file else ims_key_file(ims_url))
    return ImsDatabase(ims_url, make_engine(ims_url), vault)
