"""Any resource by its id alone (`GET /resources/{id}`, and the parent of a sub-list),
dispatched on the id's prefix. Every lookup is scoped to one marketplace."""

from __future__ import annotations

from typing import Any

import asyncpg

from ledger import (
    accounts,
    callbacks,
    disputes,
    events,
    holds,
    instruments,
    marketplaces,
    orders,
    transfers,
    verifications,
    wire,
)
from ledger.errors import NotFound
from ledger.records import TransferKind

TRANSFER_KINDS: dict[str, TransferKind] = {
    "WD": TransferKind.DEBIT,
    "CR": TransferKind.CREDIT,
    "RF": TransferKind.REFUND,
    "RV": TransferKind.REVERSAL,
    "ST": TransferKind.SETTLEMENT,
}


async def find(
    connection: asyncpg.Connection | asyncpg.Pool, marketplace_id: str, resource_id: str
) -> tuple[str, dict[str, Any]]:
    """(plural type, Balanced representation) of the resource; 404 when it is not there or
    not this marketplace's."""
    prefix = resource_id[:2]
    if prefix in TRANSFER_KINDS:
        kind = TRANSFER_KINDS[prefix]
        row = await transfers.get(connection, marketplace_id, kind, resource_id)
        return wire.TRANSACTION_TYPES[kind], wire.transaction(row)
    if prefix == "CU":
        return "customers", wire.customer(
            await instruments.get_customer(connection, marketplace_id, resource_id)
        )
    if prefix == "BA":
        return "bank_accounts", wire.bank_account(
            await instruments.get_bank_account(connection, marketplace_id, resource_id)
        )
    if prefix == "CC":
        return "cards", wire.card(
            await instruments.get_card(connection, marketplace_id, resource_id)
        )
    if prefix == "OR":
        return "orders", wire.order(await orders.get(connection, marketplace_id, resource_id))
    if prefix == "HL":
        return "card_holds", wire.card_hold(
            await holds.get(connection, marketplace_id, resource_id)
        )
    if prefix == "AT":
        return "accounts", wire.account(await accounts.get(connection, marketplace_id, resource_id))
    return await _find_other(connection, marketplace_id, resource_id)


async def _find_other(
    connection: asyncpg.Connection | asyncpg.Pool, marketplace_id: str, resource_id: str
) -> tuple[str, dict[str, Any]]:
    """The marketplace itself, its events, callbacks and API keys."""
    prefix = resource_id[:2]
    if resource_id == marketplace_id:
        return "marketplaces", wire.marketplace(await marketplaces.get(connection, marketplace_id))
    if prefix == "EV":
        row = await events.get(connection, marketplace_id, resource_id)
        return "events", wire.event(row, row["callback_statuses"])
    if prefix == "CB":
        return "callbacks", wire.callback(
            await callbacks.get(connection, marketplace_id, resource_id)
        )
    if prefix == "BZ":
        return "bank_account_verifications", wire.bank_account_verification(
            await verifications.get(connection, marketplace_id, resource_id)
        )
    if prefix == "DT":
        return "disputes", wire.dispute(await disputes.get(connection, marketplace_id, resource_id))
    if prefix == "AK":
        return "api_keys", wire.api_key(
            await marketplaces.get_api_key(connection, marketplace_id, resource_id)
        )
    raise NotFound(f"Resource {resource_id} could not be found.")
