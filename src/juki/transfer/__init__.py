"""庁内連携 (internal transfer, 番号法9条 and 別紙2 of the PIA): the register's changes to the city's own departments.

- `policy`: who may receive what, for which 事務, on which legal basis — seeded from the PIA's lists (別紙2, and row
  59 of 別紙1) and versioned;
- `items`: the record items of 住基法7条 as the seed words them, in the field names of `GET /api/v1/residents/{n}`;
- `projection`: a record as one department system may have it (items outside its basis are absent).

The feed itself (`services/transfer_feed.py`), the department systems' OAuth clients (`services/transfer_clients.py`)
and the pull API (`web/api_transfer.py`, `web/oauth.py`) build on these. docs/transfer.md describes the whole.
"""
