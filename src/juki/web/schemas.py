"""Request bodies: the one check of shape and JSON types, for the API and the clerk's forms alike.

A JSON body of `/api/v1` (and `/kiosk/v1`), a query of a search, and a form of the clerk's (a filing, a search, a
certificate, the certificate settings, a household's 記載順位 — each turned into the same dict) are validated by the
same model here — strings are strings, lists are lists, unknown fields are refused — before any domain parser sees
them; `problems` turns a refusal into API.md's error list (`invalid_field`, the field's path, a message), so a form
shows the code and message the API answers for the same input. The values' rules (formats, dates, code lists, the
register's rules) are the domain's (`domain/intake.py`, `policy/search.py`, `domain/certificates/request.py`,
`domain/certificate_settings.py`, `domain/kiosk.py`, the reorder's in `services/filings.py`): they take this typed
input and do not check its types again.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
)
from pydantic_core import PydanticCustomError


def _no_control(value: str) -> str:
    # NUL and other control characters have no place in any field (PostgreSQL cannot even store NUL), nor
    # lone surrogates, which no database encoding can hold.
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value):
        raise PydanticCustomError("control_character", "control characters are not allowed")
    return value


Text = Annotated[StrictStr, AfterValidator(_no_control)]
Short = Field(default=None, max_length=1000)
DatePart = Annotated[Text, Field(max_length=10)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginBody(Body):
    # Plain strings: whatever is typed, a wrong sign-in is answered 401 like any other (API.md).
    username: StrictStr = Field(max_length=100)
    password: StrictStr = Field(max_length=1000)
    otp: StrictStr = Field(max_length=20)


class AddressIn(Body):
    address: Text = Field(max_length=1000)
    katagaki: Text | None = Short
    postal_code: Text | None = Short


class OtherAddressIn(Body):
    address: Text = Field(max_length=1000)
    municipality_code: Text | None = Short
    country: Text | None = Short
    postal_code: Text | None = Short
    katagaki: Text | None = Short


class ForeignIn(Body):
    nationality: Text = Field(max_length=1000)
    article_30_45_category: Text = Field(max_length=1000)
    status_of_residence: Text | None = Short
    period_of_stay: Text | None = Short
    stay_expires_on: Text | None = Short
    residence_card_number: Text | None = Short
    special_permanent_resident_certificate_number: Text | None = Short
    alias_name: Text | None = Short
    alias_name_kana: Text | None = Short
    foreign_resident_since: Text | None = Short
    parallel_name: Text | None = Short


class PersonIn(Body):
    family_name: Text = Field(max_length=1000)
    given_name: Text = Field(max_length=1000)
    family_name_kana: Text = Field(max_length=1000)
    given_name_kana: Text = Field(max_length=1000)
    birth_date: Text | None = Short
    birth_date_unknown: Text | None = Short
    # j80: the unknown parts of birth_date (["day"], ["month", "day"] or all three); the domain checks the values.
    birth_date_unknown_parts: list[DatePart] | None = Field(default=None, max_length=3)
    sex: Text = Field(max_length=20)
    relationship: Text = Field(max_length=100)
    my_number: Text | None = Short
    resident_code: Text | None = Short
    honseki: Text | None = Short
    family_register_head: Text | None = Short
    former_surname: Text | None = Short
    former_surname_kana: Text | None = Short
    foreign: ForeignIn | None = None


class HouseholdRef(Body):
    new: StrictBool | None = None
    household_number: Text | None = Short


Relationships = dict[Text, Text]


class MoveInBody(Body):
    filed_on: Text
    changed_on: Text
    previous_address: OtherAddressIn
    address: AddressIn
    household: HouseholdRef
    persons: list[PersonIn] = Field(max_length=50)
    # 特例転入 (住基法24条の2) on the 転出証明書情報 the CS holds, chosen by its id (docs/card-moves.md)
    card_move_in: StrictBool | None = None
    moveout_certificate_id: Text | None = Field(default=None, max_length=100)


class MoveWithinBody(Body):
    # Extra person fields are let through to the domain so it can answer `non_address_change` (API.md).
    model_config = ConfigDict(extra="allow")
    filed_on: Text
    changed_on: Text
    household_number: Text
    addressee_numbers: list[Text] = Field(max_length=50)
    address: AddressIn
    new_household: StrictBool | None = None
    householder: Text | None = None
    join_household_number: Text | None = None
    new_relationships: Relationships | None = None
    new_householder: Text | None = None


class MoveOutBody(Body):
    filed_on: Text
    planned_on: Text
    addressee_numbers: list[Text] = Field(max_length=50)
    destination: OtherAddressIn
    card_move_out: StrictBool | None = None  # 特例転出 (標準仕様書 j670): the person holds a My Number card
    new_householder: Text | None = None
    new_relationships: Relationships | None = None


class BirthBody(Body):
    filed_on: Text
    birth_date: Text
    household_number: Text
    person: PersonIn


class DeathBody(Body):
    filed_on: Text
    died_on: Text
    addressee_number: Text
    new_householder: Text | None = None
    new_relationships: Relationships | None = None


class HouseholdChangeBody(Body):
    filed_on: Text
    changed_on: Text
    type: Literal["householder_change", "split", "merge"]
    household_number: Text
    new_householder: Text | None = None
    addressee_numbers: list[Text] | None = Field(default=None, max_length=50)
    householder: Text | None = None
    into_household_number: Text | None = None
    new_relationships: Relationships | None = None


class ExOfficioEntryBody(Body):
    filed_on: Text
    changed_on: Text
    reason: Text = Field(max_length=1000)
    address: AddressIn
    household: HouseholdRef | None = None
    persons: list[PersonIn] = Field(max_length=50)


class EnrollmentIn(Body):
    """An insurance or benefit status (国保・後期高齢・介護・国民年金・児童手当) as a correction gives it."""

    enrolled: StrictBool | None = None
    acquired_on: Text | None = Short
    lost_on: Text | None = Short
    number: Text | None = Short
    category: Text | None = Short


class CorrectionsIn(Body):
    """The items a 職権修正 changes, each typed. An item that is not one of them is let through to the domain,
    whose rule names it (`修正できない項目です`), as a move-within's person field is."""

    model_config = ConfigDict(extra="allow")
    family_name: Text | None = Short
    given_name: Text | None = Short
    former_surname: Text | None = Short
    family_name_kana: Text | None = Short
    given_name_kana: Text | None = Short
    former_surname_kana: Text | None = Short
    birth_date: Text | None = Short
    birth_date_unknown_parts: list[DatePart] | None = Field(default=None, max_length=3)
    resident_since: Text | None = Short
    honseki: Text | None = Short
    family_register_head: Text | None = Short
    relationship: Text | None = Field(default=None, max_length=100)
    my_number: Text | None = Short
    resident_code: Text | None = Short
    sex: Text | None = Field(default=None, max_length=20)
    voter_registered: StrictBool | None = None
    school_district: Text | None = Short
    voting_district: Text | None = Short
    foreign: ForeignIn | None = None
    national_health_insurance: EnrollmentIn | None = None
    late_elderly_insurance: EnrollmentIn | None = None
    long_term_care_insurance: EnrollmentIn | None = None
    national_pension: EnrollmentIn | None = None
    child_allowance: EnrollmentIn | None = None


class ExOfficioCorrectionBody(Body):
    filed_on: Text
    changed_on: Text
    reason: Text = Field(max_length=1000)
    addressee_number: Text
    corrections: CorrectionsIn
    # 職権修正 (default), 特別養子縁組, 特別養子縁組解消, 性別変更 (j40) or 軽微な修正 (names and kana only)
    change_reason: Text | None = None


class ExOfficioRemovalBody(Body):
    filed_on: Text
    changed_on: Text
    reason: Text = Field(max_length=1000)
    addressee_numbers: list[Text] = Field(max_length=50)
    new_householder: Text | None = None
    new_relationships: Relationships | None = None


class ExOfficioRestorationBody(Body):
    filed_on: Text
    changed_on: Text
    reason: Text = Field(max_length=1000)
    addressee_number: Text


class MoveOutConfirmationBody(Body):
    """転入通知受理 (標準仕様書 j680, j700): a 転入通知 the counter enters (one that came on paper)."""

    resident_code: Text = Field(max_length=20)
    moved_in_on: Text = Field(max_length=20)
    destination_address: Text = Field(max_length=300)
    destination_city_code: Text = Field(max_length=10)
    notified_on: Text = Field(max_length=20)


class MoveOutCertificateLookupBody(Body):
    """特例転入: the 転出証明書情報 the CS holds, by 住民票コード or by kana name and birth date (posted, so the
    住民票コード stays out of URLs and access logs)."""

    resident_code: Text | None = Field(default=None, max_length=20)
    family_name_kana: Text | None = Field(default=None, max_length=100)
    birth_date: Text | None = Field(default=None, max_length=20)


class DecisionBody(Body):
    comment: Text | None = Short


class CancelBody(Body):
    filed_on: Text
    reason: Text = Field(max_length=1000)
    addressee_numbers: list[Text] | None = Field(default=None, max_length=50)  # part of the filing (j980)


class LookupBody(Body):
    """The exact look-up by My Number, in a body: a number in a URL reaches access logs and browser histories."""

    my_number: Text = Field(max_length=40)


class MemberOrderBody(Body):
    """記載順位の変更 (j1010): `standard` — the standard order; `manual` — every current member's 宛名番号 in the
    wanted order. `version`: the household's version as read (`GET /households/{n}`), else `409 conflict`."""

    mode: Literal["standard", "manual"]
    addressee_numbers: list[Text] | None = Field(default=None, max_length=100)
    version: StrictInt | None = Field(default=None, ge=1)


class CertificateIncludeIn(Body):
    """Each item true or false; one left out takes the city's default for the kind (j1000)."""

    householder_and_relationship: StrictBool | None = None
    honseki: StrictBool | None = None
    resident_code: StrictBool | None = None
    my_number: StrictBool | None = None
    history: StrictBool | None = None


class CertificateRequesterIn(Body):
    type: Text = Field(max_length=40)  # self / household_member / agent / third_party / official
    name: Text = Field(max_length=200)
    addressee_number: Text | None = Field(default=None, max_length=20)  # the person, or an agent's principal
    reason: Text | None = Field(default=None, max_length=500)  # 第12条の3 / 第12条の2


class IdentityDocumentsIn(Body):
    document: Text | None = Field(default=None, max_length=60)  # the kind of document shown, never its number
    authority_document: Text | None = Field(default=None, max_length=60)  # 委任状 (agents)


class CertificateBody(Body):
    """`POST /api/v1/certificates`, and the counter's certificate form (`web/ui/certificate_form.py`) alike; the
    request's values are `domain/certificates/request.py`'s."""

    kind: Text = Field(max_length=40)
    household_number: Text | None = Field(default=None, max_length=20)
    addressee_numbers: list[Text] | None = Field(default=None, max_length=50)
    include: CertificateIncludeIn = Field(default_factory=CertificateIncludeIn)
    requester: CertificateRequesterIn
    purpose: Text = Field(max_length=200)
    # Extensions (docs/api-extensions.md)
    # foreign-resident items one by one, 通称履歴, 方書; absent: the city's default omissions for the kind
    omit: list[Text] | None = Field(default=None, max_length=20)
    layout: Text = Field(default="household", max_length=20)  # household (世帯連記式) / individual (個人票)
    items: list[Text] | None = Field(default=None, max_length=20)  # 記載事項証明書: the items certified
    copies: StrictInt = 1
    identity_check: IdentityDocumentsIn | None = None


class KioskIncludeIn(Body):
    householder_and_relationship: StrictBool = False
    honseki: StrictBool = False


class KioskCertificateBody(Body):
    """`POST /kiosk/v1/certificates`: what a resident asks for at a kiosk; its values are `domain/kiosk.py`'s."""

    kind: Text = Field(default="residence_certificate", max_length=40)
    scope: Literal["self", "household", "members"] = "self"
    addressee_numbers: list[Text] | None = Field(default=None, max_length=50)
    include: KioskIncludeIn = Field(default_factory=KioskIncludeIn)
    copies: StrictInt = 1


# The city's certificate settings document (`PUT /api/v1/certificates/settings`'s `settings`, the settings page's
# form). An item a model does not declare is let through to the domain, whose rule names it with its path
# (`domain/certificate_settings.py`), as a correction's item is.


class KindSettingsIn(Body):
    model_config = ConfigDict(extra="allow")
    include: list[Text] | None = None
    omit: list[Text] | None = None
    signer: Text | None = None
    seal: Text | None = None


class OfficialIn(Body):
    title: Text
    name: Text


class KioskSettingsIn(Body):
    model_config = ConfigDict(extra="allow")
    fee: StrictInt | None = None
    office: Text | None = None


class CertificateSettingsIn(Body):
    """The values' limits (lengths, code lists, the fee's range) are the domain's, with its own words."""

    model_config = ConfigDict(extra="allow")
    kinds: dict[StrictStr, KindSettingsIn] | None = None  # by kind; the domain names a kind it does not know
    mayor: OfficialIn | None = None
    acting: OfficialIn | None = None
    overflow: Text | None = None
    # terminal → printer (j1040); a terminal is checked as a label by the domain, whose path for it is `printers`
    printers: dict[StrictStr, Text] | None = None
    kiosk: KioskSettingsIn | None = None


class CertificateSettingsChangeBody(Body):
    """`PUT /api/v1/certificates/settings` and the settings page: the whole document, as GET answers it, typed by
    `CertificateSettingsIn` on its own so that an error names its path in the document (`kiosk.fee`), not under
    `settings.`."""

    settings: dict[str, Any]
    reason: Text = Field(max_length=500)
    version: StrictInt | None = None  # the version this one replaces (409 conflict if another came first)


class SearchCriteriaIn(Body):
    """The search screen's criteria (two of name / birth date / address; how to match), as `GET /api/v1/residents`
    takes them in its query; `params` is what the search service takes from either."""

    name: Text | None = Field(default=None, max_length=200)
    birth_date: Text | None = Field(default=None, max_length=40)
    address: Text | None = Field(default=None, max_length=300)
    sex: Text | None = Field(default=None, max_length=10)
    name_match: Text | None = Field(default=None, max_length=10)
    history: StrictBool = False

    def params(self) -> dict[str, str]:
        given = self.model_dump(exclude={"history"}, exclude_none=True)
        flags = {"history": "true"} if self.history else {}
        return {**{k: v.strip() for k, v in given.items() if v.strip()}, **flags}


class ResidentsQuery(SearchCriteriaIn):
    """`GET /api/v1/residents`'s query: the search screen's criteria, or one number to look up. A query parameter
    it does not name is ignored, as a URL's may be; `history` is read as a query string says it (`true`, `1`, `on`).
    `my_number` is refused by the route whatever its value, which is never echoed."""

    model_config = ConfigDict(extra="ignore")
    history: bool = False
    resident_code: Text | None = Field(default=None, max_length=20)
    addressee_number: Text | None = Field(default=None, max_length=20)
    household_number: Text | None = Field(default=None, max_length=20)
    residence_card_number: Text | None = Field(default=None, max_length=20)

    def query(self) -> dict[str, str]:
        """What the search service takes: the parameters given, as given (an empty one is not given)."""
        given = self.model_dump(exclude={"history"}, exclude_none=True)
        flags = {"history": "true"} if self.history else {}
        return {**{k: v for k, v in given.items() if v}, **flags}


BODIES: dict[str, type[Body]] = {
    "move-in": MoveInBody,
    "move-within": MoveWithinBody,
    "move-out": MoveOutBody,
    "birth": BirthBody,
    "death": DeathBody,
    "household-change": HouseholdChangeBody,
    "ex-officio-entry": ExOfficioEntryBody,
    "ex-officio-correction": ExOfficioCorrectionBody,
    "ex-officio-removal": ExOfficioRemovalBody,
    "ex-officio-restoration": ExOfficioRestorationBody,
}


# --- a refusal as API.md's error list ------------------------------------------------------------------------

_MESSAGES = {
    "missing": "必須項目です",
    "extra_forbidden": "この項目は指定できません",
    "json_invalid": "JSONの形式が正しくありません",
    "string_too_long": "長すぎます",
    "too_long": "長すぎます",  # a list, or a Text (its length is checked after its own validator)
    "control_character": "制御文字は使えません",
}
WRONG_TYPE = "値の型が正しくありません"
_LOCATIONS = ("body", "query", "path")  # where FastAPI found the value: not part of the field's path


def field_path(loc: Iterable[Any]) -> str:
    """`("body", "persons", 0, "sex")` → `persons.0.sex`: the path API.md errors name a field by."""
    return ".".join(str(p) for p in loc if p not in _LOCATIONS)


def problems(errors: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Pydantic's errors as API.md's `errors` entries. Never the input itself: it may hold a My Number."""
    return [
        {
            "code": "invalid_field",
            "field": field_path(e.get("loc", ())),
            "message": _MESSAGES.get(str(e.get("type", "")), WRONG_TYPE),
        }
        for e in errors
    ]


B = TypeVar("B", bound=Body)


def check(model: type[B], data: Mapping[str, Any]) -> tuple[B | None, list[dict[str, Any]]]:
    """`data` (a form's body) through `model`, as FastAPI puts a JSON body through it: the body, or its problems."""
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, problems(exc.errors())
