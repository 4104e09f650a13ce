"""Every route of the API, in one table. Path parameters are always `{id}`."""

from __future__ import annotations

from aiohttp import web

from api import docs, openapi
from api.views import (
    accounts,
    callbacks,
    customers,
    disputes,
    events,
    funding,
    holds,
    instruments,
    marketplaces,
    orders,
    rail,
    verifications,
)
from api.views.transfers import (
    credit_account,
    credit_bank_account,
    credit_card,
    debit_card,
    getter,
    lister,
    refund_debit,
    reverse_credit,
    settle_account,
    updater,
)
from ledger.records import TransferKind

TRANSFER_KINDS = {
    "debits": TransferKind.DEBIT,
    "credits": TransferKind.CREDIT,
    "refunds": TransferKind.REFUND,
    "reversals": TransferKind.REVERSAL,
    "settlements": TransferKind.SETTLEMENT,
}
# Resources whose events have a list of their own (`/{parent}/{id}/events`).
EVENT_PARENTS = (
    "debits",
    "credits",
    "refunds",
    "reversals",
    "settlements",
    "orders",
    "customers",
    "bank_accounts",
    "cards",
    "accounts",
    "disputes",
)
# Sub-lists of transfers: (parent collection, transfer collection, ListQuery scope).
TRANSFER_SUBLISTS = [
    ("orders", "debits", "order_id"),
    ("orders", "credits", "order_id"),
    ("orders", "refunds", "order_id"),
    ("orders", "reversals", "order_id"),
    ("customers", "debits", "customer_id"),
    ("customers", "credits", "customer_id"),
    ("customers", "refunds", "customer_id"),
    ("customers", "reversals", "customer_id"),
    ("debits", "refunds", "parent_id"),
    ("credits", "reversals", "parent_id"),
    ("cards", "debits", "party_id"),
    ("cards", "credits", "party_id"),
    ("bank_accounts", "credits", "party_id"),
    ("bank_accounts", "debits", "party_id"),
    ("credits", "settlements", "settled_id"),
    ("reversals", "settlements", "settled_id"),
    ("bank_accounts", "settlements", "party_id"),
    ("accounts", "credits", "party_id"),
    ("accounts", "debits", "party_id"),
    ("accounts", "refunds", "party_id"),
    ("accounts", "reversals", "party_id"),
    ("accounts", "settlements", "party_id"),
    ("settlements", "credits", "settlement_id"),
    ("settlements", "reversals", "settlement_id"),
    ("card_holds", "debits", "card_hold_id"),
]


def _transfer_routes() -> list[web.RouteDef]:
    table = [
        web.post("/cards/{id}/debits", debit_card),
        web.post("/bank_accounts/{id}/credits", credit_bank_account),
        web.post("/accounts/{id}/credits", credit_account),
        web.post("/cards/{id}/credits", credit_card),
        web.post("/debits/{id}/refunds", refund_debit),
        web.post("/credits/{id}/reversals", reverse_credit),
        web.post("/accounts/{id}/settlements", settle_account),
        web.post("/customers/{id}/debits", funding.debit_customer),
        web.post("/customers/{id}/credits", funding.credit_customer),
        web.post("/debits", funding.debit_root),
        web.post("/credits", funding.credit_root),
    ]
    for plural, kind in TRANSFER_KINDS.items():
        table += [
            web.get(f"/{plural}", lister(kind)),
            web.get(f"/{plural}/{{id}}", getter(kind)),
            web.put(f"/{plural}/{{id}}", updater(kind)),
        ]
    for parent, plural, scope in TRANSFER_SUBLISTS:
        table.append(web.get(f"/{parent}/{{id}}/{plural}", lister(TRANSFER_KINDS[plural], scope)))
    return table


def _verification_routes() -> list[web.RouteDef]:
    """Bank-account verifications, and the ACH debits they allow (issue 10, item 4)."""
    return [
        web.post("/bank_accounts/{id}/verifications", verifications.create_verification),
        web.get("/bank_accounts/{id}/verifications", verifications.list_verifications),
        web.get("/verifications/{id}", verifications.get_verification),
        web.put("/verifications/{id}", verifications.confirm_verification),
        web.post("/bank_accounts/{id}/debits", verifications.debit_bank_account),
    ]


def _dispute_routes() -> list[web.RouteDef]:
    """Disputes of card debits, read-only (issue 10, item 5)."""
    return [
        web.get("/disputes", disputes.list_disputes),
        web.get("/disputes/{id}", disputes.get_dispute),
        web.get("/debits/{id}/dispute", disputes.get_debit_dispute),
        web.get("/cards/{id}/disputes", disputes.list_card_disputes),
        web.get("/customers/{id}/disputes", disputes.list_customer_disputes),
    ]


def _instrument_routes() -> list[web.RouteDef]:
    table = []
    for plural in ("customers", "cards", "bank_accounts"):
        table += [
            web.put(f"/{plural}/{{id}}", instruments.updater(plural)),
            web.patch(f"/{plural}/{{id}}", instruments.updater(plural)),
            web.delete(f"/{plural}/{{id}}", instruments.deleter(plural)),
        ]
    table += [
        web.post("/customers/{id}/cards", instruments.adder("cards")),
        web.post("/customers/{id}/bank_accounts", instruments.adder("bank_accounts")),
    ]
    return table


def routes() -> list[web.RouteDef]:
    return [
        web.post("/api_keys", marketplaces.create_api_key),
        web.get("/api_keys", marketplaces.list_api_keys),
        web.get("/api_keys/{id}", marketplaces.get_api_key),
        web.delete("/api_keys/{id}", marketplaces.revoke_api_key),
        web.post("/marketplaces", marketplaces.create_marketplace),
        web.get("/marketplaces", marketplaces.list_marketplaces),
        web.get("/marketplaces/{id}", marketplaces.get_marketplace),
        web.get("/marketplaces/{id}/shortfall", marketplaces.get_shortfall),
        web.post("/customers", customers.create_customer),
        web.get("/customers/{id}", customers.get_customer),
        *_instrument_routes(),
        web.post("/customers/{id}/orders", orders.create_order),
        web.get("/customers/{id}/orders", customers.lister("orders")),
        web.get("/customers", customers.lister("customers")),
        web.get("/bank_accounts", customers.lister("bank_accounts")),
        web.get("/cards", customers.lister("cards")),
        web.get("/customers/{id}/bank_accounts", customers.lister("bank_accounts")),
        web.get("/customers/{id}/cards", customers.lister("cards")),
        web.get("/customers/{id}/accounts", customers.lister("accounts")),
        web.post("/bank_accounts", customers.create_bank_account),
        web.get("/bank_accounts/{id}", customers.get_bank_account),
        web.post("/cards", customers.create_card),
        web.get("/cards/{id}", customers.get_card),
        web.get("/orders", customers.lister("orders")),
        web.get("/orders/{id}", orders.get_order),
        web.get("/orders/{id}/buyers", orders.list_buyers),
        web.put("/orders/{id}", orders.update_order),
        web.get("/accounts", customers.lister("accounts")),
        web.get("/accounts/{id}", accounts.get_account),
        web.get("/resources/{id}", accounts.get_resource),
        web.post("/cards/{id}/card_holds", holds.create_hold),
        web.get("/cards/{id}/card_holds", holds.list_holds),
        web.get("/customers/{id}/card_holds", holds.list_customer_holds),
        web.get("/card_holds", holds.list_holds),
        web.get("/card_holds/{id}", holds.get_hold),
        # Where debits' `card_hold` link points (Balanced: "/holds/{debits.card_hold}").
        web.get("/holds/{id}", holds.get_hold),
        web.put("/card_holds/{id}", holds.update_hold),
        web.delete("/card_holds/{id}", holds.void_hold),
        web.post("/card_holds/{id}/debits", holds.capture_hold),
        *_transfer_routes(),
        *_verification_routes(),
        *_dispute_routes(),
        web.get("/events", events.list_events),
        web.get("/events/{id}", events.get_event),
        web.get("/events/{id}/callbacks", events.list_event_callbacks),
        web.get("/events/{id}/callbacks/{callback_id}/logs", events.list_event_callback_logs),
        *[web.get(f"/{parent}/{{id}}/events", events.list_events) for parent in EVENT_PARENTS],
        web.post("/callbacks", callbacks.create_callback),
        web.get("/callbacks", callbacks.list_callbacks),
        web.get("/callbacks/{id}", callbacks.get_callback),
        web.delete("/callbacks/{id}", callbacks.delete_callback),
        web.get("/callbacks/{id}/health", callbacks.get_callback_health),
        web.post("/callbacks/{id}/enable", callbacks.enable_callback),
        web.post("/callbacks/{id}/secret_rotations", callbacks.rotate_callback_secret),
        web.post("/callbacks/{id}/redeliveries", callbacks.redeliver),
        web.post("/_rail/notifications", rail.rail_notification),
        web.get("/healthz", rail.health),
        web.get("/openapi.json", openapi.openapi_json),
        web.get("/docs", openapi.docs_page),
        web.get("/docs/assets/{name}", docs.asset),
        web.get("/", docs.index),
    ]
