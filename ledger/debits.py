"""Money into escrow (card debits) and back out to the buyer (refunds). Both are
synchronous: the card processor is simulated in-process and decides from the card's
tokenized verdict."""

from __future__ import annotations

from dataclasses import replace

import asyncpg

from ledger import disputes, instruments, marketplaces, postings, transfers
from ledger.errors import BalancedError, Conflict
from ledger.records import DestinationKind, Transfer, TransferKind
from ledger.status import Status
from ledger.transfers import Parties, TransferRequest, TransferResult

# Card statements show `BAL*` plus at most 18 characters.
CARD_STATEMENT_PREFIX = "BAL*"
CARD_STATEMENT_LENGTH_MAX = 18
DECLINED = ("card-declined", "This card was declined by the processor.")


async def debit_card(
    connection: asyncpg.Connection,
    marketplace_id: str,
    card_id: str,
    request: TransferRequest,
    card_hold_id: str | None = None,
) -> TransferResult:
    """Charge a card into its order's escrow (or the marketplace's, without an order),
    directly or by capturing a hold."""
    card = await instruments.usable_card(connection, marketplace_id, card_id, "debited")
    request, _ = await transfers.with_order(connection, marketplace_id, request)
    marketplace = await marketplaces.get(connection, marketplace_id)
    statement = request.appears_on_statement_as or marketplace["domain_url"]
    row = await transfers.insert(
        connection,
        marketplace_id,
        TransferKind.DEBIT,
        request,
        Parties(
            customer_id=card["customer_id"],
            source_id=card_id,
            statement=CARD_STATEMENT_PREFIX + statement[:CARD_STATEMENT_LENGTH_MAX],
            card_hold_id=card_hold_id,
        ),
    )
    if card["processor_verdict"] == "decline":
        jobs = await transfers.record_event(connection, row, "debit.created")
        result = await transfers.fail_now(connection, row, *DECLINED, status_code=402)
        return replace(result, jobs=jobs + result.jobs)
    await postings.post(
        connection,
        marketplace_id,
        row["id"],
        "debit.succeeded",
        {
            postings.system_account(marketplace_id, "card_network"): -row["amount_cents"],
            postings.escrow_of(marketplace_id, row["order_id"]): row["amount_cents"],
        },
    )
    succeeded, jobs = await transfers.succeed_now(connection, row)
    if card["processor_verdict"] == "approve_dispute":
        succeeded, disputed_jobs = await disputes.open_on_debit(connection, succeeded)
        jobs += disputed_jobs
    return TransferResult(Transfer.from_row(succeeded), jobs)


async def refund(
    connection: asyncpg.Connection, marketplace_id: str, debit_id: str, request: TransferRequest
) -> TransferResult:
    """Give a debit's money back to its card, in full or in part, from the escrow it went
    into. A refund that would overdraw the escrow is refused and nothing is recorded."""
    debit = await transfers.lock(connection, marketplace_id, TransferKind.DEBIT, debit_id)
    if debit.dispute_id is not None:
        # The card network already gave the cardholder the money back (ledger/disputes.py).
        raise Conflict("Debit has been disputed.", category_code="debit-disputed")
    if debit.rail_entry_kind is not None:
        raise Conflict(
            "The given funding source cannot be refunded: ACH debits are not refunded "
            "through ballast yet.",
            category_code="funding-source-not-refundable",
        )
    if debit.status != Status.SUCCEEDED:
        raise BalancedError(
            "State of debit to refund must be ``succeeded``.",
            category_code="refund-invalid-debit-state",
        )
    remaining_cents = await transfers.remaining_cents(connection, debit)
    if remaining_cents == 0:
        raise Conflict(
            "Debit has already been fully refunded.", category_code="debit-already-refunded"
        )
    amount_cents = request.amount_cents or remaining_cents
    if amount_cents > remaining_cents:
        raise BalancedError(
            "Refund amount cannot be greater than the amount of the original debit.",
            category_code="invalid-amount",
            extras={"amount": f"at most {remaining_cents} remains to refund"},
        )
    request = replace(request, amount_cents=amount_cents, order_id=debit.order_id)
    row = await transfers.insert(
        connection,
        marketplace_id,
        TransferKind.REFUND,
        request,
        Parties(
            customer_id=debit.customer_id,
            destination_id=debit.source_id,
            destination_kind=DestinationKind.CARD,
            parent_id=debit_id,
        ),
    )
    escrow = postings.escrow_of(marketplace_id, row["order_id"])
    try:
        await postings.post(
            connection,
            marketplace_id,
            row["id"],
            "refund.succeeded",
            {
                escrow: -amount_cents,
                postings.system_account(marketplace_id, "card_network"): amount_cents,
            },
        )
    except postings.InsufficientFunds as error:
        if row["order_id"] is not None:
            raise Conflict(
                "Order escrow balanced is insufficient to issue this refund.",
                category_code="insufficient-funds",
            ) from error
        raise Conflict(
            "Marketplace escrow balance is insufficient to issue this refund.",
            category_code="refund-insufficient-funds",
        ) from error
    succeeded, jobs = await transfers.succeed_now(connection, row)
    return TransferResult(Transfer.from_row(succeeded), jobs)
