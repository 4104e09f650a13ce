"""Money out of escrow: ACH credits to bank accounts, immediate credits to payable
accounts, and reversals that pull a credit back into the escrow it came from."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import asyncpg

from ledger import accounts, events, instruments, marketplaces, postings, submissions, transfers
from ledger.errors import BalancedError, Conflict
from ledger.outbox import Job
from ledger.records import DestinationKind, Transfer, TransferKind
from ledger.status import Status
from ledger.transfers import Parties, TransferRequest, TransferResult

# ACH entries show at most 14 characters on the receiver's statement.
ACH_STATEMENT_LENGTH_MAX = 14
# Balanced's limit on one push to a card: "cannot exceed $2,500".
PUSH_TO_CARD_CENTS_MAX = 250_000


def _check_payee(
    marketplace: dict[str, Any],
    order: dict[str, Any] | None,
    payee_customer_id: str | None,
    destination_id: str,
) -> None:
    """Balanced: "For each Order, only one merchant and the marketplace may be credited." """
    if order is None:
        return
    if payee_customer_id not in {order["merchant_customer_id"], marketplace["owner_customer_id"]}:
        raise Conflict(
            f"{destination_id} belongs to neither the merchant of order {order['id']} nor "
            "the marketplace owner.",
            category_code="funding-destination-not-associated",
        )


async def _prepare(
    connection: asyncpg.Connection,
    marketplace_id: str,
    request: TransferRequest,
    payee_customer_id: str | None,
    destination_id: str,
) -> tuple[TransferRequest, dict[str, Any] | None, dict[str, Any]]:
    """What every credit checks first: its order (and the description it inherits), the
    marketplace, and that the payee may be paid from that order."""
    request, order = await transfers.with_order(connection, marketplace_id, request)
    marketplace = await marketplaces.get(connection, marketplace_id)
    _check_payee(marketplace, order, payee_customer_id, destination_id)
    return request, order, marketplace


async def _prepare_bank_account_credit(
    connection: asyncpg.Connection,
    marketplace_id: str,
    bank_account_id: str,
    request: TransferRequest,
) -> tuple[TransferRequest, transfers.CreditParties]:
    """`_prepare` for the hot path, a credit to a bank account: its reads in one round trip."""
    parties = await transfers.bank_account_credit_parties(
        connection, marketplace_id, bank_account_id, request.order_id
    )
    payee_customer_id = parties.bank_account["customer_id"]
    _check_payee(parties.marketplace, parties.order, payee_customer_id, bank_account_id)
    return transfers.inherit_description(request, parties.order), parties


async def _take_from_escrow(
    connection: asyncpg.Connection,
    row: dict[str, Any],
    order: dict[str, Any] | None,
    to_account_id: str,
) -> TransferResult | None:
    """Post escrow → `to_account_id`. When the escrow cannot cover it, the credit is kept
    as `failed` with `insufficient-funds` and nothing moves; returns that result."""
    marketplace_id, amount_cents = row["marketplace_id"], row["amount_cents"]
    try:
        await postings.post(
            connection,
            marketplace_id,
            row["id"],
            "credit.created",
            {
                postings.escrow_of(marketplace_id, row["order_id"]): -amount_cents,
                to_account_id: amount_cents,
            },
        )
    except postings.InsufficientFunds:
        holder = f"Order {order['id']}" if order else f"Marketplace {marketplace_id}"
        reason = f"{holder} has insufficient funds to cover a transfer of {amount_cents}."
        return await transfers.fail_now(connection, row, "insufficient-funds", reason)
    return None


def _bank_account_credit(
    marketplace_id: str,
    bank_account_id: str,
    request: TransferRequest,
    parties: transfers.CreditParties,
) -> transfers.NewTransfer:
    statement = request.appears_on_statement_as or parties.marketplace["domain_url"]
    return transfers.NewTransfer(
        marketplace_id,
        TransferKind.CREDIT,
        request,
        Parties(
            customer_id=parties.bank_account["customer_id"],
            destination_id=bank_account_id,
            destination_kind=DestinationKind.BANK_ACCOUNT,
            statement=statement[:ACH_STATEMENT_LENGTH_MAX],
            bank_account_id=bank_account_id,
            rail_entry_kind="credit",
        ),
    )


async def credit_bank_account(
    connection: asyncpg.Connection,
    marketplace_id: str,
    bank_account_id: str,
    request: TransferRequest,
) -> TransferResult:
    """Pay escrow out to a bank account over ACH: `pending` now, decided by the rail later.
    A pending credit consumes the escrow at once."""
    request, parties = await _prepare_bank_account_credit(
        connection, marketplace_id, bank_account_id, request
    )
    new = _bank_account_credit(marketplace_id, bank_account_id, request, parties)
    row = await transfers.insert(connection, new.marketplace_id, new.kind, new.request, new.parties)
    in_flight = postings.system_account(marketplace_id, "ach_in_flight")
    refused = await _take_from_escrow(connection, row, parties.order, in_flight)
    if refused is not None:
        return refused
    jobs = await transfers.record_event(connection, row, "credit.created")
    jobs += await transfers.submit_later(connection, row)
    return TransferResult(Transfer.from_row(row), jobs)


@dataclass(frozen=True)
class BankAccountCredit:
    """A credit to a bank account, as asked of `credit_bank_account`."""

    marketplace_id: str
    bank_account_id: str
    request: TransferRequest


# What credit_bank_accounts answers for each credit: its result, the error refusing it, or
# None when it is to be made alone (see there).
BatchedCredit = TransferResult | BalancedError | None


async def credit_bank_accounts(
    connection: asyncpg.Connection, wanted: list[BankAccountCredit]
) -> tuple[list[BatchedCredit], list[Job]]:
    """`credit_bank_account` for many credits in the caller's one transaction, with a
    statement per step for them all instead of per credit (the API makes concurrent
    requests together: issue 11). For each credit, in order: its result; the error that
    refuses it (a bank account, order or payee `credit_bank_account` would refuse); or
    None when its escrow, after the credits before it here, cannot cover it — the caller
    makes that one alone with `credit_bank_account`, which keeps it as `failed` (or makes
    it, if money came in meanwhile). Also returns the jobs of them all."""
    answers: list[BatchedCredit] = [None] * len(wanted)
    found = await transfers.bank_account_credit_parties_many(
        connection, [(c.marketplace_id, c.bank_account_id, c.request.order_id) for c in wanted]
    )
    accepted: list[tuple[int, transfers.NewTransfer]] = []
    for index, (credit, parties) in enumerate(zip(wanted, found, strict=True)):
        if isinstance(parties, BalancedError):
            answers[index] = parties
            continue
        try:
            _check_payee(
                parties.marketplace,
                parties.order,
                parties.bank_account["customer_id"],
                credit.bank_account_id,
            )
        except BalancedError as error:
            answers[index] = error
            continue
        request = transfers.inherit_description(credit.request, parties.order)
        accepted.append(
            (
                index,
                _bank_account_credit(
                    credit.marketplace_id, credit.bank_account_id, request, parties
                ),
            )
        )
    # Read without a lock, to leave out what cannot be covered; the posting, last, locks
    # the escrows (so they stay locked only for it and the commit) and PostgreSQL's CHECK
    # refuses the whole batch if one was spent meanwhile: then each credit is made alone.
    escrows = {
        index: postings.escrow_of(new.marketplace_id, new.request.order_id)
        for index, new in accepted
    }
    left_cents = await postings.balances_cents(
        connection, sorted(set(escrows.values())), lock=False
    )
    covered: list[tuple[int, transfers.NewTransfer]] = []
    for index, new in accepted:
        amount_cents = new.request.amount_cents
        assert amount_cents is not None
        if left_cents[escrows[index]] >= amount_cents:
            left_cents[escrows[index]] -= amount_cents
            covered.append((index, new))
    if not covered:
        return answers, []
    rows = await transfers.insert_many(connection, [new for _, new in covered])
    jobs = await events.record_many(
        connection,
        [
            events.NewEvent(
                row["marketplace_id"], "credit.created", row["id"], transfers.resource(row)
            )
            for row in rows
        ],
    )
    jobs += await submissions.submit_jobs(connection, [row["id"] for row in rows])
    await postings.post_many(
        connection,
        [
            postings.Move(
                row["marketplace_id"],
                row["id"],
                "credit.created",
                escrows[index],
                postings.system_account(row["marketplace_id"], "ach_in_flight"),
                row["amount_cents"],
            )
            for (index, _), row in zip(covered, rows, strict=True)
        ],
    )
    for (index, _), row in zip(covered, rows, strict=True):
        answers[index] = TransferResult(Transfer.from_row(row))
    return answers, jobs


async def credit_account(
    connection: asyncpg.Connection, marketplace_id: str, account_id: str, request: TransferRequest
) -> TransferResult:
    """Move escrow into a customer's payable account: immediate and `succeeded`."""
    account = await accounts.get(connection, marketplace_id, account_id)
    request, order, marketplace = await _prepare(
        connection, marketplace_id, request, account["customer_id"], account_id
    )
    row = await transfers.insert(
        connection,
        marketplace_id,
        TransferKind.CREDIT,
        request,
        Parties(
            customer_id=account["customer_id"],
            destination_id=account_id,
            destination_kind=DestinationKind.ACCOUNT,
            # Balanced's credits always say what the statement shows: by default the
            # marketplace's domain, as for bank accounts and cards.
            statement=request.appears_on_statement_as
            or marketplace["domain_url"][:ACH_STATEMENT_LENGTH_MAX],
        ),
    )
    refused = await _take_from_escrow(connection, row, order, account_id)
    if refused is not None:
        return refused
    succeeded, jobs = await transfers.succeed_now(connection, row)
    return TransferResult(Transfer.from_row(succeeded), jobs)


async def credit_card(
    connection: asyncpg.Connection, marketplace_id: str, card_id: str, request: TransferRequest
) -> TransferResult:
    """Push escrow to a debit card through the card network: `succeeded` at once (or
    `pending` for Balanced's test card that stays pending)."""
    card = await instruments.usable_card(connection, marketplace_id, card_id, "credited")
    if card["card_type"] != "debit":
        raise Conflict(
            "The given funding destination cannot have a credit created against it.",
            category_code="funding-destination-not-creditable",
        )
    if not card["name"]:
        raise BalancedError(
            "A card credited needs its cardholder's name.",
            extras={"name": "required to push money to a card"},
        )
    request, order, marketplace = await _prepare(
        connection, marketplace_id, request, card["customer_id"], card_id
    )
    row = await transfers.insert(
        connection,
        marketplace_id,
        TransferKind.CREDIT,
        request,
        Parties(
            customer_id=card["customer_id"],
            destination_id=card_id,
            destination_kind=DestinationKind.CARD,
            statement=request.appears_on_statement_as
            or marketplace["domain_url"][:ACH_STATEMENT_LENGTH_MAX],
        ),
    )
    if row["amount_cents"] > PUSH_TO_CARD_CENTS_MAX:
        return await transfers.fail_now(
            connection,
            row,
            "amount-exceeds-limit",
            "Amount exceeds limit. Try breaking up transactions.",
        )
    network = postings.system_account(marketplace_id, "card_network")
    refused = await _take_from_escrow(connection, row, order, network)
    if refused is not None:
        return refused
    if card["processor_verdict"] == "approve_credit_pending":
        jobs = await transfers.record_event(connection, row, "credit.created")
        return TransferResult(Transfer.from_row(row), jobs)
    succeeded, jobs = await transfers.succeed_now(connection, row)
    return TransferResult(Transfer.from_row(succeeded), jobs)


async def _reversible_cents(
    connection: asyncpg.Connection, credit: Transfer, requested_cents: int | None
) -> int:
    if credit.status != Status.SUCCEEDED:
        raise BalancedError(
            "Credit to reversal must have ``succeeded``.", category_code="cannot-reverse-credit"
        )
    remaining_cents = await transfers.remaining_cents(connection, credit)
    if remaining_cents == 0:
        raise Conflict(
            "Credit has already been fully reversed.", category_code="credit-already-reversed"
        )
    amount_cents = requested_cents or remaining_cents
    if amount_cents > remaining_cents:
        raise BalancedError(
            "Reverse amount cannot be greater than the amount of the original credit.",
            category_code="invalid-reversal-amount",
            extras={"amount": f"at most {remaining_cents} remains to reverse"},
        )
    return amount_cents


async def reverse(
    connection: asyncpg.Connection, marketplace_id: str, credit_id: str, request: TransferRequest
) -> TransferResult:
    """Pull a credit back into the escrow it came from, in full or in part.

    A bank-account credit is reversed through the rail (`pending`; the escrow rises only
    when the rail succeeds). A payable-account credit is reversed at once, even if that
    takes the account below zero (a settlement then settles it)."""
    credit = await transfers.lock(connection, marketplace_id, TransferKind.CREDIT, credit_id)
    if credit.destination_kind == DestinationKind.CARD:
        raise Conflict(
            "Credits to cards cannot be reversed.", category_code="cannot-reverse-credits-to-cards"
        )
    # Every credit names its destination (transactions_credit_has_destination_kind).
    assert credit.destination_id is not None and credit.destination_kind is not None, credit.id
    amount_cents = await _reversible_cents(connection, credit, request.amount_cents)
    request = replace(request, amount_cents=amount_cents, order_id=credit.order_id)
    on_rail = credit.bank_account_id is not None
    row = await transfers.insert(
        connection,
        marketplace_id,
        TransferKind.REVERSAL,
        request,
        Parties(
            customer_id=credit.customer_id,
            source_id=credit.destination_id,
            parent_id=credit_id,
            bank_account_id=credit.bank_account_id,
            rail_entry_kind="reversal" if on_rail else None,
        ),
    )
    if on_rail:
        jobs = await transfers.record_event(connection, row, "reversal.created")
        jobs += await transfers.submit_later(connection, row)
        return TransferResult(Transfer.from_row(row), jobs)
    await postings.post(
        connection,
        marketplace_id,
        row["id"],
        "reversal.succeeded",
        {
            credit.destination_id: -amount_cents,
            postings.escrow_of(marketplace_id, row["order_id"]): amount_cents,
        },
    )
    succeeded, jobs = await transfers.succeed_now(connection, row)
    return TransferResult(Transfer.from_row(succeeded), jobs)
