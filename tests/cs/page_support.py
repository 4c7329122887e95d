"""The CS beside a test register, where the UI's CS page finds it (`Juki.cs`): opened and migrated here, since the
test registers are built without migrations (their schema comes from the template) and the CS's tables are not in
the template."""

from __future__ import annotations

from pathlib import Path

from juki.bootstrap import Juki
from juki.cs.adapters.cs_db import CsDatabase, open_cs


def with_cs(j: Juki, folder: Path) -> CsDatabase:
    db = open_cs(j.settings.database_url, key_file=folder / "cs-keys" / "juki-cs-keys.json")
    j.__dict__["cs"] = db  # what `Juki.cs` (a cached property) would have opened
    return db
