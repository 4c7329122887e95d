"""The clerk UI (issue 4): server-rendered Jinja2 + htmx pages over the same services as the API."""

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
