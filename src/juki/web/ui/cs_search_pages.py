"""The CS operator's search of the 本人確認情報ファイル and queries of the national server (III(2)-3 リスク2)."""

from __future__ import annotations

from fastapi import APIRouter

from juki.web.ui.core import UiRoute

router = APIRouter(route_class=UiRoute)
