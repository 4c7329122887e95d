"""The 庁内連携 pull API: no staff account may read it, whatever its role (API.md: a staff token → 403 forbidden, the
denial of `transfer:feed` logged). Only a department system's OAuth token opens it (tests/e2e/test_transfer_feed.py,
test_oauth.py), and `transfer:feed` is granted to no role of ROLES — so no role is allowed here. The near-miss
test skips endpoints no staff role may call."""

from __future__ import annotations

from juki.policy.roles import TRANSFER_FEED
from tests.e2e.role_cases.common import Call, needs

NOBODY: frozenset[str] = frozenset()

CALLS = {
    ("GET", "/api/v1/transfer/changes"): Call(
        NOBODY, 200, lambda w: ("/api/v1/transfer/changes", None), needs=needs(TRANSFER_FEED)
    ),
    ("GET", "/api/v1/transfer/extract"): Call(
        NOBODY, 200, lambda w: ("/api/v1/transfer/extract", None), needs=needs(TRANSFER_FEED)
    ),
}
