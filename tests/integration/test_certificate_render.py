"""Certificates as drawn: every template against its reference image, the fonts' coverage of the
demo city's names and addresses, the QR code, and what a reader can copy out of the PDF.

Reference images live in tests/reference/ (one per template, rendered by pdftoppm at 60 dpi in grey). After a
deliberate change of the layout, run with JUKI_UPDATE_REFERENCE=1 to write them anew — and look at them.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from juki.adapters import pdf
from juki.domain import certificates as rules
from juki.domain.certificates import HistoryEntry, Issuer, Subject
from juki.domain.model import Address, ForeignResidentItems, MoveOutData, Removal, ResidentRecord

REFERENCE = Path(__file__).parent.parent / "reference"
TODAY = date(2025, 6, 30)
FAKE_MY_NUMBER = "987654321096"  # check digit valid; nobody's
FAKE_RESIDENT_CODE = "12345678903"
needs_poppler = pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils is not installed")
HOME = Address("東京都小平市小川町一丁目100番地5", "コーポ髙﨑201号室", "1870032", "小川町一丁目", "132110")
BEFORE = Address("東京都武蔵野市吉祥寺本町一丁目1番1号", municipality_code="132039")


def person(
    n: int, relationship: str, family: str, given: str, birth: date, sex: str, **over
) -> ResidentRecord:
    values = {
        "addressee_number": f"{n:09d}9",
        "household_number": "0000000019",
        "relationship": relationship,
        "position": n,
        "family_name": family,
        "given_name": given,
        "family_name_kana": "ヨシダ",
        "given_name_kana": "タロウ",
        "sex": sex,
        "birth_date": birth,
        "address": HOME,
        "resident_since": date(2019, 4, 1),
        "address_since": date(2019, 4, 1),
        "filed_on": date(2019, 4, 3),
        "previous_address": BEFORE,
        "honseki": "東京都小平市小川町一丁目100番地",
        "family_register_head": "𠮷田　太郎",
        "resident_code": FAKE_RESIDENT_CODE,
        "my_number": FAKE_MY_NUMBER,
    }
    values.update(over)
    return ResidentRecord(**values)


FAMILY = [
    person(1, "世帯主", "𠮷田", "太郎", date(1980, 4, 1), "male"),
    person(2, "妻", "𠮷田", "花子", date(1982, 7, 7), "female", former_surname="髙橋"),
    person(3, "子", "𠮷田", "一郎", date(2010, 5, 5), "male"),
    person(4, "子", "𠮷田", "桜", date(2013, 3, 3), "female"),
]
HISTORY = (
    HistoryEntry("転入", date(2019, 4, 1), date(2019, 4, 3), "東京都小平市小川町一丁目100番地5"),
    HistoryEntry("世帯主変更", date(2021, 1, 10), date(2021, 1, 12), "東京都小平市小川町一丁目100番地5"),
)
FOREIGN = person(
    5,
    "世帯主",
    "NGUYEN",
    "VAN AN",
    date(1995, 2, 14),
    "male",
    honseki=None,
    family_register_head=None,
    foreign=ForeignResidentItems(
        nationality="ベトナム",
        article_30_45_category="中長期在留者",
        status_of_residence="技術・人文知識・国際業務",
        period_of_stay="3年",
        stay_expires_on=date(2027, 3, 31),
        residence_card_number="AB12345678CD",
        alias_name="中村　安",
    ),
)
LEFT = person(
    6,
    "世帯主",
    "山﨑",
    "髙志",
    date(1970, 12, 24),
    "male",
    status="removed",
    removal=Removal("転出", date(2025, 5, 31)),
    move_out=MoveOutData(
        Address("大阪府大阪市北区梅田一丁目1番1号", municipality_code="271276"),
        date(2025, 5, 31),
        date(2025, 5, 20),
    ),
)


def request(kind: str, requester: str = "self", **over) -> rules.CertificateRequest:
    payload = {
        "kind": kind,
        "addressee_numbers": [FAMILY[0].addressee_number],
        "requester": {"type": requester, "name": "𠮷田 太郎", "addressee_number": FAMILY[0].addressee_number},
        "purpose": "参照画像",
        **over,
    }
    if requester == "official":
        payload["requester"] = {"type": "official", "name": "東京都", "reason": "生活保護法第29条"}
    return rules.parse_request(payload)


def document(
    req: rules.CertificateRequest,
    subjects: list[Subject],
    whole: bool = False,
    householder: str = "𠮷田　太郎",
):
    return rules.layout(
        req,
        subjects,
        whole_household=whole,
        householder=householder,
        today=TODAY,
        issuance_number="20250630-000123",
        terminal="T-01",
        issuer=Issuer(),
        verify_url="http://localhost:8000/verify/20250630-000123",
    )


ALL = {
    "householder_and_relationship": True,
    "honseki": True,
    "resident_code": True,
    "my_number": True,
    "history": True,
}
TEMPLATES = {
    "residence_household": lambda: document(
        request("residence_certificate", include=ALL), [Subject(r, HISTORY) for r in FAMILY], whole=True
    ),
    "residence_individual": lambda: document(
        request("residence_certificate", layout="individual", include={"householder_and_relationship": True}),
        [Subject(FOREIGN)],
        householder="NGUYEN　VAN AN",
    ),
    "entry_certificate": lambda: document(
        request("entry_certificate", items=["name", "birth_date", "sex", "address"]), [Subject(FAMILY[1])]
    ),
    "removed_record_certificate": lambda: document(
        request(
            "removed_record_certificate", requester="official", include={"householder_and_relationship": True}
        ),
        [Subject(LEFT)],
        householder="山﨑　髙志",
    ),
    "move_out_certificate": lambda: document(
        request("move_out_certificate"), [Subject(LEFT)], householder="山﨑　髙志"
    ),
}


def render_png(pdf_bytes: bytes, page: int = 1, dpi: int = 60) -> bytes:
    done = subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-gray", "-png", "-f", str(page), "-l", str(page), "-"],
        input=pdf_bytes,
        capture_output=True,
        check=True,
    )
    return done.stdout


def pdf_text(pdf_bytes: bytes) -> str:
    done = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf_bytes, capture_output=True, check=True
    )
    return re.sub(r"[ \u3000]+", " ", done.stdout.decode("utf-8"))


def difference(a: bytes, b: bytes) -> tuple[float, float]:
    """Mean absolute difference (0–255) and the share of pixels that differ by more than a quarter."""
    from PIL import Image, ImageChops, ImageStat

    first, second = Image.open(io.BytesIO(a)).convert("L"), Image.open(io.BytesIO(b)).convert("L")
    assert first.size == second.size, f"the page size changed: {first.size} vs {second.size}"
    diff = ImageChops.difference(first, second)
    mean = ImageStat.Stat(diff).mean[0]
    changed = sum(diff.point(lambda v: 255 if v > 64 else 0).histogram()[255:]) / (diff.width * diff.height)
    return mean, changed


def _alias_attachment() -> bytes:
    """The 通称 attachment (別紙) of a foreign resident's 個人票: its second page."""
    aliases = (
        rules.AliasEntry("中村", date(2020, 5, 1), "小平市", date(2024, 4, 1), "小平市"),
        rules.AliasEntry("中田", date(2024, 4, 1), "小平市"),
    )
    doc = document(request("residence_certificate", layout="individual"), [Subject(FOREIGN, aliases=aliases)])
    rendered = pdf.render([doc])
    assert rendered.warnings == ()
    return render_png(rendered.pdf, page=2)


def _overflow_list() -> bytes:
    line = {
        "issuance_number": "20250630-000123",
        "kind_name": "住民票記載事項証明書",
        "addressee_number": "0000000019",
        "item": "住所",
        "problem_name": "文字溢れ",
        "text": "東京都小平市小川町一丁目100番地5　" + "コーポ小平花小金井" * 10,
    }
    return render_png(
        pdf.render_overflow_list("文字超過リスト", "令和7年6月30日", "東京都小平市", [line] * 3)
    )


PAGES = {
    "alias_attachment": _alias_attachment,
    "overflow_list": _overflow_list,
}  # printed beside the templates


@needs_poppler
@pytest.mark.parametrize("name", sorted([*TEMPLATES, *PAGES]))
def test_every_template_renders_as_its_reference_image(name):
    if name in PAGES:
        png = PAGES[name]()
    else:
        rendered = pdf.render([TEMPLATES[name]()])
        assert rendered.warnings == ()
        png = render_png(rendered.pdf)
    reference = REFERENCE / f"{name}.png"
    if os.environ.get("JUKI_UPDATE_REFERENCE"):
        reference.parent.mkdir(exist_ok=True)
        reference.write_bytes(png)
    assert reference.exists(), f"no reference image {reference.name}: run with JUKI_UPDATE_REFERENCE=1"
    mean, changed = difference(png, reference.read_bytes())
    assert mean < 1.5 and changed < 0.005, (
        f"{name}: mean difference {mean:.2f}, {changed:.2%} of pixels changed"
    )


@needs_poppler
def test_the_comparison_notices_a_changed_certificate():
    """The tolerance is tight enough to see one changed item."""
    base = render_png(pdf.render([TEMPLATES["entry_certificate"]()]).pdf)
    req = request("entry_certificate", items=["name", "birth_date", "sex", "address"])
    other = render_png(pdf.render([document(req, [Subject(FAMILY[2])])]).pdf)
    mean, changed = difference(base, other)
    assert mean >= 0.05 and changed > 0.0001


@needs_poppler
def test_the_household_layout_takes_four_persons_a_page_and_numbers_every_page():
    req = request("residence_certificate", include={"householder_and_relationship": True})
    six = [
        *FAMILY,
        *(person(7 + i, "子", "𠮷田", f"次郎{i}", date(2015, 1, 1 + i), "male") for i in range(2)),
    ]
    doc = document(req, [Subject(r) for r in six], whole=True)
    assert [len([b for b in p.blocks if len(b.rows) > 2 or b.continued]) for p in doc.pages] == [4, 2]
    rendered = pdf.render([doc])
    pages = pdf_text(rendered.pdf).split("\f")[:-1]
    assert len(pages) == rendered.pages == 2
    for i, page in enumerate(pages, start=1):
        assert "20250630-000123" in page and f"{i}/2" in page
    assert "証明する" not in pages[0] and "証明する" in pages[1]


@needs_poppler
def test_the_pdf_carries_a_my_number_only_when_it_was_asked_for():
    asked = pdf_text(pdf.render([TEMPLATES["residence_household"]()]).pdf)
    assert FAKE_MY_NUMBER in asked and FAKE_RESIDENT_CODE in asked
    plain = document(
        request("residence_certificate", include={"honseki": True}), [Subject(r) for r in FAMILY]
    )
    text = pdf_text(pdf.render([plain]).pdf)
    assert FAKE_MY_NUMBER not in text and FAKE_RESIDENT_CODE not in text
    assert "個人番号" not in text and "住民票コード" not in text
    assert not plain.my_number_printed


@needs_poppler
def test_the_qr_code_reads_as_the_verify_address():
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image

    png = render_png(pdf.render([TEMPLATES["entry_certificate"]()]).pdf, dpi=200)
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert [b.text for b in found] == ["http://localhost:8000/verify/20250630-000123"]


def test_characters_outside_jis_are_drawn_from_the_mj_font():
    f = pdf.fonts()
    assert f.names[0] == "IPAmjMincho", "IPAmj明朝 (fonts-ipamj-mincho) is the main font"
    runs, missing = f.runs("𠮷田 髙橋 﨑山 渡邊 齋藤")
    assert not missing and {font for font, _ in runs} == {"IPAmjMincho"}
    _, missing = f.runs("\U000f0000")  # a private-use character no font has
    assert missing == ["\U000f0000"]


def test_text_that_does_not_fit_is_shrunk_then_cut_with_a_warning():
    long = "東京都小平市小川町一丁目" * 12
    req = request("entry_certificate", items=["address"])
    record = person(1, "世帯主", "𠮷田", "太郎", date(1980, 4, 1), "male", address=Address(long))
    rendered = pdf.render([document(req, [Subject(record)])])
    assert any("文字溢れ" in w and "住所" in w for w in rendered.warnings)


def _demo_text() -> set[str]:
    """Every character the demo city's names and addresses can use (the generator's source tables and towns)."""
    from juki.demo import sources as g
    from juki.domain.address import towns

    texts: list[str] = []
    for pairs in (g.FAMILY, *g.GIVEN.values()):
        texts += [w for pair in pairs for w in pair]
    for n in g.NATIONS:
        texts += [
            n.name,
            n.abroad,
            *n.statuses,
            *(w for pairs in (n.families, n.male, n.female) for p in pairs for w in p),
        ]
    for m in g.OTHER_MUNICIPALITIES:
        texts += [m.name, *m.towns]
    texts += list(g.BUILDINGS)
    texts += [t.town for t in towns()]
    texts += ["東京都小平市", "〒", "番地", "号", "丁目", "０１２３４５６７８９", "0123456789-", "ー・（）"]
    return {ch for text in texts for ch in text if not ch.isspace()}


def test_the_fonts_cover_every_character_of_the_demo_population():
    f = pdf.fonts()
    chars = _demo_text()
    assert len(chars) > 300
    assert {"𠮷", "髙", "﨑"} <= {ch for ch in "𠮷髙﨑" if ord(ch) in f.cmaps[0]}
    missing = sorted(ch for ch in chars if not any(ord(ch) in cmap for cmap in f.cmaps))
    assert not missing, f"no glyph for {missing[:20]}"


def test_the_fonts_cover_a_small_demo_register(tmp_path):
    """Names and addresses as the generator actually writes them (building names, 方書, foreign names)."""
    from rich.console import Console
    from sqlalchemy import select

    from juki.adapters import tables as t
    from juki.bootstrap import build
    from juki.demo.generator import build_demo

    j = build(str(tmp_path / "demo.db"), today=TODAY)
    try:
        build_demo(
            j, 60, seed=5, accounts_path=tmp_path / "accounts.json", console=Console(file=io.StringIO())
        )
        with j.engine.connect() as conn:
            records = [r for (r,) in conn.execute(select(t.residents.c.record)).all()]
    finally:
        j.engine.dispose()
    f = pdf.fonts()
    import json

    chars: set[str] = set()
    for raw in records:
        r = json.loads(raw) if isinstance(raw, str) else raw
        for value in (
            r["family_name"],
            r["given_name"],
            r["address"]["address"],
            r["address"].get("katagaki") or "",
        ):
            chars |= {ch for ch in value if not ch.isspace()}
    missing = sorted(ch for ch in chars if not any(ord(ch) in cmap for cmap in f.cmaps))
    assert chars and not missing, f"no glyph for {missing[:20]}"


@pytest.mark.parametrize("kind", sorted(pdf.SEALS))
def test_the_shipped_seals_are_small_pngs(kind):
    from PIL import Image

    assert pdf.SEALS[kind].exists()
    with Image.open(pdf.SEALS[kind]) as image:
        assert image.format == "PNG" and image.size[0] == image.size[1] and image.mode == "RGBA"
    assert pdf.SEAL_SIZE <= 25 * 72 / 25.4  # at most 25 mm on paper (j1050)
    assert pdf.SEALS[kind].read_bytes() == pdf.placeholder_seal(pdf.SEAL_TEXT[kind])  # what the code makes


# --- the city's settings as printed (j1040, j1050, j1070) and the 通称 attachment ---------------------------------


def _settings_document(req, subjects, issuer=None, **over):
    return rules.layout(
        req,
        subjects,
        whole_household=False,
        householder="𠮷田　太郎",
        today=TODAY,
        issuance_number="20250630-000123",
        terminal="窓口01",
        issuer=issuer or Issuer(),
        verify_url="http://localhost:8000/verify/20250630-000123",
        **over,
    )


@needs_poppler
def test_the_acting_official_signs_without_a_seal_when_the_settings_say_so():
    from juki.domain.certificate_settings import DEFAULT, CertificateSettings, KindSettings

    settings = CertificateSettings(
        kinds={**DEFAULT.kinds, "entry_certificate": KindSettings(signer="acting", seal="none")}
    )
    req = request("entry_certificate", items=["name", "address"])
    acting = _settings_document(req, [Subject(FAMILY[1])], Issuer().signed(settings, "entry_certificate"))
    text = pdf_text(pdf.render([acting]).pdf)
    assert "東京都小平市長職務代理者 小平市副市長 小平 次郎" in text and "公印省略" in text
    assert "この印は黒色です" not in text
    mayor = pdf_text(pdf.render([_settings_document(req, [Subject(FAMILY[1])])]).pdf)
    assert "東京都小平市長 小平 一郎" in mayor and "この印は黒色です" in mayor and "公印省略" not in mayor


@needs_poppler
def test_the_issuance_line_names_the_place_terminal_and_printer():
    req = request("entry_certificate", items=["name"])
    doc = _settings_document(req, [Subject(FAMILY[1])], printer="プリンタ001")
    text = pdf_text(pdf.render([doc]).pdf)
    assert "発行番号 20250630-000123 20250630 小平市 本庁 窓口01 プリンタ001 000123 1/1" in text


@needs_poppler
def test_an_overflowing_field_is_left_blank_when_the_settings_say_so_and_listed_either_way():
    long = "東京都小平市小川町一丁目" * 12
    record = person(1, "世帯主", "𠮷田", "太郎", date(1980, 4, 1), "male", address=Address(long))
    req = request("entry_certificate", items=["name", "address"])
    cut = pdf.render([_settings_document(req, [Subject(record)])])
    blank = pdf.render([_settings_document(req, [Subject(record)], overflow="blank")])
    for rendered in (cut, blank):
        assert [(o.subject, o.item, o.problem, o.text) for o in rendered.overflows] == [
            (record.addressee_number, "住所", "overflow", long)
        ]
        assert rendered.overflows[0].issuance_number == "20250630-000123"
    assert "東京都小平市小川町一丁目東京都" in pdf_text(cut.pdf)  # printed up to the limit
    assert "東京都小平市小川町一丁目" not in pdf_text(blank.pdf)  # left blank

    listed = pdf.render_overflow_list(
        "文字超過リスト",
        "令和7年6月30日",
        "東京都小平市",
        [
            {
                "issuance_number": "20250630-000123",
                "kind_name": "住民票記載事項証明書",
                "addressee_number": record.addressee_number,
                "item": "住所",
                "problem_name": "文字溢れ",
                "text": long,
            }
        ],
    )
    text = pdf_text(listed).replace("\n", "").replace(" ", "")
    assert "文字超過リスト" in text and long in text and record.addressee_number in text


@needs_poppler
def test_a_gaiji_is_listed_with_its_person():
    record = person(1, "世帯主", "𠮷田", "太\U000f0000郎", date(1980, 4, 1), "male")
    rendered = pdf.render(
        [_settings_document(request("entry_certificate", items=["name"]), [Subject(record)])]
    )
    assert [(o.subject, o.item, o.problem) for o in rendered.overflows] == [
        (record.addressee_number, "氏名", "gaiji")
    ]


@needs_poppler
def test_the_alias_attachment_is_printed_before_the_statement(tmp_path):
    aliases = (
        rules.AliasEntry("中村", date(2020, 5, 1), "小平市", date(2024, 4, 1), "小平市"),
        rules.AliasEntry("中田", date(2024, 4, 1), "小平市"),
    )
    doc = document(request("residence_certificate", layout="individual"), [Subject(FOREIGN, aliases=aliases)])
    rendered = pdf.render([doc])
    pages = pdf_text(rendered.pdf).split("\f")[:-1]
    assert rendered.pages == len(pages) == 2 and rendered.warnings == ()
    assert (
        "通称の記載及び削除に関する事項" in pages[1]
        and "中村" in pages[1]
        and "令和6年4月1日 小平市" in pages[1]
    )
    assert "証明する" not in pages[0] and "証明する" in pages[1]
    (tmp_path / "alias-attachment.png").write_bytes(render_png(rendered.pdf, page=2, dpi=80))


@needs_poppler
def test_the_certificate_only_seal_is_drawn_where_the_settings_choose_it():
    from juki.domain.certificate_settings import DEFAULT, CertificateSettings, KindSettings

    req = request("entry_certificate", items=["name"])

    def page_with(seal: str) -> bytes:
        settings = CertificateSettings(kinds={**DEFAULT.kinds, "entry_certificate": KindSettings(seal=seal)})
        doc = _settings_document(req, [Subject(FAMILY[1])], Issuer().signed(settings, "entry_certificate"))
        return render_png(pdf.render([doc]).pdf, dpi=100)

    mayor, certificate, none = page_with("mayor"), page_with("certificate"), page_with("none")
    assert difference(mayor, certificate)[1] > 0.0005  # another seal image
    assert difference(mayor, none)[1] > 0.0005
    assert "この印は黒色です" in pdf_text(
        pdf.render([_settings_document(req, [Subject(FAMILY[1])], Issuer(seal="certificate"))]).pdf
    )
