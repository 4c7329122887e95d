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
