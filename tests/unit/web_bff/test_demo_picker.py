"""The development provider's picker offers the demo tenant's customers by name, as the seeding wrote them."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from web_bff.dev_oidc.demo_users import DemoAccount, customer_of, demo_accounts
from web_bff.dev_oidc.picker_page import picker_page


def test_the_picker_offers_each_demo_customer_by_name_beside_the_account_id_form(tmp_path: Path) -> None:
    account = uuid.uuid4()
    path = tmp_path / "demo-accounts.json"
    path.write_text(json.dumps([{"name": "Demo <GmbH>", "account_id": str(account), "blurb": "burning"}]))

    listed = demo_accounts(path)
    page = picker_page(action="/authorize", params={"state": "s"}, client_id="rental-web", demo=listed)

    assert listed == [DemoAccount(name="Demo <GmbH>", account_id=account, blurb="burning")]
    assert f'value="customer:{account}">Demo &lt;GmbH&gt;</button>' in page
    assert "Customer of an account id" in page
    assert customer_of(account, "Demo GmbH").name == "Customer of Demo GmbH"


def test_without_a_seeded_demo_or_with_a_broken_file_the_picker_has_no_demo_customers(tmp_path: Path) -> None:
    assert demo_accounts(tmp_path / "missing.json") == []
    (tmp_path / "broken.json").write_text("{not json")
    assert demo_accounts(tmp_path / "broken.json") == []
    page = picker_page(action="/authorize", params={}, client_id="rental-web")
    assert "Demo customers" not in page
