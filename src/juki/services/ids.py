"""Opaque ids that name a record in logs and URLs: `<P><yyyymmdd>-<p><10 hex>`.

Never twelve digits in a row, with or without separators: `redaction.redact` reads a 12-digit run, grouped or
hyphenated, as a My Number in some spelling, and the leak checks would take an id for one. A letter after the
hyphen keeps the date's 8 digits from joining the random part, and 10 hex characters are at most 10 digits.
"""

from __future__ import annotations

import secrets
from datetime import date


def dated_id(prefix: str, day: date) -> str:
    return f"{prefix}{day:%Y%m%d}-{prefix.lower()}{secrets.token_hex(5)}"
