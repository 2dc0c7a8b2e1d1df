"""Accounts, activation keys and redemptions on the real wallet: once only, hashed, idempotent, rate-limited,
private."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from shared.dev_issuer import issue_token, load_or_create_key
from tests.harness import TestPlatform, admin_fetch, admin_fetchval, running_service
from tests.integration.wallet.wallet_rig import fund, idem, issue_codes, open_account
from wallet import domain
from wallet.config import Settings as WalletSettings
from wallet.main import SPEC as WALLET

FAILURES_PER_ACCOUNT = 5
FAILURES_PER_CLIENT = 8


@pytest.fixture(scope="module")
async def wallet(platform: TestPlatform) -> AsyncIterator[httpx.AsyncClient]:
    settings = platform.settings(
        WalletSettings,
        redeem_failures_per_account=FAILURES_PER_ACCOUNT,
        redeem_failures_per_client=FAILURES_PER_CLIENT,
        database_pool_max=20,
    )
    async with running_service(WALLET, settings) as client:
        yield client


def _partner(platform: TestPlatform, subject: str | None = None) -> dict[str, str]:
    token = issue_token(load_or_create_key(platform.dev_dir), roles=["partner"], subject=subject)
    return {"Authorization": f"Bearer {token}"}


async def _redeem(
    wallet: httpx.AsyncClient, account_id: str, code: str, headers: dict[str, str], key: str | None = None
) -> httpx.Response:
    return await wallet.post(
        f"/v1/accounts/{account_id}/redemptions",
        json={"code": code},
        headers={**headers, "Idempotency-Key": key or uuid.uuid4().hex},
    )


async def test_a_partner_issues_keys_and_a_customer_redeems_one_into_the_balance(
    wallet: httpx.AsyncClient, platform: TestPlatform
) -> None:
    account_id = await open_account(wallet, platform)
    keys = await issue_codes(wallet, platform.auth("partner"), amount="12.5", count=3)
    assert len({k["code"] for k in keys}) == 3
    customer = platform.auth("customer", account_id=account_id)

    redeemed = await _redeem(wallet, account_id, keys[0]["code"].lower(), customer)

    assert redeemed.status_code == 201, redeemed.text
    assert redeemed.json() == {"key_id": keys[0]["id"], "amount": "12.5", "balance": "12.5", "depletes_at": None}
    account = (await wallet.get(f"/v1/accounts/{account_id}", headers=customer)).json()
    assert account["balance"] == "12.5"
    assert account["status"] == "funded"
    assert account["burn_rate_per_day"] == "0"
    assert account["depletes_at"] is None
    ledger = (await wallet.get(f"/v1/accounts/{account_id}/ledger", headers=customer)).json()
    assert [(e["kind"], e["amount"], e["balance_after"], e["key_id"]) for e in ledger["items"]] == [
        ("redemption", "12.5", "12.5", keys[0]["id"])
    ]


async def test_a_retried_account_opening_answers_as_first_and_opens_no_second_account(
    wallet: httpx.AsyncClient, platform: TestPlatform
) -> None:
    opener = f"opener-{uuid.uuid4().hex[:6]}"
    partner = _partner(platform, subject=opener)

    async def open_with(key: str, name: str, headers: dict[str, str] = partner) -> httpx.Response:
        return await wallet.post("/v1/accounts", json={"name": name}, headers={**headers, "Idempotency-Key": key})

    first = await open_with("open-1", "Acme")
    retry = await open_with("open-1", "Acme")
    other_body = await open_with("open-1", "Acme Two")
    # The key is the opener's own: another partner's same key opens an account of its own.
    other_opener = await open_with("open-1", "Acme", headers=_partner(platform))

    assert first.status_code == 201, first.text
    assert (retry.status_code, retry.json()) == (201, first.json())
    assert (other_body.status_code, other_body.json()["code"]) == (422, "idempotency_key_reused")
    assert other_opener.status_code == 201, other_opener.text
    assert other_opener.json()["id"] != first.json()["id"]
    opened = await admin_fetchval(platform, "SELECT count(*) FROM wallet.account WHERE opened_by = $1", opener)
    announced = await admin_fetchval(
        platform,
        "SELECT count(*) FROM wallet.outbox_message WHERE event_type = 'AccountOpened' AND subject = $1",
        first.json()["id"],
    )
    assert (opened, announced) == (1, 1)


async def test_an_account_opens_without_an_idempotency_key_too(
    wallet: httpx.AsyncClient, platform: TestPlatform
) -> None:
    opener = f"opener-{uuid.uuid4().hex[:6]}"
    partner = _partner(platform, subject=opener)

    answers = [await wallet.post("/v1/accounts", json={"name": "Acme"}, headers=partner) for _ in range(2)]

    assert [a.status_code for a in answers] == [201, 201]
    assert await admin_fetchval(platform, "SELECT count(*) FROM wallet.account WHERE opened_by = $1", opener) == 2


async def test_codes_are_stored_only_as_hashes(wallet: httpx.AsyncClient, platform: TestPlatform) -> None:
    [key] = await issue_codes(wallet, platform.auth("partner"), amount="1")
    canonical = key["code"].replace("-", "")
    stored = await admin_fetchval(
        platform, "SELECT code_hash FROM wallet.activation_key WHERE id = $1", uuid.UUID(key["id"])
    )
    assert stored == hashlib.sha256(canonical.encode()).digest()
    everything = await admin_fetch(
        platform,
        """SELECT row_to_json(t)::text AS r FROM wallet.activation_key t
           UNION ALL SELECT row_to_json(t)::text FROM wallet.key_batch t
           UNION ALL SELECT row_to_json(t)::text FROM wallet.idempotency_record t
           UNION ALL SELECT row_to_json(t)::text FROM wallet.outbox_message t""",
    )
    assert not [row["r"] for row in everything if canonical in row["r"] or key["code"] in row["r"]]


async def test_a_retried_redemption_returns_the_first_answer_and_loads_once(
    wallet: httpx.AsyncClient, platform: TestPlatform
) -> None:
    account_id = await open_account(wallet, platform)
    customer = platform.auth("customer", account_id=account_id)
    first_key, second_key = await issue_codes(wallet, platform.auth("partner"), amount="2", count=2)

    first = await _redeem(wallet, account_id, first_key["code"], customer, key="retry-1")
    retry = await _redeem(wallet, account_id, first_key["code"], customer, key="retry-1")
    other_body = await _redeem(wallet, account_id, second_key["code"], customer, key="retry-1")

    assert first.status_code == 201, first.text
    assert retry.json() == first.json()
    assert other_body.status_code == 422
    assert other_body.json()["code"] == "idempotency_key_reused"
    account = (await wallet.get(f"/v1/accounts/{account_id}", headers=customer)).json()
    assert account["balance"] == "2"


async def test_money_moving_posts_need_an_idempotency_key(wallet: httpx.AsyncClient, platform: TestPlatform) -> None:
    account_id = await open_account(wallet, platform)
    partner = platform.auth("partner")
    [key] = await issue_codes(wallet, partner, amount="1")
    refused = [
        await wallet.post("/v1/activation-keys", json={"amount": "1", "count": 1}, headers=partner),
        await wallet.post(f"/v1/accounts/{account_id}/redemptions", json={"code": key["code"]}, headers=partner),
        await wallet.post(f"/v1/activation-keys/{key['id']}/revocation", headers=partner),
    ]
    assert [(r.status_code, r.json()["code"]) for r in refused] == [(400, "idempotency_key_required")] * 3


async def test_a_retried_key_batch_issues_nothing_more_and_shows_the_first_answer_to_its_partner_only(
    wallet: httpx.AsyncClient, platform: TestPlatform
) -> None:
    subject = f"partner-{uuid.uuid4().hex[:6]}"
    partner = _partner(platform, subject=subject)
    body = {"amount": "5", "count": 2}
    first = await wallet.post("/v1/activation-keys", json=body, headers={**partner, "Idempotency-Key": "batch-1"})
    retry = await wallet.post("/v1/activation-keys", json=body, headers={**partner, "Idempotency-Key": "batch-1"})
    other_body = await wallet.post(
        "/v1/activation-keys", json={**body, "count": 3}, headers={**partner, "Idempotency-Key": "batch-1"}
    )
    # Another partner's key of the same name is another request: a batch of its own, never the first's codes.
    other_partner = _partner(platform, subject=f"partner-{uuid.uuid4().hex[:6]}")
    theirs = await wallet.post(
        "/v1/activation-keys", json=body, headers={**other_partner, "Idempotency-Key": "batch-1"}
    )

    assert first.status_code == 201, first.text
    assert (retry.status_code, retry.json()) == (201, first.json())
    assert (other_body.status_code, other_body.json()["code"]) == (422, "idempotency_key_reused")
    assert theirs.status_code == 201
    assert theirs.json()["batch_id"] != first.json()["batch_id"]
    assert {k["code"] for k in theirs.json()["keys"]}.isdisjoint(k["code"] for k in first.json()["keys"])
    batches = await admin_fetchval(platform, "SELECT count(*) FROM wallet.key_batch WHERE issued_by = $1", subject)
    assert batches == 1
    # At rest the codes are sealed: neither they nor their canonical form appear in what is stored.
    [stored] = await admin_fetch(
        platform,
        "SELECT nonce, sealed FROM wallet.shown_key_batch WHERE batch_id = $1",
        uuid.UUID(first.json()["batch_id"]),
    )
    for key in first.json()["keys"]:
        for form in (key["code"], domain.canonical_code(key["code"])):
            assert form.encode() not in bytes(stored["sealed"])
    assert len(bytes(stored["nonce"])) == 12


async def test_fifty_concurrent_redemptions_of_one_key_load_it_exactly_once(
    wallet: httpx.AsyncClient, platform: TestPlatform
) -> None:
    accounts = [await open_account(wallet, platform, name=f"Racer {i}") for i in range(5)]
    [key] = await issue_codes(wallet, platform.auth("partner"), amount="7")

    responses = await asyncio.gather(
        *(
            _redeem(wallet, accounts[i % 5], key["code"], platform.auth("customer", account_id=accounts[i % 5]))
            for i in range(50)
        )
    )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 49, statuses
    losers = [r for r in responses if r.status_code == 409]
    assert {r.headers["content-type"] for r in losers} == {"application/problem+json"}
    assert {r.json()["code"] for r in losers} == {"key_already_redeemed"}
    entries = await admin_fetchval(
        platform, "SELECT count(*) FROM wallet.ledger_entry WHERE key_id = $1", uuid.UUID(key["id"])
    )
    assert entries == 1


async def test_a_typo_a_wrong_key_and_garbage_get_distinct_problems(
    wallet: httpx.AsyncClient, platform: TestPlatform
) -> None:
    account_id = await open_account(wallet, platform)
    customer = platform.auth("customer", account_id=account_id)
    [key] = await issue_codes(wallet, platform.auth("partner"), amount="1")
    canonical = key["code"].replace("-", "")
    typo = canonical[:3] + ("1" if canonical[3] != "1" else "2") + canonical[4:]

    mistyped = await _redeem(wallet, account_id, typo, customer)
    unknown = await _redeem(wallet, account_id, domain.new_activation_code(), customer)
    garbage = await _redeem(wallet, account_id, "hello", customer)

    assert (mistyped.status_code, mistyped.json()["code"]) == (422, "code_mistyped")
    assert (unknown.status_code, unknown.json()["code"]) == (422, "unknown_key")
    assert (garbage.status_code, garbage.json()["code"]) == (422, "code_malformed")


async def test_wrong_codes_are_rate_limited_per_account_with_a_clear_429(
    wallet: httpx.AsyncClient, platform: TestPlatform
) -> None:
    account_id = await open_account(wallet, platform)
    [key] = await issue_codes(wallet, platform.auth("partner"), amount="1")
    wrong = [
        await _redeem(
            wallet, account_id, domain.new_activation_code(), platform.auth("customer", account_id=account_id)
        )
        for _ in range(FAILURES_PER_ACCOUNT)
    ]
    assert {r.json()["code"] for r in wrong} == {"unknown_key"}

    # Even the right code waits now, and from another client too: the account's budget is spent.
    limited = await _redeem(wallet, account_id, key["code"], platform.auth("customer", account_id=account_id))

    assert limited.status_code == 429
    assert limited.headers["content-type"] == "application/problem+json"
    assert limited.json()["code"] == "rate_limited"
    assert limited.json()["retry_after_s"] >= 1
    assert "wrong activation codes" in limited.json()["detail"]


async def test_wrong_codes_are_rate_limited_per_client_across_accounts(
    wallet: httpx.AsyncClient, platform: TestPlatform
) -> None:
    client = _partner(platform, subject=f"guesser-{uuid.uuid4().hex[:6]}")
    # The guessing partner's own accounts (a partner acts only on the accounts it opened).
    opened = [await wallet.post("/v1/accounts", json={"name": "Acme"}, headers=client) for _ in range(3)]
    accounts = [str(response.json()["id"]) for response in opened]
    for i in range(FAILURES_PER_CLIENT):
        response = await _redeem(wallet, accounts[i % 2], domain.new_activation_code(), client)
        assert response.json()["code"] == "unknown_key"

    limited = await _redeem(wallet, accounts[2], domain.new_activation_code(), client)
    # Another client (the account's customer) is not limited by the guesser's failures.
    customer = platform.auth("customer", account_id=accounts[2])
    other_client = await _redeem(wallet, accounts[2], domain.new_activation_code(), customer)

    assert (limited.status_code, limited.json()["code"]) == (429, "rate_limited")
    assert other_client.json()["code"] == "unknown_key"


async def test_a_revoked_key_cannot_be_redeemed_and_a_redeemed_key_cannot_be_revoked(
    wallet: httpx.AsyncClient, platform: TestPlatform
) -> None:
    issuer = _partner(platform, subject=f"issuer-{uuid.uuid4().hex[:6]}")
    account_id = await open_account(wallet, platform)
    customer = platform.auth("customer", account_id=account_id)
    to_revoke, to_redeem = await issue_codes(wallet, issuer, amount="3", count=2)

    by_other_partner = await wallet.post(
        f"/v1/activation-keys/{to_revoke['id']}/revocation", headers={**_partner(platform), **idem()}
    )
    revoked = await wallet.post(
        f"/v1/activation-keys/{to_revoke['id']}/revocation", headers={**issuer, "Idempotency-Key": "rev-1"}
    )
    retried = await wallet.post(
        f"/v1/activation-keys/{to_revoke['id']}/revocation", headers={**issuer, "Idempotency-Key": "rev-1"}
    )
    redeem_revoked = await _redeem(wallet, account_id, to_revoke["code"], customer)
    assert (await _redeem(wallet, account_id, to_redeem["code"], customer)).status_code == 201
    revoke_redeemed = await wallet.post(
        f"/v1/activation-keys/{to_redeem['id']}/revocation", headers={**issuer, **idem()}
    )
    by_operator = await wallet.post(
        f"/v1/activation-keys/{to_revoke['id']}/revocation", headers={**platform.auth("operator"), **idem()}
    )

    assert by_other_partner.status_code == 404
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked"
    assert retried.json() == revoked.json()
    assert (redeem_revoked.status_code, redeem_revoked.json()["code"]) == (409, "key_revoked")
    assert (revoke_redeemed.status_code, revoke_redeemed.json()["code"]) == (409, "key_already_redeemed")
    assert by_operator.json()["revoked_at"] == revoked.json()["revoked_at"]


async def test_a_customer_of_another_account_gets_404_on_every_account_path(
    wallet: httpx.AsyncClient, platform: TestPlatform
) -> None:
    account_id = await open_account(wallet, platform)
    await fund(wallet, platform, account_id, amount="1")
    [key] = await issue_codes(wallet, platform.auth("partner"), amount="1")
    stranger = platform.auth("customer", account_id=str(uuid.uuid4()))

    answers = [
        await wallet.get(f"/v1/accounts/{account_id}", headers=stranger),
        await wallet.get(f"/v1/accounts/{account_id}/ledger", headers=stranger),
        await _redeem(wallet, account_id, key["code"], stranger),
    ]

    assert [a.status_code for a in answers] == [404, 404, 404]
    assert {a.headers["content-type"] for a in answers} == {"application/problem+json"}
    assert all("balance" not in a.text for a in answers)
    # A customer may not issue or revoke keys at all.
    customer = platform.auth("customer", account_id=account_id)
    issue = await wallet.post("/v1/activation-keys", json={"amount": "1", "count": 1}, headers={**customer, **idem()})
    assert issue.status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        {"amount": "-5", "count": 1},
        {"amount": "abc", "count": 1},
        {"amount": "1e3", "count": 1},
        {"amount": "0", "count": 1},
        {"amount": "1.0000001", "count": 1},
        {"amount": 5, "count": 1},
        {"amount": "99999999999", "count": 1},
        {"amount": "1", "count": 0},
        {"amount": "1", "count": 10**9},
        {"amount": "1", "count": "3"},
        {"amount": "1", "count": 1, "bonus": "100"},
        {"count": 1},
    ],
)
async def test_bad_key_batches_get_a_clear_422(
    wallet: httpx.AsyncClient, platform: TestPlatform, body: dict[str, object]
) -> None:
    response = await wallet.post("/v1/activation-keys", json=body, headers={**platform.auth("partner"), **idem()})
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_failed"


async def test_other_bad_input_gets_a_clear_4xx_never_a_500(wallet: httpx.AsyncClient, platform: TestPlatform) -> None:
    account_id = await open_account(wallet, platform)
    customer = platform.auth("customer", account_id=account_id)
    answers = {
        "unknown field": await wallet.post(
            f"/v1/accounts/{account_id}/redemptions", json={"code": "X", "amount": "9"}, headers={**customer, **idem()}
        ),
        "huge code": await wallet.post(
            f"/v1/accounts/{account_id}/redemptions", json={"code": "A" * 5000}, headers={**customer, **idem()}
        ),
        "code as number": await wallet.post(
            f"/v1/accounts/{account_id}/redemptions", json={"code": 12345}, headers={**customer, **idem()}
        ),
        "not json": await wallet.post(
            f"/v1/accounts/{account_id}/redemptions", content=b"{nope", headers={**customer, **idem()}
        ),
        "bad account id": await wallet.get("/v1/accounts/not-a-uuid", headers=customer),
        "bad cursor": await wallet.get(f"/v1/accounts/{account_id}/ledger?cursor=%%%", headers=customer),
        "zero limit": await wallet.get(f"/v1/accounts/{account_id}/ledger?limit=0", headers=customer),
        "huge limit": await wallet.get(f"/v1/accounts/{account_id}/ledger?limit=100000", headers=customer),
        "long idempotency key": await wallet.post(
            f"/v1/accounts/{account_id}/redemptions",
            json={"code": "X"},
            headers={**customer, "Idempotency-Key": "k" * 500},
        ),
        "unknown key id": await wallet.post(
            f"/v1/activation-keys/{uuid.uuid4()}/revocation", headers={**platform.auth("operator"), **idem()}
        ),
    }
    statuses = {name: r.status_code for name, r in answers.items()}
    assert all(400 <= s < 500 for s in statuses.values()), statuses
    assert {name: r.headers["content-type"] for name, r in answers.items()} == dict.fromkeys(
        answers, "application/problem+json"
    )


async def test_the_ledger_reads_page_by_page_newest_first_with_each_balance_after(
    wallet: httpx.AsyncClient, platform: TestPlatform
) -> None:
    account_id = await open_account(wallet, platform)
    for amount in ("1", "2", "3.25"):
        await fund(wallet, platform, account_id, amount=amount)
    customer = platform.auth("customer", account_id=account_id)

    first = (await wallet.get(f"/v1/accounts/{account_id}/ledger?limit=2", headers=customer)).json()
    second = (
        await wallet.get(f"/v1/accounts/{account_id}/ledger?limit=2&cursor={first['next_cursor']}", headers=customer)
    ).json()

    entries = first["items"] + second["items"]
    assert [(e["amount"], e["balance_after"]) for e in entries] == [("3.25", "6.25"), ("2", "3"), ("1", "1")]
    assert second["next_cursor"] is None


async def test_the_store_refuses_a_negative_balance_and_any_edit_of_the_ledger(
    wallet: httpx.AsyncClient, platform: TestPlatform
) -> None:
    account_id = uuid.UUID(await open_account(wallet, platform))
    await fund(wallet, platform, str(account_id), amount="1")
    conn = await asyncpg.connect(platform.database_url("wallet"))
    try:
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute("UPDATE account SET balance = -1 WHERE id = $1", account_id)
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await conn.execute("UPDATE ledger_entry SET amount = 2000000 WHERE account_id = $1", account_id)
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await conn.execute("DELETE FROM ledger_line")
        unbalanced = conn.transaction()
        await unbalanced.start()
        seq = await conn.fetchval(
            """INSERT INTO ledger_entry (id, account_id, kind, amount, balance_after, at)
               VALUES ($1, $2, 'adjustment', 5, 5, now()) RETURNING seq""",
            uuid.uuid4(),
            account_id,
        )
        await conn.execute("INSERT INTO ledger_line (entry_seq, book, amount) VALUES ($1, 'customer_wallet', 5)", seq)
        with pytest.raises(asyncpg.CheckViolationError, match="does not balance"):
            await unbalanced.commit()
    finally:
        await conn.close()


async def test_an_operator_corrects_a_balance_with_a_new_ledger_entry_never_below_zero(
    wallet: httpx.AsyncClient, platform: TestPlatform
) -> None:
    account_id = await open_account(wallet, platform)
    await fund(wallet, platform, account_id, amount="10")
    operator = platform.auth("operator")
    path = f"/v1/accounts/{account_id}/adjustments"
    debit = {"direction": "debit", "amount": "2.5", "reason": "duplicate key sold by mistake"}

    debited = await wallet.post(path, json=debit, headers={**operator, "Idempotency-Key": "adj-1"})
    retried = await wallet.post(path, json=debit, headers={**operator, "Idempotency-Key": "adj-1"})
    too_much = await wallet.post(
        path, json={"direction": "debit", "amount": "8", "reason": "x"}, headers={**operator, **idem()}
    )
    by_partner = await wallet.post(
        path, json={"direction": "credit", "amount": "1", "reason": "x"}, headers={**platform.auth("partner"), **idem()}
    )
    credited = await wallet.post(
        path, json={"direction": "credit", "amount": "0.5", "reason": "goodwill"}, headers={**operator, **idem()}
    )

    assert debited.status_code == 201, debited.text
    assert (debited.json()["amount"], debited.json()["balance"]) == ("-2.5", "7.5")
    assert retried.json() == debited.json()
    assert (too_much.status_code, too_much.json()["code"]) == (409, "insufficient_balance")
    assert by_partner.status_code == 403
    assert credited.json()["balance"] == "8"
    ledger = (await wallet.get(f"/v1/accounts/{account_id}/ledger", headers=operator)).json()["items"]
    assert [(e["kind"], e["amount"], e["balance_after"]) for e in ledger] == [
        ("adjustment", "0.5", "8"),
        ("adjustment", "-2.5", "7.5"),
        ("redemption", "10", "10"),
    ]
    assert ledger[1]["note"].startswith("duplicate key sold by mistake")


async def test_a_refusal_is_not_kept_under_its_key_so_the_same_request_succeeds_once_the_cause_is_gone(
    wallet: httpx.AsyncClient, platform: TestPlatform
) -> None:
    account_id = await open_account(wallet, platform)
    operator = {**platform.auth("operator"), "Idempotency-Key": "debit-when-funded"}
    path = f"/v1/accounts/{account_id}/adjustments"
    debit = {"direction": "debit", "amount": "4", "reason": "a debit that waits for credit"}

    refused = await wallet.post(path, json=debit, headers=operator)
    assert (refused.status_code, refused.json()["code"]) == (409, "insufficient_balance")
    await fund(wallet, platform, account_id, amount="5")
    accepted = await wallet.post(path, json=debit, headers=operator)
    replayed = await wallet.post(path, json=debit, headers=operator)

    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["balance"] == "1"
    assert (replayed.status_code, replayed.json()) == (201, accepted.json())
