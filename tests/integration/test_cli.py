"""The `juki` command line: init, audit verify, backup and restore (across engines)."""

from __future__ import annotations

import hashlib
import time

import pyotp
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from juki.adapters import tables as t
from juki.bootstrap import build
from juki.cli.main import app
from juki.policy.roles import Actor
from juki.services import filings, protection
from tests import factories as f
from tests.conftest import PASSWORD, STAFF

runner = CliRunner()
CLERK = Actor("clerk1", "窓口 一郎", "clerk", "test")


def test_init_creates_one_administrator_and_is_idempotent(tmp_path):
    db = str(tmp_path / "new.db")
    first = runner.invoke(app, ["init", "--db", db])
    assert first.exit_code == 0 and "TOTPシークレット" in first.output
    again = runner.invoke(app, ["init", "--db", db])
    assert again.exit_code == 0 and "作成済み" in again.output


def _log_head(j) -> int:
    with j.engine.connect() as conn:
        return int(conn.execute(select(func.coalesce(func.max(t.operation_log.c.seq), 0))).scalar_one())


def test_audit_verify_reports_ok_then_the_first_broken_entry(j, db_url):
    base = _log_head(j)  # the template register's own entries (account set-up)
    filings.file(j.uow, CLERK, "move-in", f.move_in())
    filings.file(j.uow, CLERK, "move-in", f.move_in([f.person(family_name="鈴木")]))
    ok = runner.invoke(app, ["audit", "verify", "--db", db_url])
    assert ok.exit_code == 0 and ok.output.startswith("OK ")
    with j.engine.begin() as conn:
        if j.engine.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER operation_log_no_delete"))
        else:
            conn.execute(text("ALTER TABLE operation_log DISABLE TRIGGER operation_log_append_only"))
        conn.execute(text(f"DELETE FROM operation_log WHERE seq = {base + 1}"))
    bad = runner.invoke(app, ["audit", "verify", "--db", db_url])
    assert bad.exit_code != 0 and f"BROKEN at entry {base + 2}" in bad.output


def test_backup_needs_an_administrator_and_restores_into_an_empty_register(j, db_url, template, tmp_path):
    moved = filings.file(j.uow, CLERK, "move-in", f.move_in())
    officer = Actor(STAFF["supervisor"][0], "係長", "supervisor", "test", procedure="protection")
    protection.set_measure(
        j.uow,
        officer,
        {"subject_kind": "household", "subject": moved.household_number, "reason": "DV", "requester": "本人",
         "received_on": "2025-06-20", "starts_on": "2025-06-20"},
    )  # fmt: skip
    out = tmp_path / "register.jsonl.gz"
    clerk = STAFF["clerk"][0]
    denied = runner.invoke(
        app,
        [
            "backup",
            "--db",
            db_url,
            "--out",
            str(out),
            "--user",
            clerk,
            "--password",
            PASSWORD,
            "--otp",
            pyotp.TOTP(template.secrets[clerk]).now(),
        ],
    )
    assert denied.exit_code != 0 and not out.exists()
    admin = STAFF["admin"][0]
    done = runner.invoke(
        app,
        [
            "backup",
            "--db",
            db_url,
            "--out",
            str(out),
            "--user",
            admin,
            "--password",
            PASSWORD,
            "--otp",
            pyotp.TOTP(template.secrets[admin]).now(),
        ],
    )
    assert done.exit_code != 0 and "立会者" in done.output and not out.exists()  # a media export needs one
    done = runner.invoke(
        app,
        [
            "backup", "--db", db_url, "--out", str(out), "--user", admin, "--password", PASSWORD,
            "--otp", pyotp.TOTP(template.secrets[admin]).at(time.time() + 30), "--witness", clerk,
        ],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    with j.engine.connect() as conn:
        [record] = conn.execute(select(t.media_exports)).all()
    assert (record.staff_id, record.witness_id) == (admin, clerk)
    assert record.sha256 == hashlib.sha256(out.read_bytes()).hexdigest() and record.item_count > 0
    target = str(tmp_path / "restored.db")  # a backup of either engine restores into SQLite
    restored = runner.invoke(app, ["restore", "--from", str(out), "--db", target])
    assert restored.exit_code == 0, restored.output
    copy = build(target, run_migrations=False)
    with copy.engine.connect() as a, j.engine.connect() as b:
        # every table comes back (but those the backup itself writes to after the copy: its log entry, its
        # media export record and their counters)
        for table in t.metadata.sorted_tables:
            if table.name in ("operation_log", "media_exports", "counters"):
                continue
            assert (
                a.execute(select(func.count()).select_from(table)).scalar_one()
                == b.execute(select(func.count()).select_from(table)).scalar_one()
            )
    assert runner.invoke(app, ["audit", "verify", "--db", target]).exit_code == 0
    again = runner.invoke(app, ["restore", "--from", str(out), "--db", target])
    assert again.exit_code != 0  # never over an existing register


def test_audit_verify_notices_entries_cut_off_the_end(j, db_url):
    base = _log_head(j)
    filings.file(j.uow, CLERK, "move-in", f.move_in())
    filings.file(j.uow, CLERK, "move-in", f.move_in([f.person(family_name="鈴木")]))
    with j.engine.begin() as conn:
        if j.engine.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER operation_log_no_delete"))
        else:
            conn.execute(text("ALTER TABLE operation_log DISABLE TRIGGER operation_log_append_only"))
        conn.execute(text(f"DELETE FROM operation_log WHERE seq = {base + 2}"))
    bad = runner.invoke(app, ["audit", "verify", "--db", db_url])
    assert bad.exit_code != 0 and f"BROKEN at entry {base + 2}" in bad.output


def test_audit_verify_names_an_entry_edited_in_place(j, db_url):
    base = _log_head(j)
    filings.file(j.uow, CLERK, "move-in", f.move_in())
    filings.file(j.uow, CLERK, "move-in", f.move_in([f.person(family_name="鈴木")]))
    with j.engine.begin() as conn:  # someone with database access rewrites who did it
        if j.engine.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER operation_log_no_update"))
        else:
            conn.execute(text("ALTER TABLE operation_log DISABLE TRIGGER operation_log_append_only"))
        conn.execute(text(f"UPDATE operation_log SET staff_id = 'someone' WHERE seq = {base + 1}"))
    bad = runner.invoke(app, ["audit", "verify", "--db", db_url])
    assert bad.exit_code != 0 and f"BROKEN at entry {base + 1}" in bad.output


def test_serve_turns_forwarded_headers_off_once_a_tls_terminator_is_trusted(tmp_path, monkeypatch):
    """With JUKI_TRUSTED_PROXIES set, a forwarded header must not stand in for the proxy's own address (the kiosk
    API trusts the certificate header by that address); without it, uvicorn's default stays."""
    import uvicorn

    from juki.cli import main
    from juki.config import Settings

    runs: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: runs.append(options))
    j = build(str(tmp_path / "serve.db"))
    main._run(j, "127.0.0.1", 8123)
    j.settings = Settings(trusted_proxies="10.0.0.2")
    main._run(j, "127.0.0.1", 8123)
    assert [r["proxy_headers"] for r in runs] == [True, False]


def test_demo_prints_the_kiosk_command_whole_with_the_base_it_serves_on(tmp_path, monkeypatch):
    """A terminal narrower than the command must not break it across lines (it is copied and pasted), and the
    kiosk's QR codes must point at the port this demo serves on, not at 8000."""
    from juki.demo import generator
    from juki.sim import kiosk as sim

    monkeypatch.delenv("JUKI_PUBLIC_BASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "60")
    monkeypatch.setattr(generator, "build_demo", lambda j, **options: None)  # the city itself: test_demo.py
    db = tmp_path / "a-folder-with-a-rather-long-name-as-people-make-them" / "demo.db"
    result = runner.invoke(app, ["demo", "--db", str(db), "--port", "8123", "--no-serve"])
    assert result.exit_code == 0, result.output
    command = f"juki sim kiosk --db {db} --always-open --verify-base http://localhost:8123/"
    assert any(line.endswith(command) for line in result.output.splitlines()), result.output
    # the simulator, given no --verify-base, takes the demo's own
    assert sim.verify_base(str(db)) == "http://localhost:8123/"


def test_the_kiosk_simulator_falls_back_to_the_configured_base_without_a_demo(tmp_path, monkeypatch):
    from juki.sim import kiosk as sim

    monkeypatch.setenv("JUKI_PUBLIC_BASE_URL", "https://juki.city.example/")
    assert sim.verify_base(str(tmp_path / "register.db")) == "https://juki.city.example/"
