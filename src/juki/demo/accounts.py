"""The demo's staff accounts (one per role, random passwords, written to an owner-only file) and what the risk
controls need to be seen in a demo (an enrolment code, a work order, 支援措置, コンビニ交付's cards).
"""

from __future__ import annotations

import json
import os
import random
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console

from juki.bootstrap import Juki
from juki.domain.dates import today_jst
from juki.policy.roles import STRONG_FACTOR_ROLES, Actor
from juki.services.auth import create_staff

# (username, role, display name, department)
DEMO_ACCOUNTS: tuple[tuple[str, str, str, str | None], ...] = (
    ("clerk1", "clerk", "市民課 窓口職員1", None),
    ("clerk2", "clerk", "市民課 窓口職員2", None),
    ("supervisor", "supervisor", "市民課 係長", None),
    ("auditor", "auditor", "監査担当", None),
    ("admin", "admin", "システム管理者", None),
    ("cs-operator", "cs_operator", "住基ネットCS担当", None),
    ("contractor", "contractor", "委託事業者 作業員", None),
    ("hoken-nenkin", "department", "保険年金課（庁内連携）", "保険年金課"),
    ("senkyo", "department", "選挙管理委員会（庁内連携）", "選挙管理委員会"),
)


def _free_username(j: Juki, base: str) -> str:
    """`base`, or `base-2`, `base-3` … when an earlier run (or `juki init`) already took it."""
    name, n = base, 1
    with j.uow() as uow:
        while uow.staff.by_username(name) is not None:
            n += 1
            name = f"{base}-{n}"
    return name


# 庁内連携: department business systems with OAuth client credentials (API.md "Department systems"): 国民健康保険
# (別表第1の30の項) and 地方税 with the 個人番号, 学務課 (別紙1 row 59, the city's ordinance), and the 選挙管理委員会
# (住基法15条, never the 個人番号).
DEMO_SYSTEMS = ("hoken-nenkin", "zeimu", "gakumu", "senkyo")


def create_system_clients(j: Juki, admin_username: str) -> list[dict[str, Any]]:
    """One OAuth client per demo department system; its secret is in the accounts file only (never stored)."""
    from juki.transfer.wiring import desk_for

    admin = Actor(admin_username, "システム管理者", "admin", "demo", procedure="administration")
    desk = desk_for(j)
    return [desk.register(admin, system_id) for system_id in DEMO_SYSTEMS]


def create_accounts(j: Juki) -> list[dict[str, Any]]:
    """Create the demo accounts with fresh random passwords (and the department systems' client credentials);
    return what the accounts file lists."""
    accounts: list[dict[str, Any]] = []
    for base, role, display_name, department in DEMO_ACCOUNTS:
        username = _free_username(j, base)
        password = secrets.token_urlsafe(12)
        secret = create_staff(
            j.uow, username, display_name, role, password, department=department, is_demo=True
        )
        account = {
            "username": username,
            "password": password,
            "totp_secret": secret,
            "role": role,
            "display_name": display_name,
        }
        if department:
            account["department"] = department
        accounts.append(account)
    admin = next(a["username"] for a in accounts if a["role"] == "admin")
    return accounts + create_system_clients(j, admin)


def set_up_controls(j: Juki, accounts: list[dict[str, Any]], seed: int) -> None:
    """What the risk controls need to be seen in a demo.

    - the CS operator gets a one-time enrolment code (7 days) to register an authenticator: without one it
      cannot sign in (WebAuthn is required for that role);
    - the contractor gets a work order: reading the register for 30 days;
    - three residents are under a 支援措置, so the flags and the alerts can be seen.
    """
    from juki.services import protection, staff_admin, webauthn

    by_role = {a["role"]: a for a in accounts}
    admin = Actor(by_role["admin"]["username"], by_role["admin"]["display_name"], "admin", "demo")
    boss = by_role["supervisor"]
    now = datetime.now(UTC)
    for account in accounts:
        if account["role"] in STRONG_FACTOR_ROLES:
            code = webauthn.issue_enrolment_code(
                j.uow, admin, account["username"], valid_for=timedelta(days=7)
            )
            account["enrolment_code"] = code.code
    staff_admin.give_work_order(
        j.uow,
        Actor(boss["username"], boss["display_name"], "supervisor", "demo", procedure="administration"),
        {
            "contractor_id": by_role["contractor"]["username"],
            "procedure": "resident_record",
            "permissions": ["register:read"],
            "purpose": "住民記録システムの保守点検（デモ）",
            "valid_from": now.isoformat(),
            "valid_until": (now + timedelta(days=30)).isoformat(),
        },
    )
    officer = Actor(boss["username"], boss["display_name"], "supervisor", "demo", procedure="protection")
    with j.uow() as uow:
        active = uow.queries.active_addressee_numbers()
    today = j.today or today_jst()
    for number in random.Random(seed).sample(active, min(3, len(active))):
        protection.set_measure(
            j.uow,
            officer,
            {
                "subject_kind": "person",
                "subject": number,
                "reason": "DV等支援措置申出書による（デモ）",
                "requester": "本人",
                "received_on": today.isoformat(),
                "starts_on": today.isoformat(),
            },
        )
    from juki.demo.cards import issue_demo_cards  # コンビニ交付: test PKI, a demo kiosk, residents' cards

    issue_demo_cards(j, accounts, seed)


def recreate_accounts(j: Juki, path: Path, console: Console) -> None:
    """The accounts file is gone, and with it the only copy of the passwords (the database keeps hashes).

    The old accounts are left as they are (they may appear in the operation log); a new set is created beside
    them, with a suffix where a username is taken.
    """
    write_accounts(path, create_accounts(j))
    console.print(f"アカウント一覧がなかったため、新しいデモ用アカウントを作成し {path} に書き出しました")


def write_accounts(path: Path, accounts: list[dict[str, Any]]) -> None:
    """Write atomically and readable by the owner only: the file holds passwords and TOTP secrets."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(accounts, f, ensure_ascii=False, indent=2)
        f.write("\n")
    os.replace(tmp, path)
