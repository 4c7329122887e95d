"""`juki pia render`: the PIA's 別紙1 and 別紙2 from the transfer policy in force (API.md "Transfer feed and the PIA")."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

pia_app = typer.Typer(help="特定個人情報保護評価書の別紙（提供先・移転先一覧）")


@pia_app.command("render")
def render(
    out: Annotated[Path, typer.Option("--out", help="pia.html と pia.pdf を書き出すフォルダ")],
    db: Annotated[str | None, typer.Option("--db")] = None,
) -> None:
    """DIR/pia.html and DIR/pia.pdf with 別紙1 and 別紙2, each in full, from the policy the register enforces."""
    from juki.adapters.pia_render import write
    from juki.bootstrap import build
    from juki.services.transfer_feed import stored_policy

    j = build(db)
    try:
        policy = stored_policy(j.uow)
    finally:
        j.engine.dispose()
    html, pdf = write(policy, out)
    typer.echo(f"{html}\n{pdf}")
