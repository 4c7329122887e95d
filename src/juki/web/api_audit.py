"""/api/v1: The auditor's operation-log views and reports (issue 3 §4). Thin routes; the services check permissions."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1")
