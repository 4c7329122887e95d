"""`juki sim info-network`: the simulated 情報提供ネットワークシステム and a requesting body (shared/spec/API.md,
中間サーバー).

    juki sim info-network --data DIR [--host 127.0.0.1] [--port 8446] [--city-code 132110]
    juki sim info-network query --config info-network.json --requester NAME --basis BASIS --resident-code CODE
                                [--information 住民票関係情報] [--items a,b] [--link-code CODE] [--query-id ID]
    juki sim info-network deliveries --config info-network.json --query-id ID

Without a subcommand it runs the network over mutual TLS until interrupted, its CA and certificates made in
`--data` on the first start, and writes `info-network.json` there for the 中間サーバー. `query` sends one 照会 as
a requesting body and prints one JSON object `{"status", "data", "message"}`: exit 0 whatever the status, 1 when
the 照会 could not be sent or the city did not answer, 2 when the network refused it as sent. `deliveries` prints
the answers the network delivered later for a query id (a held answer released or refused). The simulator lives in
juki.sim.info_network; this module parses the arguments and prints.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from juki.domain.intake import CITY_CODE

info_network_app = typer.Typer(
    help="模擬情報提供ネットワークシステム: --data DIR で起動、query で照会機関として照会",
    invoke_without_command=True,
)

ConfigOpt = Annotated[Path, typer.Option("--config", help="info-network.json（juki demo が作成）")]


def _fail(message: str, code: int = 1) -> typer.Exit:
    print(message, file=sys.stderr)
    return typer.Exit(code)


@info_network_app.callback()
def info_network(
    ctx: typer.Context,
    data: Annotated[
        Path | None, typer.Option("--data", help="データフォルダ（認証局・証明書・符号・照会）")
    ] = None,
    host: str = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8446,
    city_code: Annotated[str, typer.Option("--city-code", help="中間サーバーの市町村コード")] = CITY_CODE,
) -> None:
    """Run the simulated 情報提供ネットワークシステム (mutual TLS) until interrupted."""
    from juki.sim.info_network import serve
    from juki.sim.info_network.pki import ensure_pki
    from juki.sim.serving import write_link_config

    if ctx.invoked_subcommand is not None:
        return
    if data is None:
        raise _fail("--data でデータフォルダを指定してください", 2)
    ensure_pki(data, city_code)
    url = f"https://{host}:{port}"
    config = write_link_config(data / "info-network.json", url, ".")
    print(f"模擬情報提供ネットワークシステム: {url} （相互TLS, 認証局 {data / 'ca.pem'}）　設定: {config}")
    serve(data, host, port, city_code=city_code)


@info_network_app.command("query")
def query(
    config: ConfigOpt,
    requester: Annotated[
        str, typer.Option("--requester", help="照会機関（provision_recipients.csv の recipient）")
    ],
    basis: Annotated[str, typer.Option("--basis", help="根拠（同じ行の legal_basis）")],
    resident_code: Annotated[
        str | None, typer.Option("--resident-code", help="照会する人の住民票コード")
    ] = None,
    information: Annotated[str, typer.Option("--information", help="特定個人情報名")] = "住民票関係情報",
    items: Annotated[
        str | None, typer.Option("--items", help="照会する項目（カンマ区切り、省略時は全項目）")
    ] = None,
    link_code: Annotated[str | None, typer.Option("--link-code", help="符号をそのまま指定（試験用）")] = None,
    query_id: Annotated[str | None, typer.Option("--query-id", help="照会番号（省略時は自動）")] = None,
) -> None:
    """Send one 照会 as a requesting body; print the answer as one JSON object."""
    from juki.intermediate.wire import NetworkUnreachable
    from juki.sim.info_network.query import Ask, NoAnswer, QueryRefused, send_query

    if (resident_code is None) == (link_code is None):
        raise _fail("--resident-code か --link-code のどちらか一方を指定してください", 2)
    wanted = None if items is None else tuple(i.strip() for i in items.split(",") if i.strip())
    ask = Ask(requester, basis, resident_code, link_code, information, wanted, query_id)
    try:
        answer = send_query(config, ask)
    except NoAnswer as exc:
        raise _fail(f"照会先から応答がありません（{exc}）") from None
    except NetworkUnreachable as exc:
        raise _fail(f"情報提供ネットワークシステムに接続できません: {exc}") from None
    except QueryRefused as exc:
        raise _fail(f"照会を受け付けられませんでした: {exc}", 2) from None
    print(
        json.dumps(
            {"status": answer.status, "data": answer.data, "message": answer.message}, ensure_ascii=False
        )
    )


@info_network_app.command("deliveries")
def deliveries(
    config: ConfigOpt,
    query_id: Annotated[str, typer.Option("--query-id", help="照会番号")],
) -> None:
    """Print the answers the network delivered later for a 照会 (a held answer released or refused)."""
    from juki.intermediate.wire import NetworkUnreachable
    from juki.sim.info_network import query as requester

    try:
        rows = requester.deliveries(config, query_id)
    except NetworkUnreachable as exc:
        raise _fail(f"情報提供ネットワークシステムに接続できません: {exc}") from None
    print(json.dumps({"query_id": query_id, "deliveries": rows}, ensure_ascii=False))
