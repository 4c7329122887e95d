"""/api/v1: Staff accounts, work orders, 支援措置, alerts, bulk output and media records (issue 3). Thin routes; the services check permissions."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1")
