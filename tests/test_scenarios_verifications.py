"""Balanced's bank_account_verifications.feature, one test per scenario, plus what the
feature leaves implicit: attempts counted, a verification failed by its last wrong attempt,
and what a verification changes on its bank account."""

from __future__ import annotations

from tests.conftest import Marketplace
from tests.support import ach, schemas


async def test_creating_a_bank_account_verification(marketplace: Marketplace) -> None:
    api = marketplace.api
    bank_account = await ach.tokenized_bank_account(api)
    response = await api.post(f"/bank_accounts/{bank_account['id']}/verifications")
    assert response.status == 201, response.body
    schemas.validate("bank_account_verifications", response.body)
    verification = response.body["bank_account_verifications"][0]
    assert verification["attempts"] == 0
    assert verification["attempts_remaining"] == 3
    assert verification["deposit_status"] == "pending"
    assert verification["verification_status"] == "pending"
    assert verification["links"] == {"bank_account": bank_account["id"]}
    shown = (await api.get(bank_account["href"])).body["bank_accounts"][0]
    assert shown["links"]["bank_account_verification"] == verification["id"]
    assert shown["can_debit"] is False


async def test_get_verification_for_a_bank_account(marketplace: Marketplace) -> None:
    api = marketplace.api
    bank_account = await ach.tokenized_bank_account(api)
    verification = await ach.with_verification(api, bank_account)
    response = await api.get(f"/bank_accounts/{bank_account['id']}/verifications")
    assert response.status == 200, response.body
    schemas.validate("bank_account_verifications", response.body)
    assert [v["id"] for v in response.body["bank_account_verifications"]] == [verification["id"]]
    assert response.body["meta"]["total"] == 1
    alone = await api.get(f"/verifications/{verification['id']}")
    assert alone.status == 200, alone.body
    assert alone.body["bank_account_verifications"][0] == verification


async def test_confirm_a_verification(marketplace: Marketplace) -> None:
    api = marketplace.api
    bank_account = await ach.tokenized_bank_account(api)
    verification = await ach.with_verification(api, bank_account)
    response = await api.put(
        f"/verifications/{verification['id']}",
        {"bank_account_verifications": [{"amount_1": 1, "amount_2": 1}]},
    )
    assert response.status == 200, response.body
    schemas.validate("bank_account_verifications", response.body)
    confirmed = response.body["bank_account_verifications"][0]
    assert confirmed["verification_status"] == "succeeded"
    assert (confirmed["attempts"], confirmed["attempts_remaining"]) == (1, 2)
    assert confirmed["deposit_status"] == "succeeded"
    fetched = await api.get(bank_account["href"])
    schemas.validate("bank_accounts", fetched.body)
    shown = fetched.body["bank_accounts"][0]
    assert shown["can_debit"] is True
    assert shown["links"]["bank_account_verification"] == verification["id"]


async def test_fail_to_confirm_a_verification(marketplace: Marketplace) -> None:
    api = marketplace.api
    bank_account = await ach.tokenized_bank_account(api)
    verification = await ach.with_verification(api, bank_account)
    response = await api.put(
        f"/verifications/{verification['id']}",
        {"bank_account_verifications": [{"amount_1": 2, "amount_2": 2}]},
    )
    assert response.status == 409, response.body
    schemas.validate("errors", response.body)
    error = response.body["errors"][0]
    assert error["category_code"] == "bank-account-authentication-failed"
    assert error["extras"] == {"attempts_remaining": 2}
    # The wrong attempt counts (it was committed although the answer is an error).
    after = (await api.get(verification["href"])).body["bank_account_verifications"][0]
    assert (after["attempts"], after["verification_status"]) == (1, "pending")
    shown = (await api.get(bank_account["href"])).body["bank_accounts"][0]
    assert shown["can_debit"] is False


async def test_the_third_wrong_attempt_fails_the_verification_and_a_new_one_may_start(
    marketplace: Marketplace,
) -> None:
    api = marketplace.api
    bank_account = await ach.tokenized_bank_account(api)
    verification = await ach.with_verification(api, bank_account)
    again = await api.post(f"{bank_account['href']}/verifications")
    assert again.status == 409, again.body
    assert again.body["errors"][0]["category_code"] == "bank-account-authentication-already-exists"
    for _ in range(3):
        wrong = await api.put(verification["href"], {"amount_1": 3, "amount_2": 4})
        assert wrong.status == 409, wrong.body
    failed = (await api.get(verification["href"])).body["bank_account_verifications"][0]
    assert (failed["attempts"], failed["attempts_remaining"]) == (3, 0)
    assert failed["verification_status"] == "failed"
    right_too_late = await api.put(verification["href"], {"amount_1": 1, "amount_2": 1})
    assert right_too_late.status == 409, right_too_late.body
    assert (
        right_too_late.body["errors"][0]["category_code"]
        == "bank-account-authentication-not-pending"
    )
    fresh = await ach.with_verification(api, bank_account)
    assert fresh["id"] != verification["id"]
    listed = (await api.get(f"{bank_account['href']}/verifications")).body
    assert [v["id"] for v in listed["bank_account_verifications"]] == [
        verification["id"],
        fresh["id"],
    ]
    types = [
        e["type"]
        for e in (await api.get("/events?limit=50")).body["events"]
        if e["entity"].get("bank_account_verifications", [{}])[0].get("id") == verification["id"]
    ]
    assert types == [
        "bank_account_verification.created",
        "bank_account_verification.updated",
        "bank_account_verification.updated",
        "bank_account_verification.failed",
    ]


async def test_deposit_amounts_outside_a_dollar_are_bad_input(marketplace: Marketplace) -> None:
    api = marketplace.api
    verification = await ach.with_verification(api, await ach.tokenized_bank_account(api))
    for amounts in ({"amount_1": 0, "amount_2": 1}, {"amount_1": 100, "amount_2": 1}, {}):
        response = await api.put(verification["href"], amounts)
        assert response.status == 400, response.body
        assert response.body["errors"][0]["category_code"] == "request"
    unused = (await api.get(verification["href"])).body["bank_account_verifications"][0]
    assert unused["attempts"] == 0


async def test_resources_finds_a_verification(marketplace: Marketplace) -> None:
    api = marketplace.api
    verification = await ach.with_verification(api, await ach.tokenized_bank_account(api))
    response = await api.get(f"/resources/{verification['id']}")
    assert response.status == 200, response.body
    assert response.body["bank_account_verifications"] == [verification]
