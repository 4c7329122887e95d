"""The national server's (全国サーバ) answers to a city CS's 本人確認情報 queries (住基法30条の10/12/14)."""

from __future__ import annotations

from fastapi import APIRouter

from juki.sim.juki_net.store import JukiNetStore


def router(store: JukiNetStore) -> APIRouter:
    return APIRouter()
