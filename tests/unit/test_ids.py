"""Opaque record ids never read as a My Number (services/ids.py): neither the redaction that masks every log line
and message nor the tests' leak check (which remembers any 12 digits a request spells) finds one in them."""

from __future__ import annotations

import re
from datetime import date

from juki.domain.redaction import redact
from juki.services.ids import dated_id
from tests.leakcheck import spellings


def test_an_id_is_never_taken_for_a_my_number():
    for _ in range(5000):  # the date, a hyphen and four digits spelled 12 digits, one time in ~40
        made = dated_id("N", date(2025, 6, 30))
        assert re.fullmatch(r"N20250630-n[0-9a-f]{10}", made)
        assert redact(made) == made and spellings(made) == set()


def test_the_old_shape_could_be():
    old = "M20250630-9621e2e2dc1d"  # a record id the leak check took for a number in CI: 2025 0630 9621
    assert spellings(old) == {"202506309621"}


def test_the_leak_check_remembers_a_number_sent_not_digits_inside_a_serial():
    from tests import leakcheck

    serial, number = (
        "ab202506300411cd",
        "202506300411",
    )  # a card's hex serial holding 12 digits with a valid check
    leakcheck.KNOWN.discard(number)
    leakcheck.remember(f"/api/v1/cards/{serial}/unlock")
    assert number not in leakcheck.KNOWN
    leakcheck.remember(f'{{"my_number": "{number[:4]}-{number[4:8]}-{number[8:]}"}}')
    assert number in leakcheck.KNOWN
    leakcheck.KNOWN.discard(number)
