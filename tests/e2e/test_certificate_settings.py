"""The city's certificate settings and the 文字超過リスト over HTTP (標準仕様書 j1000, j1040, j1050, j1070):
defaults per kind, the acting official and the seal, the printer in the 発行番号 line, overflow lines kept with the
issuance and listed for the counter — each change of the settings a new version, refused input changing nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from juki.adapters import tables as t
from juki.domain.certificate_settings import DEFAULT
from juki.services import filings, protection
from tests import factories as f
from tests.e2e.test_certificates import CLERK, SUPER, body, log_rows, needs_poppler, pdf_text

LONG_KATAGAKI = "コーポ" + "小平花小金井" * 16  # no cell holds it, even shrunk to the minimum size


def resident_with_long_katagaki(j) -> str:
    """A resident whose 方書 fits no cell: their address overflows on every certificate."""
    address = {"address": "東京都小平市小川町一丁目100番地5", "katagaki": LONG_KATAGAKI}
    moved = filings.file(j.uow, CLERK, "move-in", f.move_in([f.person()], address=address))
    return moved.changes[0]["addressee_number"]


def count(j, table) -> int:
    with j.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def put(client, headers, settings, reason="規程の改正による", role="admin", **extra):
    return client.put(
        "/api/v1/certificates/settings",
        json={"settings": settings, "reason": reason, **extra},
        headers=headers(role),
    )


@pytest.fixture
def family(j):
    first = filings.file(j.uow, CLERK, "move-in", f.move_in(f.family_of_four()))
    return [c["addressee_number"] for c in first.changes], first.household_number


def test_the_settings_start_as_the_defaults_and_every_change_is_a_new_version(client, headers, j):
    shown = client.get("/api/v1/certificates/settings", headers=headers("clerk"))
    assert shown.status_code == 200, shown.text
    assert shown.json()["version"] == 0 and shown.json()["settings"] == DEFAULT.as_dict()
    changed = {**DEFAULT.as_dict(), "overflow": "blank"}
    first = put(client, headers, changed)
    assert first.status_code == 200, first.text
    assert first.json()["version"] == 1 and first.json()["settings"]["overflow"] == "blank"
    second = put(client, headers, DEFAULT.as_dict(), version=1)
    assert second.status_code == 200 and second.json()["version"] == 2
    assert count(j, t.certificate_settings) == 2  # the first version is kept
    entries = log_rows(j, "certificate:settings")
    assert [e.result for e in entries] == ["ok", "ok"] and "changed=overflow" in entries[0].detail


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        (
            {"kinds": {"residence_certificate": {"include": ["my_number"]}}},
            "kinds.residence_certificate.include",
        ),
        ({"mayor": {"title": "小平市長", "name": "小平　一郎"}}, "mayor.title"),
        ({"overflow": "shrink"}, "overflow"),
        ({"kiosk": {"fee": 100000}}, "kiosk.fee"),
    ],
)
def test_bad_settings_are_refused_and_change_nothing(client, headers, j, settings, field):
    res = put(client, headers, settings)
    assert res.status_code == 422, res.text
    error = res.json()["errors"][0]
    assert (error["code"], error["field"]) == ("invalid_field", field)
    assert count(j, t.certificate_settings) == 0


def test_a_change_needs_a_reason_the_current_version_and_the_administrator(client, headers, j):
    no_reason = put(client, headers, DEFAULT.as_dict(), reason=" ")
    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "reason"
    assert put(client, headers, DEFAULT.as_dict()).status_code == 200
    stale = put(client, headers, {**DEFAULT.as_dict(), "overflow": "blank"}, version=0)
    assert stale.status_code == 409 and stale.json()["errors"][0]["code"] == "conflict"
    clerk = put(client, headers, DEFAULT.as_dict(), role="clerk")
    assert clerk.status_code == 403
    assert count(j, t.certificate_settings) == 1
    assert log_rows(j, "certificate:settings")[-1].result == "denied"


@needs_poppler
def test_a_certificate_takes_the_kinds_defaults_signer_seal_and_printer(client, headers, j, family):
    numbers, household = family
    request = body(household, requester_number=numbers[0])
    before = client.post("/api/v1/certificates", json=request, headers=headers("clerk"))
    assert before.status_code == 201, before.text
    text = pdf_text(before.content)
    assert "東京都小平市長 小平 一郎" in text and "異動履歴" not in text and "公印省略" not in text
    with j.engine.connect() as conn:
        terminal = conn.execute(select(t.certificate_issuances.c.terminal)).scalar_one()

    settings = DEFAULT.as_dict()
    settings["kinds"]["residence_certificate"] = {
        "include": ["householder_and_relationship", "history"],
        "omit": [],
        "signer": "acting",
        "seal": "none",
    }
    settings["printers"] = {terminal: "プリンタ007"}
    assert put(client, headers, settings).status_code == 200
    after = client.post("/api/v1/certificates", json=request, headers=headers("clerk"))
    assert after.status_code == 201, after.text
    text = pdf_text(after.content)
    assert "異動履歴" in text and "世帯主" in text  # the kind's defaults, not asked for
    assert "職務代理者" in text and "小平 次郎" in text and "公印省略" in text
    assert "プリンタ007" in text
    declined = client.post(
        "/api/v1/certificates", json={**request, "include": {"history": False}}, headers=headers("clerk")
    )
    assert "異動履歴" not in pdf_text(declined.content)
    with j.engine.connect() as conn:
        rows = conn.execute(
            select(t.certificate_issuances).order_by(t.certificate_issuances.c.issuance_number)
        ).all()
    assert [r.printer for r in rows] == [None, "プリンタ007", "プリンタ007"]
    assert "history" in rows[1].items and "history" not in rows[2].items


@needs_poppler
def test_an_overflowing_field_goes_on_the_days_overflow_list(client, headers, j):
    number = resident_with_long_katagaki(j)
    request = body(
        numbers=[number], requester_number=number, kind="entry_certificate", items=["name", "address"]
    )
    issued = client.post("/api/v1/certificates", json=request, headers=headers("clerk"))
    assert issued.status_code == 201, issued.text
    assert issued.headers["x-overflow-lines"] == "1" and issued.headers["x-issuance-warnings"] == "1"
    assert count(j, t.certificate_overflows) == 1

    listed = client.get("/api/v1/certificates/overflow-list?date=2025-06-30", headers=headers("clerk"))
    assert listed.status_code == 200, listed.text
    [line] = listed.json()["lines"]
    assert line["issuance_number"] == issued.headers["x-issuance-number"]
    assert (line["addressee_number"], line["item"], line["problem"]) == (number, "住所", "overflow")
    assert LONG_KATAGAKI in line["text"] and line["kind_name"] == "住民票記載事項証明書"
    printed = client.get(
        "/api/v1/certificates/overflow-list?date=2025-06-30&format=pdf", headers=headers("clerk")
    )
    assert printed.status_code == 200 and printed.headers["content-type"] == "application/pdf"
    assert LONG_KATAGAKI in pdf_text(printed.content).replace("\n", "").replace(" ", "")
    other_day = client.get("/api/v1/certificates/overflow-list?date=2025-06-29", headers=headers("clerk"))
    assert other_day.json()["lines"] == []
    assert [e.result for e in log_rows(j, "certificate:overflow_list")] == ["ok", "ok", "ok"]

    protection.set_measure(j.uow, SUPER, f.support_measure(number))
    hidden = client.get("/api/v1/certificates/overflow-list?date=2025-06-30", headers=headers("clerk"))
    assert hidden.json()["lines"] == []  # a protected person's line is as hidden as the person


@pytest.mark.parametrize("query", ["date=2025-13-01", "date=yesterday", "", "date=2025-06-30&format=xlsx"])
def test_bad_overflow_list_queries_are_refused(client, headers, query):
    res = client.get(f"/api/v1/certificates/overflow-list?{query}", headers=headers("clerk"))
    assert res.status_code == 422, res.text
    assert res.json()["errors"][0]["code"] == "invalid_field"


@needs_poppler
def test_the_household_header_and_every_overflowing_row_are_listed_and_hidden_with_a_protected_person(
    client, headers, j
):
    number = resident_with_long_katagaki(j)
    household = client.get(f"/api/v1/residents/{number}", headers=headers("clerk")).json()["household_number"]
    filings.file(
        j.uow,
        CLERK,
        "move-within",
        {
            "filed_on": "2025-06-20",
            "changed_on": "2025-06-18",
            "household_number": household,
            "addressee_numbers": [number],
            "address": {
                "address": "東京都小平市花小金井南町三丁目5番12号",
                "katagaki": LONG_KATAGAKI + "別館",
            },
        },
    )
    request = body(household, requester_number=number, include={"history": True})
    issued = client.post("/api/v1/certificates", json=request, headers=headers("clerk"))
    assert issued.status_code == 201, issued.text
    lines = client.get("/api/v1/certificates/overflow-list?date=2025-06-30", headers=headers("clerk")).json()
    items = sorted((line["addressee_number"] or "", line["item"]) for line in lines["lines"])
    # the header's address (no one person's), the previous address, and both history rows (each its own text)
    assert items == [("", "住所"), (number, "従前の住所"), (number, "異動履歴"), (number, "異動履歴")]

    protection.set_measure(j.uow, SUPER, f.support_measure(number))
    hidden = client.get("/api/v1/certificates/overflow-list?date=2025-06-30", headers=headers("clerk"))
    assert hidden.json()["lines"] == []  # the address too: it is the protected person's
    shown = client.get(
        "/api/v1/certificates/overflow-list?date=2025-06-30",
        headers={**headers("supervisor"), "X-Juki-Procedure": "protection"},
    )
    assert len(shown.json()["lines"]) == 4
