"""`juki`: the command line (thin: parse arguments, call services, print)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from juki.cli.cs import cs_app
from juki.cli.intermediate import intermediate_app
from juki.cli.pia import pia_app
from juki.cli.sim import remember_demo_server, sim_app
from juki.cli.transfer import transfer_app
from juki.domain.errors import DomainError

if TYPE_CHECKING:
    from fastapi import FastAPI

    from juki.bootstrap import Juki
    from juki.cs.services.relay import Relay
    from juki.intermediate.services.relay import Relay as IntermediateRelay
    from juki.policy.roles import Actor
    from juki.sim.info_network import Running as InfoNetworkRunning
    from juki.sim.juki_net import Running

app = typer.Typer(help="juki 住民基本台帳システム", no_args_is_help=True)
audit_app = typer.Typer(help="操作ログ (operation log)")
app.add_typer(audit_app, name="audit")
keys_app = typer.Typer(help="個人番号の暗号鍵 (My Number encryption keys, JUKI_KEY_FILE)")
app.add_typer(keys_app, name="keys")
app.add_typer(sim_app, name="sim")  # 外部システムの模擬: コンビニ交付端末, 住基ネット (cli/sim.py)
app.add_typer(cs_app, name="cs")  # 市町村CS (cli/cs.py)
app.add_typer(transfer_app, name="transfer")  # 庁内連携: ファイル連携・プッシュ配信 (cli/transfer.py)
app.add_typer(pia_app, name="pia")  # 特定個人情報保護評価書の別紙1・別紙2 (cli/pia.py)
app.add_typer(intermediate_app, name="intermediate")  # 中間サーバー (cli/intermediate.py)
console = Console()

DbOpt = Annotated[
    str | None, typer.Option("--db", help="SQLAlchemy URL or SQLite file path (JUKI_DATABASE_URL)")
]


def _db(db: str | None) -> str:
    from juki.config import load_settings

    return db or load_settings().database_url


@app.command()
def init(db: DbOpt = None, admin: str = "admin") -> None:
    """Create or migrate the schema; create the first administrator."""
    from juki.bootstrap import build
    from juki.services.auth import first_administrator

    j = build(_db(db))
    created = first_administrator(j.uow, admin)
    if created is None:
        console.print("スキーマを最新にしました（管理者は作成済みです）")
        return
    password, secret = created
    console.print(f"管理者 {admin} を作成しました。パスワード: {password}  TOTPシークレット: {secret}")


def _local_origin(port: int) -> str | None:
    """WebAuthn refuses IP addresses as the site: a server on this machine is reached as http://localhost:<port>,
    unless JUKI_WEBAUTHN_ORIGIN says otherwise (None leaves the setting to the environment)."""
    import os

    return None if "JUKI_WEBAUTHN_ORIGIN" in os.environ else f"http://localhost:{port}"


def _local_base(port: int) -> str | None:
    """Printed QR codes point at this server when it runs here (unless JUKI_PUBLIC_BASE_URL is set)."""
    import os

    return None if "JUKI_PUBLIC_BASE_URL" in os.environ else f"http://localhost:{port}/"


def _run(j: Juki, host: str, port: int, workers: int = 1, ims_relay: IntermediateRelay | None = None) -> None:
    """uvicorn, with its X-Forwarded-For handling off once a TLS terminator is trusted (JUKI_TRUSTED_PROXIES): the
    kiosk API must see the proxy's own address, which a forwarded header could otherwise claim
    (docs/kiosk-behind-a-proxy.md).

    With more than one worker, each worker process builds its own app (`worker_app`) from the settings this
    command exported; the schema is migrated once, here, before they start. The workers share the database and
    the key files, so any of them serves a clerk's next request (the UI's cookie and certificate hand-over too).
    `ims_relay`: the 中間サーバー's relay running in this process, which sends a supervisor's release at once."""
    import uvicorn

    from juki.web.app import create_app

    proxied = bool(j.settings.trusted_proxy_networks())
    if workers > 1:
        _export(j)
        uvicorn.run(
            "juki.cli.main:worker_app",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_level="info",
            proxy_headers=not proxied,
        )
        return
    app = create_app(j)
    app.state.intermediate_relay = ims_relay
    uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=not proxied)


def _export(j: Juki) -> None:
    """The settings a serving command chose, for its worker processes (they read the environment)."""
    import os

    os.environ["JUKI_DATABASE_URL"] = j.settings.database_url
    os.environ["JUKI_WEBAUTHN_ORIGIN"] = j.settings.webauthn_origin
    os.environ["JUKI_PUBLIC_BASE_URL"] = j.settings.public_base_url


def worker_app() -> FastAPI:
    """One worker process's app (`juki serve --workers N`), built from the environment `_export` set."""
    from juki.bootstrap import build
    from juki.web.app import create_app

    return create_app(build(run_migrations=False))


@app.command()
def serve(
    db: DbOpt = None,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, help="worker processes (uvicorn)")] = 1,
) -> None:
    """Serve an existing register."""
    from juki.bootstrap import build

    j = build(_db(db), webauthn_origin=_local_origin(port), public_base_url=_local_base(port))
    _run(j, host, port, workers)


@app.command()
def demo(
    db: Annotated[str, typer.Option("--db")] = "var/demo.db",
    port: int = 8000,
    residents: int = 2000,
    seed: int = 1,
    host: str = "127.0.0.1",
    no_serve: Annotated[bool, typer.Option("--no-serve", help="build the register and stop")] = False,
) -> None:
    """Build (or reuse) a synthetic 小平市 and serve it."""
    from juki.bootstrap import build
    from juki.demo.generator import build_demo

    path = Path(db)
    path.parent.mkdir(parents=True, exist_ok=True)
    j = build(db, webauthn_origin=_local_origin(port), public_base_url=_local_base(port))
    build_demo(
        j, residents=residents, seed=seed, accounts_path=path.parent / "demo-accounts.json", console=console
    )
    base = j.settings.public_base_url
    remember_demo_server(db, base)
    network, juki_net, j = _start_demo_links(db, j)
    # Commands are printed whole (soft_wrap): a terminal's width must not break one across lines.
    console.print(
        f"コンビニ交付の模擬（デモのカードで住民票の写しを取得）: "
        f"juki sim kiosk --db {db} --always-open --verify-base {base}",
        soft_wrap=True,
        markup=False,
        highlight=False,
    )
    _transfer_hint(path.parent / "demo-accounts.json", port)
    relay, ims_relay = j.cs_relay(), j.intermediate_relay()
    try:
        # Before serving: the demo's people into the CS and on to the prefecture, and the 住民票コード stock topped
        # up from J-LIS (API.md: /healthz answers only once the CS holds a stock) — so that a change at the counter
        # never waits behind the first, biggest pass.
        relay.run_once()
        _stock_before_serving(relay)
        if no_serve:
            return
        relay.start(j.settings.cs_relay_seconds)
        ims_relay.start(j.settings.ims_relay_seconds)
        console.print(
            f"http://{'localhost' if host == '127.0.0.1' else host}:{port}/ で提供します"
            f"（アカウント: {path.parent / 'demo-accounts.json'}）",
            soft_wrap=True,
            markup=False,
            highlight=False,
        )
        _run(j, host, port, ims_relay=ims_relay)
    finally:
        ims_relay.stop(timeout=12)
        relay.stop()
        juki_net.stop()
        network.stop()


def _transfer_hint(accounts: Path, port: int) -> None:
    """How a department system polls the 庁内連携 feed (docs/transfer.md); its secret stays in the accounts file."""
    pick = f"""jq -r '.[]|select(.role=="department_system" and .department=="保険年金課")|.client_id+":"+.client_secret' {accounts}"""
    base = f"http://127.0.0.1:{port}"
    console.print(
        f'庁内連携（保険年金課の業務システム）: TOKEN=$(curl -s -u "$({pick})" -d grant_type=client_credentials '
        f"{base}/oauth/token | jq -r .access_token); "
        f"curl -s -H \"Authorization: Bearer $TOKEN\" '{base}/api/v1/transfer/changes?wait=30'",
        soft_wrap=True,
        markup=False,
        highlight=False,
    )


def _stock_before_serving(relay: Relay, seconds: float = 60.0) -> None:
    """A 住民票コード stock before the demo serves: a birth at the counter needs a code from it (標準仕様書 j870). The
    first pass has topped it up; a block the register refused is followed by another after the relay's wait."""
    import time

    from juki.cs.wire import Unreachable

    deadline = time.monotonic() + seconds
    while True:
        try:
            stock = relay.top_up()
        except Unreachable as exc:
            console.print(f"住民票コードの在庫を模擬J-LISから補充できません: {exc}", markup=False)
            raise typer.Exit(1) from None
        if stock.available > 0:
            console.print(f"住民票コードの在庫: {stock.available:,}件", markup=False)
            return
        if time.monotonic() > deadline:
            console.print(
                "住民票コードの在庫を補充できませんでした（市町村CSのJ-LISのエラーを確認してください）"
            )
            raise typer.Exit(1)
        time.sleep(1)


def _start_demo_links(db: str, j: Juki) -> tuple[InfoNetworkRunning, Running, Juki]:
    """The simulated 情報提供ネットワークシステム and 住基ネット beside the demo's database, `info-network.json` and
    `juki-net.json` pointing at them, and the register wired to both (the CS's and the 中間サーバー's relays run in
    the serving process: a move-in at the counter reaches the prefecture, and has its 符号, in seconds). The network
    starts first: the 住基ネット's J-LIS asks it for the 符号 (符号取得)."""
    import dataclasses

    from juki.demo.info_network import start_info_network
    from juki.demo.juki_net import start_juki_net

    network, network_config = start_info_network(db, city_code=j.settings.city_code)
    running, config = start_juki_net(db, info_network=network_config)
    console.print(
        f"模擬住基ネット: {running.url}（{config}）　整合性確認: juki cs check --db {db}",
        soft_wrap=True,
        markup=False,
        highlight=False,
    )
    console.print(
        f"模擬情報提供ネットワークシステム: {network.url}（{network_config}）　照会: juki sim info-network query "
        f"--config {network_config} --requester 全国健康保険協会 --basis 番号法第19条第8号別表第2の2の項 "
        "--resident-code <住民票コード>",
        soft_wrap=True,
        markup=False,
        highlight=False,
    )
    update = {"juki_net_config": str(config), "info_network_config": str(network_config)}
    return network, running, dataclasses.replace(j, settings=j.settings.model_copy(update=update))


UserOpt = Annotated[str, typer.Option("--user", envvar="JUKI_USER", help="administrator's username")]
PasswordOpt = Annotated[str, typer.Option("--password", envvar="JUKI_PASSWORD", prompt=True, hide_input=True)]
OtpOpt = Annotated[str, typer.Option("--otp", envvar="JUKI_OTP", prompt="ワンタイムコード")]


def _sign_in(j: Juki, user: str, password: str, otp: str) -> Actor:
    """Sign the operator in as on the web: a backup is an administrator's act and is logged as theirs."""
    from juki.services import auth

    token = auth.login(j.uow, user, password, otp, "cli", 300, j.settings.max_failed_logins)
    return auth.authenticate(j.uow, token.access_token)


@app.command()
def backup(
    out: Annotated[Path, typer.Option("--out")],
    user: UserOpt = "admin",
    password: PasswordOpt = "",
    otp: OtpOpt = "",
    witness: Annotated[str, typer.Option("--witness", help="立会者の職員ID（本人以外）")] = "",
    purpose: Annotated[str, typer.Option("--purpose", help="目的")] = "定期バックアップ",
    medium: Annotated[str, typer.Option("--medium", help="媒体")] = "外付けHDD",
    db: DbOpt = None,
) -> None:
    """A consistent copy of the register (admin only, logged, recorded as a media export with its witness).

    My Numbers are in the backup as they are stored: encrypted. The backup is useless without the key file
    (JUKI_KEY_FILE; by default juki-keys.json next to the SQLite file): keep a copy of the key file, apart from
    the backups, and restore with the same key file.
    """
    from juki.adapters.backup import dump
    from juki.bootstrap import build
    from juki.services.backup import backup as run_backup

    j = build(_db(db))
    media = {"witness_id": witness, "purpose": purpose, "medium": medium}
    try:
        count = run_backup(
            j.uow, _sign_in(j, user, password, otp), lambda path: dump(j.engine, path), out, media
        )
    except DomainError as exc:
        console.print(f"[red]{exc.message}[/red] ({exc.code})")
        raise typer.Exit(1) from exc
    console.print(f"バックアップを作成しました: {out} ({count} 行)")


@app.command()
def restore(from_: Annotated[Path, typer.Option("--from")], db: DbOpt = None) -> None:
    """Restore a backup into an empty register (run by the server's operator before anyone can sign in).

    Use the key file of the register the backup came from (JUKI_KEY_FILE): without it the My Numbers in the
    restored register cannot be decrypted.
    """
    from juki.adapters.backup import load
    from juki.bootstrap import build
    from juki.policy.roles import SYSTEM
    from juki.services.backup import restore as run_restore

    j = build(_db(db))
    count = run_restore(j.uow, SYSTEM, lambda path: load(j.engine, path), from_)
    console.print(f"復元しました: {count} 行")


@keys_app.command("rotate")
def keys_rotate(db: DbOpt = None) -> None:
    """Add a new active encryption key and re-encrypt the current My Numbers with it.

    Re-encrypted: the current register (residents) and the secret part of filings awaiting approval. The history
    is append-only and is not rewritten: its entries stay encrypted with the keys they were written with, which
    the key file keeps. The blind-index key does not rotate.
    """
    from juki.adapters.keys import rotate_keys
    from juki.adapters.vault import key_file_for
    from juki.bootstrap import build
    from juki.policy.roles import SYSTEM
    from juki.services.audit import LogEntry

    j = build(_db(db))
    done = rotate_keys(j.engine, key_file_for(j.settings.database_url, j.settings.key_file))
    detail = f"key={done.key_id} residents={done.residents} filings={done.filings}"
    with j.uow() as uow:
        uow.log(SYSTEM, LogEntry("keys:rotate", detail=detail))
        uow.commit()
    console.print(
        f"鍵 {done.key_id} を追加しました。再暗号化: 住民 {done.residents} 件・届出 {done.filings} 件"
    )


@audit_app.command("verify")
def audit_verify(db: DbOpt = None) -> None:
    """Check the operation log's hash chain."""
    from juki.bootstrap import build
    from juki.services.audit_queries import verify_chain

    count, bad = verify_chain(build(_db(db), run_migrations=False).uow)
    if bad is None:
        console.print(f"OK {count} entries")
        return
    console.print(f"BROKEN at entry {bad} ({count} entries intact before it)")
    raise typer.Exit(1)


if __name__ == "__main__":
    app()
