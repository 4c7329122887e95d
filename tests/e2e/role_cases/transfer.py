"""The 庁内連携 pull API: no staff account may read it, whatever its role (API.md: a staff token → 403 forbidden, the
denial of `transfer:feed` logged). Only a department system's OAuth token opens it (tests/e2e/test_transfer_feed.py,
test_oauth.py), and `transfer:feed` is granted to no role of ROLES — so no role is allowed here, and `needs` is
NOTHING only because the near-miss test needs a staff role that holds the permission, which none may."""

from __future__ import annotations

from tests.e2e.role_cases.common import NOTHING, Call

NOBODY: frozenset[str] = frozenset()

CALLS = {
    ("GET", "/api/v1/transfer/changes"): Call(
        NOBODY, 200, lambda w: ("/api/v1/transfer/changes", None), needs=NOTHING
    ),
    ("GET", "/api/v1/transfer/extract"): Call(
        NOBODY, 200, lambda w: ("/api/v1/transfer/extract", None), needs=NOTHING
    ),
}
