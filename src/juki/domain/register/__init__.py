"""The register's rules: each command, given the state it reads, becomes the new versions it writes.

Every handler here is pure: it reads through `RegisterReader`, checks the logic rules (the seed's 論理チェック
and 標準仕様書 j1440's errors), and returns an `Outcome` with the events of what it did (domain/events.py).
`check_household` runs on every household a command touches, so no path can leave a household with two
householders; one left with none (j100) is warned about.

The handlers, by the filings they handle: `arrivals` (転入, 職権記載, 出生), `departures` (転出, 死亡, 職権消除, and
the householder succession, 転入通知受理), `households` (転居, 世帯変更, 記載順位), `corrections` (職権修正, 職権回復, 取消し);
`identity` is who a person is for life (j600); `state` what every handler reads and accumulates.
"""

from juki.domain.register.arrivals import ex_officio_entry, move_in, register_birth
from juki.domain.register.corrections import cancel_filing, ex_officio_correction, ex_officio_restoration
from juki.domain.register.departures import confirm_move_out, ex_officio_removal, move_out, register_death
from juki.domain.register.households import change_household, move_within, reorder_members
from juki.domain.register.numbers import assign_my_number, change_resident_code
from juki.domain.register.state import (
    LATE_FILING_DAYS,
    Change,
    Outcome,
    RegisterReader,
    ResidentState,
    check_household,
)

__all__ = [
    "LATE_FILING_DAYS",
    "Change",
    "Outcome",
    "RegisterReader",
    "ResidentState",
    "assign_my_number",
    "cancel_filing",
    "change_household",
    "change_resident_code",
    "check_household",
    "confirm_move_out",
    "ex_officio_correction",
    "ex_officio_entry",
    "ex_officio_removal",
    "ex_officio_restoration",
    "move_in",
    "move_out",
    "move_within",
    "register_birth",
    "register_death",
    "reorder_members",
]
