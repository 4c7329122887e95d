"""`juki sim`: stand-ins for the outside peers — here, a コンビニ交付 kiosk (MFP) and the kiosk API's TLS server.

    juki sim kiosk [--db var/demo.db] [--card 0] [--pin 1234] [--scope self|household] [--relationship]
                   [--honseki] [--copies 1] [--out FILE.pdf] [--url https://host:port] [--always-open]
    juki sim kiosk-server [--db var/demo.db] [--host 127.0.0.1] [--port 8443] [--always-open]
    juki sim unlock-card --serial SERIAL [--db var/demo.db]

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
interrupted; `unlock-card` is the counter's PIN reset for a locked card.
"""

from __future__ import annotations

import base64
import json
import socket
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

sim_app = typer.Typer(help="外部システムの模擬 (simulators): コンビニ交付端末", no_args_is_help=True)
console = Console()

DbOpt = Annotated[str, typer.Option("--db", help="SQLAlchemy URL or SQLite file path of the demo register")]
ALWAYS_OPEN = {"kiosk_hours_start": "00:00", "kiosk_hours_end": "24:00", "kiosk_year_end_closed": False}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pki(db: str) -> Path:
    from juki.adapters.pki import kiosk_pki_dir
    from juki.config import load_settings

    return kiosk_pki_dir(load_settings(database_url=db))


def _cards(pki: Path) -> dict[str, Any]:
    path = pki.parent / "demo-cards" / "cards.json"
    if not path.exists():
        console.print(f"[red]{path} がありません。先に juki demo でデモ台帳を作成してください[/red]")
        raise typer.Exit(2)
    listed: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return listed


def _demo_server_file(db: str) -> Path:
    return _pki(db).parent / "demo-server.json"


def remember_demo_server(db: str, base_url: str) -> None:
    """`juki demo` notes where its clerk server answers, so that a kiosk's QR code can point there."""
    path = _demo_server_file(db)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"base_url": base_url}) + "\n", encoding="utf-8")


def _verify_base(db: str) -> str:
    """Where the demo's clerk server answers, as `juki demo` noted it; else the configured public base URL."""
    from juki.config import load_settings

    path = _demo_server_file(db)
    if path.exists():
        noted = json.loads(path.read_text(encoding="utf-8")).get("base_url")
        if isinstance(noted, str) and noted:
            return noted
    return load_settings().public_base_url


def _app(db: str, always_open: bool, verify_base: str) -> Any:
    from juki.bootstrap import build
    from juki.web.app import create_app

    overrides: dict[str, Any] = dict(ALWAYS_OPEN) if always_open else {}
    overrides["public_base_url"] = verify_base
    return create_app(build(db, **overrides))


def _problem(res: Any) -> str:
    try:
        error = res.json()["errors"][0]
        return f"{error['code']}: {error['message']}"
    except (ValueError, KeyError, IndexError):
        return f"HTTP {res.status_code}"


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
    import httpx

    from juki.adapters.kiosk_tls import BackgroundServer, kiosk_client_context, server_config
    from juki.adapters.pki import SimCard, WrongPin

    pki = _pki(db)
    listed = _cards(pki)
    entries = listed["cards"]
    entry = entries[int(card)] if card.isdigit() and int(card) < len(entries) else None
    entry = entry or next((c for c in entries if c["serial"].startswith(card.lower())), None)
    if entry is None:
        console.print(f"[red]カード {card} は cards.json にありません[/red]")
        raise typer.Exit(2)
    sim_card = SimCard.load(Path(entry["certificate"]), Path(entry["key"]), entry["pin"])
    kid = kiosk_id or listed["kiosk"]
    context = kiosk_client_context(pki, pki / "kiosks" / f"{kid}.pem", pki / "kiosks" / f"{kid}.key")
    server: Any = nullcontext()
    if url is None:
        port = _free_port()
        app = _app(db, always_open, verify_base or _verify_base(db))
        server = BackgroundServer(server_config(app, pki, port=port, log_level="warning"))
        url = f"https://127.0.0.1:{port}"
    with server, httpx.Client(base_url=url, verify=context, timeout=60) as client:
        console.print(f"端末 {kid} → {url}　カード {entry['serial'][:12]}…（{entry['note']}）")
        res = client.post("/kiosk/v1/challenges")
        if res.status_code != 201:
            console.print(f"[red]{_problem(res)}[/red]")
            raise typer.Exit(1)
        challenge = res.json()
        body: dict[str, Any] = {
            "challenge_id": challenge["challenge_id"],
            "card_certificate": sim_card.certificate_pem,
        }
        try:
            signature = sim_card.sign(base64.b64decode(challenge["challenge"]), pin or sim_card.pin)
            body |= {"pin_result": "ok", "signature": base64.b64encode(signature).decode()}
        except WrongPin:
            body["pin_result"] = "incorrect"
        res = client.post("/kiosk/v1/sessions", json=body)
        if res.status_code != 201:
            console.print(f"[red]{_problem(res)}[/red]")
            raise typer.Exit(1)
        session = res.json()
        headers = {"X-Kiosk-Session": session["session"]}
        console.print(f"ようこそ {session['holder']['name']} 様（世帯 {len(session['household'])} 人）")
        include = {"householder_and_relationship": relationship, "honseki": honseki}
        res = client.post(
            "/kiosk/v1/certificates",
            json={"scope": scope, "include": include, "copies": copies},
            headers=headers,
        )
        client.delete("/kiosk/v1/sessions/current", headers=headers)
        if res.status_code != 201:
            console.print(f"[red]{_problem(res)}[/red]")
            raise typer.Exit(1)
        number = res.headers["X-Issuance-Number"]
        path = out or Path("var") / f"kiosk-{number}.pdf"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(res.content)
        check = client.get(f"/verify/{number}", params={"sha256": res.headers["X-Content-SHA256"]})
        matches = check.status_code == 200 and check.json().get("matches") is True
        console.print(f"発行番号: {number}　手数料: {res.headers['X-Issuance-Fee']}円　PDF: {path}")
        console.print(f"照合URL: {res.headers['X-Verify-URL']}　（照合: {'一致' if matches else '不一致'}）")


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
    import uvicorn

    from juki.adapters.kiosk_tls import server_config

    pki = _pki(db)
    if not (pki / "server.pem").exists():
        console.print(f"[red]{pki}/server.pem がありません（juki demo が作成します）[/red]")
        raise typer.Exit(2)
    config = server_config(
        _app(db, always_open, verify_base or _verify_base(db)), pki, host=host, port=port, log_level="info"
    )
    console.print(f"コンビニ交付 API: https://{host}:{port}/kiosk/v1 （相互TLS, 信頼点 {pki}）")
    uvicorn.Server(config).run()


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
