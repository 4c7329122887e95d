"""Who may do what: roles, their permissions, and the procedure (事務) each action serves.

The policy is data (ARCHITECTURE.md): the service layer asks `allows(role, permission)`; no view or handler
branches on a role name. Issue 3 extends this table (contractor work orders, department legal bases).
"""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("clerk", "supervisor", "auditor", "admin", "cs_operator", "contractor", "department")

# Permissions, `resource:action` (as pypi/warehouse names them).
REGISTER_READ = "register:read"
REGISTER_FILE = "register:file"  # enter filings (届出) and ex officio changes for approval
REGISTER_APPROVE = "register:approve"  # 決裁 of ex officio changes
MY_NUMBER_REVEAL = "my_number:reveal"
MY_NUMBER_SEARCH = "my_number:search"
LOG_READ = "log:read"
STAFF_ADMIN = "staff:admin"
TRANSFER_READ = "transfer:read"

_POLICY: dict[str, frozenset[str]] = {
    "clerk": frozenset({REGISTER_READ, REGISTER_FILE, MY_NUMBER_REVEAL, MY_NUMBER_SEARCH}),
    "supervisor": frozenset(
        {REGISTER_READ, REGISTER_FILE, REGISTER_APPROVE, MY_NUMBER_REVEAL, MY_NUMBER_SEARCH}
    ),
    "auditor": frozenset({LOG_READ}),
    "admin": frozenset({STAFF_ADMIN}),
    "cs_operator": frozenset(),
    "contractor": frozenset(),  # gets REGISTER_READ only under an active work order (issue 3)
    "department": frozenset({TRANSFER_READ}),
}

# The procedure (事務) every register action serves; recorded in each operation-log entry.
PROCEDURE_REGISTER = "住民基本台帳に関する事務"


@dataclass(frozen=True)
class Actor:
    """The staff member (or system account) a request acts for, as of the request."""

    staff_id: str
    name: str
    role: str
    terminal: str = "unknown"
    department: str | None = None


SYSTEM = Actor("system", "システム", "admin", "server")


def allows(role: str, permission: str) -> bool:
    return permission in _POLICY.get(role, frozenset())


def permissions(role: str) -> frozenset[str]:
    return _POLICY.get(role, frozenset())
