"""`juki pia render --db URL --out DIR` (API.md): DIR/pia.html and a PDF with 別紙1 and 別紙2, each in full, from the
policy the register enforces — an amendment shows in the next rendering."""

from __future__ import annotations

import subprocess

from typer.testing import CliRunner

from juki.cli.pia import pia_app
from juki.services import transfer_feed as feed
from tests.e2e.transfer_support import ADMIN


def test_the_pia_tables_come_whole_from_the_policy_in_force(j, tmp_path):
    feed.amend_policy(
        j.uow,
        ADMIN,
        {"rows": {"別紙2-14": {"purpose": "災害対策基本法による被災者台帳の作成に関する事務"}}},
        "用途の修正",
    )
    res = CliRunner().invoke(pia_app, ["--db", j.settings.database_url, "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    html = (tmp_path / "pia.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and 'lang="ja"' in html
    policy = feed.stored_policy(j.uow)
    assert policy.version == 1 and len(policy.transfers) == 53 and len(policy.provisions) == 59
    for row in policy.transfers + policy.provisions:
        assert row.purpose in html, row.key
    assert "移転先53" in html and "提供先59" in html and "小平市教育委員会 学務課" in html
    assert "災害対策基本法による被災者台帳の作成に関する事務" in html and "第1版" in html
    text = subprocess.run(
        ["pdftotext", str(tmp_path / "pia.pdf"), "-"], capture_output=True, check=True
    ).stdout
    flat = "".join(text.decode().split())
    assert "移転先53" in flat and "提供先59" in flat and "選挙人名簿" in flat
