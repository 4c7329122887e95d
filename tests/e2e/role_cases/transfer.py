"""The 庁内連携 pull API and the 団体内統合宛名's registration: no staff account may read it, whatever its role (API.md: a staff token → 403 forbidden, the
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
    # The 団体内統合宛名's door for business systems: a department system's token as well (its refusals are in
    # tests/e2e/test_unified_addressees.py).
    ("POST", "/api/v1/unified-addressees"): Call(
        NOBODY,
        200,
        lambda w: (
            "/api/v1/unified-addressees",
            {
                "addressee_number": "K-1",
                "my_number": "123456789018",
                "name": "山田　太郎",
                "address": "東京都小平市小川町一丁目1番地",
                "birth_date": "1980-04-01",
                "sex": "male",
            },
        ),
        needs=needs(TRANSFER_FEED),
    ),
}
