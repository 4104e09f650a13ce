"""Balanced 1.1 representations of our rows: what the API returns and what events carry.

Each resource item carries its own `links` holding ids; the envelope's `links` holds URI
templates (`"credits.order": "/orders/{credits.order}"`); hrefs are relative. Events are
written by workers as well as by the API, so the representations live here, in the domain.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from ledger.money import CURRENCY
from ledger.records import Callback, Delivery, Transfer, TransferKind

Row = Mapping[str, Any]
Resource = dict[str, Any]

ADDRESS_KEYS = ("line1", "line2", "city", "state", "postal_code", "country_code")
# Confirmations a bank-account verification allows (the CHECKs of its table).
VERIFICATION_ATTEMPTS_MAX = 3

# Response-level link templates per resource type, as Balanced's fixtures require them.
LINK_TEMPLATES: dict[str, dict[str, str]] = {
    "marketplaces": {
        f"marketplaces.{c}": f"/{c}"
        for c in (
            "cards",
            "bank_accounts",
            "external_accounts",
            "credits",
            "debits",
            "refunds",
            "reversals",
            "customers",
            "events",
            "callbacks",
            "card_holds",
            "orders",
            "disputes",
            "accounts",
            "settlements",
        )
    }
    | {"marketplaces.owner_customer": "/customers/{marketplaces.owner_customer}"},
    "api_keys": {},
    "shortfalls": {"shortfalls.marketplace": "/marketplaces/{shortfalls.marketplace}"},
    "customers": {
        **{
            f"customers.{c}": f"/customers/{{customers.id}}/{c}"
            for c in (
                "accounts",
                "bank_accounts",
                "card_holds",
                "cards",
                "credits",
                "debits",
                "disputes",
                "external_accounts",
                "orders",
                "refunds",
                "reversals",
                "transactions",
            )
        },
        "customers.destination": "/resources/{customers.destination}",
        "customers.source": "/resources/{customers.source}",
    },
    "bank_accounts": {
        "bank_accounts.bank_account_verification": (
            "/verifications/{bank_accounts.bank_account_verification}"
        ),
        "bank_accounts.bank_account_verifications": (
            "/bank_accounts/{bank_accounts.id}/verifications"
        ),
        "bank_accounts.credits": "/bank_accounts/{bank_accounts.id}/credits",
        "bank_accounts.customer": "/customers/{bank_accounts.customer}",
        "bank_accounts.debits": "/bank_accounts/{bank_accounts.id}/debits",
        "bank_accounts.settlements": "/bank_accounts/{bank_accounts.id}/settlements",
    },
    "cards": {
        "cards.card_holds": "/cards/{cards.id}/card_holds",
        "cards.credits": "/cards/{cards.id}/credits",
        "cards.customer": "/customers/{cards.customer}",
        "cards.debits": "/cards/{cards.id}/debits",
        "cards.disputes": "/cards/{cards.id}/disputes",
    },
    "orders": {
        "orders.buyers": "/orders/{orders.id}/buyers",
        "orders.credits": "/orders/{orders.id}/credits",
        "orders.debits": "/orders/{orders.id}/debits",
        "orders.events": "/orders/{orders.id}/events",
        "orders.merchant": "/customers/{orders.merchant}",
        "orders.refunds": "/orders/{orders.id}/refunds",
        "orders.reversals": "/orders/{orders.id}/reversals",
    },
    "debits": {
        "debits.card_hold": "/holds/{debits.card_hold}",
        "debits.customer": "/customers/{debits.customer}",
        "debits.dispute": "/disputes/{debits.dispute}",
        "debits.events": "/debits/{debits.id}/events",
        "debits.order": "/orders/{debits.order}",
        "debits.refunds": "/debits/{debits.id}/refunds",
        "debits.source": "/resources/{debits.source}",
    },
    "credits": {
        "credits.customer": "/customers/{credits.customer}",
        "credits.destination": "/resources/{credits.destination}",
        "credits.events": "/credits/{credits.id}/events",
        "credits.order": "/orders/{credits.order}",
        "credits.reversals": "/credits/{credits.id}/reversals",
        "credits.settlement": "/settlements/{credits.settlement}",
        "credits.settlements": "/credits/{credits.id}/settlements",
    },
    "refunds": {
        "refunds.debit": "/debits/{refunds.debit}",
        "refunds.dispute": "/disputes/{refunds.dispute}",
        "refunds.events": "/refunds/{refunds.id}/events",
        "refunds.order": "/orders/{refunds.order}",
    },
    "reversals": {
        "reversals.credit": "/credits/{reversals.credit}",
        "reversals.events": "/reversals/{reversals.id}/events",
        "reversals.order": "/orders/{reversals.order}",
        "reversals.settlement": "/settlements/{reversals.settlement}",
        "reversals.settlements": "/reversals/{reversals.id}/settlements",
    },
    "settlements": {
        "settlements.credits": "/settlements/{settlements.id}/credits",
        "settlements.destination": "/resources/{settlements.destination}",
        "settlements.events": "/settlements/{settlements.id}/events",
        "settlements.reversals": "/settlements/{settlements.id}/reversals",
        "settlements.source": "/resources/{settlements.source}",
    },
    "accounts": {
        "accounts.customer": "/customers/{accounts.customer}",
        **{
            f"accounts.{c}": f"/accounts/{{accounts.id}}/{c}"
            for c in ("credits", "debits", "refunds", "reversals", "settlements")
        },
    },
    "card_holds": {
        "card_holds.card": "/cards/{card_holds.card}",
        "card_holds.debit": "/debits/{card_holds.debit}",
        "card_holds.debits": "/card_holds/{card_holds.id}/debits",
        "card_holds.order": "/orders/{card_holds.order}",
    },
    "events": {"events.callbacks": "/events/{events.self}/callbacks"},
    "bank_account_verifications": {
        "bank_account_verifications.bank_account": (
            "/bank_accounts/{bank_account_verifications.bank_account}"
        ),
    },
    "disputes": {
        "disputes.events": "/disputes/{disputes.id}/events",
        "disputes.transaction": "/resources/{disputes.transaction}",
    },
    # Deliveries of an event and their attempts (Balanced's EventCallback and
    # EventCallbackLog, which its fixtures do not describe).
    "event_callbacks": {
        "event_callbacks.callback": "/callbacks/{event_callbacks.callback}",
        "event_callbacks.event": "/events/{event_callbacks.event}",
        "event_callbacks.logs": (
            "/events/{event_callbacks.event}/callbacks/{event_callbacks.callback}/logs"
        ),
    },
    "event_callback_logs": {},
    "callbacks": {},
}


def timestamp(moment: datetime) -> str:
    """ISO-8601 UTC with microseconds, as Balanced writes them."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def address(value: Mapping[str, Any] | None) -> dict[str, Any]:
    value = value or {}
    return {key: value.get(key) for key in ADDRESS_KEYS}


def _common(row: Row, collection: str) -> Resource:
    return {
        "id": row["id"],
        "href": f"/{collection}/{row['id']}",
        "created_at": timestamp(row["created_at"]),
        "updated_at": timestamp(row["updated_at"]),
        "meta": dict(row["meta"]),
    }


def marketplace(row: Row) -> Resource:
    item = _common(row, "marketplaces")
    item |= {
        "name": row["name"],
        "domain_url": row["domain_url"],
        "support_email_address": row["support_email_address"],
        "support_phone_number": row["support_phone_number"],
        "in_escrow": row["in_escrow_cents"],
        "unsettled_fees": 0,
        "production": False,
        "links": {"owner_customer": row["owner_customer_id"]},
    }
    return item


def shortfall(marketplace_id: str, amount_cents: int, returnable_cents: int = 0) -> Resource:
    """A ballast addition: what a marketplace is out because money came back out of an
    escrow that had paid it out already — reversals or ACH debits returned late, disputes —
    and what its ACH debits brought in that banks may still return (see README)."""
    return {
        "href": f"/marketplaces/{marketplace_id}/shortfall",
        "amount": amount_cents,
        "ach_debits_returnable": returnable_cents,
        "currency": CURRENCY,
        "links": {"marketplace": marketplace_id},
    }


def api_key(row: Row, secret: str | None = None) -> Resource:
    item: Resource = {
        "id": row["id"],
        "href": f"/api_keys/{row['id']}",
        "created_at": timestamp(row["created_at"]),
        "meta": dict(row["meta"]),
        "links": {},
    }
    if secret is not None:
        item["secret"] = secret
    return item


def customer(row: Row) -> Resource:
    item = _common(row, "customers")
    item |= {
        "name": row["name"],
        "business_name": row["business_name"],
        "email": row["email"],
        "phone": row["phone"],
        "ssn_last4": "xxxx" if row["ssn_last4"] else None,
        "ein": row["ein"],
        "dob_month": row["dob_month"],
        "dob_year": row["dob_year"],
        "address": address(row["address"]),
        "merchant_status": row["merchant_status"],
        # The defaults it named, else the implicit ones (ledger/sql/customers.sql,
        # get_customer); a row that did not compute them (just inserted) has none yet.
        "links": {"source": row.get("source_id"), "destination": row.get("destination_id")},
    }
    return item


def bank_account(row: Row) -> Resource:
    item = _common(row, "bank_accounts")
    number = row["account_number"]
    item |= {
        "name": row["name"],
        "account_number": "x" * (len(number) - 4) + number[-4:],
        "routing_number": row["routing_number"],
        "account_type": row["account_type"],
        "bank_name": row["bank_name"],
        "address": address(row["address"]),
        "fingerprint": row["fingerprint"],
        "can_credit": row.get("deleted_at") is None,
        # Debitable over ACH once a verification of it succeeded (ledger/verifications.py),
        # until it is unstored.
        "can_debit": row.get("verified_at") is not None and row.get("deleted_at") is None,
        "links": {
            "customer": row["customer_id"],
            "bank_account_verification": row.get("verification_id"),
        },
    }
    return item


# The processor's words for its CVV and postal-code (AVS) answers.
CVV_RESULTS = {
    "yes": "Match",
    "no": "No Match",
    "unsupported": "Card does not support verification",
}
AVS_RESULTS = {
    "yes": "Postal code matches, but street address not verified.",
    "no": "Street address and postal code do not match.",
    "unsupported": "U.S.-issuing bank does not support AVS.",
}


def card(row: Row) -> Resource:
    item = _common(row, "cards")
    item |= {
        "name": row["name"],
        "number": "x" * (row["number_length"] - 4) + row["last4"],
        "expiration_month": row["expiration_month"],
        "expiration_year": row["expiration_year"],
        "cvv": "xxx" if row["has_cvv"] else None,
        "cvv_match": row.get("cvv_match"),
        "cvv_result": CVV_RESULTS.get(row.get("cvv_match") or ""),
        "address": address(row["address"]),
        "avs_street_match": row.get("avs_street_match"),
        "avs_postal_match": row.get("avs_postal_match"),
        "avs_result": AVS_RESULTS.get(row.get("avs_postal_match") or ""),
        "fingerprint": row["fingerprint"],
        "brand": row["brand"],
        "is_verified": True,
        # An unstored card is neither charged nor paid again.
        "can_debit": row.get("deleted_at") is None,
        "can_credit": row["card_type"] == "debit" and row.get("deleted_at") is None,
        "type": row["card_type"],
        "category": "other",
        "bank_name": "",
        "links": {"customer": row["customer_id"]},
    }
    return item


def order(row: Row) -> Resource:
    item = _common(row, "orders")
    item |= {
        "currency": CURRENCY,
        "amount": row["amount_cents"],
        "amount_escrowed": row["amount_escrowed_cents"],
        "description": row["description"],
        "delivery_address": address(row["delivery_address"]),
        "links": {"merchant": row["merchant_customer_id"]},
    }
    return item


# Per transaction kind: the plural type of its resource.
TRANSACTION_TYPES: dict[str, str] = {
    TransferKind.DEBIT: "debits",
    TransferKind.CREDIT: "credits",
    TransferKind.REFUND: "refunds",
    TransferKind.REVERSAL: "reversals",
    TransferKind.SETTLEMENT: "settlements",
}
# Fields each kind shows beyond those all transfers share (Balanced's schemas forbid
# any other property).
_WITH_STATEMENT = frozenset({TransferKind.DEBIT, TransferKind.CREDIT, TransferKind.SETTLEMENT})
_WITH_FAILURE = frozenset(
    {TransferKind.DEBIT, TransferKind.CREDIT, TransferKind.REVERSAL, TransferKind.SETTLEMENT}
)


def _transaction_links(transfer: Transfer) -> dict[str, Any]:
    kind = transfer.kind
    if kind == TransferKind.DEBIT:
        return {
            "source": transfer.source_id,
            "customer": transfer.customer_id,
            "order": transfer.order_id,
            "dispute": transfer.dispute_id,
            "card_hold": transfer.card_hold_id,
        }
    if kind == TransferKind.CREDIT:
        return {
            "customer": transfer.customer_id,
            "destination": transfer.destination_id,
            "order": transfer.order_id,
            "settlement": transfer.settlement_id,
        }
    if kind == TransferKind.REFUND:
        return {
            "debit": transfer.parent_id,
            "order": transfer.order_id,
            "dispute": transfer.dispute_id,
        }
    if kind == TransferKind.REVERSAL:
        return {
            "credit": transfer.parent_id,
            "order": transfer.order_id,
            "settlement": transfer.settlement_id,
        }
    assert kind == TransferKind.SETTLEMENT, kind
    return {"source": transfer.source_id, "destination": transfer.destination_id}


def _money_movement(row: Row, collection: str, with_failure: bool) -> Resource:
    """The fields every transfer and card hold shows."""
    item = _common(row, collection)
    item |= {
        "amount": row["amount_cents"],
        "currency": CURRENCY,
        "description": row["description"],
        "status": row["status"],
        "transaction_number": row["transaction_number"],
    }
    if with_failure:
        item["failure_reason_code"] = row["failure_reason_code"]
        item["failure_reason"] = row["failure_reason"]
    return item


def transaction(transfer: Transfer) -> Resource:
    """A transfer as Balanced shows it: the same keys, in the same order, as a card hold's
    (`_money_movement`), then its links and, for some kinds, its statement line."""
    kind = transfer.kind
    item: Resource = {
        "id": transfer.id,
        "href": f"/{TRANSACTION_TYPES[kind]}/{transfer.id}",
        "created_at": timestamp(transfer.created_at),
        "updated_at": timestamp(transfer.updated_at),
        "meta": dict(transfer.meta),
        "amount": transfer.amount_cents,
        "currency": CURRENCY,
        "description": transfer.description,
        # Plain strings: the representation carries values, not our enums.
        "status": transfer.status.value,
        "transaction_number": transfer.transaction_number,
    }
    if kind in _WITH_FAILURE:
        item["failure_reason_code"] = transfer.failure_reason_code
        item["failure_reason"] = transfer.failure_reason
    item["links"] = _transaction_links(transfer)
    if kind in _WITH_STATEMENT:
        item["appears_on_statement_as"] = transfer.appears_on_statement_as
    return item


def card_hold(row: Row) -> Resource:
    item = _money_movement(row, "card_holds", with_failure=True)
    item |= {
        "expires_at": timestamp(row["expires_at"]),
        "voided_at": timestamp(row["voided_at"]) if row["voided_at"] else None,
        "links": {"card": row["card_id"], "debit": row["debit_id"], "order": row["order_id"]},
    }
    return item


def bank_account_verification(row: Row) -> Resource:
    """A verification of a bank account's micro-deposits (`BZ…`)."""
    return {
        "id": row["id"],
        "href": f"/verifications/{row['id']}",
        "created_at": timestamp(row["created_at"]),
        "updated_at": timestamp(row["updated_at"]),
        "attempts": row["attempts"],
        "attempts_remaining": VERIFICATION_ATTEMPTS_MAX - row["attempts"],
        "deposit_status": row["deposit_status"],
        "verification_status": row["verification_status"],
        "meta": dict(row["meta"]),
        "links": {"bank_account": row["bank_account_id"]},
    }


def dispute(row: Row) -> Resource:
    """A dispute of a card debit (`DT…`), read-only."""
    item = _common(row, "disputes")
    item |= {
        "amount": row["amount_cents"],
        "currency": CURRENCY,
        "reason": row["reason"],
        "status": row["status"],
        "initiated_at": timestamp(row["initiated_at"]),
        "respond_by": timestamp(row["respond_by"]),
        "links": {"transaction": row["transaction_id"]},
    }
    return item


def account(row: Row) -> Resource:
    item = _common(row, "accounts")
    item |= {
        "balance": row["balance_cents"],
        "currency": CURRENCY,
        "type": row["type"],
        "can_debit": False,
        "can_credit": True,
        "links": {"customer": row["customer_id"]},
    }
    return item


def event(row: Row, callback_statuses: Mapping[str, int] | None = None) -> Resource:
    statuses = {"failed": 0, "pending": 0, "retrying": 0, "succeeded": 0}
    statuses |= dict(callback_statuses or {})
    return {
        "id": row["id"],
        "href": f"/events/{row['id']}",
        "type": row["type"],
        "occurred_at": timestamp(row["occurred_at"]),
        "entity": dict(row["entity"]),
        "sequence": row["sequence"],
        "callback_statuses": statuses,
        "links": {},
    }


def callback(subscription: Callback) -> Resource:
    return {
        "id": subscription.id,
        "href": f"/callbacks/{subscription.id}",
        "url": subscription.url,
        "method": subscription.method,
        "revision": subscription.revision,
        "links": {},
    }


def event_callback(row: Row) -> Resource:
    """Where one event went: its delivery to one callback (Balanced's `event_callbacks`)."""
    return {
        "id": row["id"],
        "href": f"/events/{row['event_id']}/callbacks/{row['callback_id']}",
        "status": row["status"],
        "attempts": row["attempts"],
        "last_status_code": row["last_status_code"],
        "last_error": row["last_error"],
        "created_at": timestamp(row["created_at"]),
        "updated_at": timestamp(row["updated_at"]),
        "links": {"event": row["event_id"], "callback": row["callback_id"]},
    }


def event_callback_log(row: Row) -> Resource:
    """One attempt of a delivery (Balanced's `event_callback_logs`)."""
    return {
        "id": str(row["id"]),
        "attempted_at": timestamp(row["attempted_at"]),
        "request_headers": row["request_headers"],
        "response_status": row["response_status"],
        "latency_ms": row["latency_ms"],
        "response_excerpt": row["response_excerpt"],
        "error": row["error"],
    }


def callback_health(subscription: Callback, now: datetime) -> Resource:
    """A callback's delivery state: not part of Balanced's callback resource, whose schema
    forbids extra fields, so it has a sub-resource of its own."""
    failing_since = subscription.failing_since
    moment = subscription.disabled_at or failing_since
    return {
        "enabled": subscription.disabled_at is None,
        "disabled_reason": subscription.disabled_reason,
        "failing_since": timestamp(failing_since) if failing_since else None,
        "as_of": timestamp(moment or now),
        "links": {"callback": subscription.id},
    }


def delivery_body(delivery: Delivery) -> str:
    """What a callback receives: the Balanced event envelope of a delivery's event, the
    same bytes on every attempt of one delivery."""
    item = event(
        {
            "id": delivery.event_id,
            "type": delivery.event_type,
            "occurred_at": delivery.occurred_at,
            "entity": delivery.entity,
            "sequence": delivery.sequence,
        }
    )
    del item["callback_statuses"]  # They change between attempts; the body must not.
    return json.dumps(envelope("events", [item]), separators=(",", ":"))


def envelope(
    plural: str, items: Iterable[Resource], meta: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The Balanced envelope: `{"<plural>": [...], "links": {...}}`, plus `meta` on lists."""
    body: dict[str, Any] = {plural: list(items), "links": dict(LINK_TEMPLATES[plural])}
    if meta is not None:
        body["meta"] = meta
    return body
