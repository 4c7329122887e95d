"""Another city's CS: 転出証明書情報 and 転入通知 between cities (特例転入, 住基法24条の2)."""

from __future__ import annotations

from fastapi import APIRouter

from juki.sim.juki_net.store import JukiNetStore


def router(store: JukiNetStore) -> APIRouter:
    return APIRouter()
