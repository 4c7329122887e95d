"""The demo city (`juki demo`): a register that passes the register's own checks, with accounts that sign in.

One demo of a few hundred residents is built per engine (SQLite always, PostgreSQL when JUKI_TEST_POSTGRES_URL
is set) and shared by the tests of this module; the tests that change it only add to it. No assertion shows a My
Number: comparisons of numbers are reduced to counts before they are asserted.
"""

from __future__ import annotations

import dataclasses
import io
import json
import random
import re
import stat
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pyotp
import pytest
from rich.console import Console
from sqlalchemy import Text, cast, func, select

from juki.adapters import tables as t
from juki.adapters.db import dumps
from juki.adapters.repository import record_to_json, search_columns
from juki.bootstrap import Juki, build
from juki.demo import generator
from juki.demo.city import City
from juki.demo.generator import NotADemoRegister, build_demo
from juki.demo.juki_net import start_juki_net
from juki.domain.address import canonical_address, parse_city_address
from juki.domain.errors import DomainError, WebAuthnRequired
from juki.domain.identifiers import (
    validate_addressee_number,
    validate_household_number,
    validate_local_gov_code,
    validate_my_number,
    validate_resident_code,
)
from juki.domain.model import record_from_row
from juki.policy.roles import STRONG_FACTOR_ROLES, Actor
from juki.services import filings, webauthn
from juki.services.audit_queries import verify_chain
from juki.services.auth import login
from tests.conftest import TODAY, _pg_admin_conn, _pg_url
from tests.webauthn_authenticator import SoftAuthenticator

RESIDENTS = 300
ROLES = {"clerk", "supervisor", "auditor", "admin", "cs_operator", "contractor", "department"}
CLERK = Actor("clerk1", "窓口 一郎", "clerk", "test")
ARRIVALS = {"転入", "国外転入", "出生"}


def quiet() -> Console:
    return Console(file=io.StringIO())


@dataclass
class Demo:
    j: Juki
    accounts_path: Path

    def accounts(self) -> list[dict[str, str]]:
        data: list[dict[str, str]] = json.loads(self.accounts_path.read_text(encoding="utf-8"))
        return data

    def rows(self, table: Any, *where: Any) -> list[Any]:
        """Rows without their My Number column, so that no failing assertion can print one."""
        columns = [c for c in table.c if not c.name.startswith("my_number_")]
        with self.j.engine.connect() as conn:
            return list(conn.execute(select(*columns).where(*where)).all())

    def my_numbers(self) -> list[str | None]:
        """Decrypted with the register's key file; each must match its blind index."""
        r = t.residents.c
        with self.j.engine.connect() as conn:
            rows = conn.execute(select(r.my_number_ciphertext, r.my_number_index)).all()
        numbers = [self.j.vault.open(row.my_number_ciphertext) for row in rows]
        mismatched = sum(
            (n is None) != (row.my_number_index is None)
            or (n is not None and self.j.vault.index(n) != row.my_number_index)
            for n, row in zip(numbers, rows, strict=True)
        )
        assert mismatched == 0
        return numbers

    def records(self) -> list[Any]:
        """Every resident's record, without the My Number."""
        return [record_from_row(r.record, None) for r in self.rows(t.residents)]


@pytest.fixture(scope="module")
def demo(engine_kind: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    workdir = tmp_path_factory.mktemp("demo")
    with _empty_database(engine_kind, workdir) as url:
        j = build(url, today=TODAY)
        build_demo(j, RESIDENTS, seed=7, accounts_path=workdir / "demo-accounts.json", console=quiet())
        yield Demo(j, workdir / "demo-accounts.json")
        j.engine.dispose()


def _sqlite_demo(workdir: Path) -> Demo:
    j = build(str(workdir / "small.db"), today=TODAY)
    build_demo(j, 50, seed=3, accounts_path=workdir / "demo-accounts.json", console=quiet())
    return Demo(j, workdir / "demo-accounts.json")


class _empty_database:
    """A fresh, empty database: a file for SQLite, a new database for PostgreSQL (dropped afterwards)."""

    def __init__(self, kind: str, workdir: Path) -> None:
        self.kind, self.workdir, self.name = kind, workdir, f"juki_demo_{uuid.uuid4().hex[:8]}"

    def __enter__(self) -> str:
        if self.kind == "sqlite":
            return str(self.workdir / "demo.db")
        with _pg_admin_conn() as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        return _pg_url(self.name)

    def __exit__(self, *exc: object) -> None:
        if self.kind != "sqlite":
            with _pg_admin_conn() as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


# --- accounts ---------------------------------------------------------------------------------------------------


def test_accounts_file_has_every_role_and_both_departments(demo):
    accounts = demo.accounts()
    assert {a["role"] for a in accounts} >= ROLES
    assert sum(a["role"] == "clerk" for a in accounts) >= 2
    assert {a.get("department") for a in accounts if a["role"] == "department"} >= {
        "保険年金課",
        "選挙管理委員会",
    }
    staff = [
        a for a in accounts if a["role"] != "department_system"
    ]  # systems sign in with client credentials
    assert all({"username", "password", "totp_secret", "role", "display_name"} <= set(a) for a in staff)
    systems = [a for a in accounts if a["role"] == "department_system"]
    assert {a["department"] for a in systems} >= {"保険年金課", "税務課", "学務課", "選挙管理委員会"}
    assert all({"client_id", "client_secret", "scopes"} <= set(a) for a in systems)
    assert stat.S_IMODE(demo.accounts_path.stat().st_mode) == 0o600


def test_every_demo_account_signs_in_with_its_password_and_one_time_code(demo):
    for account in demo.accounts():
        if account["role"] in STRONG_FACTOR_ROLES or account["role"] == "department_system":
            continue
        otp = pyotp.TOTP(account["totp_secret"]).now()
        token = login(demo.j.uow, account["username"], account["password"], otp, "pytest", 600, 5)
        assert token.access_token


def test_the_demo_cs_operator_enrols_with_its_code_then_signs_in_with_webauthn(demo):
    [account] = [a for a in demo.accounts() if a["role"] in STRONG_FACTOR_ROLES]
    totp = pyotp.TOTP(account["totp_secret"])
    with pytest.raises(WebAuthnRequired):  # no token from password and one-time code alone
        login(
            demo.j.uow, account["username"], account["password"], totp.at(time.time() - 30), "pytest", 600, 5
        )
    s, rp = demo.j.settings, webauthn.RelyingParty.from_settings(demo.j.settings)
    ceremony = webauthn.enrolment_options(
        demo.j.uow, rp, account["username"], account["password"], totp.now(), account["enrolment_code"],
        "pytest", s.max_failed_logins, s.login_rate_limit,
    )  # fmt: skip
    device = SoftAuthenticator()
    webauthn.register(
        demo.j.uow, rp, ceremony.challenge_id, device.register(ceremony.public_key), "デモ", "pytest", 5
    )
    challenge = webauthn.sign_in_options(
        demo.j.uow, rp, account["username"], account["password"], totp.at(time.time() + 30),
        "pytest", s.max_failed_logins, s.login_rate_limit,
    )  # fmt: skip
    token = webauthn.sign_in(
        demo.j.uow, rp, challenge.challenge_id, device.assertion(challenge.public_key), "pytest",
        s.token_ttl_seconds, s.max_failed_logins,
    )  # fmt: skip
    assert token.access_token


def test_the_demo_shows_the_controls_at_work(demo):
    [contractor] = [a for a in demo.accounts() if a["role"] == "contractor"]
    orders = demo.rows(t.work_orders, t.work_orders.c.contractor_id == contractor["username"])
    assert [(o.procedure, o.permissions) for o in orders] == [("resident_record", ["register:read"])]
    measures = demo.rows(t.protection_measures)
    assert len(measures) == 3 and {m.state for m in measures} == {"active"}


def test_register_is_marked_as_a_demo(demo):
    assert [r.value for r in demo.rows(t.settings, t.settings.c.key == "register_kind")] == ["demo"]


# --- the register's invariants ----------------------------------------------------------------------------------


def test_residents_count_is_the_number_asked_for_and_removed_records_come_on_top(demo):
    statuses = Counter(r.status for r in demo.rows(t.residents))
    assert statuses["active"] >= RESIDENTS  # later tests may add people by filings
    assert 0 < statuses["removed"] <= 0.1 * RESIDENTS


def test_every_household_has_exactly_one_householder_among_its_active_members(demo):
    active = defaultdict(list)
    for r in demo.rows(t.residents, t.residents.c.status == "active"):
        active[r.household_number].append(r)
    for hh in demo.rows(t.households):
        members = active.get(hh.household_number, [])
        heads = [m.addressee_number for m in members if m.relationship == "世帯主"]
        if hh.status == "active":
            assert heads == [hh.householder]
            assert hh.member_count == len(members)
        else:
            assert (len(members), hh.householder, hh.member_count) == (0, None, 0)


def test_identifiers_are_valid_and_unique(demo):
    rows = demo.rows(t.residents)
    my_numbers, codes = demo.my_numbers(), [r.resident_code for r in rows]
    # Counts first, then the assertions: a failure then shows a count, never the numbers themselves.
    bad_my_numbers, repeated_my_numbers = _invalid(my_numbers, validate_my_number), _repeated(my_numbers)
    bad_codes, repeated_codes = _invalid(codes, validate_resident_code), _repeated(codes)
    bad_addressees = _invalid([r.addressee_number for r in rows], validate_addressee_number)
    bad_households = _invalid(
        [h.household_number for h in demo.rows(t.households)], validate_household_number
    )
    assert (bad_my_numbers, repeated_my_numbers, bad_codes, repeated_codes) == (0, 0, 0, 0)
    assert (bad_addressees, bad_households) == (0, 0)


def _repeated(values: list[Any]) -> int:
    return len(values) - len(set(values))


def _invalid(values: list[Any], validate: Any) -> int:
    """How many values the validator refuses (a count, so that a failure shows no number)."""
    bad = 0
    for value in values:
        try:
            bad += validate(value) != value
        except DomainError:
            bad += 1
    return bad


def test_every_address_is_a_canonical_kodaira_address(demo):
    for r in demo.records():
        parsed = parse_city_address(r.address.address, r.address.katagaki)
        assert canonical_address(parsed, with_katagaki=False) == r.address.address
        assert (parsed.katagaki, parsed.town, parsed.postal_code) == (
            r.address.katagaki,
            r.address.town,
            r.address.postal_code,
        )
        assert re.search(r"(\d+番\d+号|\d+番地\d*)$", r.address.address)
    assert any(r.address.katagaki for r in demo.records())


def test_dates_fit_together(demo):
    for r in demo.records():
        assert r.birth_date <= r.resident_since <= r.filed_on <= TODAY
        if r.removal is not None:
            assert r.resident_since <= r.removal.removed_on <= TODAY
    by_household = defaultdict(dict)
    for r in demo.records():
        by_household[r.household_number].setdefault(r.relationship, []).append(r.birth_date)
    for members in by_household.values():
        head = members["世帯主"][0]
        assert all(b > head for b in members.get("子", []) + members.get("子の子", []))
        assert all(b < head for b in members.get("父", []) + members.get("母", []))


def test_some_residents_are_foreign_with_their_items(demo):
    foreign = [r for r in demo.records() if r.foreign is not None and r.status == "active"]
    assert foreign
    for r in foreign:
        assert r.foreign.article_30_45_category in ("中長期在留者", "特別永住者")
        if r.foreign.article_30_45_category == "中長期在留者":
            assert re.fullmatch(r"[A-Z]{2}\d{8}[A-Z]{2}", r.foreign.residence_card_number or "")
            assert r.foreign.status_of_residence
        assert not r.voter_registered


def test_removed_records_have_their_arrival_and_their_removal(demo):
    versions = defaultdict(list)
    for v in demo.rows(t.resident_versions, t.resident_versions.c.filing_id.like("IMPORT-%")):
        versions[v.addressee_number].append(v)
    reasons: Counter[str] = Counter()
    for r in demo.records():
        if r.addressee_number not in versions:
            continue  # a person added by a filing in another test
        history = sorted(versions[r.addressee_number], key=lambda v: v.version)
        if r.status == "active":
            assert [(v.version, v.change_reason in ARRIVALS) for v in history] == [(1, True)]
            continue
        assert [v.version for v in history] == [1, 2]
        assert history[0].change_reason in ARRIVALS
        assert history[1].change_reason == r.removal.reason
        reasons[r.removal.reason] += 1
        if r.removal.reason == "転出":
            assert validate_local_gov_code(r.move_out.destination.municipality_code)
            assert r.move_out.planned_on == r.removal.removed_on
    assert reasons["転出"] and reasons["死亡"]


def test_stored_rows_are_what_the_command_path_would_store(demo):
    columns = [c for c in t.residents.c if not c.name.startswith("my_number_")]
    with demo.j.engine.connect() as conn:
        rows = conn.execute(select(*columns, cast(t.residents.c.record, Text).label("text"))).all()
    for row in rows:
        record = record_from_row(row.record, None)
        assert row.record == record_to_json(record)
        assert {k: getattr(row, k) for k in search_columns(record)} == search_columns(record)
        # the text itself, as SQLAlchemy's JSON type writes it on the command path
        assert row.text == dumps(record_to_json(record))


def test_the_import_leaves_the_connections_page_cache_as_it_was(tmp_path):
    demo = _sqlite_demo(tmp_path)  # a SQLite connection setting: PostgreSQL has none to restore
    with demo.j.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -2000  # SQLite's default


def test_the_import_is_logged_once_and_every_version_has_its_outbox_row(demo):
    versions = demo.rows(t.resident_versions, t.resident_versions.c.filing_id.like("IMPORT-%"))
    outbox = demo.rows(t.outbox, t.outbox.c.filing_id.like("IMPORT-%"))
    assert sorted((o.addressee_number, o.version) for o in outbox) == sorted(
        (v.addressee_number, v.version) for v in versions
    )
    assert [o.seq for o in sorted(outbox, key=lambda o: o.seq)] == list(range(1, len(outbox) + 1))
    assert len(demo.rows(t.operation_log, t.operation_log.c.action == "register:import")) == 1
    count, broken = verify_chain(demo.j.uow)
    assert broken is None and count >= 1


# --- after the demo is built ------------------------------------------------------------------------------------


def test_a_second_build_reuses_the_register(demo):
    before = _count(demo, t.residents)
    accounts = demo.accounts_path.read_text(encoding="utf-8")
    build_demo(demo.j, RESIDENTS * 2, seed=8, accounts_path=demo.accounts_path, console=quiet())
    assert _count(demo, t.residents) == before
    assert demo.accounts_path.read_text(encoding="utf-8") == accounts


def test_a_lost_accounts_file_is_replaced_by_new_accounts_that_sign_in(demo, tmp_path):
    path = tmp_path / "demo-accounts.json"
    build_demo(demo.j, RESIDENTS, seed=7, accounts_path=path, console=quiet())
    fresh = json.loads(path.read_text(encoding="utf-8"))
    old = {a["username"] for a in demo.accounts() if a["role"] != "department_system"}
    assert {a["role"] for a in fresh} >= ROLES
    assert not old & {a.get("username") for a in fresh}
    clerk = next(a for a in fresh if a["role"] == "clerk")
    login(
        demo.j.uow,
        clerk["username"],
        clerk["password"],
        pyotp.TOTP(clerk["totp_secret"]).now(),
        "pytest",
        60,
        5,
    )


def test_a_move_in_after_the_demo_continues_the_number_sequences(demo):
    numbers = {r.addressee_number for r in demo.rows(t.residents)}
    households = {h.household_number for h in demo.rows(t.households)}
    result = filings.file(
        demo.j.uow,
        CLERK,
        "move-in",
        {
            "filed_on": TODAY.isoformat(),
            "changed_on": TODAY.isoformat(),
            "previous_address": {
                "address": "東京都武蔵野市吉祥寺本町一丁目1番1号",
                "municipality_code": "132039",
            },
            "address": {"address": "東京都小平市小川町一丁目100番地5"},
            "household": {"new": True},
            "persons": [
                {
                    "family_name": "新井",
                    "given_name": "花",
                    "family_name_kana": "アライ",
                    "given_name_kana": "ハナ",
                    "birth_date": "1990-04-01",
                    "sex": "female",
                    "relationship": "世帯主",
                }
            ],
        },
    )
    assert result.household_number not in households
    assert int(result.household_number[:-1]) > max(int(n[:-1]) for n in households)
    new = [c["addressee_number"] for c in result.changes]
    assert not numbers & set(new)
    assert int(new[0][:-1]) > max(int(n[:-1]) for n in numbers)


def _count(demo: Demo, table: Any) -> int:
    with demo.j.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


# --- properties of the generator (SQLite only) ------------------------------------------------------------------


def test_same_seed_gives_the_same_register_in_one_or_many_transactions_with_or_without_the_worker(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(generator, "create_accounts", lambda j: [])  # passwords are random by design
    monkeypatch.setattr(generator, "set_up_controls", lambda j, accounts, seed: None)  # needs the accounts
    dumps = []
    # In this process, in batches of 30 and a commit after each; then in a worker process, one batch.
    for in_process_below, batch in ((10**9, 30), (0, generator.BATCH_PERSONS)):
        monkeypatch.setattr(generator, "IN_PROCESS_BELOW", in_process_below)
        monkeypatch.setattr(generator, "BATCH_PERSONS", batch)
        monkeypatch.setattr(generator, "TRANSACTION_PERSONS", batch)
        j = build(str(tmp_path / f"{in_process_below}.db"), today=TODAY)
        build_demo(j, 120, seed=3, accounts_path=tmp_path / "a.json", console=quiet())
        with j.engine.connect() as conn:
            # the tokens differ (a fresh nonce each); the blind index stands for the number
            columns = [c for c in t.residents.c if c.name != "my_number_ciphertext"]
            dumps.append(conn.execute(select(*columns).order_by(t.residents.c.addressee_number)).all())
            counters = dict(conn.execute(select(t.counters.c.name, t.counters.c.value)).all())
            logged = conn.execute(select(func.count()).select_from(t.operation_log)).scalar_one()
        j.engine.dispose()
        assert counters["addressee"] == max(int(r.addressee_number[:-1]) for r in dumps[-1])
        assert counters["outbox"] == len(dumps[-1]) + sum(r.status == "removed" for r in dumps[-1])
        assert logged == 1
    assert len(dumps[0]) > 120
    assert dumps[0] == dumps[1]


def test_a_register_that_is_not_a_demo_is_refused(tmp_path):
    j = build(str(tmp_path / "production.db"), today=TODAY)
    with j.uow() as uow:
        uow.staff.put_setting("register_kind", "production")
        uow.commit()
    with pytest.raises(NotADemoRegister):
        build_demo(j, 10, seed=1, accounts_path=tmp_path / "a.json", console=quiet())
    assert _count(Demo(j, tmp_path), t.residents) == 0
    assert not (tmp_path / "a.json").exists()
    j.engine.dispose()


def test_ages_follow_the_day_the_demo_is_built():
    """Dates are drawn relative to "today", so a demo built later still has children and recent arrivals."""
    city = City(random.Random(1), date(2030, 1, 1))
    births = [v.record.birth_date for b in city.batches(500, generator.BATCH_PERSONS) for v in b.versions]
    assert max(births) > date(2025, 1, 1)
    assert max(births) < date(2030, 1, 1)


# --- the demo's CS and 住基ネット -----------------------------------------------------------------------------------


def _with_cs(j: Juki, folder: Path, juki_net: Path | None = None) -> Juki:
    update = {"cs_key_file": str(folder / "juki-cs-keys.json"), "juki_net_config": juki_net and str(juki_net)}
    return dataclasses.replace(j, settings=j.settings.model_copy(update=update), migrate_cs=True)


def test_the_cs_takes_in_every_imported_person_whole(demo, tmp_path):
    j = _with_cs(demo.j, tmp_path)
    j.cs_relay().run_once()
    imported = demo.rows(t.outbox, t.outbox.c.filing_id.like("IMPORT-%"))
    with j.cs.transaction() as store:
        lines = store.log_lines()
        in_scope = store.in_scope()
    people = {o.addressee_number for o in imported}  # other tests of the module file people of their own
    lines = [line for line in lines if line.addressee_number in people]
    in_scope = [c for c in in_scope if c.addressee_number in people]
    refused = Counter(line.result for line in lines if line.action == "intake")
    queued = [line for line in lines if line.action == "notice" and line.result == "queued"]
    assert refused == Counter() and len(queued) == len(imported)  # each event taken in, its number with it
    with_numbers = sum(c.items.get("個人番号") is not None for c in in_scope)
    numbers = sum(r.my_number_index is not None for r in _imported_residents(demo, people))
    assert with_numbers == numbers  # nobody notified yet: all in scope


def _imported_residents(demo: Demo, people: set[str]) -> list[Any]:
    r = t.residents.c
    with demo.j.engine.connect() as conn:
        rows = conn.execute(select(r.addressee_number, r.my_number_index)).all()
    return [row for row in rows if row.addressee_number in people]


def test_the_demo_writes_juki_net_json_and_its_people_reach_the_simulated_prefecture(tmp_path):
    small = _sqlite_demo(tmp_path)
    running, config = start_juki_net(str(tmp_path / "small.db"))
    try:
        assert config == tmp_path / "juki-net.json"
        written = json.loads(config.read_text(encoding="utf-8"))
        assert set(written) == {"url", "pki"} and written["url"] == running.url
        assert {"ca.pem", "client.pem", "client.key"} <= {
            p.name for p in (tmp_path / written["pki"]).iterdir()
        }
        j = _with_cs(small.j, tmp_path, config)
        done = j.cs_relay().run_once()
        persons = len(small.rows(t.residents))
        with (
            small.j.engine.connect() as conn
        ):  # the demo's 支援措置 reach the CS too, as restrictions, not notices
            restrictions = conn.execute(
                select(func.count()).select_from(t.outbox).where(t.outbox.c.event == "ProtectionChanged")
            ).scalar_one()
        assert restrictions > 0 and done.refused == done.unreachable == 0
        assert done.acknowledged == done.taken - restrictions > persons
        client = j.prefecture_client()
        assert client is not None
        with client:
            codes = [r.resident_code for r in small.rows(t.residents)]
            held = [client.identity(code) for code in codes]
        assert sum(h is not None for h in held) == persons
    finally:
        running.stop()
        small.j.engine.dispose()
