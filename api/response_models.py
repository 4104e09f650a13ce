"""Response models: the shapes `ledger/wire.py` and the views write, for the OpenAPI document.

Nothing validates responses with these at run time; they exist so that the document states
exactly what clients receive, and schemathesis (tests/test_openapi.py) checks every
response against them. Each model forbids unknown fields and marks every field required
unless it may be absent, so a drift between a representation and its model fails there.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.fields import FieldInfo

from ledger.ids import PREFIXES


class Shape(BaseModel):
    model_config = ConfigDict(extra="forbid")


def id_of(kind: str) -> FieldInfo:
    """The constraint of a string in the id format of `kind` (a key of ledger.ids.PREFIXES),
    for `Annotated[str, id_of(kind)]`: an alias must be spelled out for type checkers."""
    # pydantic types Field() as Any, so that it fits any field's default; this is its info.
    constraint: FieldInfo = Field(pattern=id_pattern(kind))
    return constraint


def id_pattern(kind: str) -> str:
    return f"^{PREFIXES[kind]}[a-zA-Z0-9]{{16,32}}$"


Timestamp = datetime
Meta = dict[str, str]
Text = str | None
Amount = Annotated[int, Field(ge=0)]
Status = Literal["pending", "succeeded", "failed"]
CustomerId = Annotated[str, id_of("customer")]
MarketplaceId = Annotated[str, id_of("marketplace")]
ApiKeyId = Annotated[str, id_of("api_key")]
BankAccountId = Annotated[str, id_of("bank_account")]
CardId = Annotated[str, id_of("card")]
DebitId = Annotated[str, id_of("debit")]
CreditId = Annotated[str, id_of("credit")]
RefundId = Annotated[str, id_of("refund")]
ReversalId = Annotated[str, id_of("reversal")]
AccountId = Annotated[str, id_of("account")]
EventId = Annotated[str, id_of("event")]
CallbackId = Annotated[str, id_of("callback")]
CardHoldId = Annotated[str, id_of("card_hold")]
OrderId = Annotated[str, id_of("order")]
SettlementId = Annotated[str, id_of("settlement")]
VerificationId = Annotated[str, id_of("bank_account_verification")]
DisputeId = Annotated[str, id_of("dispute")]
# The party at the other end of a transfer: a card, a bank account or a payable account.
PartyId = Annotated[str, Field(pattern=r"^(CC|BA|AT)[a-zA-Z0-9]{16,32}$")]


class NoLinks(Shape):
    pass


class ResourceAddress(Shape):
    line1: Text
    line2: Text
    city: Text
    state: Text
    postal_code: Text
    country_code: Text


class Resource(Shape):
    href: str
    created_at: Timestamp
    updated_at: Timestamp
    meta: Meta


class MarketplaceLinks(Shape):
    owner_customer: CustomerId | None


class Marketplace(Resource):
    id: MarketplaceId
    name: str
    domain_url: str
    support_email_address: str
    support_phone_number: str
    in_escrow: int
    unsettled_fees: int
    production: bool
    links: MarketplaceLinks


class ApiKey(Shape):
    id: ApiKeyId
    href: str
    created_at: Timestamp
    meta: Meta
    links: NoLinks
    secret: str | None = Field(default=None, description="Only in the response that created it.")


class CustomerLinks(Shape):
    source: Annotated[str, Field(pattern=r"^(CC|BA)[a-zA-Z0-9]{16,32}$")] | None
    destination: BankAccountId | None


class Customer(Resource):
    id: CustomerId
    name: Text
    business_name: Text
    email: Text
    phone: Text
    ssn_last4: Literal["xxxx"] | None
    ein: Text
    dob_month: int | None
    dob_year: int | None
    address: ResourceAddress
    merchant_status: Literal["need-more-information", "underwritten", "rejected", "no-match"]
    links: CustomerLinks


class BankAccountResourceLinks(Shape):
    customer: CustomerId | None
    bank_account_verification: VerificationId | None


class BankAccount(Resource):
    id: BankAccountId
    name: Text
    account_number: str
    routing_number: str
    account_type: Literal["checking", "savings"]
    bank_name: str
    address: ResourceAddress
    fingerprint: str
    can_credit: bool
    can_debit: bool
    links: BankAccountResourceLinks


class CardLinks(Shape):
    customer: CustomerId | None


class Card(Resource):
    id: CardId
    name: Text
    number: str
    expiration_month: int
    expiration_year: int
    cvv: Text
    cvv_match: Text
    cvv_result: Text
    address: ResourceAddress
    avs_street_match: Text
    avs_postal_match: Text
    avs_result: Text
    fingerprint: str
    brand: str
    is_verified: bool
    can_debit: bool
    can_credit: bool
    type: Literal["credit", "debit"]
    category: str
    bank_name: str
    links: CardLinks


class OrderLinks(Shape):
    merchant: CustomerId


class Order(Resource):
    id: OrderId
    currency: Literal["USD"]
    amount: Amount
    amount_escrowed: Amount
    description: Text
    delivery_address: ResourceAddress
    links: OrderLinks


class Transfer(Resource):
    amount: Annotated[int, Field(ge=1)]
    currency: Literal["USD"]
    description: Text
    status: Status
    transaction_number: str


class Failure(Shape):
    failure_reason_code: Text
    failure_reason: Text


class DebitLinks(Shape):
    source: PartyId | None
    customer: CustomerId | None
    order: OrderId | None
    dispute: DisputeId | None
    card_hold: CardHoldId | None


class Debit(Transfer, Failure):
    id: DebitId
    appears_on_statement_as: Text
    links: DebitLinks


class CreditLinks(Shape):
    customer: CustomerId | None
    destination: PartyId | None
    order: OrderId | None
    settlement: SettlementId | None


class Credit(Transfer, Failure):
    id: CreditId
    appears_on_statement_as: Text
    links: CreditLinks


class RefundLinks(Shape):
    debit: DebitId
    order: OrderId | None
    dispute: DisputeId | None


class Refund(Transfer):
    id: RefundId
    links: RefundLinks


class ReversalLinks(Shape):
    credit: CreditId
    order: OrderId | None
    settlement: SettlementId | None


class Reversal(Transfer, Failure):
    id: ReversalId
    links: ReversalLinks


class SettlementLinks(Shape):
    source: PartyId | None
    destination: PartyId | None


class Settlement(Transfer, Failure):
    id: SettlementId
    appears_on_statement_as: Text
    links: SettlementLinks


class CardHoldLinks(Shape):
    card: CardId
    debit: DebitId | None
    order: OrderId | None


class CardHold(Resource, Failure):
    id: CardHoldId
    amount: Annotated[int, Field(ge=1)]
    currency: Literal["USD"]
    description: Text
    status: Status
    transaction_number: str
    expires_at: Timestamp
    voided_at: Timestamp | None
    links: CardHoldLinks


class AccountLinks(Shape):
    customer: CustomerId


class Account(Resource):
    id: AccountId
    balance: int
    currency: Literal["USD"]
    type: Literal["payable"]
    can_debit: bool
    can_credit: bool
    links: AccountLinks


class CallbackStatuses(Shape):
    failed: Annotated[int, Field(ge=0)]
    pending: Annotated[int, Field(ge=0)]
    retrying: Annotated[int, Field(ge=0)]
    succeeded: Annotated[int, Field(ge=0)]


class Event(Shape):
    id: EventId
    href: str
    type: str
    occurred_at: Timestamp
    entity: dict[str, Any] = Field(description="The resource as it was after the change.")
    sequence: Annotated[int, Field(ge=1)]
    callback_statuses: CallbackStatuses
    links: NoLinks


class Callback(Shape):
    id: CallbackId
    href: str
    url: str
    method: Literal["post", "put", "get"]
    revision: Literal["1.0", "1.1"]
    links: NoLinks
    secret: str | None = Field(
        default=None, description="The signing secret: only when created or rotated."
    )


class DeliveryLinks(Shape):
    event: EventId
    callback: CallbackId


class EventCallback(Shape):
    """One event's delivery to one callback."""

    id: str
    href: str
    status: Literal["pending", "retrying", "succeeded", "failed"]
    attempts: Annotated[int, Field(ge=0)]
    last_status_code: int | None
    last_error: Text
    created_at: Timestamp
    updated_at: Timestamp
    links: DeliveryLinks


class EventCallbackLog(Shape):
    """One attempt of a delivery."""

    id: str
    attempted_at: Timestamp
    request_headers: dict[str, Any]
    response_status: int | None
    latency_ms: Annotated[int, Field(ge=0)]
    response_excerpt: Text
    error: Text


class CallbackHealthLinks(Shape):
    callback: CallbackId


class CallbackHealth(Shape):
    enabled: bool
    disabled_reason: Text
    failing_since: Timestamp | None
    as_of: Timestamp
    links: CallbackHealthLinks


class ShortfallLinks(Shape):
    marketplace: MarketplaceId


class Shortfall(Shape):
    """Money the marketplace is out: reversals or ACH debits returned, or debits disputed,
    after their escrow was paid out; and what its ACH debits brought in that their banks
    may still return (the risk of more)."""

    href: str
    amount: Amount
    ach_debits_returnable: Amount
    currency: Literal["USD"]
    links: ShortfallLinks


class VerificationLinks(Shape):
    bank_account: BankAccountId


class BankAccountVerification(Shape):
    """Two micro-deposits to confirm before a bank account may be debited."""

    id: VerificationId
    href: str
    created_at: Timestamp
    updated_at: Timestamp
    attempts: Annotated[int, Field(ge=0, le=3)]
    attempts_remaining: Annotated[int, Field(ge=0, le=3)]
    deposit_status: Status
    verification_status: Status
    meta: Meta
    links: VerificationLinks


class DisputeLinks(Shape):
    transaction: Annotated[str, Field(pattern=r"^(WD|RF)[a-zA-Z0-9]{16,32}$")]


class Dispute(Resource):
    """A cardholder's dispute of a debit, opened by the card network (read-only)."""

    id: DisputeId
    amount: Annotated[int, Field(ge=1)]
    currency: Literal["USD"]
    reason: str
    status: Literal["pending", "won", "lost"]
    initiated_at: Timestamp
    respond_by: Timestamp
    links: DisputeLinks


class Redelivery(Shape):
    queued: Annotated[int, Field(ge=0)]


# Per envelope key (the plural a response is wrapped in): the model of its items.
ITEMS: dict[str, type[Shape]] = {
    "marketplaces": Marketplace,
    "api_keys": ApiKey,
    "customers": Customer,
    "bank_accounts": BankAccount,
    "cards": Card,
    "orders": Order,
    "debits": Debit,
    "credits": Credit,
    "refunds": Refund,
    "reversals": Reversal,
    "settlements": Settlement,
    "card_holds": CardHold,
    "accounts": Account,
    "events": Event,
    "callbacks": Callback,
    "event_callbacks": EventCallback,
    "event_callback_logs": EventCallbackLog,
    "callback_health": CallbackHealth,
    "redeliveries": Redelivery,
    "shortfalls": Shortfall,
    "bank_account_verifications": BankAccountVerification,
    "disputes": Dispute,
}


class PageMeta(Shape):
    first: str
    href: str
    last: str
    next: str | None
    previous: str | None
    limit: Annotated[int, Field(ge=1)]
    offset: Annotated[int, Field(ge=0)]
    total: Annotated[int, Field(ge=0)]


class Error(Shape):
    """One error of Balanced's error envelope."""

    status: str = Field(description="The HTTP reason phrase.")
    status_code: int
    category_code: str
    category_type: Literal["request", "banking", "logical", "server"]
    description: str = Field(pattern=r"Your request id is OHM[a-zA-Z0-9]+\.$")
    extras: dict[str, Any]
    additional: str | None
    request_id: Annotated[str, Field(pattern=id_pattern("request"))]


class Health(Shape):
    status: Literal["ok"]


class IndexLinks(Shape):
    reference: Literal["/docs"] = Field(description="This API reference, for people.")
    openapi: Literal["/openapi.json"] = Field(description="The OpenAPI 3.1 document.")
    dashboard: Literal["/dashboard/"] = Field(description="The operator dashboard.")
    health: Literal["/healthz"] = Field(description="The health check.")


class Index(Shape):
    """`GET /` for a client that does not ask for HTML: where to go from here."""

    name: Literal["ballast"] = Field(description="This service.")
    api_revision: Literal["1.1"] = Field(description="The Balanced API revision it speaks.")
    links: IndexLinks = Field(description="Where the API's documents are.")
