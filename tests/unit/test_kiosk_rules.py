"""コンビニ交付's rules (domain/kiosk.py) and the city's certificate checks (adapters/pki.py, against the test PKI of
sim/pki.py), without a register."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from juki.adapters.pki import TrustAnchors, pem
from juki.domain import kiosk as rules
from juki.domain.dates import JST
from juki.domain.errors import Forbidden, InvalidField
from juki.domain.kiosk import (
    CardNotFound,
    CardRefused,
    CardState,
    Holder,
    KioskNotFound,
    KioskRequest,
    NoCardSession,
    ServiceHours,
)
from juki.sim.pki import SimCA, WrongPin, issue_card, issue_kiosk
from juki.web import schemas

HOURS = ServiceHours.parse("06:30", "23:00")
NOW = datetime(2025, 6, 30, 1, 0, tzinfo=UTC)  # 10:00 in Japan


def jst(*args: int) -> datetime:
    return datetime(*args, tzinfo=JST)


# --- service hours -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "open_"),
    [
        (jst(2025, 6, 30, 6, 29), False),
        (jst(2025, 6, 30, 6, 30), True),
        (jst(2025, 6, 30, 22, 59, 59), True),
        (jst(2025, 6, 30, 23, 0), False),
        (jst(2025, 6, 30, 0, 0), False),
        (datetime(2025, 6, 29, 21, 30, tzinfo=UTC), True),  # 06:30 on the 30th in Japan
        (datetime(2025, 6, 30, 14, 0, tzinfo=UTC), False),  # 23:00 in Japan
        (jst(2025, 12, 28, 12, 0), True),
        (jst(2025, 12, 29, 12, 0), False),
        (jst(2025, 12, 31, 12, 0), False),
        (jst(2026, 1, 3, 22, 0), False),
        (jst(2026, 1, 4, 6, 30), True),
        (jst(2025, 7, 6, 12, 0), True),  # a Sunday: kiosks are open on weekends and holidays
    ],
)
def test_the_kiosk_is_open_from_six_thirty_to_eleven_except_over_the_new_year(at, open_):
    assert HOURS.is_open(at) is open_


def test_the_hours_and_the_new_year_closure_are_settings():
    late = ServiceHours.parse("00:00", "24:00", year_end_closed=False)
    assert late.is_open(jst(2025, 12, 31, 23, 59)) and late.is_open(jst(2025, 6, 30, 0, 0))
    assert late.end is None and late.start == time(0, 0)
    assert HOURS.describe() == "06:30〜23:00（12月29日〜1月3日を除く）"


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("6:30", "6:30"),
        ("23:00", "06:30"),
        ("24:00", "24:00"),
        ("7", "8:00"),
        ("06:60", "23:00"),
        ("25:00", "26:00"),
    ],
)
def test_impossible_hours_are_refused(start, end):
    with pytest.raises(InvalidField):
        ServiceHours.parse(start, end)


# --- the card ----------------------------------------------------------------------------------------------------


def card(**over) -> CardState:
    values = {
        "serial": "abc",
        "addressee_number": "0000019",
        "state": "active",
        "pin_failures": 0,
        "locked": False,
        "revoked_by_jlis": False,
        "not_before": NOW - timedelta(days=30),
        "not_after": NOW + timedelta(days=30),
    }
    return CardState(**(values | over))


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        (None, "unknown_card"),
        (card(), None),
        (card(revoked_by_jlis=True, locked=True), "revoked"),
        (card(state="revoked"), "revoked"),
        (card(state="suspended", locked=True), "suspended"),
        (card(not_after=NOW), "expired"),
        (card(not_after=NOW - timedelta(seconds=1), locked=True), "expired"),
        (card(not_before=NOW + timedelta(seconds=1)), "not_yet_valid"),
        (card(locked=True, pin_failures=3), "locked"),
        (card(not_before=None, not_after=None), None),
    ],
)
def test_why_a_card_cannot_be_used(state, reason):
    assert rules.card_refusal(state, NOW) == reason


def test_three_wrong_pins_lock_a_card():
    assert [rules.locks(n) for n in (1, 2, 3, 4)] == [False, False, True, True]
    assert [rules.remaining_tries(n) for n in (0, 1, 2, 3, 5)] == [3, 2, 1, 0, 0]


@pytest.mark.parametrize("kiosk_id", ["kiosk-a", "MFP.0001_x", "a" * 32])
def test_kiosk_ids_fit_the_log(kiosk_id):
    assert rules.check_kiosk_id(kiosk_id) == kiosk_id
    assert len(f"kiosk:{kiosk_id}") <= 40


@pytest.mark.parametrize("kiosk_id", ["", "a" * 33, "-a", "端末", "a b", "a/b"])
def test_odd_kiosk_ids_are_refused(kiosk_id):
    with pytest.raises(InvalidField):
        rules.check_kiosk_id(kiosk_id)


# --- what a resident may get -------------------------------------------------------------------------------------

HOLDER = Holder("0000019", "山田 太郎", "1000016")
HOUSEHOLD = ["0000019", "0000027", "0000035"]


def test_the_options_a_resident_may_choose():
    req = rules.parse_request(
        {"scope": "household", "include": {"honseki": True, "householder_and_relationship": False}}
    )
    assert req == KioskRequest("household", (), frozenset({"honseki"}), 1)


@pytest.mark.parametrize("item", ["my_number", "resident_code", "history"])
def test_numbers_and_history_stay_at_the_counter(item):
    with pytest.raises(InvalidField, match="窓口"):
        rules.parse_request({"include": {item: True}})


@pytest.mark.parametrize(
    "payload",
    [
        {"kind": "entry_certificate"},
        {"scope": "agent"},
        {"scope": "members"},
        {"scope": "members", "addressee_numbers": []},
        {"scope": "self", "addressee_numbers": ["0000019"]},
        {"include": {"honseki": "yes"}},
        {"include": {"omit": True}},
        {"copies": 0},
        {"copies": 11},
        {"copies": True},
    ],
)
def test_requests_a_kiosk_cannot_make_are_refused(payload):
    with pytest.raises(InvalidField):
        typed(payload)


def typed(body: dict) -> KioskRequest:
    """A request as `/kiosk/v1/certificates` hands it over: through its request model (web/schemas.py: the types),
    then the kiosk's rules (the values)."""
    model, problems = schemas.check(schemas.KioskCertificateBody, body)
    if model is None:
        raise InvalidField(problems[0]["message"], problems[0]["field"])
    return rules.parse_request(model.model_dump(exclude_none=True))


def test_the_persons_come_from_the_holders_household_only():
    assert rules.subjects(KioskRequest("self", (), frozenset()), HOLDER, HOUSEHOLD) == ["0000019"]
    assert rules.subjects(KioskRequest("household", (), frozenset()), HOLDER, HOUSEHOLD) == HOUSEHOLD
    chosen = KioskRequest("members", ("0000035", "0000027"), frozenset())
    assert rules.subjects(chosen, HOLDER, HOUSEHOLD) == ["0000027", "0000035"]  # 記載順位
    with pytest.raises(Forbidden):
        rules.subjects(KioskRequest("members", ("0000027", "0000043"), frozenset()), HOLDER, HOUSEHOLD)


def test_the_certificate_request_names_the_holder_as_requester():
    own = rules.certificate_request(
        KioskRequest("household", (), frozenset({"honseki"}), 2), HOLDER, HOUSEHOLD
    )
    assert own["household_number"] == "1000016" and "addressee_numbers" not in own
    assert own["requester"] == {"type": "self", "name": "山田 太郎", "addressee_number": "0000019"}
    assert (
        own["include"]
        == {  # every item said: the counter's defaults never reach a kiosk
            "householder_and_relationship": False,
            "honseki": True,
            "resident_code": False,
            "my_number": False,
            "history": False,
        }
        and own["copies"] == 2
        and own["kind"] == "residence_certificate"
    )
    other = rules.certificate_request(KioskRequest("members", ("0000027",), frozenset()), HOLDER, ["0000027"])
    assert other["requester"]["type"] == "household_member" and other["addressee_numbers"] == ["0000027"]


# --- the certificates ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cas() -> tuple[SimCA, SimCA, SimCA]:
    return SimCA.create("card", "J-LIS (test)"), SimCA.create("kiosk", "kiosks"), SimCA.create("rogue", "x")


def test_a_card_certificate_names_nobody_and_its_serial_is_the_key(cas):
    card_ca, kiosk_ca, _ = cas
    sim = issue_card(card_ca, "1234")
    text = pem(sim.cert)
    trust = TrustAnchors(card_ca.cert, kiosk_ca.cert)
    presented = trust.card(text)
    assert presented.subject_id == sim.serial == format(sim.cert.serial_number, "x")
    assert len(sim.serial) <= 40
    subject = sim.cert.subject.rfc4514_string()
    assert "JPKI" in subject and "山田" not in subject
    assert not [e for e in sim.cert.extensions if "SubjectAlternativeName" in type(e.value).__name__]


@pytest.mark.parametrize("kind", ["ec", "rsa"])
def test_the_chip_signs_only_after_the_right_pin_and_the_city_checks_the_signature(cas, kind):
    card_ca, kiosk_ca, _ = cas
    sim = issue_card(card_ca, "1234", kind=kind)
    trust = TrustAnchors(card_ca.cert, kiosk_ca.cert)
    presented = trust.card(sim.certificate_pem)
    with pytest.raises(WrongPin):
        sim.sign(b"challenge", "4321")
    signature = sim.sign(b"challenge", "1234")
    assert trust.possession(presented, b"challenge", signature)
    assert not trust.possession(presented, b"another challenge", signature)
    assert not trust.possession(presented, b"challenge", signature[:-2] + b"\x00\x00")


def test_certificates_from_the_wrong_ca_or_of_the_wrong_kind_are_refused(cas):
    card_ca, kiosk_ca, rogue = cas
    trust = TrustAnchors(card_ca.cert, kiosk_ca.cert)
    reasons = {}
    for name, check, text in (
        ("card from rogue", trust.card, issue_card(rogue).certificate_pem),
        ("card from kiosk CA", trust.card, issue_card(kiosk_ca).certificate_pem),
        ("kiosk from card CA", trust.kiosk, pem(issue_kiosk(card_ca, "k1")[1])),
        ("kiosk from rogue", trust.kiosk, pem(issue_kiosk(rogue, "k1")[1])),
        ("the CA itself", trust.card, pem(card_ca.cert)),
        ("garbage", trust.card, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
    ):
        with pytest.raises(CardRefused) as refused:
            check(text)
        reasons[name] = refused.value.reason
    assert reasons == {
        "card from rogue": "untrusted",
        "card from kiosk CA": "untrusted",
        "kiosk from card CA": "untrusted",
        "kiosk from rogue": "untrusted",
        "the CA itself": "untrusted",
        "garbage": "malformed",
    }
    assert trust.kiosk(pem(issue_kiosk(kiosk_ca, "k1")[1])).subject_id == "k1"
    with pytest.raises(CardRefused) as refused:
        TrustAnchors(None, None).card(issue_card(card_ca).certificate_pem)
    assert refused.value.reason == "no_trust_anchor"


def test_a_certificates_validity_is_what_it_says(cas):
    card_ca, _, _ = cas
    sim = issue_card(card_ca, now=NOW, not_after=NOW + timedelta(days=1))
    presented = TrustAnchors(card_ca.cert, None).card(sim.certificate_pem)
    assert presented.valid_at(NOW) and not presented.valid_at(NOW + timedelta(days=1))
    assert not presented.valid_at(NOW - timedelta(days=1))


def test_the_revocation_list_must_be_signed_by_the_card_ca(cas):
    card_ca, kiosk_ca, rogue = cas
    trust = TrustAnchors(card_ca.cert, kiosk_ca.cert)
    sim = issue_card(card_ca)
    [(serial, at, _)] = trust.revocations(card_ca.crl([(sim.cert.serial_number, NOW)]))
    assert serial == sim.serial and at == NOW
    for crl in (rogue.crl([(1, NOW)]), b"not a crl"):
        with pytest.raises(CardRefused):
            trust.revocations(crl)


def test_the_kiosk_rules_that_refuse_say_so_with_their_stable_codes_and_fields():
    """A kiosk without a live card session must sign the card in again; the counter's unknown kiosk or card is
    not found — each with the code and field the API documents."""
    assert NoCardSession().to_dict() == {
        "code": "unauthenticated",
        "field": "X-Kiosk-Session",
        "message": "カードの認証からやり直してください",
    }
    assert (KioskNotFound().code, KioskNotFound().field, KioskNotFound().status) == (
        "not_found",
        "kiosk_id",
        404,
    )
    assert (CardNotFound().code, CardNotFound().field, CardNotFound().message) == (
        "not_found",
        "serial",
        "該当するカードがありません",
    )
