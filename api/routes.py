"""Every route of the API, in one table."""

from __future__ import annotations

from aiohttp import web

from api.views import customers, events, marketplaces, rail, transfers


def routes() -> list[web.RouteDef]:
    return [
        web.post("/api_keys", marketplaces.create_api_key),
        web.post("/marketplaces", marketplaces.create_marketplace),
        web.get("/marketplaces", marketplaces.list_marketplaces),
        web.get("/marketplaces/{marketplace_id}", marketplaces.get_marketplace),
        web.post("/customers", customers.create_customer),
        web.get("/customers/{customer_id}", customers.get_customer),
        web.post("/customers/{customer_id}/orders", customers.create_order),
        web.get("/customers/{customer_id}/bank_accounts", customers.list_customer_bank_accounts),
        web.post("/bank_accounts", customers.create_bank_account),
        web.get("/bank_accounts/{bank_account_id}", customers.get_bank_account),
        web.put("/bank_accounts/{bank_account_id}", customers.update_bank_account),
        web.post("/bank_accounts/{bank_account_id}/credits", transfers.credit_bank_account),
        web.post("/cards", customers.create_card),
        web.get("/cards/{card_id}", customers.get_card),
        web.post("/cards/{card_id}/debits", transfers.debit_card),
        web.get("/orders/{order_id}", transfers.get_order),
        web.get("/orders/{order_id}/debits", transfers.list_order_debits),
        web.get("/orders/{order_id}/credits", transfers.list_order_credits),
        web.get("/credits/{credit_id}", transfers.get_credit),
        web.get("/debits/{debit_id}", transfers.get_debit),
        web.get("/events", events.list_events),
        web.get("/events/{event_id}", events.get_event),
        web.post("/callbacks", events.create_callback),
        web.get("/callbacks", events.list_callbacks),
        web.get("/callbacks/{callback_id}", events.get_callback),
        web.delete("/callbacks/{callback_id}", events.delete_callback),
        web.post("/_rail/notifications", rail.rail_notification),
        web.get("/healthz", rail.health),
    ]
