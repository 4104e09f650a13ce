"""Balanced's official Python client (balanced 1.2, made to import on Python 3 by
tests/support/balanced_client.py) against ballast, as a marketplace moving from Balanced
would run its existing code: associating cards and bank accounts to customers, default
funding instruments, root debits and credits, updating and unstoring instruments,
verifying and debiting a bank account, reading disputes.

The client is synchronous (requests): each test runs it in a thread beside the API."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from tests.conftest import Marketplace
from tests.support import balanced_client, flows
from tests.support.pipeline import Pipeline

# The client authenticates as Balanced asked, the key secret with no password: requests
# warns that it will want an empty string there one day.
pytestmark = pytest.mark.filterwarnings("ignore:Non-string passwords:DeprecationWarning")

CARD = {"number": flows.VISA, "expiration_month": "12", "expiration_year": "2030", "cvv": "123"}
BANK_ACCOUNT = {
    "name": "Henry Ford",
    "routing_number": flows.ROUTING,
    "account_number": flows.ACCOUNT_SUCCEEDS,
    "account_type": "checking",
}
MERCHANT = {"name": "Henry Ford", "dob_month": 7, "dob_year": 1963}


async def _run(
    pipeline: Pipeline, marketplace: Marketplace, script: Callable[[ModuleType], Any]
) -> Any:
    """Run `script(balanced)` in a thread, the client configured for this marketplace."""
    balanced = balanced_client.load()

    def configured() -> Any:
        balanced.configure(marketplace.secret, root_url=pipeline.api.base_url)
        return script(balanced)

    return await asyncio.to_thread(configured)


async def test_cards_and_bank_accounts_are_associated_to_customers(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    def script(balanced: ModuleType) -> tuple[str, str, str]:
        customer = balanced.Customer(**MERCHANT, address={"postal_code": "48120"}).save()
        card = balanced.Card(**CARD).save()
        card.associate_to_customer(customer)
        bank_account = balanced.BankAccount(**BANK_ACCOUNT).save()
        bank_account.associate_to_customer(customer)
        return (
            customer.id,
            balanced.Card.fetch(card.href).customer.id,
            balanced.BankAccount.fetch(bank_account.href).customer.id,
        )

    customer_id, card_customer, bank_account_customer = await _run(pipeline, marketplace, script)
    assert card_customer == bank_account_customer == customer_id


async def test_a_customer_is_debited_and_credited_at_its_default_instruments(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    def script(balanced: ModuleType) -> dict[str, Any]:
        card = balanced.Card(**CARD).save()
        customer = balanced.Customer(**MERCHANT, source=card.href).save()
        balanced.BankAccount(**BANK_ACCOUNT).save().associate_to_customer(customer)
        customer = balanced.Customer.fetch(customer.href)
        debit = balanced.Debit(href=customer.debits.href, amount=5000).save()
        credit = balanced.Credit(href=customer.credits.href, amount=1000).save()
        return {
            "source": customer.source.id,
            "card": card.id,
            "debited": (debit.status, debit.source.id),
            "credited": (credit.status, credit.destination.id, customer.destination.id),
        }

    seen = await _run(pipeline, marketplace, script)
    assert seen["source"] == seen["card"]
    assert seen["debited"] == ("succeeded", seen["card"])
    status, destination, default_destination = seen["credited"]
    assert (status, destination) == ("pending", default_destination)


async def test_root_debits_and_credits_name_their_instrument(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    def script(balanced: ModuleType) -> list[tuple[str, int, str]]:
        card = balanced.Card(**CARD).save()
        debit = balanced.Debit(href="/debits", amount=7000, source=card.href).save()
        bank_account = balanced.BankAccount(**BANK_ACCOUNT).save()
        credit = balanced.Credit(href="/credits", amount=3000, destination=bank_account.href)
        inline = balanced.Credit(href="/credits", amount=2000, destination=BANK_ACCOUNT)
        return [
            (item.status, item.amount, type(item).__name__)
            for item in (debit, credit.save(), inline.save())
        ]

    seen = await _run(pipeline, marketplace, script)
    assert seen == [
        ("succeeded", 7000, "Debit"),
        ("pending", 3000, "Credit"),
        ("pending", 2000, "Credit"),
    ]


async def test_instruments_are_updated_and_unstored(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    def script(balanced: ModuleType) -> tuple[dict[str, str], str, tuple[int, str]]:
        customer = balanced.Customer(**MERCHANT).save()
        customer.email = "henry@example.com"
        customer.save()
        card = balanced.Card(**CARD).save()
        card.meta = {"fb_account": "48120"}
        card.save()
        card.unstore()
        try:
            card.debit(amount=100)
        except balanced.exc.HTTPError as error:
            refused = (error.status_code, error.category_code)
        return (
            balanced.Card.fetch(card.href).meta,
            balanced.Customer.fetch(customer.href).email,
            refused,
        )

    meta, email, refused = await _run(pipeline, marketplace, script)
    assert (meta, email) == ({"fb_account": "48120"}, "henry@example.com")
    assert refused == (409, "card-not-valid")


async def test_a_bank_account_is_verified_then_debited_and_a_dispute_is_read(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    def script(balanced: ModuleType) -> dict[str, Any]:
        customer = balanced.Customer(**MERCHANT).save()
        bank_account = balanced.BankAccount(**BANK_ACCOUNT).save()
        bank_account.associate_to_customer(customer)
        verification = bank_account.verify()
        confirmed = verification.confirm(amount_1=1, amount_2=1)
        ach_debit = bank_account.debit(amount=2500)
        disputed_card = balanced.Card(
            number="6500000000000002", expiration_month="12", expiration_year="2030"
        ).save()
        card_debit = disputed_card.debit(amount=1200)
        dispute = balanced.Debit.fetch(card_debit.href).dispute
        return {
            "verification": confirmed.verification_status,
            "ach_debit": (ach_debit.status, ach_debit.source.id),
            "bank_account": bank_account.id,
            "dispute": (dispute.amount, dispute.status, balanced.Dispute.fetch(dispute.href).id),
            "disputes": [item.id for item in balanced.Dispute.query],
        }

    seen = await _run(pipeline, marketplace, script)
    assert seen["verification"] == "succeeded"
    assert seen["ach_debit"] == ("pending", seen["bank_account"])
    amount, status, dispute_id = seen["dispute"]
    assert (amount, status) == (1200, "pending")
    assert seen["disputes"] == [dispute_id]
