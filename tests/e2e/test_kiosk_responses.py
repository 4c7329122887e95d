"""The kiosk routes' `response_model`s document exactly what the routes answer: every answer, walked through once,
has the keys its model declares — no more (an undeclared key would pass through undocumented), no fewer — in the
model's order."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from pydantic import BaseModel

from juki.sim.pki import issue_card
from juki.web import kiosk_responses as out
from tests.e2e import kiosk_world
from tests.e2e.kiosk_world import World, sign_in

pki, world = kiosk_world.pki, kiosk_world.world  # the kiosk tests' fixtures: their PKI, register and kiosks


def _walk(world: World, headers: Any) -> list[tuple[str, type[BaseModel], Any]]:
    """(call, model, JSON answer) for each kiosk route that answers JSON."""
    api = TestClient(world.app, raise_server_exceptions=False)
    shop = world.client("kiosk-a")
    admin, clerk = headers("admin"), headers("clerk")
    holder = world.numbers[0]
    card = issue_card(world.pki.card_ca, now=world.clock())
    seen: list[tuple[str, type[BaseModel], Any]] = []

    def answer(call: str, model: type[BaseModel], res: Any, status: int = 200) -> None:
        assert res.status_code == status, res.text
        seen.append((call, model, res.json()))

    answer("status", out.KioskStatus, shop.get("/kiosk/v1/status"))
    answer("challenge", out.Challenge, shop.post("/kiosk/v1/challenges"), 201)
    answer("session", out.CardSession, sign_in(shop, world.cards["householder"]), 201)
    answer("kiosks", out.KioskList, api.get("/api/v1/kiosks", headers=admin))
    body = {"kiosk_id": "kiosk-a", "name": "小平駅前店", "certificate": world.pki.kiosks["kiosk-a"][2]}
    answer("register kiosk", out.Kiosk, api.post("/api/v1/kiosks", json=body, headers=admin), 201)
    answer("retire kiosk", out.Kiosk, api.post("/api/v1/kiosks/kiosk-b/retire", headers=admin))
    body = {"addressee_number": holder, "certificate": card.certificate_pem}
    answer("register card", out.Card, api.post("/api/v1/cards", json=body, headers=clerk), 201)
    answer("cards", out.CardList, api.get(f"/api/v1/residents/{holder}/cards", headers=clerk))
    state = api.post(f"/api/v1/cards/{card.serial}/state", json={"state": "suspended"}, headers=clerk)
    answer("card state", out.HeldCard, state)
    answer("unlock", out.HeldCard, api.post(f"/api/v1/cards/{card.serial}/unlock", headers=clerk))
    crl = world.pki.card_ca.crl([(card.cert.serial_number, world.clock())])
    kind = {**admin, "Content-Type": "application/pkix-crl"}
    answer(
        "revocations", out.RevocationImport, api.post("/api/v1/card-revocations", content=crl, headers=kind)
    )
    return seen


def _mismatches(model: type[BaseModel], value: Any, where: str) -> list[str]:
    """Where the answer's keys differ from the model's fields (nested models and lists of them included)."""
    keys, fields = list(value), list(model.model_fields)
    found = [] if keys == fields else [f"{where}: answered {keys}, declared {fields}"]
    for name, field in model.model_fields.items():
        inner = field.annotation
        items = getattr(inner, "__args__", (None,))[0] if getattr(inner, "__origin__", None) is list else None
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            found += _mismatches(inner, value[name], f"{where}.{name}")
        elif isinstance(items, type) and issubclass(items, BaseModel):
            for i, item in enumerate(value[name]):
                found += _mismatches(items, item, f"{where}.{name}[{i}]")
    return found


def test_every_kiosk_answer_has_exactly_the_fields_its_model_declares(world, headers):
    seen = _walk(world, headers)
    if os.environ.get("JUKI_KIOSK_ANSWERS"):  # a record to compare by hand, before and after a change
        Path(os.environ["JUKI_KIOSK_ANSWERS"]).write_text(
            json.dumps([(call, body) for call, _, body in seen], ensure_ascii=False, indent=1),
            encoding="utf-8",
        )
    problems = [p for call, model, body in seen for p in _mismatches(model, body, call)]
    assert problems == []
    assert all(len(body["household"]) == 4 for call, _, body in seen if call == "session")
