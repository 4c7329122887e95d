"""A コンビニ交付 kiosk (MFP) stand-in, and the kiosk API's TLS server for it (`juki sim kiosk|kiosk-server`).

The kiosk plays a demo card (`demo-cards/cards.json` beside the database, written by `juki demo`): it asks the
server for a challenge, has the simulated card sign it after the PIN (a wrong PIN is reported to the server, three
lock the card), opens a card session, fetches the card holder's 住民票の写し, writes the PDF, checks it against
`/verify`, and ends the session — over mutual TLS with the demo kiosk's client certificate (`kiosk-pki/kiosks/`).
Without a server to call it starts its own over the database, on a free port of this machine.

The certificate's QR code points at the verify base: by default the clerk server `juki demo` last said it serves the
demo on (`demo-server.json` beside the demo's cards), else JUKI_PUBLIC_BASE_URL.
"""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

import httpx
import uvicorn
from fastapi import FastAPI

from juki.adapters.kiosk_tls import BackgroundServer, kiosk_client_context, server_config
from juki.adapters.pki import kiosk_pki_dir
from juki.bootstrap import build
from juki.config import load_settings
from juki.sim.pki import SimCard, WrongPin
from juki.web.app import create_app

# The service hours lifted (`--always-open`): a demo is shown at any hour.
ALWAYS_OPEN = {"kiosk_hours_start": "00:00", "kiosk_hours_end": "24:00", "kiosk_year_end_closed": False}


class DemoCard(TypedDict):
    """One card of `cards.json` (demo/cards.py writes them)."""

    serial: str
    addressee_number: str
    name: str
    household_size: int
    pin: str
    certificate: str
    key: str
    note: str


class DemoCards(TypedDict):
    kiosk: str  # the demo kiosk's id
    cards: list[DemoCard]


class KioskRefused(Exception):
    """The kiosk API refused a step: `code: message` of its first error, or the HTTP status."""


@dataclass(frozen=True)
class Request:
    """What the resident chooses at the MFP."""

    scope: str = "self"
    relationship: bool = False
    honseki: bool = False
    copies: int = 1
    pin: str | None = None  # None: the card's own PIN


@dataclass(frozen=True)
class Printed:
    """The certificate the MFP printed: its 発行番号, fee, where the PDF was written, the verify URL, and whether
    `/verify` matched the PDF."""

    number: str
    fee: str
    path: Path
    verify_url: str
    matches: bool


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pki_dir(db: str) -> Path:
    """The demo's kiosk PKI (`kiosk-pki/` beside the database)."""
    return kiosk_pki_dir(load_settings(database_url=db))


def cards_file(pki: Path) -> Path:
    return pki.parent / "demo-cards" / "cards.json"


def demo_cards(pki: Path) -> DemoCards | None:
    """The demo's cards, or None when `juki demo` has not made them."""
    path = cards_file(pki)
    if not path.exists():
        return None
    listed: DemoCards = json.loads(path.read_text(encoding="utf-8"))
    return listed


def pick_card(listed: DemoCards, card: str) -> DemoCard | None:
    """A card by its place in the list (0…) or by the start of its serial."""
    entries = listed["cards"]
    if card.isdigit() and int(card) < len(entries):
        return entries[int(card)]
    return next((c for c in entries if c["serial"].startswith(card.lower())), None)


def _demo_server_file(db: str) -> Path:
    return pki_dir(db).parent / "demo-server.json"


def remember_demo_server(db: str, base_url: str) -> None:
    """`juki demo` notes where its clerk server answers, so that a kiosk's QR code can point there."""
    path = _demo_server_file(db)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"base_url": base_url}) + "\n", encoding="utf-8")


def verify_base(db: str) -> str:
    """Where the demo's clerk server answers, as `juki demo` noted it; else the configured public base URL."""
    path = _demo_server_file(db)
    if path.exists():
        noted = json.loads(path.read_text(encoding="utf-8")).get("base_url")
        if isinstance(noted, str) and noted:
            return noted
    return load_settings().public_base_url


def kiosk_app(db: str, always_open: bool, verify: str) -> FastAPI:
    """The register's app over `db`, its QR codes pointing at `verify`."""
    overrides: dict[str, Any] = dict(ALWAYS_OPEN) if always_open else {}  # build()'s settings keywords
    overrides["public_base_url"] = verify
    return create_app(build(db, **overrides))


@contextmanager
def kiosk_server(db: str, url: str | None, always_open: bool, verify: str | None) -> Iterator[str]:
    """The kiosk API to call: `url`, or (None) a TLS server of its own over `db` on a free port while inside."""
    if url is not None:
        yield url
        return
    port = free_port()
    app = kiosk_app(db, always_open, verify or verify_base(db))
    with BackgroundServer(server_config(app, pki_dir(db), port=port, log_level="warning")):
        yield f"https://127.0.0.1:{port}"


def kiosk_tls_server(db: str, always_open: bool, verify: str | None, host: str, port: int) -> uvicorn.Server:
    """The kiosk API over mutual TLS (a client certificate of the kiosk CA required), to run until interrupted."""
    app = kiosk_app(db, always_open, verify or verify_base(db))
    return uvicorn.Server(server_config(app, pki_dir(db), host=host, port=port, log_level="info"))


def kiosk_client(pki: Path, kiosk_id: str, url: str) -> httpx.Client:
    """An MFP's HTTPS client: it trusts the kiosk CA and presents the kiosk's own certificate."""
    folder = pki / "kiosks"
    context = kiosk_client_context(pki, folder / f"{kiosk_id}.pem", folder / f"{kiosk_id}.key")
    return httpx.Client(base_url=url, verify=context, timeout=60)


def load_card(entry: DemoCard) -> SimCard:
    return SimCard.load(Path(entry["certificate"]), Path(entry["key"]), entry["pin"])


def problem(res: httpx.Response) -> str:
    """The first error of a refusal, as the kiosk would show it."""
    try:
        error = res.json()["errors"][0]
        return f"{error['code']}: {error['message']}"
    except (ValueError, KeyError, IndexError):
        return f"HTTP {res.status_code}"


def _expect(res: httpx.Response, status: int) -> Any:
    if res.status_code != status:
        raise KioskRefused(problem(res))
    return res


def session_request(challenge: dict[str, Any], card: SimCard, pin: str | None = None) -> dict[str, Any]:
    """The body of `POST /kiosk/v1/sessions` for a challenge: the card's signature after the PIN (the card's own
    unless `pin` says otherwise), or the chip's refusal of a wrong PIN, which the kiosk reports."""
    body: dict[str, Any] = {
        "challenge_id": challenge["challenge_id"],
        "card_certificate": card.certificate_pem,
    }
    try:
        signature = card.sign(base64.b64decode(challenge["challenge"]), pin or card.pin)
    except WrongPin:
        return body | {"pin_result": "incorrect"}
    return body | {"pin_result": "ok", "signature": base64.b64encode(signature).decode()}


def sign_in(client: httpx.Client, card: SimCard, pin: str | None) -> dict[str, Any]:
    """Challenge, the card's answer, card session: the session's answer (`session`, `holder`, `household`, …)."""
    challenge = _expect(client.post("/kiosk/v1/challenges"), 201).json()
    body = session_request(challenge, card, pin)
    session: dict[str, Any] = _expect(client.post("/kiosk/v1/sessions", json=body), 201).json()
    return session


def print_certificate(client: httpx.Client, session: str, request: Request, out: Path | None) -> Printed:
    """The certificate of this card session, the session ended (the card taken out) whatever the answer, the PDF
    written (`out`, else var/kiosk-<発行番号>.pdf) and checked against `/verify`."""
    headers = {"X-Kiosk-Session": session}
    include = {"householder_and_relationship": request.relationship, "honseki": request.honseki}
    res = client.post(
        "/kiosk/v1/certificates",
        json={"scope": request.scope, "include": include, "copies": request.copies},
        headers=headers,
    )
    client.delete("/kiosk/v1/sessions/current", headers=headers)
    _expect(res, 201)
    number = res.headers["X-Issuance-Number"]
    path = out or Path("var") / f"kiosk-{number}.pdf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(res.content)
    check = client.get(f"/verify/{number}", params={"sha256": res.headers["X-Content-SHA256"]})
    matches = check.status_code == 200 and check.json().get("matches") is True
    return Printed(number, res.headers["X-Issuance-Fee"], path, res.headers["X-Verify-URL"], matches)


def play(
    client: httpx.Client, card: SimCard, request: Request, out: Path | None, say: Callable[[str], None]
) -> Printed:
    """The resident at the MFP: card and PIN, a welcome (`say`), the certificate (`KioskRefused` on a refusal)."""
    session = sign_in(client, card, request.pin)
    say(f"ようこそ {session['holder']['name']} 様（世帯 {len(session['household'])} 人）")
    return print_certificate(client, session["session"], request, out)
