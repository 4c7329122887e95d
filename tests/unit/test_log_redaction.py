import logging
import random

import pytest

from juki.domain.identifiers import generate_my_number
from juki.web.app import RedactMyNumbers
from tests.leakcheck import spellings, written_forms


def test_access_log_lines_never_show_a_my_number():
    number = generate_my_number(random.Random(1))
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", f"/api/v1/residents?my_number={number}", "1.1", 200),
        None,
    )
    RedactMyNumbers().filter(record)
    line = record.getMessage()
    assert number not in line and "/api/v1/residents?my_number=" in line


def test_a_card_style_grouping_is_masked_too():
    number = generate_my_number(random.Random(2))
    grouped = f"{number[:4]} {number[4:8]} {number[8:]}"
    record = logging.LogRecord("juki.web", logging.INFO, __file__, 1, f"saw {grouped}", None, None)
    RedactMyNumbers().filter(record)
    assert number[4:8] not in record.getMessage()


@pytest.mark.parametrize(
    "spelling", ["percent", "percent full-width", "percent twice", "form spaces", "mixed"]
)
def test_a_my_number_in_a_url_is_masked_in_the_access_log_however_encoded(spelling):
    number = generate_my_number(random.Random(3))
    path = f"/api/v1/residents?my_number={written_forms(number)[spelling]}"
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", path, "1.1", 422),
        None,
    )
    RedactMyNumbers().filter(record)
    line = record.getMessage()
    assert number not in spellings(line) and line.startswith(
        '127.0.0.1:5000 - "GET /api/v1/residents?my_number='
    )
