from tests import factories as f


def test_move_in_of_a_family_creates_a_household_with_four_members(client, headers):
    res = client.post("/api/v1/filings/move-in", json=f.move_in(), headers=headers("clerk"))
    assert res.status_code == 201, res.text
    body = res.json()
    assert [c["change_reason"] for c in body["changes"]] == ["転入"] * 4
    hh = client.get(f"/api/v1/households/{body['household_number']}", headers=headers("clerk")).json()
    assert [m["relationship"] for m in hh["members"]] == ["世帯主", "妻", "子", "子"]
