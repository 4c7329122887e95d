"""The 中間サーバー's tests use the register fixtures of tests/conftest.py (`j`: a register on SQLite, and on
PostgreSQL when JUKI_TEST_POSTGRES_URL is set) and open the 中間サーバー beside it.

SQLite: its own file beside the register (`register.ims.db`), copied from a template migrated once per session.
PostgreSQL: a database of its own (the `url=` / JUKI_IMS_DATABASE_URL case), made from a migrated template once per
process and put back to the template's rows after each test, so that the register's pooled database keeps its
schema; the default (the `ims_` tables in the register's database) is tested in test_migrations.py.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from juki.bootstrap import Juki
from juki.intermediate.adapters.ims_db import (
    ImsDatabase,
    ims_database_url,
    migrate_intermediate,
    open_intermediate,
)
from tests.conftest import Template, _pg_admin_conn, _pg_conn, _pg_url
from tests.intermediate.support import FakeNetwork, FakeRequester, World
from tests.pg_pool import PooledDatabase


@pytest.fixture(scope="session")
def ims_template(template: Template, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The 中間サーバー's schema, migrated once: a file (SQLite) or an empty database with the `ims_` tables."""
    if template.kind == "sqlite":
        url = ims_database_url(str(tmp_path_factory.mktemp("ims-template") / "template.db"))
        migrate_intermediate(url)
        yield str(make_url(url).database)
        return
    name = f"juki_ims_tpl_{uuid.uuid4().hex[:8]}"
    with _pg_admin_conn() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    migrate_intermediate(_pg_url(name))
    yield name
    with _pg_admin_conn() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def ims_pool(ims_template: str) -> Iterator[PooledDatabase]:
    pool = PooledDatabase(_pg_admin_conn, _pg_conn, ims_template, f"juki_i_{uuid.uuid4().hex[:10]}")
    yield pool
    pool.drop()


@pytest.fixture
def ims(j: Juki, tmp_path: Path, template: Template, request: pytest.FixtureRequest) -> Iterator[ImsDatabase]:
    keys = tmp_path / "ims-keys" / "juki-ims-keys.json"
    if template.kind == "sqlite":
        beside = ims_database_url(j.settings.database_url)
        shutil.copy(request.getfixturevalue("ims_template"), str(make_url(beside).database))
        db = open_intermediate(j.settings.database_url, key_file=keys)
        yield db
        db.dispose()
        return
    pool = request.getfixturevalue("ims_pool")
    db = open_intermediate(j.settings.database_url, url=_pg_url(pool.name), key_file=keys, migrate=False)
    yield db
    db.dispose()
    pool.reset()


@pytest.fixture
def network() -> FakeNetwork:
    return FakeNetwork()


@pytest.fixture
def requester(network: FakeNetwork) -> FakeRequester:
    return FakeRequester(network)


@pytest.fixture
def world(j: Juki, ims: ImsDatabase, network: FakeNetwork, requester: FakeRequester) -> World:
    return World(j, ims, network, requester)
