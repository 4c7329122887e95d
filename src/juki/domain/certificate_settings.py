"""The city's certificate settings (証明書の設定値): what the standard leaves to each municipality.

Pure rules, no I/O (標準仕様書 j1000, j1040, j1050, j1070):
- per kind, which of 世帯主・続柄, 本籍・筆頭者 and 異動履歴 are printed when the request does not say (j1000), and
  which foreign-resident items are left out by default. 住民票コード and 個人番号 are not among them: 住基法第12条
  第5項 and 番号法 leave them out unless specially asked for, so no setting prints them by default;
- per kind, whether the mayor or the acting official (職務代理者) certifies, and which seal is printed — the mayor's
  seal (市長印), the certificate-only seal (証明専用印) or none, with 「公印省略」 (j1050; j290/j310: the acting
  official's name and title are switched here, never left blank). Every title starts with the prefecture's name
  (j1050: also in 指定都市 / 特別区). The card-face seal belongs to cards, not to certificates;
- what a field too long for its cell gets once shrunk to the minimum: printed up to the limit or left blank
  (j1070); either way it is on the 文字超過リスト;
- the printer of each counter terminal, printed in the 発行番号 line (j1040);
- the コンビニ交付 fee and the issuing place printed on kiosk certificates.

`parse(payload)` checks a whole settings document's values (422 `invalid_field` with the path); `DEFAULT` is what a
city has before its administrator changes anything. Settings are stored as versions, never changed in place.

The document arrives typed: as the request model `CertificateSettingsIn` (web/schemas.py) gives it, for the API and
the settings page alike, or as `as_dict` wrote it (a stored version). So its blocks are mappings, its lists lists of
strings, its labels strings and the fee an integer; the model lets unknown items through, and they are named here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from juki.domain.errors import InvalidField, Required

KIND_CODES = (
    "residence_certificate",
    "entry_certificate",
    "removed_record_certificate",
    "move_out_certificate",
)
# Items whose default a city may set (j1000); the two numbers are not among them (see above).
DEFAULTABLE = ("householder_and_relationship", "honseki", "history")
FOREIGN_OMITTABLE = (
    "nationality",
    "article_30_45_category",
    "status_of_residence",
    "period_of_stay",
    "stay_expires_on",
    "residence_card_number",
    "alias_name",
    "alias_history",
)
SIGNERS = ("mayor", "acting")
SEALS = ("mayor", "certificate", "none")  # 市長印, 証明専用印, 公印省略
OVERFLOW = ("truncate", "blank")
PREFECTURE = re.compile(r"^(東京都|北海道|(?:京都|大阪)府|.{2,3}県)")
_LABEL = 60


@dataclass(frozen=True)
class Official:
    title: str  # printed before the name, prefecture first: 東京都小平市長
    name: str


@dataclass(frozen=True)
class KindSettings:
    include: frozenset[str] = frozenset()  # of DEFAULTABLE: printed unless the request says no
    omit: frozenset[str] = frozenset()  # of FOREIGN_OMITTABLE: left out unless the request lists its own
    signer: str = "mayor"
    seal: str = "mayor"  # of SEALS


@dataclass(frozen=True)
class CertificateSettings:
    kinds: Mapping[str, KindSettings] = field(default_factory=lambda: {k: KindSettings() for k in KIND_CODES})
    mayor: Official = Official("東京都小平市長", "小平　一郎")
    acting: Official = Official("東京都小平市長職務代理者　小平市副市長", "小平　次郎")
    overflow: str = "truncate"
    printers: Mapping[str, str] = field(default_factory=dict)  # terminal → printer (j1040)
    kiosk_fee: int = 300  # per copy, yen
    kiosk_office: str = "コンビニ交付"

    def kind(self, code: str) -> KindSettings:
        return self.kinds.get(code, KindSettings())

    def signer(self, code: str) -> Official:
        return self.acting if self.kind(code).signer == "acting" else self.mayor

    def printer(self, terminal: str) -> str:
        return self.printers.get(terminal, "")

    def as_dict(self) -> dict[str, Any]:
        return {
            "kinds": {
                code: {
                    "include": sorted(k.include),
                    "omit": sorted(k.omit),
                    "signer": k.signer,
                    "seal": k.seal,
                }
                for code, k in ((c, self.kind(c)) for c in KIND_CODES)
            },
            "mayor": {"title": self.mayor.title, "name": self.mayor.name},
            "acting": {"title": self.acting.title, "name": self.acting.name},
            "overflow": self.overflow,
            "printers": dict(sorted(self.printers.items())),
            "kiosk": {"fee": self.kiosk_fee, "office": self.kiosk_office},
        }


DEFAULT = CertificateSettings()


def _label(value: str | None, path: str, limit: int = _LABEL) -> str:
    if not value or not value.strip():
        raise Required(field=path)
    text = value.strip()
    if len(text) > limit or any(ord(c) < 0x20 for c in text):
        raise InvalidField(f"{limit}文字までの1行で指定してください", path)
    return text


def _codes(value: list[str], allowed: tuple[str, ...], path: str) -> frozenset[str]:
    unknown = [v for v in value if v not in allowed]
    if unknown:
        raise InvalidField(f"指定できない項目です: {', '.join(unknown[:5])}", path)
    return frozenset(value)


def _kind(value: Mapping[str, Any], path: str) -> KindSettings:
    extra = set(value) - {"include", "omit", "signer", "seal"}
    if extra:
        raise InvalidField(f"指定できない設定です: {', '.join(sorted(extra))}", path)
    signer = value.get("signer", "mayor")
    if signer not in SIGNERS:
        raise InvalidField("signer は mayor / acting のいずれかです", f"{path}.signer")
    seal = value.get("seal", "mayor")
    if seal not in SEALS:
        raise InvalidField("seal は mayor / certificate / none のいずれかです", f"{path}.seal")
    return KindSettings(
        include=_codes(value.get("include", []), DEFAULTABLE, f"{path}.include"),
        omit=_codes(value.get("omit", []), FOREIGN_OMITTABLE, f"{path}.omit"),
        signer=signer,
        seal=seal,
    )


def _official(value: Mapping[str, Any], path: str) -> Official:
    title = _label(value.get("title"), f"{path}.title")
    if not PREFECTURE.match(title):
        raise InvalidField("職名は都道府県名から書きます（例: 東京都小平市長）", f"{path}.title")
    return Official(title, _label(value.get("name"), f"{path}.name", 30))


def parse(payload: Mapping[str, Any]) -> CertificateSettings:
    """A whole settings document, as `as_dict` writes it; what it leaves out keeps the default."""
    extra = set(payload) - {"kinds", "mayor", "acting", "overflow", "printers", "kiosk"}
    if extra:
        raise InvalidField(f"指定できない設定です: {', '.join(sorted(extra))}", "settings")
    kinds_in = payload.get("kinds", {})
    if set(kinds_in) - set(KIND_CODES):
        raise InvalidField(f"証明書の種類は {' / '.join(KIND_CODES)} です", "kinds")
    kinds = {
        code: _kind(kinds_in[code], f"kinds.{code}") if code in kinds_in else KindSettings()
        for code in KIND_CODES
    }
    overflow = payload.get("overflow", DEFAULT.overflow)
    if overflow not in OVERFLOW:
        raise InvalidField("overflow は truncate / blank のいずれかです", "overflow")
    printers_in = payload.get("printers", {})
    if len(printers_in) > 500:
        raise InvalidField("端末ごとのプリンタ名で指定してください", "printers")
    printers = {_label(t, "printers", 100): _label(p, f"printers.{t}", 20) for t, p in printers_in.items()}
    kiosk = payload.get("kiosk", {})
    if set(kiosk) - {"fee", "office"}:
        raise InvalidField("kiosk は fee と office です", "kiosk")
    fee: int = kiosk.get("fee", DEFAULT.kiosk_fee)
    if not 0 <= fee <= 10_000:
        raise InvalidField("手数料は0〜10,000円です", "kiosk.fee")
    return CertificateSettings(
        kinds=kinds,
        mayor=_official(payload["mayor"], "mayor") if "mayor" in payload else DEFAULT.mayor,
        acting=_official(payload["acting"], "acting") if "acting" in payload else DEFAULT.acting,
        overflow=overflow,
        printers=printers,
        kiosk_fee=fee,
        kiosk_office=_label(kiosk.get("office", DEFAULT.kiosk_office), "kiosk.office", 20),
    )
