"""`juki transfer`: 庁内連携 by file and by push (docs/transfer-files-and-push.md) — thin: build, call, print.

    juki transfer files   --db URL --out DIR [--system ID]... [--full] [--medium USB --witness ID --user ID]
    juki transfer push    --db URL [--nats nats://127.0.0.1:4222] [--system ID]... [--once]
    juki transfer decrypt FILE --key SYSTEM.json --out CSV

`files` writes each system's 差分 (or, with --full, its 全件) into `DIR/<system_id>/` and removes the files past
the retention (JUKI_TRANSFER_FILE_RETENTION_DAYS). A 全件 to a removable medium (--medium) is a media export: it
runs as the signed-in staff member (who may record media exports), with a witness, and is recorded as one. `push`
publishes to NATS JetStream until interrupted (SIGINT/SIGTERM end the pass under way first). `decrypt` is the
department's side: the CSV of a sealed file, checked against its manifest when one is beside it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from juki.domain.errors import DomainError

if TYPE_CHECKING:
    from juki.bootstrap import Juki
    from juki.policy.roles import Actor
    from juki.transfer_delivery.feed import RegisterFeed, Target
    from juki.transfer_delivery.files import FileSettings, RunReport
    from juki.transfer_delivery.push import Publisher

transfer_app = typer.Typer(help="庁内連携: ファイル連携（差分・全件）とプッシュ配信", no_args_is_help=True)

DbOpt = Annotated[
    str | None,
    typer.Option("--db", help="the register: SQLAlchemy URL or SQLite file path (JUKI_DATABASE_URL)"),
]
SystemOpt = Annotated[
    list[str] | None,
    typer.Option("--system", help="a department system's id (repeatable; default: every one)"),
]


def _fail(message: str) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(2)


def _build(db: str | None) -> Juki:
    from juki.bootstrap import build
    from juki.config import load_settings

    return build(db or load_settings().database_url, run_migrations=False)


def _key_dir(j: Juki) -> Path:
    from juki.adapters.vault import key_file_for

    if j.settings.transfer_key_dir:
        return Path(j.settings.transfer_key_dir).expanduser()
    return key_file_for(j.settings.database_url, j.settings.key_file).parent / "transfer-keys"


def _targets(feed: RegisterFeed, systems: list[str] | None) -> list[Target]:
    try:
        return [feed.target(s) for s in systems] if systems else feed.targets()
    except DomainError as exc:
        raise _fail(f"{exc.message} ({exc.code})") from None


def _sign_in(j: Juki, user: str, password: str, otp: str) -> Actor:
    from juki.services import auth

    token = auth.login(j.uow, user, password, otp, "cli", 300, j.settings.max_failed_logins)
    # A media export is done for the procedure 大量出力・媒体出力 (policy/roles.py), as at the counter.
    return auth.authenticate(j.uow, token.access_token, procedure="bulk_output")


@transfer_app.command("files")
def files_command(
    out: Annotated[Path, typer.Option("--out", help="the folder of the systems' folders")],
    db: DbOpt = None,
    system: SystemOpt = None,
    full: Annotated[bool, typer.Option("--full", help="全件 instead of 差分")] = False,
    medium: Annotated[str | None, typer.Option("--medium", help="媒体 (USB, DVD …): a media export")] = None,
    witness: Annotated[str, typer.Option("--witness", help="立会者の職員ID（本人以外）")] = "",
    purpose: Annotated[str, typer.Option("--purpose", help="目的")] = "庁内連携（全件）の媒体出力",
    user: Annotated[str | None, typer.Option("--user", envvar="JUKI_USER")] = None,
    password: Annotated[str, typer.Option("--password", envvar="JUKI_PASSWORD")] = "",
    otp: Annotated[str, typer.Option("--otp", envvar="JUKI_OTP")] = "",
) -> None:
    """Write each system's 差分 (or 全件) file with its manifest; remove the expired ones."""
    from juki.transfer_delivery import files
    from juki.transfer_delivery.feed import RegisterFeed
    from juki.transfer_delivery.folder import FolderBusy

    j = _build(db)
    feed = RegisterFeed(j.uow)
    targets = _targets(feed, system)
    settings = files.FileSettings(out, _key_dir(j), j.settings.transfer_file_retention_days)
    if medium is not None and not full:
        raise _fail("媒体への出力は全件（--full）のみです")
    try:
        for target in targets:
            if medium is not None:
                report = _to_medium(j, feed, target, settings, {"witness_id": witness, "purpose": purpose,
                                                                  "medium": medium}, (user, password, otp))  # fmt: skip
            elif full:
                report = files.write_full(feed, target, settings)
            else:
                report = files.write_changes(feed, target, settings)
            _print(report)
    except FolderBusy as exc:
        raise _fail(str(exc)) from None
    except DomainError as exc:
        raise _fail(f"{exc.message} ({exc.code})") from None


def _to_medium(
    j: Juki,
    feed: RegisterFeed,
    target: Target,
    settings: FileSettings,
    media: dict[str, str],
    credentials: tuple[str | None, str, str],
) -> RunReport:
    from juki.services.transfer_delivery import full_to_medium
    from juki.transfer_delivery import files

    user, password, otp = credentials
    if not user:
        raise _fail("媒体への出力は職員としてサインインして行います（--user, --password, --otp）")
    actor = _sign_in(
        j,
        user,
        password or typer.prompt("パスワード", hide_input=True),
        otp or typer.prompt("ワンタイムコード"),
    )
    done: list[files.RunReport] = []

    def write() -> tuple[int, str]:
        done.append(files.write_full(feed, target, settings, channel="media"))
        manifest = done[-1].written[0].manifest
        return int(manifest["row_count"]), str(manifest["sha256"])

    record = full_to_medium(
        j.uow, actor, write, {**media, "purpose": f"{media['purpose']}（{target.department}）"}
    )
    typer.echo(f"媒体出力の記録: {record['record_id']}")
    return done[0]


def _print(report: RunReport) -> None:
    for name in report.recovered:
        typer.echo(f"{report.system_id}: 前回の実行で書き終えていたファイルを記録しました: {name}")
    for written in report.written:
        m = written.manifest
        issues = m["characters"]["issue_count"]
        note = f"、文字の注意 {issues} 件（マニフェスト参照）" if issues else ""
        typer.echo(f"{report.system_id}: {written.path} ({m['row_count']} 件{note})")
    for name in report.removed:
        typer.echo(f"{report.system_id}: 削除 {name}")
    if not report.written and not report.recovered:
        typer.echo(f"{report.system_id}: 新しい異動はありません")


@transfer_app.command("push")
def push_command(
    db: DbOpt = None,
    nats: Annotated[str | None, typer.Option("--nats", help="NATS URL (JUKI_NATS_URL)")] = None,
    system: SystemOpt = None,
    once: Annotated[bool, typer.Option("--once", help="one pass, then stop")] = False,
) -> None:
    """Publish each system's changes to NATS JetStream (its subject `juki.transfer.<id>`) until interrupted."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from juki.transfer_delivery import push
    from juki.transfer_delivery.feed import RegisterFeed

    j = _build(db)
    url = nats or j.settings.nats_url
    if not url:
        raise _fail(
            "NATS の URL がありません（--nats または JUKI_NATS_URL）。既定の取得型 API にブローカーは不要です"
        )
    feed = RegisterFeed(j.uow)
    settings = push.PushSettings(
        url, _key_dir(j), stream=j.settings.nats_stream, subject_prefix=j.settings.nats_subject_prefix
    )
    publisher = push.Publisher(feed, settings, _targets(feed, system) if system else None)
    if once:
        count = asyncio.run(_once(publisher))
        typer.echo(f"{count} 件を配信しました")
        return
    asyncio.run(_until_signalled(publisher))
    typer.echo("停止しました")


async def _once(publisher: Publisher) -> int:
    try:
        return await publisher.publish_once()
    finally:
        await publisher.close()


async def _until_signalled(publisher: Publisher) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await publisher.run(stop)


@transfer_app.command("decrypt")
def decrypt_command(
    file: Annotated[Path, typer.Argument(help="a sealed transfer file (.csv.enc)")],
    key: Annotated[Path, typer.Option("--key", help="the department system's key file")],
    out: Annotated[Path, typer.Option("--out", help="the CSV to write (mode 0600; not overwritten)")],
) -> None:
    """The department's side: open a sealed file with its key, check it against its manifest, write the CSV."""
    import hashlib

    from juki.transfer_delivery import files
    from juki.transfer_delivery.folder import MANIFEST_SUFFIX
    from juki.transfer_delivery.sealed import SealError, SystemKey, open_file

    manifest_path = Path(f"{file}{MANIFEST_SUFFIX}")
    digest = hashlib.sha256()
    try:
        manifest = files.verify(file) if manifest_path.exists() else None
        system_key = SystemKey.load(key)
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise _fail(f"出力先は既にあります（上書きしません）: {out}") from None
    except (SealError, ValueError, OSError) as exc:
        raise _fail(str(exc)) from None
    try:
        with os.fdopen(fd, "wb") as sink, file.open("rb") as source:
            for chunk in open_file(system_key, source):
                digest.update(chunk)
                sink.write(chunk)
        expected = ((manifest or {}).get("encryption") or {}).get("plaintext_sha256")
        if expected and expected != digest.hexdigest():
            raise SealError("復号した内容の SHA-256 がマニフェストと一致しません")
    except (SealError, OSError) as exc:
        out.unlink(missing_ok=True)  # never a part of a file left behind
        raise _fail(str(exc)) from None
    typer.echo(json.dumps({"out": str(out), "sha256": digest.hexdigest(), "verified": bool(expected)}))
