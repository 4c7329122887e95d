"""`juki cs`: the city's CS (市町村CS, docs/cs.md) — thin: build, call the CS's services, print.

    juki cs serve   --db <register> [--cs-db URL] [--juki-net juki-net.json] [--interval S]
    juki cs check   --db <register> [--cs-db URL] [--juki-net juki-net.json]
    juki cs compare --db <register> [--cs-db URL]
    juki cs consistency --db <register> [--cs-db URL] [--juki-net juki-net.json] [--export-to DIR]
    juki cs export  --db <register> [--cs-db URL] --to DIR
    juki cs media-mode    --db <register> [--cs-db URL] --operator ID [--terminal T] [link|media]
    juki cs media-export  --db <register> [--cs-db URL] --operator ID [--terminal T] --to DIR
    juki cs media-answers --db <register> [--cs-db URL] --operator ID [--terminal T] FILE

`serve` is the CS's own process in production: the relay (the register's changes into the CS, its notices to
the prefecture server) until interrupted. `check` compares the CS's file with what the prefecture server holds
(shared/spec/API.md, 住基ネット); `compare` is the daily comparison with the register (標準仕様書 j1100);
`consistency` is the 整合性確認 with the prefecture file against file, its differences put into the error queue, and
`export` writes the file alone (docs/cs-consistency.md). The `media-…` commands are the manual fallback of the
notices (標準仕様書 j1090, docs/cs-media.md): switch between the link and media, write the notices that may go to
media, apply the prefecture's answers. They are a person's acts: they run as the CS operator `--operator` names (an
active account of the register with the role cs_operator; the service checks `cs:operate`), and both logs name
that operator and `--terminal`. Without `--juki-net`, JUKI_NET_CONFIG, else
`juki-net.json` beside a SQLite register (as `juki demo` writes it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from juki.cli.component import build_component, juki_net_config, log_to_console, register_url, stop_signals

if TYPE_CHECKING:
    from juki.bootstrap import Juki

cs_app = typer.Typer(help="市町村CS (the city's 住基ネット server)", no_args_is_help=True)

DbOpt = Annotated[
    str | None,
    typer.Option("--db", help="the register: SQLAlchemy URL or SQLite file path (JUKI_DATABASE_URL)"),
]
CsDbOpt = Annotated[
    str | None, typer.Option("--cs-db", help="the CS's own database URL (JUKI_CS_DATABASE_URL)")
]
JukiNetOpt = Annotated[
    Path | None, typer.Option("--juki-net", help="juki-net.json: the prefecture server and the PKI folder")
]
IntervalOpt = Annotated[float | None, typer.Option("--interval", min=0.1, help="seconds between passes")]


def _build(db: str | None, cs_db: str | None, juki_net: Path | None, interval: float | None = None) -> Juki:
    """The register as the CS's process sees it (cli/component.py)."""
    url = register_url(db)
    return build_component(
        url, cs_database_url=cs_db, juki_net_config=juki_net_config(url, juki_net), cs_relay_seconds=interval
    )


def _fail(message: str) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(2)


@cs_app.command("serve")
def serve(
    db: DbOpt = None,
    cs_db: CsDbOpt = None,
    juki_net: JukiNetOpt = None,
    interval: IntervalOpt = None,
) -> None:
    """Run the CS's relay (intake and delivery) until interrupted."""
    from sqlalchemy.engine import make_url

    log_to_console()
    j = _build(db, cs_db, juki_net, interval)
    relay = j.cs_relay()
    target = j.settings.juki_net_config or "なし（通知は送信待ちのまま）"
    typer.echo(
        f"市町村CS: {make_url(j.cs.url).render_as_string(hide_password=True)} ／ 都道府県サーバ: {target}"
    )
    with stop_signals(relay.stop):  # the pass under way ends first
        relay.run_until_stopped(j.settings.cs_relay_seconds)
    typer.echo("停止しました")


@cs_app.command("check")
def check(db: DbOpt = None, cs_db: CsDbOpt = None, juki_net: JukiNetOpt = None) -> None:
    """Compare the CS's file with the prefecture server; one JSON object (a My Number is never shown)."""
    from juki.cs.services.prefecture_check import check as run_check
    from juki.cs.wire import Unreachable

    j = _build(db, cs_db, juki_net)
    client = j.prefecture_client()
    if client is None:
        raise _fail("juki-net.json がありません（--juki-net または JUKI_NET_CONFIG で指定してください）")
    try:
        with client:
            report = run_check(j.cs.transaction, client)
    except Unreachable as exc:
        raise _fail(f"都道府県サーバに接続できません: {exc}") from None
    typer.echo(json.dumps(report.to_json(), ensure_ascii=False))


@cs_app.command("compare")
def compare(db: DbOpt = None, cs_db: CsDbOpt = None) -> None:
    """The daily comparison of the register and the CS (j1100): persons and items that differ, no values."""
    from juki.cs.services.comparison import RegisterQueries
    from juki.cs.services.comparison import compare as run_compare
    from juki.policy.roles import CS_SYSTEM

    j = _build(db, cs_db, None)
    report = run_compare(
        j.uow, j.cs.transaction, RegisterQueries(j.uow, CS_SYSTEM), CS_SYSTEM, j.settings.city_code
    )
    typer.echo(json.dumps(report.to_json(), ensure_ascii=False))


@cs_app.command("consistency")
def consistency(
    db: DbOpt = None,
    cs_db: CsDbOpt = None,
    juki_net: JukiNetOpt = None,
    export_to: Annotated[
        Path | None,
        typer.Option("--export-to", help="keep our file and manifest in DIR (特定個人情報: 0600)"),
    ] = None,
) -> None:
    """The 整合性確認 with the prefecture (j1100): one JSON object of persons, items and kinds (no value, no My
    Number); each differing person queued in the error queue. Exit 0 whatever it finds, 2 when it cannot run."""
    from juki.cs.adapters.consistency_client import HttpsConsistencyClient
    from juki.cs.adapters.consistency_file import ConsistencyFiles
    from juki.cs.domain.consistency import ConsistencyFileError
    from juki.cs.services import consistency as service
    from juki.cs.wire import Unreachable
    from juki.policy.roles import CS_SYSTEM

    j = _build(db, cs_db, juki_net)
    client = j.prefecture_client()
    if client is None:
        raise _fail("juki-net.json がありません（--juki-net または JUKI_NET_CONFIG で指定してください）")
    tx = _consistency_tx(j)
    try:
        with client:
            report = service.run(j.uow, tx, ConsistencyFiles(), HttpsConsistencyClient(client), CS_SYSTEM,
                                 j.settings.city_code, export_to)  # fmt: skip
    except Unreachable as exc:
        raise _fail(f"都道府県サーバに接続できません: {exc}") from None
    except ConsistencyFileError as refused:
        raise _fail(f"{refused.code}: {refused.message}") from None
    typer.echo(json.dumps(report.to_json(), ensure_ascii=False))


@cs_app.command("export")
def export(
    to: Annotated[Path, typer.Option("--to", help="the folder for the file and its manifest")],
    db: DbOpt = None,
    cs_db: CsDbOpt = None,
) -> None:
    """The whole 本人確認情報ファイル as CSV and manifest (a 特定個人情報 file: written 0600, its output logged)."""
    from juki.cs.adapters.consistency_file import ConsistencyFiles
    from juki.cs.services import consistency as service
    from juki.policy.roles import CS_SYSTEM

    j = _build(db, cs_db, None)
    written = service.export(
        j.uow, _consistency_tx(j), ConsistencyFiles(), CS_SYSTEM, j.settings.city_code, to
    )
    typer.echo(json.dumps({
        "csv": str(written.csv_path), "manifest": str(written.manifest_path),
        "rows": written.manifest.rows, "sha256": written.manifest.sha256,
    }, ensure_ascii=False))  # fmt: skip


def _consistency_tx(j: Juki) -> Any:
    from functools import partial

    from juki.cs.adapters import consistency_tables

    return partial(consistency_tables.transaction, j.cs)


# --- the manual fallback (標準仕様書 j1090, docs/cs-media.md) ---------------------------------------------------

OperatorOpt = Annotated[
    str,
    typer.Option(
        "--operator", help="the CS operator's staff id (an active cs_operator account): the logs name them"
    ),
]
TerminalOpt = Annotated[str, typer.Option("--terminal", help="操作端末ID for the logs")]


def _operator(j: Juki, staff_id: str, terminal: str) -> Any:
    """The account the operator named, as an actor: it must exist and be usable (active, in its validity period,
    not locked out); what it may do is the service's to check (`cs:operate`)."""
    from juki.services import auth

    with j.uow() as uow:
        row = uow.staff.by_id(staff_id)
        usable = row is not None and auth.usable(uow, row, j.settings.max_failed_logins)
    if row is None or not usable:
        raise _fail("その職員IDの使用できるアカウントはありません（--operator）")
    return auth.actor_of(row, terminal[:200])


def _media_call(call: Any) -> Any:
    """A media service's call; a refusal printed by its code (exit 2), never a value."""
    from juki.cs.domain.media import MediaFileError
    from juki.domain.errors import DomainError

    try:
        return call()
    except MediaFileError as refused:
        raise _fail(f"{refused.code}: {refused.message}") from None
    except DomainError as refused:
        raise _fail(f"{refused.code}: {refused.message}") from None


@cs_app.command("media-mode")
def media_mode(
    operator: OperatorOpt,
    to: Annotated[
        str | None, typer.Argument(help="link（回線）または media（媒体）; 省略時は現在の方法を表示")
    ] = None,
    terminal: TerminalOpt = "cs-cli",
    db: DbOpt = None,
    cs_db: CsDbOpt = None,
) -> None:
    """Switch the CS between sending by link and by media (j1090); without an argument, say how it sends now."""
    from juki.cs.adapters import media_tables
    from juki.cs.services import media

    j = _build(db, cs_db, None)
    actor = _operator(j, operator, terminal)
    if to is not None:
        _media_call(lambda: media.switch(j.uow, j.cs.transaction, media_tables.of, actor, to))
    now = media.status(j.cs.transaction, media_tables.of)
    typer.echo(json.dumps({
        "mode": now.mode.mode, "since": now.mode.since.isoformat() if now.mode.since else None,
        "by": now.mode.staff_id, "on_media": now.on_media,
    }, ensure_ascii=False))  # fmt: skip


@cs_app.command("media-export")
def media_export(
    operator: OperatorOpt,
    to: Annotated[Path, typer.Option("--to", help="the folder for the notices file and its manifest (0600)")],
    terminal: TerminalOpt = "cs-cli",
    db: DbOpt = None,
    cs_db: CsDbOpt = None,
) -> None:
    """Write every notice that may go to media (the wire's JSON a line, with a manifest); they are handed over."""
    from juki.cs.adapters import media_tables
    from juki.cs.adapters.media_file import MediaFiles
    from juki.cs.services import media

    j = _build(db, cs_db, None)
    actor = _operator(j, operator, terminal)
    written = _media_call(lambda: media.export(
        j.uow, j.cs.transaction, media_tables.of, MediaFiles(), actor, j.settings.city_code, to
    ))  # fmt: skip
    typer.echo(json.dumps({
        "file": str(written.path), "manifest": str(written.manifest_path),
        "count": written.manifest.count, "sha256": written.manifest.sha256,
    }, ensure_ascii=False))  # fmt: skip


@cs_app.command("media-answers")
def media_answers(
    operator: OperatorOpt,
    file: Annotated[
        Path, typer.Argument(help="the prefecture's answers file (.answers.jsonl) or its manifest")
    ],
    terminal: TerminalOpt = "cs-cli",
    db: DbOpt = None,
    cs_db: CsDbOpt = None,
) -> None:
    """Apply the prefecture's answers on media to the queue: accepted → acknowledged, refused → the error queue."""
    from juki.cs.adapters import media_tables
    from juki.cs.adapters.media_file import MediaFiles, manifest_path_of
    from juki.cs.services import media

    j = _build(db, cs_db, None)
    actor = _operator(j, operator, terminal)
    report = _media_call(lambda: media.apply_answers(
        j.uow, j.cs.transaction, media_tables.of, MediaFiles(), actor, j.settings.city_code, manifest_path_of(file)
    ))  # fmt: skip
    typer.echo(json.dumps(report.counts(), ensure_ascii=False))
