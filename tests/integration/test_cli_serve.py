"""`juki serve --workers N`: the schema is migrated once, then each of uvicorn's worker processes builds its own app
from the settings the command exported — the same database and key files, so any worker serves a clerk's next
request (tests/ui/test_certificate_handover.py shows two apps sharing the cookie and the hand-over)."""

from __future__ import annotations

from typer.testing import CliRunner

from juki.cli import main

runner = CliRunner()


def test_serve_with_workers_starts_uvicorn_on_the_worker_factory(tmp_path, monkeypatch):
    import uvicorn

    for name in ("JUKI_DATABASE_URL", "JUKI_WEBAUTHN_ORIGIN", "JUKI_PUBLIC_BASE_URL"):
        monkeypatch.setenv(name, "set before")  # restored after the test: serve exports its own
    runs: list[tuple[object, dict]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: runs.append((app, options)))
    db = str(tmp_path / "serve.db")
    monkeypatch.delenv("JUKI_WEBAUTHN_ORIGIN")
    monkeypatch.delenv("JUKI_PUBLIC_BASE_URL")
    result = runner.invoke(main.app, ["serve", "--db", db, "--port", "8124", "--workers", "3"])
    assert result.exit_code == 0, result.output
    [(target, options)] = runs
    assert target == "juki.cli.main:worker_app" and options["factory"] is True and options["workers"] == 3
    assert options["port"] == 8124

    first, second = main.worker_app(), main.worker_app()  # two workers, as uvicorn would start them
    a, b = first.state.juki, second.state.juki
    assert a.settings.database_url == b.settings.database_url == db
    assert a.settings.public_base_url == "http://localhost:8124/"
    assert a.ui_key == b.ui_key  # each opens the other's cookie and PDFs
    for juki in (a, b):
        juki.engine.dispose()


def test_serve_with_one_worker_serves_the_app_it_built(tmp_path, monkeypatch):
    import uvicorn

    runs: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: runs.append(app))
    result = runner.invoke(main.app, ["serve", "--db", str(tmp_path / "one.db"), "--port", "8125"])
    assert result.exit_code == 0, result.output
    assert len(runs) == 1 and not isinstance(runs[0], str)
    assert runner.invoke(main.app, ["serve", "--workers", "0"]).exit_code != 0
