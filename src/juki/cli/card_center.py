"""The simulated J-LIS card center from a shell (sim/card_center.py; docs/cards.md):

    juki sim card-center apply-online --db var/demo.db --resident-code CODE [--kind new] [--mail]
    juki sim card-center advance --db var/demo.db --application C20251206-000001 [--to arrived]
    juki sim card-center revoke --db var/demo.db --application C20251206-000001

Each prints the application as the register now has it (JSON: no name, no 個人番号). `advance` reports the next step
J-LIS would report (申請 → 申請受付 → 作成中 → 市区町村到着); at 市区町村到着 it makes the card and prints where its
certificate and key were written. The Typer app is `card_center_app`, ready to be added under `juki sim`.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console

card_center_app = typer.Typer(
    help="模擬 J-LIS 個人番号カード管理（申請受付・作成中・市区町村到着・廃止の報告）", no_args_is_help=True
)
console = Console(soft_wrap=True)  # paths and JSON whole, whatever the terminal width
DbOpt = Annotated[str, typer.Option("--db", help="SQLAlchemy URL or SQLite file path of the register")]
ApplicationOpt = Annotated[str, typer.Option("--application", help="申請番号 (C + 日付 + 番号)")]


def _print(answer: dict[str, Any]) -> None:
    console.print_json(json.dumps(answer, ensure_ascii=False))


def _run(call: Any) -> Any:
    from juki.domain.errors import DomainError

    try:
        return call()
    except DomainError as e:
        console.print(f"[red]{e.code}: {e.message}[/red]")
        raise typer.Exit(1) from None
    except (LookupError, ValueError) as e:
        console.print(f"[red]{e}[/red]")
        raise typer.Exit(1) from None


@card_center_app.command("apply-online")
def apply_online(
    resident_code: Annotated[str, typer.Option("--resident-code", help="申請者の住民票コード")],
    db: DbOpt = "var/demo.db",
    kind: Annotated[str, typer.Option(help="new (新規) / reissue (再交付) / renewal (更新)")] = "new",
    mail: Annotated[bool, typer.Option("--mail", help="郵送申請（省略時はオンライン申請）")] = False,
) -> None:
    """J-LIS took in an application directly: reported to the register as 申請受付."""
    from juki.bootstrap import build
    from juki.sim import card_center

    j = build(db)
    channel = "mail" if mail else "online"
    _print(_run(lambda: card_center.apply_online(j, resident_code, kind, channel=channel)))


@card_center_app.command("advance")
def advance(
    application: ApplicationOpt,
    db: DbOpt = "var/demo.db",
    to: Annotated[str | None, typer.Option(help="報告する状態（省略時は次の段階）")] = None,
) -> None:
    """Report the application's next step as J-LIS would (at 市区町村到着, with the card it made)."""
    from juki.bootstrap import build
    from juki.sim import card_center

    j = build(db)
    report = _run(lambda: card_center.advance(j, application, to))
    _print(report.application)
    if report.card is not None:
        folder = card_center.cards_dir(j)
        console.print(f"カードの電子証明書: {folder / (report.card.serial + '.pem')}（秘密鍵は同名の .key）")


@card_center_app.command("revoke")
def revoke(application: ApplicationOpt, db: DbOpt = "var/demo.db") -> None:
    """J-LIS's 廃止 of the application (the card could not be made)."""
    from juki.bootstrap import build
    from juki.sim import card_center

    j = build(db)
    _print(_run(lambda: card_center.revoke(j, application)))


if __name__ == "__main__":  # pragma: no cover - `python -m juki.cli.card_center`
    card_center_app()
