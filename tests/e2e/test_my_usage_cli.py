"""`juki sim my-portal --db --card --pin` prints the resident's やりとり履歴 as `GET /api/v1/my/usage` answers it — through
the demo's server when one answers where `juki demo` noted it, else through the services over `--db` — and `--sign`
is the card reader the browser page asks for. The demo's cards are made here as `juki demo` makes them
(`demo-cards/cards.json` beside the kiosk PKI)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from juki.adapters.pki import TrustAnchors
from juki.bootstrap import build
from juki.cli import my_portal
from juki.cli.main import app
from juki.policy.roles import Actor
from juki.services import filings, kiosk_registry, register_queries
from juki.sim.pki import create_test_pki, issue_card
from tests import factories as f
from tests.conftest import STAFF, TODAY
from tests.e2e.conftest import served

runner = CliRunner()
CLERK = Actor(STAFF["clerk"][0], STAFF["clerk"][1], "clerk", "test")


@pytest.fixture
def demo(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A register with a household, the householder's card in `cards.json`, and a clerk's view of the householder."""
    pki = tmp_path / "kiosk-pki"
    monkeypatch.setenv("JUKI_KIOSK_PKI_DIR", str(pki))
    monkeypatch.setenv(
        "JUKI_PUBLIC_BASE_URL", "http://127.0.0.1:9/"
    )  # nothing answers there: services directly
    card_ca, _ = create_test_pki(pki)
    j = build(db_url, run_migrations=False, today=TODAY, kiosk_pki_dir=str(pki))
    first = filings.file(j.uow, CLERK, "move-in", f.move_in(f.family_of_four()))
    number = first.changes[0]["addressee_number"]
    card = issue_card(card_ca)
    kiosk_registry.register_card(j.uow, TrustAnchors.from_dir(pki), CLERK, number, card.certificate_pem)
    register_queries.get_resident(j.uow, CLERK, number)
    cert, key = card.save(tmp_path / "demo-cards")
    entry = {
        "serial": card.serial,
        "addressee_number": number,
        "name": "x",
        "household_size": 4,
        "pin": card.pin,
    }
    listed = {
        "kiosk": "kiosk-demo-01",
        "cards": [entry | {"certificate": str(cert), "key": str(key), "note": ""}],
    }
    (tmp_path / "demo-cards" / "cards.json").write_text(json.dumps(listed), encoding="utf-8")
    yield {"j": j, "db": db_url, "card": card, "number": number}
    j.engine.dispose()


def _views(output: str) -> list[dict[str, Any]]:
    answer = json.loads(output)
    assert set(answer) == {"entries", "withheld"}
    return [e for e in answer["entries"] if e["kind"] == "view"]


def test_my_portal_prints_the_history_through_the_services(demo):
    result = runner.invoke(
        app, ["sim", "my-portal", "--db", demo["db"], "--card", "0", "--pin", demo["card"].pin]
    )
    assert result.exit_code == 0, result.output
    views = _views(result.stdout)
    assert [(v["counterpart"], v["procedure"]) for v in views][-1] == ("市民課", "住民基本台帳に関する事務")
    assert STAFF["clerk"][1] not in result.stdout


def test_my_portal_with_a_wrong_pin_prints_the_refusal_and_fails(demo):
    wrong = f"{(int(demo['card'].pin) + 1) % 10_000:04d}"
    result = runner.invoke(app, ["sim", "my-portal", "--db", demo["db"], "--card", "0", "--pin", wrong])
    assert result.exit_code == 1
    assert "unauthenticated" in result.output and "entries" not in result.output


def test_my_portal_goes_through_the_demo_server_when_one_answers(demo, monkeypatch):
    with served(demo["j"]) as served_app:
        monkeypatch.setattr(my_portal, "_running", lambda base: True)
        monkeypatch.setattr(
            my_portal.httpx, "Client", lambda base_url, timeout: TestClient(served_app, base_url=base_url)
        )
        result = runner.invoke(
            app, ["sim", "my-portal", "--db", demo["db"], "--card", demo["card"].serial[:10]]
        )
    assert result.exit_code == 0, result.output
    assert _views(result.stdout)[-1]["counterpart"] == "市民課"
    assert not [e for e in json.loads(result.stdout)["entries"] if "自己情報" in e["procedure"]]


def test_sign_gives_the_card_answer_the_page_takes(demo):
    challenge = base64.b64encode(b"\x01" * 32).decode()
    result = runner.invoke(app, ["sim", "my-portal", "--db", demo["db"], "--sign", challenge])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["pin_result"] == "ok" and answer["card_certificate"] == demo["card"].certificate_pem
    trust = TrustAnchors.from_dir(Path(demo["j"].settings.kiosk_pki_dir or ""))
    presented = trust.card(answer["card_certificate"])
    assert trust.possession(presented, b"\x01" * 32, base64.b64decode(answer["signature"]))
    wrong = runner.invoke(app, ["sim", "my-portal", "--db", demo["db"], "--sign", challenge, "--pin", "0000"])
    expected = "ok" if demo["card"].pin == "0000" else "incorrect"
    assert json.loads(wrong.stdout)["pin_result"] == expected


def test_an_unknown_card_is_said_so(demo):
    result = runner.invoke(app, ["sim", "my-portal", "--db", demo["db"], "--card", "ffffffffff"])
    assert result.exit_code == 2
