"""The simulated J-LIS card center (sim/card_center.py, `juki sim card-center`): it takes in an online
application by 住民票コード, reports each next step, makes the card at 市区町村到着 with the test J-LIS CA the register
trusts (its certificate and the chip's key written beside the kiosk PKI, no PIN), and its 廃止 — the register keeps what
it reported, and a card it made is handed over at the counter and identifies its holder."""

from __future__ import annotations

import json
import stat

import pytest
from typer.testing import CliRunner

from juki.adapters.pki import kiosk_pki_dir
from juki.bootstrap import build
from juki.cli.card_center import card_center_app
from juki.services import card_applications, filings
from juki.sim import card_center
from tests import factories as f
from tests.conftest import TODAY
from tests.e2e.card_world import CLERK

runner = CliRunner()


def _resident(j) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    person = f.person()
    number = filings.file(j.uow, CLERK, "move-in", f.move_in([person])).changes[0]["addressee_number"]
    return number, person["resident_code"]


def test_the_card_center_reports_each_step_and_makes_a_card_that_identifies_its_holder(db_url, tmp_path):
    j = build(db_url, run_migrations=False, today=TODAY, kiosk_pki_dir=str(tmp_path / "kiosk-pki"))
    number, code = _resident(j)
    app = card_center.apply_online(j, code)
    application_id = app["application_id"]
    assert (app["state"], app["channel"], app["addressee_number"]) == ("received", "online", number)
    assert card_center.advance(j, application_id).application["state"] == "in_production"
    report = card_center.advance(j, application_id)
    assert report.application["state"] == "arrived" and report.card is not None
    assert report.application["serial"] == report.card.serial
    folder = card_center.cards_dir(j)
    assert (folder / f"{report.card.serial}.pem").read_text() == report.card.certificate_pem
    assert stat.S_IMODE((folder / f"{report.card.serial}.key").stat().st_mode) == 0o600
    assert not list(folder.glob("*.json"))  # no PIN anywhere
    with pytest.raises(ValueError):
        card_center.advance(j, application_id)  # nothing more to report: the counter's turn

    trust = j.kiosk_desk.trust
    card_applications.handover(j.uow, trust, CLERK, application_id, True, ["passport"], True)
    found = card_applications.identify(j.uow, trust, CLERK, report.card.certificate_pem)
    assert found["addressee_number"] == number

    other = card_applications.apply(j.uow, CLERK, _resident(j)[0], "new", "2025-06-20")["application_id"]
    assert card_center.revoke(j, other)["state"] == "revoked"
    j.engine.dispose()


@pytest.mark.sqlite
def test_the_command_line_prints_the_application_and_where_the_card_is(db_url):
    j = build(db_url, run_migrations=False, today=TODAY)
    number, code = _resident(j)
    pki = kiosk_pki_dir(j.settings)
    res = runner.invoke(card_center_app, ["apply-online", "--db", db_url, "--resident-code", code, "--mail"])
    assert res.exit_code == 0, res.output
    app = json.loads(res.output)
    assert (app["addressee_number"], app["channel"], app["state"]) == (number, "mail", "received")
    application_id = app["application_id"]
    res = runner.invoke(
        card_center_app, ["advance", "--db", db_url, "--application", application_id, "--to", "arrived"]
    )
    assert res.exit_code == 0, res.output
    assert '"state": "arrived"' in res.output and str(pki.parent / "card-center" / "cards") in res.output
    res = runner.invoke(
        card_center_app, ["advance", "--db", db_url, "--application", application_id, "--to", "issued"]
    )
    assert res.exit_code == 1 and "invalid_field" in res.output  # the counter's state, not J-LIS's
    res = runner.invoke(card_center_app, ["revoke", "--db", db_url, "--application", "C20250630-999999"])
    assert res.exit_code == 1 and "not_found" in res.output
    j.engine.dispose()
