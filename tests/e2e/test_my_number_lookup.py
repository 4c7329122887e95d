"""A My Number never travels in a URL (API.md, Register): the exact look-up is `POST /api/v1/residents/lookup`, and
`GET /api/v1/residents?my_number=…` is refused without echoing the value, however the number is written."""

from __future__ import annotations

import pytest

from juki.services import audit_reports, filings
from tests import factories as f
from tests.e2e.role_cases.common import CLERK
from tests.e2e.test_roles import last_seq, log_rows
from tests.leakcheck import spellings, written_forms

LOOKUP = "/api/v1/residents/lookup"


@pytest.fixture
def someone(j) -> tuple[str, str]:
    person = f.person()
    result = filings.file(j.uow, CLERK, "move-in", f.move_in([person]))
    return result.changes[0]["addressee_number"], person["my_number"]


@pytest.mark.parametrize("spelling", ["plain", "full-width", "full-width hyphens"])
def test_the_lookup_takes_the_number_in_the_body_and_answers_like_a_search(
    client, headers, j, someone, spelling
):
    number, my_number = someone
    written = written_forms(my_number)[spelling]
    auth = headers("clerk")
    seq = last_seq(j)
    res = client.post(LOOKUP, json={"my_number": written}, headers=auth)
    assert res.status_code == 200, res.text
    (found,) = res.json()["results"]
    assert found["addressee_number"] == number and found["status"] == "active"
    assert "my_number" not in found and not spellings(res.text) & {my_number}
    (entry,) = [r for r in log_rows(j, seq) if r.action == "resident:search"]
    assert entry.result == "ok" and list(entry.targets) == [number] and not spellings(entry.detail)
    # The facts name the criterion, never the number; the auditor's report reads a look-up by number from them.
    assert entry.facts == {"criteria": ["my_number"], "results": 1, "from_history": 0}
    assert audit_reports.search_keys(entry.action, entry.facts) == ["個人番号"]
    by_name = client.get(
        "/api/v1/residents",
        params={"name": f"{found['family_name']} {found['given_name']}", "birth_date": found["birth_date"]},
        headers=auth,
    ).json()["results"]
    assert found in by_name  # the same shape as a search's results


def test_the_lookup_needs_the_right_to_search_by_number(client, headers, j, someone):
    _, my_number = someone
    auth = headers("clerk")  # signs in (itself logged) before the log is watched
    seq = last_seq(j)
    res = client.post(
        LOOKUP, json={"my_number": my_number}, headers={**auth, "X-Juki-Procedure": "resident_inquiry"}
    )  # 住民票記載事項の照会 reads the register, never by number
    assert res.status_code == 403 and res.json()["errors"][0]["code"] == "forbidden"
    assert [(r.action, r.result) for r in log_rows(j, seq)] == [("resident:search:my_number", "denied")]


@pytest.mark.parametrize("body", [{}, {"my_number": 123456789012}, {"my_number": "1", "name": "山田"}])
def test_a_lookup_body_of_the_wrong_shape_is_a_schema_error(client, headers, body):
    res = client.post(LOOKUP, json=body, headers=headers("clerk"))
    assert res.status_code == 422 and res.json()["errors"][0]["code"] == "invalid_field"


@pytest.mark.parametrize("spelling", list(written_forms("000000000000")))
def test_a_my_number_in_the_url_is_refused_and_never_echoed_however_written(
    client, headers, j, someone, spelling
):
    _, my_number = someone
    written = written_forms(my_number)[spelling]
    assert spellings(written) & {my_number}  # the scan reads it: it would see an echo
    auth = headers("clerk")
    seq = last_seq(j)
    res = client.get(f"/api/v1/residents?my_number={written}", headers=auth)
    assert res.status_code == 422, res.text
    assert [(e["code"], e["field"]) for e in res.json()["errors"]] == [("invalid_field", "my_number")]
    assert my_number not in spellings(res.text)
    assert not [r for r in log_rows(j, seq) if my_number in spellings(f"{r.detail} {r.terminal}")]


@pytest.mark.parametrize("query", ["my_number=", "name=山田&birth_date=1980-04-01&my_number=x"])
def test_the_my_number_parameter_is_refused_whatever_it_holds(client, headers, query):
    res = client.get(f"/api/v1/residents?{query}", headers=headers("clerk"))
    assert res.status_code == 422
    assert [(e["code"], e["field"]) for e in res.json()["errors"]] == [("invalid_field", "my_number")]


def test_the_openapi_document_offers_no_my_number_in_a_url(client):
    paths = client.get("/openapi.json").json()["paths"]
    in_urls = [
        (path, method, p["name"])
        for path, item in paths.items()
        for method, operation in item.items()
        for p in operation.get("parameters", [])
        if p["name"] == "my_number" and p["in"] in ("query", "path")
    ]
    assert in_urls == []
    assert "requestBody" in paths[LOOKUP]["post"]
