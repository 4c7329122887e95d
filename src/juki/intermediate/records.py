"""What the 情報提供等記録 tells a resident about themselves (マイナポータル's 情報提供等記録開示): who asked, on which
basis, for which 事務, which items, and what became of it — never the 符号 or the 統合宛名番号."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ProvisionEntry:
    at: datetime
    requester: str
    legal_basis: str
    procedure: str
    items: tuple[str, ...]
    status: str  # wire.STATUSES: answered, refused, pending
