"""Birth dates at the edges (標準仕様書 j80): the one accepted range, and unknown parts (不詳日) taken in, kept beside
the internal date, and printed as the standard writes them."""

from __future__ import annotations

import pytest

from tests import factories as f
from tests.e2e.test_certificates import body, needs_poppler, pdf_text
from tests.e2e.test_filings import error_code, file, resident


def _move_in(client, headers, **person) -> str:
    answer = file(client, headers, "move-in", f.move_in([f.person(**person)]))
    return answer["changes"][0]["addressee_number"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("birth_date", "1872-12-31"), ("birth_date", "0001-01-01"), ("birth_date", "1800-03-01")],
)
def test_a_birth_date_no_certificate_could_print_is_refused_at_intake(client, headers, field, value):
    res = client.post(
        "/api/v1/filings/move-in", json=f.move_in([f.person(**{field: value})]), headers=headers("clerk")
    )
    assert res.status_code == 422 and error_code(res) == "invalid_date", res.text
    error = res.json()["errors"][0]
    assert error["field"] == "persons.0.birth_date" and "明治6年1月1日" in error["message"]


def test_a_correction_to_a_birth_date_before_1873_is_refused(client, headers):
    number = _move_in(client, headers)
    res = client.post(
        "/api/v1/filings/ex-officio-correction",
        json={
            "filed_on": "2025-06-03",
            "changed_on": "2025-06-03",
            "reason": "戸籍照合による",
            "addressee_number": number,
            "corrections": {"birth_date": "1872-12-31"},
        },
        headers=headers("clerk"),
    )
    assert res.status_code == 422 and error_code(res) == "invalid_date", res.text


def test_the_first_printable_day_is_accepted(client, headers):
    number = _move_in(client, headers, birth_date="1873-01-01")
    assert resident(client, headers, number)["birth_date"] == "1873-01-01"


@pytest.mark.parametrize(
    ("parts", "stored"),
    [
        (["day"], ["day"]),
        (["day", "month"], ["month", "day"]),
        (["year", "month", "day"], ["year", "month", "day"]),
        ([], []),
    ],
)
def test_unknown_parts_of_a_birth_date_are_kept_beside_the_internal_date(client, headers, parts, stored):
    number = _move_in(client, headers, birth_date="1935-01-01", birth_date_unknown_parts=parts)
    record = resident(client, headers, number)
    assert (record["birth_date"], record["birth_date_unknown_parts"]) == ("1935-01-01", stored)


@pytest.mark.parametrize(
    "parts", [["month"], ["year"], ["year", "day"], ["day", "day"], ["hour"], "day", [1], ["month", "year"]]
)
def test_unknown_parts_that_make_no_date_are_refused(client, headers, parts):
    res = client.post(
        "/api/v1/filings/move-in",
        json=f.move_in([f.person(birth_date_unknown_parts=parts)]),
        headers=headers("clerk"),
    )
    assert res.status_code == 422 and error_code(res) == "invalid_field", res.text
    assert res.json()["errors"][0]["field"].startswith("persons.0.birth_date_unknown_parts")


def test_unknown_parts_and_a_written_unknown_date_are_not_both_given(client, headers):
    person = f.person(birth_date_unknown_parts=["day"], birth_date_unknown="昭和10年1月上旬")
    res = client.post("/api/v1/filings/move-in", json=f.move_in([person]), headers=headers("clerk"))
    assert res.status_code == 422 and error_code(res) == "invalid_field", res.text


def test_unknown_parts_can_be_corrected_ex_officio(client, headers):
    number = _move_in(client, headers, birth_date="1935-06-01", birth_date_unknown_parts=["day"])
    correction = {
        "filed_on": "2025-06-03",
        "changed_on": "2025-06-03",
        "reason": "戸籍照合による",
        "addressee_number": number,
        "corrections": {"birth_date": "1935-06-14", "birth_date_unknown_parts": []},
    }
    file(client, headers, "ex-officio-correction", correction, status=202)


@needs_poppler
@pytest.mark.parametrize(
    ("parts", "printed"),
    [
        (["month", "day"], "生年月日 昭和10年 月日不詳"),
        (["day"], "生年月日 昭和10年6月 日不詳"),
        (["year", "month", "day"], "生年月日 年月日不詳"),
        ([], "生年月日 昭和10年6月1日"),
    ],
)
def test_a_certificate_prints_the_unknown_parts_as_the_standard_writes_them(client, headers, parts, printed):
    number = _move_in(client, headers, birth_date="1935-06-01", birth_date_unknown_parts=parts)
    res = client.post(
        "/api/v1/certificates", json=body(numbers=[number], requester_number=number), headers=headers("clerk")
    )
    assert res.status_code == 201, res.text
    text = pdf_text(res.content)
    assert printed in text, text


@needs_poppler
def test_a_foreign_residents_unknown_birth_day_prints_in_the_western_calendar(client, headers):
    person = f.foreign_person(
        "SMITH", "JOHN", "スミス", "ジョン", birth_date="1990-04-01", birth_date_unknown_parts=["day"]
    )
    res = client.post("/api/v1/filings/move-in", json=f.move_in([person]), headers=headers("clerk"))
    assert res.status_code == 201, res.text
    number = res.json()["changes"][0]["addressee_number"]
    request = body(numbers=[number], requester_number=number)
    request["requester"]["name"] = "SMITH JOHN"
    cert = client.post("/api/v1/certificates", json=request, headers=headers("clerk"))
    assert cert.status_code == 201, cert.text
    assert "1990年4月 日不詳" in pdf_text(cert.content)
