"""The prefecture server's side of the 整合性確認 (標準仕様書 j1100): its copy of a city's 本人確認情報ファイル."""

from __future__ import annotations

from fastapi import APIRouter

from juki.sim.juki_net.store import JukiNetStore


def router(store: JukiNetStore) -> APIRouter:
    return APIRouter()
