"""The prefecture server's side of the 整合性確認 (標準仕様書 j1100): its copy of a city's 本人確認情報ファイル, in the
format the CS exports (juki.cs.domain.consistency; docs/cs-consistency.md):

    GET /prefecture/v1/consistency/{city_code}
        → 200 {"manifest": {…}, "csv": "/prefecture/v1/consistency/{city_code}/files/{id}"}
    GET /prefecture/v1/consistency/{city_code}/files/{id}
        → 200 text/csv, once (then forgotten); 404 for an id it does not hold

The copy is every person it holds whose 市町村コード is the city's, except those removed by death (レコード状況フラグ
2: out of the city's file, seed II(2)), in 住民票コード order, taken under the store's lock: one consistent
snapshot, kept in memory only (it holds the 個人番号, never at rest in plain here), at most a few at a time.
The log names the city and the row count, never a person.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import re
import secrets
import threading
from collections import OrderedDict
from datetime import UTC, datetime

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from juki.cs.domain.consistency import Manifest, row_of
from juki.cs.wire import ITEMS
from juki.sim.juki_net.store import JukiNetStore

log = logging.getLogger("juki.sim.juki_net")
BASE = "/prefecture/v1/consistency"
KEPT = 4  # snapshots waiting to be fetched
DEAD = "2"


def _file(store: JukiNetStore, city_code: str) -> tuple[Manifest, bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(ITEMS)
    count = 0
    for code, held in store.all_held():
        items = held.items
        if items.get("市町村コード") != city_code or items.get("レコード状況フラグ") == DEAD:
            continue
        writer.writerow(row_of(items | {"住民票コード": code}))
        count += 1
    data = buffer.getvalue().encode("utf-8")
    now = datetime.now(UTC)
    name = f"prefecture-{city_code}-{now:%Y%m%dT%H%M%S%fZ}.csv"
    return Manifest(city_code, now.isoformat(), name, count, hashlib.sha256(data).hexdigest()), data


def router(store: JukiNetStore) -> APIRouter:
    api = APIRouter()
    snapshots: OrderedDict[str, tuple[str, bytes]] = OrderedDict()
    lock = threading.Lock()

    def _problem(status: int, code: str, message: str) -> JSONResponse:
        return JSONResponse({"code": code, "message": message}, status_code=status)

    @api.get(BASE + "/{city_code}")
    def consistency_file(city_code: str) -> JSONResponse:
        if not re.fullmatch(r"[0-9]{6}", city_code):
            return _problem(422, "format_error", "市町村コードは6桁の数字です")
        manifest, data = _file(store, city_code)
        snapshot = secrets.token_hex(16)
        with lock:
            snapshots[snapshot] = (city_code, data)
            while len(snapshots) > KEPT:
                snapshots.popitem(last=False)
        log.info("consistency file of %s: %d rows", city_code, manifest.rows)
        return JSONResponse({"manifest": manifest.to_json(), "csv": f"{BASE}/{city_code}/files/{snapshot}"})

    @api.get(BASE + "/{city_code}/files/{snapshot}")
    def consistency_csv(city_code: str, snapshot: str) -> Response:
        with lock:
            kept = snapshots.get(snapshot)
            if kept is not None and kept[0] == city_code:
                del snapshots[snapshot]
        if kept is None or kept[0] != city_code:
            return _problem(404, "not_found", "その整合性確認ファイルはありません")
        return Response(kept[1], media_type="text/csv; charset=utf-8")

    return api
