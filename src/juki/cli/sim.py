"""`juki sim`: stand-ins for the outside peers — a コンビニ交付 kiosk (MFP), the kiosk API's TLS server, and the
住基ネット beyond the city.

    juki sim kiosk [--db var/demo.db] [--card 0] [--pin 1234] [--scope self|household] [--relationship]
                   [--honseki] [--copies 1] [--out FILE.pdf] [--url https://host:port] [--always-open]
    juki sim kiosk-server [--db var/demo.db] [--host 127.0.0.1] [--port 8443] [--always-open]
    juki sim unlock-card --serial SERIAL [--db var/demo.db]
    juki sim juki-net --data DIR [--host 127.0.0.1] [--port 8445] [--info-network info-network.json]
    juki sim juki-net media-import --data DIR FILE

`kiosk` plays an MFP with a demo card (`demo-cards/cards.json` beside the database, written by `juki demo`): it asks
the server for a challenge, has the simulated card sign it after the PIN (the card's own PIN unless `--pin`
says otherwise; a wrong PIN is reported to the server, three lock the card), opens a card session, fetches the
card holder's 住民票の写し (`--scope household`: the whole household's), writes the PDF, prints the 発行番号 and
the verify URL, checks the PDF against `/verify`, and ends the session. Without `--url` it starts its own kiosk
TLS server on a free port over `--db` (mutual TLS: the demo kiosk's client certificate from `kiosk-pki/kiosks/`).
The certificate's QR code points at `--verify-base`: by default the clerk server `juki demo` last said it serves the
demo on (`demo-server.json` beside the demo's cards), else JUKI_PUBLIC_BASE_URL (http://localhost:8000/).
`--always-open` lifts the service hours of a server it starts (6:30–23:00 otherwise).

`kiosk-server` serves the kiosk API over mutual TLS (client certificates of the kiosk CA required) until
interrupted; `unlock-card` is the counter's PIN reset for a locked card. `juki-net` runs the simulated 住基ネット
(prefecture server, national server, another city's CS; docs/juki-net-simulator.md) over mutual TLS until
interrupted, its CA and certificates made in `--data` on the first start, and writes `juki-net.json` there for the
CS (`juki cs serve --juki-net DIR/juki-net.json`); with `--info-network`, its J-LIS passes the cities'
符号取得の要求 on to that 情報提供ネットワークシステム (without, it answers that the network is unreachable).
`juki-net media-import` plays the prefecture receiving a city's
notices on media (標準仕様書 j1090, docs/cs-media.md): FILE (the notices file or its manifest, from
`juki cs media-export`) applied to the simulator's store in `--data` with the link's checks, its answers file and
manifest written beside it for `juki cs media-answers`. The simulators themselves live in
`juki.sim` (here: `juki.sim.kiosk`); this module parses the arguments and prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from juki.cli.card_center import card_center_app
from juki.cli.info_network import info_network_app
from juki.cli.my_portal import my_portal

sim_app = typer.Typer(
    help="外部システムの模擬 (simulators): コンビニ交付端末, 住基ネット", no_args_is_help=True
)
console = Console()

DbOpt = Annotated[str, typer.Option("--db", help="SQLAlchemy URL or SQLite file path of the demo register")]
sim_app.command("my-portal")(my_portal)  # 自己情報（やりとり履歴） with a demo card (docs/my-usage.md)


def remember_demo_server(db: str, base_url: str) -> None:
    """`juki demo` notes where its clerk server answers, so that a kiosk's QR code can point there."""
    from juki.sim import kiosk as sim

    sim.remember_demo_server(db, base_url)


@sim_app.command("kiosk")
def kiosk(
    db: DbOpt = "var/demo.db",
    card: Annotated[str, typer.Option(help="cards.json の番号 (0…) またはシリアル番号")] = "0",
    pin: Annotated[str | None, typer.Option(help="入力する暗証番号（省略時はカードの暗証番号）")] = None,
    scope: Annotated[str, typer.Option(help="self (本人) / household (世帯全員)")] = "self",
    relationship: Annotated[bool, typer.Option("--relationship", help="世帯主・続柄を記載")] = False,
    honseki: Annotated[bool, typer.Option("--honseki", help="本籍・筆頭者を記載")] = False,
    copies: int = 1,
    out: Annotated[
        Path | None, typer.Option(help="PDF の書き出し先（省略時は var/kiosk-<発行番号>.pdf）")
    ] = None,
    url: Annotated[str | None, typer.Option(help="接続するキオスク API（省略時はこの場で起動）")] = None,
    kiosk_id: Annotated[str | None, typer.Option("--kiosk", help="端末ID（省略時はデモ端末）")] = None,
    always_open: Annotated[
        bool, typer.Option("--always-open", help="起動するサーバーの時間制限を外す")
    ] = False,
    verify_base: Annotated[
        str | None, typer.Option(help="QRコードの照合先（省略時は juki demo が提供する画面）")
    ] = None,
) -> None:
    """Play a kiosk (MFP): card + PIN → 住民票の写し (PDF), 発行番号 and verify URL."""
    from juki.sim import kiosk as sim

    pki = sim.pki_dir(db)
    listed = sim.demo_cards(pki)
    if listed is None:
        console.print(
            f"[red]{sim.cards_file(pki)} がありません。先に juki demo でデモ台帳を作成してください[/red]"
        )
        raise typer.Exit(2)
    entry = sim.pick_card(listed, card)
    if entry is None:
        console.print(f"[red]カード {card} は cards.json にありません[/red]")
        raise typer.Exit(2)
    sim_card = sim.load_card(entry)
    kid = kiosk_id or listed["kiosk"]
    request = sim.Request(scope, relationship, honseki, copies, pin)
    with (
        sim.kiosk_server(db, url, always_open, verify_base) as base,
        sim.kiosk_client(pki, kid, base) as client,
    ):
        console.print(f"端末 {kid} → {base}　カード {entry['serial'][:12]}…（{entry['note']}）")
        try:
            printed = sim.play(client, sim_card, request, out, console.print)
        except sim.KioskRefused as refused:
            console.print(f"[red]{refused}[/red]")
            raise typer.Exit(1) from None
        console.print(f"発行番号: {printed.number}　手数料: {printed.fee}円　PDF: {printed.path}")
        console.print(f"照合URL: {printed.verify_url}　（照合: {'一致' if printed.matches else '不一致'}）")


@sim_app.command("kiosk-server")
def kiosk_server(
    db: DbOpt = "var/demo.db",
    host: str = "127.0.0.1",
    port: int = 8443,
    always_open: Annotated[bool, typer.Option("--always-open", help="サービス提供時間の制限を外す")] = False,
    verify_base: Annotated[
        str | None, typer.Option(help="QRコードの照合先（省略時は juki demo が提供する画面）")
    ] = None,
) -> None:
    """Serve the kiosk API over mutual TLS (a client certificate of the kiosk CA is required)."""
    from juki.sim import kiosk as sim

    pki = sim.pki_dir(db)
    if not (pki / "server.pem").exists():
        console.print(f"[red]{pki}/server.pem がありません（juki demo が作成します）[/red]")
        raise typer.Exit(2)
    server = sim.kiosk_tls_server(db, always_open, verify_base, host, port)
    console.print(f"コンビニ交付 API: https://{host}:{port}/kiosk/v1 （相互TLS, 信頼点 {pki}）")
    server.run()


@sim_app.command("unlock-card")
def unlock_card(serial: Annotated[str, typer.Option()], db: DbOpt = "var/demo.db") -> None:
    """The counter resets a locked card's PIN (暗証番号の再設定): the failure count starts again."""
    from juki.bootstrap import build
    from juki.domain.errors import DomainError
    from juki.policy.roles import Actor
    from juki.services import kiosk_registry

    j = build(db)
    clerk = Actor("counter", "窓口（模擬）", "clerk", "sim", procedure="resident_record")
    try:
        kiosk_registry.reset_pin_lock(j.uow, clerk, serial.lower())
    except DomainError as e:
        console.print(f"[red]{e.code}: {e.message}[/red]")
        raise typer.Exit(1) from None
    console.print(f"カード {serial} のロックを解除しました")


juki_net_app = typer.Typer(
    help="模擬住基ネット (the simulated 住基ネット): --data DIR で起動、media-import で媒体の通知を取込み",
    invoke_without_command=True,
)
sim_app.add_typer(juki_net_app, name="juki-net")
sim_app.add_typer(card_center_app, name="card-center")
sim_app.add_typer(info_network_app, name="info-network")


@juki_net_app.callback()
def juki_net(
    ctx: typer.Context,
    data: Annotated[
        Path | None, typer.Option("--data", help="データフォルダ（認証局・証明書・受信した通知）")
    ] = None,
    host: str = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8445,
    info_network: Annotated[
        Path | None,
        typer.Option(
            "--info-network",
            help="J-LIS が符号の生成を依頼する情報提供ネットワークシステム（info-network.json）",
        ),
    ] = None,
) -> None:
    """Run the simulated 住基ネット (mutual TLS) until interrupted."""
    from juki.sim.juki_net import serve
    from juki.sim.juki_net.pki import ensure_pki
    from juki.sim.serving import write_link_config

    if ctx.invoked_subcommand is not None:
        return
    if data is None:
        console.print("[red]--data でデータフォルダを指定してください[/red]")
        raise typer.Exit(2)
    ensure_pki(data)
    url = f"https://{host}:{port}"
    config = write_link_config(data / "juki-net.json", url, ".")
    console.print(
        f"模擬住基ネット: {url} （相互TLS, 認証局 {data / 'ca.pem'}）　CS の設定: {config}",
        soft_wrap=True,
        markup=False,
        highlight=False,
    )
    serve(data, host, port, info_network)


@juki_net_app.command("media-import")
def media_import(
    file: Annotated[
        Path, typer.Argument(help="媒体の通知ファイル（.jsonl）またはその管理情報（.manifest.json）")
    ],
    data: Annotated[Path, typer.Option("--data", help="模擬住基ネットのデータフォルダ")],
) -> None:
    """The prefecture takes in a city's notices on media: applied in order with the link's checks, answers written
    beside the file. A file that does not match its manifest is refused whole (exit 2)."""
    from juki.cs.domain.media import MediaFileError
    from juki.sim.juki_net.media import import_file

    try:
        done = import_file(data, file)
    except MediaFileError as refused:
        console.print(f"{refused.code}: {refused.message}", markup=False, highlight=False)
        raise typer.Exit(2) from None
    counts = done.counts
    console.print(
        f"取込みました: 受理 {counts['accepted']}件、受理済み（重複）{counts['duplicate']}件、"
        f"エラー {counts['refused']}件　回答: {done.manifest_path}",
        soft_wrap=True,
        markup=False,
        highlight=False,
    )
