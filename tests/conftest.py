"""Shared fixtures: a fresh register per test on SQLite, and on PostgreSQL when JUKI_TEST_POSTGRES_URL is set.

Each engine gets one migrated template with the test staff accounts (migrations and argon2 hashing run once);
every test then starts from a copy: a file copy for SQLite; for PostgreSQL one copy per process, put back to the
template's state after each test (tests/pg_pool.py: a CREATE DATABASE per test cost ≈ 0.4 s).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pyotp
import pytest
from sqlalchemy.engine import Engine, make_url

from juki.adapters.db import migrate
from juki.bootstrap import Juki, build
from juki.cs.adapters.cs_db import cs_database_url, migrate_cs
from tests.pg_pool import PooledDatabase
from tests.webauthn_authenticator import SoftAuthenticator, enrol

pytest_plugins = ["tests.leakcheck"]  # every answer, log line and written file is scanned for My Numbers

PG_URL = os.environ.get("JUKI_TEST_POSTGRES_URL")
TODAY = date(2025, 6, 30)
PASSWORD = "correct horse battery staple"
STAFF = {
    "clerk": ("clerk1", "窓口 一郎", None),
    "clerk2": ("clerk2", "窓口 二郎", None),
    "supervisor": ("super1", "係長 花子", None),
    "auditor": ("audit1", "監査 三郎", None),
    "admin": ("admin1", "管理 四郎", None),
    "cs_operator": ("cs1", "CS 五郎", None),
    "contractor": ("vendor1", "委託 六郎", None),
    "department": ("hoken1", "保険年金課システム", "保険年金課"),
}
ENGINES = ["sqlite", "postgres"] if PG_URL else ["sqlite"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "engine_kind" in metafunc.fixturenames:
        marked = {e for e in ("sqlite", "postgres") if metafunc.definition.get_closest_marker(e)}
        engines = [e for e in ENGINES if not marked or e in marked]  # a marked test runs on that engine only
        metafunc.parametrize("engine_kind", engines, scope="session")


# Modules whose tests share one costly module-scoped register: under `make test` (xdist, --dist loadgroup) each
# runs on one worker, so that register is built once, not once per worker.
ONE_WORKER_MODULES = {
    "test_demo.py",  # builds a demo register of 300 residents per engine
    "test_protection_walk.py",  # walks every page as every role once (over a minute per engine)
}


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadgroup` that also keeps each of ONE_WORKER_MODULES on one worker. (The `xdist_group` mark alone
    does not group under pytest 9.2: xdist 3.8 renames the item's `_nodeid`, which pytest no longer reads.)"""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class ModuleGroups(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            if path.rsplit("/", 1)[-1] not in ONE_WORKER_MODULES:
                return super()._split_scope(nodeid)
            # One group per engine: the module's register is built once per engine anyway, so the SQLite and the
            # PostgreSQL halves may run on two workers at once instead of one after the other.
            return f"{path}[{'postgres' if '[postgres' in nodeid else 'sqlite'}]"

    return ModuleGroups(config, log)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`@pytest.mark.pg_sample`: a matrix of bad inputs whose checks run before the database is touched (the request
    models, the parsers) runs whole on SQLite and by its first case on PostgreSQL, which still shows there that a
    refusal writes nothing and the server goes on. The same cases twice cost minutes of the suite and prove nothing
    more about the engine."""
    kept, dropped, sampled = [], [], set()
    for item in items:
        if item.get_closest_marker("pg_sample") and "[postgres" in item.nodeid:
            function = item.nodeid.split("[", 1)[0]
            if function in sampled:
                dropped.append(item)
                continue
            sampled.add(function)
        kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def _seed_staff(j: Juki) -> dict[str, str]:
    from juki.services.auth import create_staff

    secrets = {}
    for key, (username, name, dept) in STAFF.items():
        role = "clerk" if key == "clerk2" else key
        secrets[username] = create_staff(j.uow, username, name, role, PASSWORD, department=dept)
    return secrets


def stock_resident_codes(j: Juki) -> None:
    """A stock of 住民票コード as the CS hands over from J-LIS (標準仕様書 j870), so that a birth gets its code."""
    import random

    from juki.domain.identifiers import generate_resident_code
    from juki.policy.roles import CS_SYSTEM
    from juki.services.numbers import receive_codes

    rng = random.Random(870)
    receive_codes(j.uow, CS_SYSTEM, "TEST-BLOCK-1", sorted({generate_resident_code(rng) for _ in range(300)}))


def _enrol_authenticators(j: Juki, secrets: dict[str, str]) -> dict[str, SoftAuthenticator]:
    """A CS operator signs in with WebAuthn as well: give each a software authenticator, enrolled with an
    administrator's code. It uses the previous step's one-time code, so a test's current code is newer."""
    from juki.policy.roles import STRONG_FACTOR_ROLES

    authenticators = {}
    for key, (username, _, _) in STAFF.items():
        if key in STRONG_FACTOR_ROLES:
            authenticators[username] = SoftAuthenticator()
            otp = pyotp.TOTP(secrets[username]).at(time.time() - 30)
            enrol(j, username, PASSWORD, otp, authenticators[username])
    return authenticators


def _pg_conn(dbname: str) -> psycopg.Connection:
    url = make_url(PG_URL or "")
    return psycopg.connect(
        host=url.host, port=url.port or 5432, user=url.username, password=url.password, dbname=dbname,
        autocommit=True,
    )  # fmt: skip


def _pg_admin_conn() -> psycopg.Connection:
    return _pg_conn(make_url(PG_URL or "").database or "postgres")


def _pg_url(dbname: str) -> str:
    return make_url(PG_URL or "").set(database=dbname).render_as_string(hide_password=False)


@dataclass
class Template:
    kind: str
    location: str  # SQLite file path or PostgreSQL database name
    secrets: dict[str, str]
    authenticators: dict[str, SoftAuthenticator] = field(default_factory=dict)  # by username (CS operators)


# Minimal argon2id parameters for the tests' password hashes (production keeps the library's recommended ones,
# config.py). A sign-in verifies a hash at the cost it was made with, so the template's staff, every account a test
# makes and therefore every sign-in are cheap. Set in the environment, so `juki` subprocesses use them as well.
CHEAP_PASSWORD_HASHING = {
    "JUKI_PASSWORD_HASH_TIME_COST": "1",
    "JUKI_PASSWORD_HASH_MEMORY_KIB": "8",
    "JUKI_PASSWORD_HASH_PARALLELISM": "1",
}


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        for name, value in CHEAP_PASSWORD_HASHING.items():
            mp.setenv(name, value)
        yield


@pytest.fixture(scope="session", autouse=True)
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One My Number key file for the session (JUKI_KEY_FILE): every register, migration and CLI run uses it."""
    path = tmp_path_factory.mktemp("keys") / "juki-keys.json"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUKI_KEY_FILE", str(path))
        yield path


@pytest.fixture(scope="session")
def template(engine_kind: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Template]:
    if engine_kind == "sqlite":
        path = tmp_path_factory.mktemp("template") / "template.db"
        j = build(str(path))
        secrets = _seed_staff(j)
        stock_resident_codes(j)
        authenticators = _enrol_authenticators(j, secrets)
        j.engine.dispose()
        yield Template("sqlite", str(path), secrets, authenticators)
        return
    name = f"juki_tpl_{uuid.uuid4().hex[:8]}"
    with _pg_admin_conn() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    migrate(_pg_url(name))
    j = build(_pg_url(name), run_migrations=False)
    secrets = _seed_staff(j)
    stock_resident_codes(j)
    authenticators = _enrol_authenticators(j, secrets)
    j.engine.dispose()
    yield Template("postgres", name, secrets, authenticators)
    with _pg_admin_conn() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _opens_the_cs(request: pytest.FixtureRequest) -> bool:
    """A test with the `cs` fixture (tests/cs, the CS's pages) opens the CS beside its register. Its register comes
    with the CS's schema already made from a template (open_cs then finds it at the newest revision), instead of
    migrating the CS in every such test and, on PostgreSQL, making the database again after it because its schema
    changed (~0.6 s a test). The CS's own migrations are tested on a register without them."""
    return "cs" in request.fixturenames and request.node.path.parts[-2:] != ("cs", "test_migrations.py")


@pytest.fixture
def db_url(template: Template, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """The test's own register, a copy of the template. On SQLite it is `register.db` in the test's tmp_path, named
    by one URL for every test of the process: its folder is a link that points at the running test's tmp_path (so
    that `j` can keep one engine, below; what opens beside the register — the CS, its keys — lands in tmp_path too)."""
    with_cs = _opens_the_cs(request)
    if template.kind == "sqlite":
        path = _point_the_link_at(tmp_path) / "register.db"
        shutil.copy(template.location, path)
        if with_cs:
            shutil.copy(request.getfixturevalue("cs_template"), _sqlite_path(cs_database_url(str(path))))
        yield f"sqlite:///{path}"  # a URL: a plain path would be resolved through the link (database_url)
        return
    pool = request.getfixturevalue("pg_cs_pool" if with_cs else "pg_pool")
    yield _pg_url(pool.name)
    pool.reset()


def _point_the_link_at(folder: Path) -> Path:
    link = folder.parent / f"register-link-{os.getpid()}"  # beside the test folders, in the basetemp
    staged = link.with_name(f"{link.name}.new")
    staged.unlink(missing_ok=True)
    staged.symlink_to(folder, target_is_directory=True)
    staged.replace(link)
    return link


def _sqlite_path(url: str) -> str:
    return str(make_url(url).database)


@pytest.fixture(scope="session")
def cs_template(template: Template, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The CS's schema, migrated once per engine: a file beside no register (SQLite), or a copy of the register's
    template database with the `cs_` tables (PostgreSQL, where the CS lives in the register's database)."""
    if template.kind == "sqlite":
        url = cs_database_url(str(tmp_path_factory.mktemp("cs-template") / "template.db"))
        migrate_cs(url)
        yield _sqlite_path(url)
        return
    name = f"{template.location}_cs"
    with _pg_admin_conn() as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template.location}"')
    migrate_cs(cs_database_url(_pg_url(name)))
    yield name
    with _pg_admin_conn() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_cs_pool(cs_template: str) -> Iterator[PooledDatabase]:
    """This process's copy of the PostgreSQL template with the CS's schema, reset as `pg_pool` is."""
    pool = PooledDatabase(_pg_admin_conn, _pg_conn, cs_template, f"juki_c_{uuid.uuid4().hex[:10]}")
    yield pool
    pool.drop()


@pytest.fixture(scope="session")
def pg_pool(template: Template) -> Iterator[PooledDatabase]:
    """This process's copy of the PostgreSQL template, put back to the template's state after each test (tests/pg_pool.py)."""
    pool = PooledDatabase(_pg_admin_conn, _pg_conn, template.location, f"juki_p_{uuid.uuid4().hex[:10]}")
    yield pool
    pool.drop()


# One engine per register URL for the process: each test's `j` is made by `build` as before, then given the engine the
# first test's `build` made for that URL (every pooled PostgreSQL database and the SQLite link keep one URL), disposed
# after each test. The register's statements are compiled and a new connection's dialect set up once per process,
# not once per test (~30 ms a test).
_ENGINES: dict[str, Engine] = {}


@pytest.fixture
def j(db_url: str) -> Iterator[Juki]:
    juki = build(db_url, run_migrations=False, today=TODAY)
    engine = _ENGINES.setdefault(db_url, juki.engine)
    if engine is not juki.engine:
        juki.engine.dispose()
        juki = dataclasses.replace(juki, engine=engine)
    yield juki
    engine.dispose()


@pytest.fixture
def totp(template: Template):  # type: ignore[no-untyped-def]
    def code(username: str) -> str:
        return pyotp.TOTP(template.secrets[username]).now()

    return code
