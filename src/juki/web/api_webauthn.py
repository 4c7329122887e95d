"""/api/v1: WebAuthn registration and sign-in for the strong factor (issue 3 §1). Thin routes; the services check permissions."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1")
