"""`juki sim my-portal`: a resident reads their やりとり履歴 with a demo My Number card (docs/my-usage.md).

    juki sim my-portal --db var/demo.db --card 0 --pin 1234            # prints GET /api/v1/my/usage's JSON
    juki sim my-portal --db var/demo.db --card 0 --pin 1234 --sign <challenge>   # the card's answer, for /my

The card is one of `demo-cards/cards.json` (by its place in the list or the start of its serial), as `juki sim kiosk`
takes it. The portal is the demo's server where `juki demo` noted it serves (`demo-server.json`, as the kiosk finds
it), signed in over HTTP (`/my/v1/challenges`, `/my/v1/sessions`, `/api/v1/my/usage`); when no server answers there
the same services are called directly over `--db`. `--sign` plays the card reader for the browser page: it signs the
page's challenge after the PIN and prints the answer to paste (or upload) there.
"""

from __future__ import annotations

import base64
import json
import sys
from typing import Annotated, Any

import httpx
import typer

from juki.domain.errors import DomainError
from juki.sim.pki import SimCard, WrongPin

DbOpt = Annotated[str, typer.Option("--db", help="SQLAlchemy URL or SQLite file path of the demo register")]


class Refused(Exception):
    """The portal refused a step: `code: message`."""


def card_answer(card: SimCard, challenge: str, pin: str) -> dict[str, Any]:
    """What the card reader gives the page: the certificate and the signature, or the chip's refusal of the PIN."""
    body: dict[str, Any] = {"card_certificate": card.certificate_pem}
    try:
        signature = card.sign(base64.b64decode(challenge), pin)
    except WrongPin:
        return body | {"pin_result": "incorrect"}
    return body | {"pin_result": "ok", "signature": base64.b64encode(signature).decode()}


def _expect(res: httpx.Response, status: int) -> Any:
    if res.status_code != status:
        from juki.sim.kiosk import problem

        raise Refused(problem(res))
    return res.json() if res.content else None


def over_http(base: str, card: SimCard, pin: str) -> dict[str, Any]:
    with httpx.Client(base_url=base, timeout=30) as client:
        challenge = _expect(client.post("/my/v1/challenges"), 201)
        body = {"challenge_id": challenge["challenge_id"], **card_answer(card, challenge["challenge"], pin)}
        session = _expect(client.post("/my/v1/sessions", json=body), 201)
        auth = {"Authorization": f"Bearer {session['session']}"}
        try:
            answer: dict[str, Any] = _expect(client.get("/api/v1/my/usage", headers=auth), 200)
        finally:
            client.delete("/my/v1/sessions/current", headers=auth)
    return answer


def direct(db: str, card: SimCard, pin: str) -> dict[str, Any]:
    """The same steps through the services over the register (no server running)."""
    from juki.bootstrap import build
    from juki.services import my_usage

    j = build(db)
    try:
        desk = j.kiosk_desk
        challenge = my_usage.new_challenge(j.uow, desk.clock)
        body = {"challenge_id": challenge["challenge_id"], **card_answer(card, challenge["challenge"], pin)}
        try:
            session = my_usage.sign_in(j.uow, desk, body, "juki sim my-portal")
            actor = my_usage.resident(j.uow, session["session"], "juki sim my-portal", desk.clock)
            answer = my_usage.usage(j.uow, actor, getattr(j, "provision_records", None))
            my_usage.sign_out(j.uow, actor, session["session"], desk.clock)
        except DomainError as refused:
            raise Refused(f"{refused.code}: {refused.message}") from None
        return answer
    finally:
        j.engine.dispose()


def _running(base: str) -> bool:
    try:
        return httpx.get(f"{base.rstrip('/')}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def my_portal(
    db: DbOpt = "var/demo.db",
    card: Annotated[str, typer.Option(help="cards.json の番号 (0…) またはシリアル番号")] = "0",
    pin: Annotated[str | None, typer.Option(help="暗証番号（省略時はカードの暗証番号）")] = None,
    sign: Annotated[
        str | None, typer.Option(help="/my の画面の確認用の値に署名し、カードの応答を表示する")
    ] = None,
    url: Annotated[str | None, typer.Option(help="接続するサーバー（省略時は juki demo のサーバー）")] = None,
) -> None:
    """自己情報（やりとり履歴）: sign in with a demo card and print GET /api/v1/my/usage's JSON."""
    from juki.sim import kiosk as sim

    listed = sim.demo_cards(sim.pki_dir(db))
    entry = sim.pick_card(listed, card) if listed is not None else None
    if entry is None:
        typer.echo(f"カード {card} がありません（{sim.cards_file(sim.pki_dir(db))}）", err=True)
        raise typer.Exit(2)
    sim_card = sim.load_card(entry)
    typed = pin or sim_card.pin
    if sign is not None:
        typer.echo(json.dumps(card_answer(sim_card, sign.strip(), typed), ensure_ascii=False))
        return
    base = url or sim.verify_base(db)
    try:
        answer = over_http(base, sim_card, typed) if url or _running(base) else direct(db, sim_card, typed)
    except Refused as refused:
        typer.echo(str(refused), err=True)
        raise typer.Exit(1) from None
    json.dump(answer, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
