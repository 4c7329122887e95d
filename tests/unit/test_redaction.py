"""One masking for every log line, error message and operation-log detail (juki.domain.redaction): a My Number is
masked however it is written, and other numbers are left alone."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from juki.domain.errors import InvalidField, redact
from juki.domain.identifiers import generate_my_number
from juki.domain.redaction import MASK
from tests.leakcheck import spellings, written_forms

NUMBER = generate_my_number(random.Random(7))


@pytest.mark.parametrize("spelling", list(written_forms(NUMBER)))
def test_every_spelling_of_a_my_number_is_masked(spelling):
    written = written_forms(NUMBER)[spelling]
    text = f"GET /api/v1/residents?my_number={written}&x=1 HTTP/1.1 照会 {written}です"
    masked = redact(text)
    assert NUMBER not in spellings(masked), masked
    assert masked.count(MASK) == 2 and masked.startswith("GET /api/v1/residents?my_number=")
    assert masked.endswith("です") and "&x=1 HTTP/1.1 照会 " in masked  # the rest stays as written


@pytest.mark.parametrize(
    "text",
    [
        "127.0.0.1:5000 - GET /api/v1/residents/0000012345/history HTTP/1.1 200",
        "期間 2025-06-01 2025-06-30",
        "0000012345 0000012346 0000012347",  # 宛名番号 in a row
        "042-341-0211 090-1234-5678",
        "〒187-0032 東京都小平市小川町一丁目100番地5",
        "results=12 from_history=0 50% 100%",
        "number=R20250601-000123",
        "sha256=9f2c123456789012345e0a card=ab12345678901234",  # digits within a word
    ],
)
def test_other_numbers_are_left_as_written(text):
    assert redact(text) == text


@given(st.text(alphabet=st.sampled_from("0123456789０１２ -ー+%3aB　x"), max_size=60))
def test_masking_is_done_once_and_for_all(text):
    once = redact(text)
    assert redact(once) == once


@given(
    st.integers(0, 10**11 - 1), st.sampled_from(sorted(written_forms("000000000000"))), st.text(max_size=8)
)
def test_any_number_in_any_spelling_is_masked_wherever_it_stands(body, spelling, around):
    number = generate_my_number(random.Random(body))
    masked = redact(f"{around}:{written_forms(number)[spelling]}:{around}")
    assert number not in spellings(masked)


def test_a_longer_run_of_digits_is_masked_whole():
    assert redact(f"番号{NUMBER}3です") == f"番号{MASK}です"


def test_error_messages_mask_through_the_same_function():
    grouped = written_forms(NUMBER)["full-width hyphens"]
    error = InvalidField(f"個人番号 {grouped} は登録できません", "my_number")
    assert NUMBER not in spellings(error.message) and MASK in error.message
