"""Settlements: a payable account's whole balance settled against a bank account through
the rail. A positive balance is paid out (an ACH credit, `SC…`); a negative one is
collected (an ACH debit, `SD…`). Either way the balance is zero from the moment the
settlement is created, and comes back if the rail fails it."""

from __future__ import annotations

import asyncpg

from ledger import accounts, instruments, marketplaces, postings, transfers
from ledger.errors import Conflict
from ledger.records import DestinationKind, Transfer, TransferKind
from ledger.transfers import Parties, TransferRequest, TransferResult

SETTLEMENT_STATEMENT_PREFIX = "BAL*"
SETTLEMENT_STATEMENT_LENGTH_MAX = 18


async def settle(
    connection: asyncpg.Connection,
    marketplace_id: str,
    account_id: str,
    bank_account_id: str,
    request: TransferRequest,
) -> TransferResult:
    account = await accounts.get(connection, marketplace_id, account_id)
    bank_account = await instruments.usable_bank_account(
        connection, marketplace_id, bank_account_id, "settled to"
    )
    marketplace = await marketplaces.get(connection, marketplace_id)
    if bank_account["customer_id"] not in {
        account["customer_id"],
        marketplace["owner_customer_id"],
    }:
        raise Conflict(
            f"Bank account {bank_account_id} belongs to neither the account's customer nor "
            "the marketplace owner.",
            category_code="funding-destination-not-associated",
        )
    await connection.execute(
        transfers.Q["lock_unsettled_account_credits"], marketplace_id, account_id
    )
    balance_cents = await postings.locked_balance_cents(connection, account_id)
    if balance_cents == 0:
        raise Conflict("Account has nothing to settle.", category_code="account-nothing-to-settle")
    paying_out = balance_cents > 0
    statement = request.appears_on_statement_as or marketplace["domain_url"]
    row = await transfers.insert(
        connection,
        marketplace_id,
        TransferKind.SETTLEMENT,
        TransferRequest(abs(balance_cents), None, request.description, request.meta),
        Parties(
            customer_id=account["customer_id"],
            source_id=account_id if paying_out else bank_account_id,
            destination_id=bank_account_id if paying_out else account_id,
            destination_kind=(
                DestinationKind.BANK_ACCOUNT if paying_out else DestinationKind.ACCOUNT
            ),
            statement=SETTLEMENT_STATEMENT_PREFIX + statement[:SETTLEMENT_STATEMENT_LENGTH_MAX],
            bank_account_id=bank_account_id,
            rail_entry_kind="credit" if paying_out else "debit",
            number_prefix="SC" if paying_out else "SD",
        ),
    )
    in_flight = postings.system_account(marketplace_id, "ach_in_flight")
    await postings.post(
        connection,
        marketplace_id,
        row["id"],
        "settlement.created",
        {account_id: -balance_cents, in_flight: balance_cents},
    )
    await connection.execute(
        transfers.Q["attach_settlement"], marketplace_id, row["id"], account_id
    )
    jobs = await transfers.record_event(connection, row, "settlement.created")
    jobs += await transfers.submit_later(connection, row)
    return TransferResult(Transfer.from_row(row), jobs)
