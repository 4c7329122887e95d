"""Query parameters at the edges of what Python's dates and the databases' integers hold: never a 500.

A date or number parameter outside what the system can use is either clamped to the range it covers (a period of
the operation log: the log holds nothing outside it) or refused with a 422 and a stable code.
"""

from __future__ import annotations

import pytest

EXTREME_DATES = ("0001-01-01", "9999-12-31", "1872-12-31", "0000-01-01", "10000-01-01", "-0001-01-01")
EXTREME_NUMBERS = ("0", "-1", "9" * 30, str(2**63), str(2**62), "1e9", "１２", "²")
REPORT_KINDS = (
    "after_hours",
    "failed_logins",
    "logins",
    "mass_searches",
    "number_lookups",
    "unrelated_lookups",
)


def _not_a_crash(res) -> None:
    assert res.status_code < 500, res.text
    if res.status_code == 422:
        assert res.json()["errors"][0]["code"] in ("invalid_field", "invalid_date"), res.text


def test_the_whole_operation_log_can_be_asked_for_with_the_widest_dates(client, headers):
    res = client.get("/api/v1/audit/log?from=0001-01-01&to=9999-12-31", headers=headers("auditor"))
    assert res.status_code == 200, res.text
    assert res.json()["entries"]  # the auditor's own sign-in at least


@pytest.mark.parametrize("kind", REPORT_KINDS)
def test_every_report_takes_the_widest_period(client, headers, kind):
    res = client.get(
        f"/api/v1/audit/reports/{kind}?from=0001-01-01&to=9999-12-31", headers=headers("auditor")
    )
    assert res.status_code == 200, res.text
    assert (res.json()["from"], res.json()["to"]) == ("1873-01-01", "9998-12-31")  # what was looked at


def test_extreme_dates_on_the_log_search_are_clamped_or_refused(client, headers):
    for key in ("from", "to"):
        for value in EXTREME_DATES:
            params = {"from": "2025-01-01", "to": "2025-12-31", key: value}
            _not_a_crash(client.get("/api/v1/audit/log", params=params, headers=headers("auditor")))


@pytest.mark.parametrize("kind", REPORT_KINDS)
def test_extreme_dates_on_reports_are_clamped_or_refused(client, headers, kind):
    for value in EXTREME_DATES:
        for params in ({"from": value, "to": "9999-12-31"}, {"from": "0001-01-01", "to": value}):
            res = client.get(f"/api/v1/audit/reports/{kind}", params=params, headers=headers("auditor"))
            _not_a_crash(res)


def test_extreme_numbers_on_the_log_search_are_refused(client, headers):
    for key in ("after", "limit"):
        for value in EXTREME_NUMBERS:
            _not_a_crash(client.get("/api/v1/audit/log", params={key: value}, headers=headers("auditor")))


@pytest.mark.parametrize("kind", ["mass_searches", "unrelated_lookups"])
def test_extreme_numbers_on_reports_are_refused(client, headers, kind):
    for key in ("window", "searches", "persons", "results", "days"):
        for value in EXTREME_NUMBERS:
            params = {"from": "0001-01-01", "to": "9999-12-31", key: value}
            _not_a_crash(
                client.get(f"/api/v1/audit/reports/{kind}", params=params, headers=headers("auditor"))
            )


def test_the_overflow_list_of_an_extreme_day_is_not_a_crash(client, headers):
    for value in EXTREME_DATES:
        for fmt in ("json", "pdf"):
            params = {"date": value, "format": fmt}
            res = client.get("/api/v1/certificates/overflow-list", params=params, headers=headers("clerk"))
            _not_a_crash(res)


def test_a_search_by_an_extreme_birth_date_is_refused_as_a_date(client, headers):
    for value in ("0001-01-01", "1872-12-31", "9999-12-31"):
        res = client.get(
            "/api/v1/residents", params={"name": "山田", "birth_date": value}, headers=headers("clerk")
        )
        assert res.status_code == 422 and res.json()["errors"][0]["code"] == "invalid_date", res.text
