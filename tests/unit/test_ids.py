"""Opaque record ids never read as a My Number (services/ids.py): the redaction that masks every log line and
message leaves them whole, whatever the random part."""

from __future__ import annotations

import re
from datetime import date

from juki.domain.redaction import redact
from juki.services.ids import dated_id


def test_an_id_is_never_taken_for_a_my_number():
    for _ in range(5000):  # a date, then digits only after the hyphen, was one in ten times a valid number
        made = dated_id("N", date(2025, 6, 30))
        assert re.fullmatch(r"N20250630-n[0-9a-f]{10}", made)
        assert redact(made) == made


def test_the_old_shape_could_be():
    old = (
        "M20250630-9621e2e2dc1d"  # a record id the leak check caught: 2025 0630 9621 has a valid check digit
    )
    assert redact(old) != old
