"""The prefecture's copy of the city's 本人確認情報ファイル for the 整合性確認 (標準仕様書 j1100), over the CS's
link to the 住基ネット (`HttpsPrefectureClient.call`, mutual TLS):

    GET {url}/prefecture/v1/consistency/{city_code}
        → 200 {"manifest": {…the manifest…}, "csv": "/prefecture/v1/consistency/{city_code}/files/{id}"}
    GET {url}{csv}
        → 200 text/csv, the file the manifest describes (fetched once: the prefecture forgets it then)

The manifest and the CSV are written owner-only into the folder given (the CSV holds every 個人番号); the service
verifies them. Whatever is not one of these answers is `Unreachable`, its message naming no value.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import quote

import httpx

from juki.cs.adapters.consistency_file import write_bytes
from juki.cs.adapters.prefecture_client import HttpsPrefectureClient
from juki.cs.domain.consistency import MANIFEST_INVALID, ConsistencyFileError
from juki.cs.wire import Unreachable

BASE = "/prefecture/v1/consistency/"


class HttpsConsistencyClient:
    """The service's `PrefectureCopy` over the CS's client (its connection pool; the caller closes it)."""

    def __init__(self, client: HttpsPrefectureClient) -> None:
        self.client = client

    def fetch(self, city_code: str, folder: Path) -> Path:
        answer = self._json(self.client.call("GET", BASE + quote(city_code, safe="")))
        manifest, csv_path = answer.get("manifest"), answer.get("csv")
        if not isinstance(manifest, dict) or not isinstance(csv_path, str) or not csv_path.startswith(BASE):
            raise Unreachable("the prefecture's answer is not a consistency file")
        name = manifest.get("file")
        if not isinstance(name, str) or not name or Path(name).name != name or name.startswith("."):
            raise ConsistencyFileError(
                MANIFEST_INVALID, "整合性確認ファイルの管理情報のファイル名が正しくありません"
            )
        res = self.client.call("GET", csv_path)
        if res.status_code != 200:
            raise Unreachable(f"the prefecture answered {res.status_code} for the consistency file")
        write_bytes(folder / name, res.content)
        manifest_path = folder / (Path(name).stem + ".manifest.json")
        fd = os.open(manifest_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(manifest, out, ensure_ascii=False)
        return manifest_path

    @staticmethod
    def _json(res: httpx.Response) -> dict[str, object]:
        if res.status_code != 200:
            raise Unreachable(f"the prefecture answered {res.status_code} for the consistency check")
        try:
            body = res.json()
        except ValueError:
            raise Unreachable("the prefecture's answer is not JSON") from None
        if not isinstance(body, dict):
            raise Unreachable("the prefecture's answer is not a JSON object")
        return body
