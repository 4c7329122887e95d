"""/api/v1: Data-subject requests and the disclosure package (issue 3 §7). Thin routes; the services check permissions."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1")
