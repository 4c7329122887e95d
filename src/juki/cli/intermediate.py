"""`juki intermediate`: the city's 中間サーバー (docs/intermediate-server.md) — thin: build, call its services, print.

    juki intermediate serve  --db <register> [--ims-db URL] [--info-network info-network.json]
                             [--juki-net juki-net.json] [--interval S]
    juki intermediate verify --db <register> [--ims-db URL]

`serve` is the 中間サーバー's own process in production: its relay (the register's changes into the 副本, 符号
asked through the CS, the network's 照会 answered) until interrupted. The 符号 requests go through the CS's
database, which the CS's own process (`juki cs serve`) sends to J-LIS. `verify` proves the 情報提供等記録's hash
chain and prints one JSON object (exit 1 when it is broken). Without `--info-network`, JUKI_INFO_NETWORK_CONFIG,
else `info-network.json` beside a SQLite register (as `juki demo` writes it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from juki.cli.component import (
    build_component,
    info_network_config,
    juki_net_config,
    log_to_console,
    register_url,
    stop_signals,
)
from juki.cli.cs import DbOpt, IntervalOpt, JukiNetOpt

if TYPE_CHECKING:
    from juki.bootstrap import Juki

intermediate_app = typer.Typer(help="中間サーバー (the city's intermediate server)", no_args_is_help=True)

ImsDbOpt = Annotated[
    str | None, typer.Option("--ims-db", help="the 中間サーバー's own database URL (JUKI_IMS_DATABASE_URL)")
]
NetworkOpt = Annotated[
    Path | None, typer.Option("--info-network", help="info-network.json: the network and the PKI folder")
]


def _build(db: str | None, ims_db: str | None, network: Path | None = None, juki_net: Path | None = None,
           interval: float | None = None) -> Juki:  # fmt: skip
    """The register as the 中間サーバー's process sees it (cli/component.py)."""
    url = register_url(db)
    return build_component(url, ims_database_url=ims_db, info_network_config=info_network_config(url, network),
                           juki_net_config=juki_net_config(url, juki_net), ims_relay_seconds=interval)  # fmt: skip


@intermediate_app.command("serve")
def serve(
    db: DbOpt = None,
    ims_db: ImsDbOpt = None,
    info_network: NetworkOpt = None,
    juki_net: JukiNetOpt = None,
    interval: IntervalOpt = None,
) -> None:
    """Run the 中間サーバー's relay until interrupted."""
    import threading

    log_to_console()
    j = _build(db, ims_db, info_network, juki_net, interval)
    relay = j.intermediate_relay()
    target = j.settings.info_network_config or "なし（取込みのみ）"
    typer.echo(f"中間サーバー: 情報提供ネットワークシステム {target}")
    stopped = threading.Event()
    with stop_signals(stopped.set):  # the threads end after the pass or inbox read under way
        relay.start(j.settings.ims_relay_seconds)
        try:
            stopped.wait()
        finally:
            relay.stop()
    typer.echo("停止しました")


@intermediate_app.command("verify")
def verify(db: DbOpt = None, ims_db: ImsDbOpt = None) -> None:
    """Prove the 情報提供等記録's hash chain, as `juki audit verify` does the operation log's (the operator's command
    on the server); one JSON object; exit 1 when it is broken."""
    from juki.intermediate.services import provision_log

    j = _build(db, ims_db)
    with j.intermediate.transaction() as store:
        result = provision_log.verify(store)
    answer = {"ok": result.ok, "entries": result.entries, "first_broken": result.first_broken}
    typer.echo(json.dumps(answer, ensure_ascii=False))
    if not result.ok:
        raise typer.Exit(1)
