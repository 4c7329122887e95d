"""Who may do what: roles, the procedures (事務) they act for, and each procedure's permissions, as data.

Every request acts for one procedure (header `X-Juki-Procedure`, else the role's default). The service layer
asks `allows(role, permission, procedure)`; no view or handler branches on a role name (docs/architecture.md).
A procedure that does not use My Numbers never reveals one, whatever the role (seed III-3 リスク1:
個人番号を必要としない業務では画面表示しない). A contractor holds no permission of its own: each active work order
grants its listed permissions for its procedure and period, and nothing close to them (services/auth.authenticate).
"""

from __future__ import annotations

from dataclasses import dataclass, field

ROLES = ("clerk", "supervisor", "auditor", "admin", "cs_operator", "contractor", "department")

# Permissions, `resource:action` (as pypi/warehouse names them).
REGISTER_READ = "register:read"
REGISTER_FILE = "register:file"  # enter filings (届出) and ex officio changes for approval
REGISTER_APPROVE = "register:approve"  # 決裁 of ex officio changes and cancellations
MY_NUMBER_REVEAL = "my_number:reveal"
MY_NUMBER_SEARCH = "my_number:search"
LOG_READ = "log:read"  # the operation log and its reports (auditor)
STAFF_ADMIN = "staff:admin"  # accounts, unlock, configuration
BACKUP_TAKE = "backup:take"  # 管理権限を与えられた者以外、情報の複製は行えない
TRANSFER_READ = "transfer:read"
# The 庁内連携 feed itself: only a department's business system, signed in with its OAuth client credentials
# (services/transfer_clients.py), never a staff account: what it may have is the transfer policy's (transfer/policy.py).
TRANSFER_FEED = "transfer:feed"
PROTECTION_VIEW = "protection:view"  # see protected records and the measures' details (j160, j440)
# j410: setting, releasing and temporarily releasing a hold (支援措置 included) are separate rights.
PROTECTION_SET = "protection:set"  # set a measure or hold, extend it, confirm a 仮支援措置
PROTECTION_END = "protection:end"  # release (解除): end a measure or hold for good
PROTECTION_RELEASE = "protection:release"  # temporary release (一時解除), lapses by itself
CERTIFICATE_ISSUE = "certificate:issue"  # issue a 住民票の写し etc.: more than reading the record
CERTIFICATE_DISPOSE = "certificate:dispose"  # record the disposal of a wrongly issued certificate (j300)
EXPORT_REQUEST = "export:request"  # ask for a bulk output
EXPORT_APPROVE = "export:approve"  # approve someone else's bulk output (data controller)
MEDIA_RECORD = "media:record"  # write a media export record
WORK_ORDER_MANAGE = "work_order:manage"  # give contractors their work orders
SUBJECT_REQUEST_FILE = "subject_request:file"  # record a 開示・訂正・利用停止請求
SUBJECT_REQUEST_DECIDE = "subject_request:decide"  # decide and answer it, build the disclosure package
CS_OPERATE = "cs:operate"  # the 住基ネット side (市町村CS)
# The CS's comparison with the register (標準仕様書 j1100): every person's current record, a person under a 支援措置
# too, without the screening and alerts of a person's view (cs/services/comparison.py says why). Only the CS
# itself holds it, and only comparison.RegisterQueries uses it: no view, search or certificate honours it.
REGISTER_COMPARE = "register:compare"
# 転入通知受理 (標準仕様書 j680, j690): the destination's 転入通知 confirms the 消除 of a person who moved out. The CS
# records the ones it receives (CS_SYSTEM); the counter, one that came on paper (j700).
REGISTER_CONFIRM_MOVE_OUT = "register:confirm_move_out"
# The numbers J-LIS gives the city through the CS (住基法30条の2, 番号法8条; docs/numbers.md): the 住民票コード stock
# handed over, the 個人番号 requests read and answered, the 送付先情報 taken for delivery. Only the CS holds it.
REGISTER_NUMBERS = "register:numbers"
WEBAUTHN_ENROL = "webauthn:enrol"  # register one's own security key or biometric authenticator
# 自己情報 (やりとり履歴, docs/my-usage.md): a resident signed in with their My Number card reads who used their data;
# a supervisor lists, releases early or extends the entries withheld from it by rule (domain/my_usage.py).
MY_USAGE_READ = "my_usage:read"
MY_USAGE_WITHHOLD = "my_usage:withhold"
# The city's 中間サーバー (docs/intermediate-server.md): its overview, a person's 符号 state and the review queue;
# releasing or refusing a held answer and setting 自動応答不可 by hand; the 情報提供等記録 (番号法23条), searched and
# verified. Staff never see a My Number there (the procedure does not use one).
INTERMEDIATE_READ = "intermediate:read"
INTERMEDIATE_REVIEW = "intermediate:review"
PROVISION_LOG_READ = "provision_log:read"

_CLERK = frozenset(
    {
        REGISTER_READ,
        REGISTER_FILE,
        REGISTER_CONFIRM_MOVE_OUT,
        MY_NUMBER_REVEAL,
        MY_NUMBER_SEARCH,
        CERTIFICATE_ISSUE,
    }
)
_SUPERVISOR = _CLERK | {REGISTER_APPROVE, CERTIFICATE_DISPOSE}
_READ_ONLY = frozenset({REGISTER_READ})


@dataclass(frozen=True)
class Procedure:
    """A 事務: what it is called, whether it uses My Numbers (番号法 別表), and who may do what in it."""

    code: str
    name: str
    uses_my_number: bool
    grants: dict[str, frozenset[str]] = field(hash=False)


PROCEDURES: dict[str, Procedure] = {
    p.code: p
    for p in (
        Procedure(
            "resident_record",
            "住民基本台帳に関する事務",
            True,
            {"clerk": _CLERK, "supervisor": _SUPERVISOR, "contractor": _READ_ONLY},
        ),
        # Answering an enquiry about a person (窓口での照会) needs the record, never the number.
        Procedure(
            "resident_inquiry", "住民票記載事項の照会", False, {"clerk": _READ_ONLY, "supervisor": _READ_ONLY}
        ),
        Procedure(
            "protection",
            "支援措置に関する事務",
            False,
            {
                "clerk": frozenset({REGISTER_READ}),
                # j440: the 支援措置責任者 reviews a refused issuance and may issue it (to the person or household).
                "supervisor": frozenset(
                    {
                        REGISTER_READ,
                        PROTECTION_VIEW,
                        PROTECTION_SET,
                        PROTECTION_END,
                        PROTECTION_RELEASE,
                        CERTIFICATE_ISSUE,
                        MY_USAGE_WITHHOLD,  # the やりとり履歴's entries of a 支援措置 case
                    }
                ),
            },
        ),
        # 捜査関係事項照会 (刑事訴訟法197条2項) and like enquiries: the record is read for the answer; the resident's
        # やりとり履歴 withholds these reads by rule (domain/my_usage.py, 個人情報保護法78条1項7号ロ).
        Procedure(
            "investigation_inquiry",
            "捜査機関等からの照会への回答に関する事務",
            False,
            {"clerk": _READ_ONLY, "supervisor": _READ_ONLY},
        ),
        # 自己情報 (やりとり履歴): `resident` is a person signed in with their My Number card (services/my_usage.py),
        # like `kiosk` not in ROLES: no account can hold it and no staff token carries it.
        Procedure(
            "my_usage",
            "自己情報の確認（やりとり履歴）に関する事務",
            False,
            {"resident": frozenset({MY_USAGE_READ}), "supervisor": frozenset({MY_USAGE_WITHHOLD})},
        ),
        Procedure(
            "bulk_output",
            "大量出力・媒体出力",
            False,
            {
                "clerk": frozenset({EXPORT_REQUEST, MEDIA_RECORD}),
                "supervisor": frozenset({EXPORT_REQUEST, EXPORT_APPROVE, MEDIA_RECORD}),
                "contractor": frozenset({EXPORT_REQUEST}),
            },
        ),
        # A person may be shown their own My Number in a disclosure (only the deciding supervisor builds it).
        Procedure(
            "subject_request",
            "開示・訂正・利用停止請求に関する事務",
            True,
            {
                "clerk": frozenset({SUBJECT_REQUEST_FILE}),
                "supervisor": frozenset({SUBJECT_REQUEST_FILE, SUBJECT_REQUEST_DECIDE, MY_NUMBER_REVEAL}),
            },
        ),
        Procedure("audit", "操作ログの監査", False, {"auditor": frozenset({LOG_READ, PROVISION_LOG_READ})}),
        # 情報提供ネットワークシステムによる情報提供 (番号法19条8号): answering other bodies' 照会 through the 中間サーバー.
        Procedure(
            "intermediate",
            "情報提供ネットワークシステムによる情報提供に関する事務",
            False,
            {
                "clerk": frozenset({INTERMEDIATE_READ}),
                "supervisor": frozenset({INTERMEDIATE_READ, INTERMEDIATE_REVIEW, PROVISION_LOG_READ}),
            },
        ),
        Procedure(
            "administration",
            "システム管理",
            False,
            {
                "admin": frozenset({STAFF_ADMIN, BACKUP_TAKE}),
                "supervisor": frozenset({WORK_ORDER_MANAGE}),
            },
        ),
        Procedure(
            "cs",
            "住基ネット（市町村CS）に関する事務",
            True,
            {
                "cs_operator": frozenset({CS_OPERATE, MY_NUMBER_REVEAL}),
                # The CS itself (CS_SYSTEM, unattended): its daily comparison with the register (標準仕様書 j1100)
                # reads each person's record with the 個人番号, item 13 of the 本人確認情報 (住基法30条の6) — and
                # nothing else of the register: no `register:read`, so no view, search or certificate. It records
                # the 転入通知 it receives (j690) through the register's one door (services/card_moves.py).
                "cs_system": frozenset(
                    {REGISTER_COMPARE, REGISTER_CONFIRM_MOVE_OUT, REGISTER_NUMBERS, MY_NUMBER_REVEAL}
                ),
            },
        ),
        # `department_system` is a system's role like `kiosk`: not in ROLES, so no account can hold it.
        Procedure(
            "transfer",
            "庁内連携",
            False,
            {"department": frozenset({TRANSFER_READ}), "department_system": frozenset({TRANSFER_FEED})},
        ),
        # コンビニ交付: a registered kiosk (MFP), authenticated by its client certificate, reads the
        # card holder's own or household's record to issue a 住民票の写し — never a My Number. `kiosk` is a system,
        # not a staff role: it is not in ROLES, so no account can hold it and no /api/v1 token carries it.
        Procedure(
            "kiosk_issuance",
            "証明書のコンビニ交付に関する事務",
            False,
            {"kiosk": frozenset({REGISTER_READ, CERTIFICATE_ISSUE})},
        ),
    )
}

# What a request acts for when it names no procedure.
DEFAULT_PROCEDURE = {
    "clerk": "resident_record",
    "supervisor": "resident_record",
    "auditor": "audit",
    "admin": "administration",
    "cs_operator": "cs",
    "contractor": "resident_record",
    "department": "transfer",
    "kiosk": "kiosk_issuance",
    "cs_system": "cs",
    "department_system": "transfer",
    "resident": "my_usage",
}
# Roles that sign in only with a WebAuthn authenticator besides password and TOTP (生体認証による操作者認証).
STRONG_FACTOR_ROLES = frozenset({"cs_operator"})

# Permissions every signed-in account has whatever the procedure (its own authenticator).
EVERY_ACCOUNT = frozenset({WEBAUTHN_ENROL})

PROCEDURE_REGISTER = PROCEDURES["resident_record"].name  # the name recorded in log entries of register work


@dataclass(frozen=True)
class Actor:
    """The staff member (or system account) a request acts for, as of the request, and for which procedure.

    `work_order_grants` are a contractor's permissions from its active work orders (empty for everyone else).
    """

    staff_id: str
    name: str
    role: str
    terminal: str = "unknown"
    department: str | None = None
    procedure: str = ""
    work_order_grants: frozenset[str] = frozenset()

    @property
    def procedure_code(self) -> str:
        return self.procedure or DEFAULT_PROCEDURE.get(self.role, "resident_record")

    @property
    def procedure_name(self) -> str:
        return PROCEDURES[self.procedure_code].name

    def may(self, permission: str) -> bool:
        if self.role == "contractor":  # nothing of its own: only what a work order grants
            return permission in self.work_order_grants or permission in EVERY_ACCOUNT
        return allows(self.role, permission, self.procedure_code)


SYSTEM = Actor("system", "システム", "admin", "server", procedure="administration")
# The city's CS (市町村CS) acting unattended: its relay and its comparison with the register (j1100). Like `kiosk`,
# `cs_system` is a system's role, not in ROLES: no account can hold it and no token carries it.
CS_SYSTEM = Actor("cs", "市町村CS", "cs_system", "cs-server", procedure="cs")


def allows(role: str, permission: str, procedure: str | None = None) -> bool:
    code = procedure or DEFAULT_PROCEDURE.get(role, "resident_record")
    proc = PROCEDURES.get(code)
    if proc is None:
        return False
    if permission == MY_NUMBER_REVEAL and not proc.uses_my_number:
        return False
    return permission in proc.grants.get(role, frozenset()) or (permission in EVERY_ACCOUNT and role in ROLES)


def permissions(role: str, procedure: str | None = None) -> frozenset[str]:
    code = procedure or DEFAULT_PROCEDURE.get(role, "resident_record")
    proc = PROCEDURES.get(code)
    granted = proc.grants.get(role, frozenset()) if proc else frozenset()
    if proc is not None and not proc.uses_my_number:
        granted = granted - {MY_NUMBER_REVEAL}
    return granted | (EVERY_ACCOUNT if role in ROLES else frozenset())


def procedures_for(role: str) -> list[str]:
    """The procedures a role can act for (a contractor: those its work orders name)."""
    return [code for code, p in PROCEDURES.items() if role in p.grants]
