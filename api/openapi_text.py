"""The words of the OpenAPI document (api/openapi.py): the API's introduction, a tag per
resource with what it is, a description for every operation, and one for every field.

Fields are described once per name (`href` means the same everywhere), with the few that
mean something else in one model named by (model, field); tests/test_api_reference.py
fails on any operation or field of the document left without words."""

from __future__ import annotations

from typing import Any

from api import parsing

INTRODUCTION = """Marketplace escrow and payouts, wire-compatible with the **Balanced
Payments API 1.1**: buyers' card debits fill an order's escrow, refunds give it back,
credits pay it out over ACH, reversals pull credits back.

**Amounts are integers in cents** of US dollars: `"amount": 10000` is $100.00. A decimal
or negative amount is refused.

**Authentication is HTTP Basic with the API key secret as the username** and no password:
`curl -u ak-…: http://127.0.0.1:8090/marketplaces`. `POST /api_keys` without credentials
makes the first key of a new marketplace; create the marketplace with `POST /marketplaces`.

**Bodies** are JSON, flat (`{"amount": 500}`) or in Balanced's envelope
(`{"debits": [{"amount": 500}]}`). Every response is enveloped: `{"debits": [ … ],
"links": { … }}`, and a list adds `meta` (its page: `limit`, `offset`, `total`, `next`).

**Errors** answer with Balanced's error envelope, `{"errors": [{"status": "Conflict",
"status_code": 409, "category_code": "insufficient-funds", "category_type": "logical",
"description": "… Your request id is OHM….", "extras": {}, "additional": null,
"request_id": "OHM…"}]}`: `category_code` is the stable reason to act on, `extras` names
the fields at fault. A transfer that was made but failed (a declined card: 402) answers
with the transfer beside the errors.

**Retries**: send an `Idempotency-Key` with a POST; a retry gets the first response again.
**Later outcomes**: ACH transfers stay `pending` until the rail settles them; callbacks
(signed per Standard Webhooks) and `GET /events` tell what happened."""

# One tag per resource, in the order of the crowdfunding walkthrough.
TAGS: dict[str, str] = {
    "Marketplaces": "Your marketplace (one per key set): its money in escrow, and the "
    "shortfall returns and disputes left it with.",
    "API keys": "Keys authenticate every call (HTTP Basic, the secret as the username). "
    "A secret is shown once, when its key is made.",
    "Customers": "Buyers and merchants: their details, default funding instruments, and "
    "everything that happened to their money.",
    "Cards": "Cards, tokenized: debited by buyers, credited (push to card) when creditable.",
    "Bank accounts": "Bank accounts, tokenized: credited (ACH payouts), and debited once verified.",
    "Verifications": "Micro-deposit verifications, which let a bank account be debited.",
    "Orders": "An order is one merchant's escrow: debits fill it (`amount_escrowed`), "
    "refunds and credits empty it, reversals refill it.",
    "Debits": "Money in: a card (at once) or a verified bank account (over ACH) debited, "
    "into an order's escrow.",
    "Holds": "Card authorizations: captured later into a debit, or voided.",
    "Refunds": "A debit given back to the buyer, out of its order's escrow.",
    "Credits": "Money out: a payout from an order's escrow to a bank account (over ACH: "
    "`pending`, then `succeeded` or `failed`), a creditable card or a payable account.",
    "Reversals": "A credit pulled back: its amount returns to the order's escrow once the "
    "reversal succeeds.",
    "Accounts": "A merchant's payable account: credits into it are immediate; it is settled "
    "to a bank account later.",
    "Settlements": "A payable account's balance paid out to a bank account over ACH.",
    "Disputes": "Cardholders' disputes of debits, opened by the card network (read-only).",
    "Events": "What happened, in order: every change to a transfer or resource, and where "
    "each event was delivered.",
    "Callbacks": "Your URLs that receive events, signed (Standard Webhooks): their health, "
    "deliveries, secret rotation and redelivery.",
    "Resources": "Any resource by its id alone.",
    "Rail": "The simulated ACH bank's side: it posts each entry's outcome here, signed.",
    "Service": "Health, this document and the page that shows it.",
}

# The tag of an operation, by the key of the envelope it answers with.
PLURAL_TAGS = {
    "marketplaces": "Marketplaces",
    "shortfalls": "Marketplaces",
    "api_keys": "API keys",
    "customers": "Customers",
    "cards": "Cards",
    "bank_accounts": "Bank accounts",
    "bank_account_verifications": "Verifications",
    "orders": "Orders",
    "debits": "Debits",
    "card_holds": "Holds",
    "refunds": "Refunds",
    "credits": "Credits",
    "reversals": "Reversals",
    "accounts": "Accounts",
    "settlements": "Settlements",
    "disputes": "Disputes",
    "events": "Events",
    "event_callbacks": "Events",
    "event_callback_logs": "Events",
    "callbacks": "Callbacks",
    "callback_health": "Callbacks",
    "redeliveries": "Callbacks",
}
# Operations without a resource envelope, by their path's first segment.
SEGMENT_TAGS = {
    **PLURAL_TAGS,
    "holds": "Holds",
    "verifications": "Verifications",
    "resources": "Resources",
    "_rail": "Rail",
    "healthz": "Service",
    "openapi.json": "Service",
    "docs": "Service",
    "": "Service",
}
# Where the path says more than the answer: an order's buyers are about the order.
PATH_TAGS = {("GET", "/orders/{id}/buyers"): "Orders"}


def tag_of(method: str, path: str, plural: str | None) -> str:
    if (method, path) in PATH_TAGS:
        return PATH_TAGS[(method, path)]
    if plural in PLURAL_TAGS:
        return PLURAL_TAGS[plural]
    return SEGMENT_TAGS[path.strip("/").split("/")[0]]


_WRITABLE_DETAILS = (
    "Only `description` and `meta` change (`meta: null` keeps the current meta); no money moves."
)
_INSTRUMENT_UPDATE = (
    "Balanced's clients send the whole resource back: only `links.customer` (attach it to a "
    "customer, once) and `meta` are writable; read-only fields are ignored."
)
_PATCH = (
    "A JSON Patch (RFC 6902) on the resource's envelope, e.g. "
    '`[{"op": "replace", "path": "/{plural}/0/meta/key", "value": "v"}]`; the result must '
    "be a valid update (as for PUT)."
)
_DEBIT_INTO_ORDER = (
    "The money goes into the escrow of `order` when one is given (its `amount_escrowed` "
    "grows at once for a card)."
)

# What an operation does, where the path's shape says too little.
DESCRIPTIONS: dict[tuple[str, str], str] = {
    ("GET", "/"): "The API's front door: a browser (`Accept: text/html`) is sent to the "
    "dashboard (303); any other client gets links to this reference, the OpenAPI document "
    "and the dashboard. No key needed.",
    ("GET", "/docs"): "This reference, as a page for people (Swagger UI, served by ballast "
    "itself: it works offline). No key needed.",
    ("GET", "/openapi.json"): "The OpenAPI 3.1 document of this API, which this reference "
    "shows and clients can generate code from. No key needed.",
    ("GET", "/healthz"): 'Answers 200 `{"status": "ok"}` once the API is serving and its '
    "database is migrated. No key needed.",
    ("POST", "/api_keys"): "Without credentials: the first key of a new marketplace (limited "
    "per client address, as anyone may call it); then create the marketplace with "
    "`POST /marketplaces`. With a key: another key of the same marketplace. The `secret` is "
    "in this response only.",
    ("DELETE", "/api_keys/{id}"): "Revokes the key at once: requests with its secret answer "
    "401 from now on. A key cannot revoke itself.",
    ("POST", "/marketplaces"): "The marketplace of this key (one per key set), with an owner "
    "customer whose bank account receives the marketplace's own cut.",
    ("GET", "/marketplaces/{id}/shortfall"): "What the marketplace is out: reversals, ACH "
    "debits returned or card debits disputed after their escrow was paid out, and what its "
    "ACH debits brought in that their banks may still return.",
    ("POST", "/customers"): "A buyer or a merchant. Every field is optional; `source` and "
    "`destination` name default funding instruments (a card or bank account by id or href).",
    ("PUT", "/customers/{id}"): "The fields given change, the others stay; a default "
    "instrument given is named, one left out or null stays; `meta: null` keeps the current "
    "meta.",
    ("DELETE", "/customers/{id}"): "Removes the customer (204). Its transfers stay, "
    "and its cards and bank accounts are unstored with it.",
    ("DELETE", "/cards/{id}"): "Unstores the card (204): it can no longer be debited; its "
    "transfers stay.",
    ("DELETE", "/bank_accounts/{id}"): "Unstores the bank account (204): it can no longer be "
    "credited or debited; its transfers stay.",
    ("PUT", "/cards/{id}"): _INSTRUMENT_UPDATE,
    ("PUT", "/bank_accounts/{id}"): _INSTRUMENT_UPDATE,
    ("POST", "/cards"): "Tokenizes a card (number, expiry, optional CVV). Balanced's test "
    "numbers behave as documented: `4111111111111111` succeeds, `4444444444444448` is "
    "declined (402).",
    ("POST", "/bank_accounts"): "Tokenizes a bank account. Test accounts tell the rail what to "
    "do: `9900000002` settles, `9900000004` is returned (R03), `9900000000` stays pending.",
    ("POST", "/customers/{id}/cards"): "Tokenizes a card and attaches it to this customer.",
    ("POST", "/customers/{id}/bank_accounts"): "Tokenizes a bank account and attaches it to "
    "this customer.",
    ("POST", "/customers/{id}/orders"): "An order for this customer as its merchant: the "
    "escrow that debits fill and credits pay out of.",
    ("GET", "/orders/{id}"): "One order, with `amount` (debited into it, less refunds) and "
    "`amount_escrowed` (what is in its escrow now).",
    ("PUT", "/orders/{id}"): _WRITABLE_DETAILS,
    ("POST", "/cards/{id}/debits"): "Charges the card, at once: `succeeded`, or 402 with the "
    "failed debit for a declined card. " + _DEBIT_INTO_ORDER,
    ("POST", "/bank_accounts/{id}/debits"): "Debits a verified bank account over ACH: "
    "`pending` until the rail settles it; the escrow counts it only then. " + _DEBIT_INTO_ORDER,
    ("POST", "/customers/{id}/debits"): "Debits the customer's default source (`links.source`, "
    "else its newest card). " + _DEBIT_INTO_ORDER,
    ("POST", "/bank_accounts/{id}/credits"): "Pays out of `order`'s escrow to this bank account "
    "over ACH: `pending`, then `succeeded` when the rail settles it or `failed` (with "
    "`failure_reason_code`, and the money back in the escrow). More than the escrow holds is "
    "409 `insufficient-funds`, and nothing moves.",
    ("POST", "/accounts/{id}/credits"): "Pays out of `order`'s escrow into this payable "
    "account, at once (`succeeded`); settle the account to a bank account later.",
    ("POST", "/cards/{id}/credits"): "Pushes money to a creditable debit card (push to card), "
    "out of `order`'s escrow.",
    ("POST", "/customers/{id}/credits"): "Pays the customer's default destination "
    "(`links.destination`, else its newest bank account), out of `order`'s escrow.",
    ("POST", "/debits/{id}/refunds"): "Gives the debit back to the buyer (all that remains of "
    "it by default), out of its order's escrow.",
    ("POST", "/credits/{id}/reversals"): "Pulls a succeeded credit back (all that remains of it "
    "by default); the order's escrow gets the money when the reversal succeeds.",
    ("POST", "/accounts/{id}/settlements"): "Pays the payable account's whole balance to "
    "`funding_instrument`, a bank account, over ACH; 409 `account-nothing-to-settle` when "
    "the balance is 0.",
    ("POST", "/cards/{id}/card_holds"): "Authorizes an amount on the card without charging "
    "it; capture it into a debit or void it.",
    ("PUT", "/card_holds/{id}"): "Changes `description` and `meta`; `is_void: true` voids the "
    "hold.",
    ("POST", "/card_holds/{id}/debits"): "Captures the hold into a debit (all of it by "
    "default), into `order`'s escrow (the hold's order by default).",
    ("GET", "/resources/{id}"): "Whatever the id names (a customer, a debit, an event…), by "
    "its prefix, in that resource's envelope.",
    ("GET", "/accounts/{id}"): "One payable account, with its `balance` in cents.",
    ("GET", "/callbacks/{id}/health"): "Whether the callback is enabled, why it was disabled, "
    "and since when its deliveries have been failing.",
    ("DELETE", "/callbacks/{id}"): "Stops delivering to this URL (204); deliveries not yet "
    "made are dropped.",
}


def description(
    method: str, path: str, plural: str | None, listing: bool, docstring: str | None
) -> str:
    """Words for an operation: written above, else its handler's docstring, else what the
    route's shape says."""
    if (method, path) in DESCRIPTIONS:
        return DESCRIPTIONS[(method, path)]
    if docstring:
        return " ".join(docstring.split())
    segments = path.strip("/").split("/")
    thing = str(plural).replace("_", " ")
    noun = thing.removesuffix("s")
    if listing:
        return _list_description(segments, thing, plural)
    if method == "GET":
        return (
            f"One {noun} by its id, in Balanced's envelope: "
            f'`{{"{plural}": [the {noun}], "links": {{…}}}}`. 404 when your marketplace has '
            f"no {noun} with this id."
        )
    if method == "PUT":
        return _WRITABLE_DETAILS
    if method == "PATCH":
        return _PATCH.replace("{plural}", segments[0])
    return f"Creates {_article(noun)} {noun}."


def _list_description(segments: list[str], thing: str, plural: str | None) -> str:
    scope = "of the marketplace"
    if len(segments) > 1:
        parent = segments[0].removesuffix("s").replace("_", " ")
        scope = f"of the {parent} `{{id}}`"
    text = (
        f"The {thing} {scope}, newest first, a page at a time: `limit` (default "
        f"{parsing.PAGE_LIMIT_DEFAULT}) and `offset`; `meta.total` counts them all and "
        "`meta.next` links the next page."
    )
    if plural in ("debits", "credits", "refunds", "reversals", "settlements"):
        text += (
            " Filter by `status`, `amount` and `created_at`; failed ones are listed only when "
            "a status filter names them."
        )
    return text


def _article(noun: str) -> str:
    return "an" if noun[:1] in "aeiou" else "a"


_ADDRESS = "A line, city, state, postal code or country of an address."
# What each field means, wherever it appears.
FIELDS: dict[str, str] = {
    "id": "The resource's id: a prefix naming its kind, then 16 to 32 letters and digits.",
    "href": "The resource's path on this API.",
    "created_at": "When it was created (ISO 8601, UTC).",
    "updated_at": "When it last changed (ISO 8601, UTC).",
    "meta": "Your own data: a flat map of up to 50 string keys to strings (numbers and "
    "booleans are kept as their text).",
    "links": "The ids of related resources (Balanced's `links`).",
    "amount": "An amount in cents of US dollars (an integer: 10000 is $100.00).",
    "currency": "Always `USD`.",
    "description": "Free text of yours, shown in the dashboard and on events.",
    "status": "`pending` until the outcome is known, then `succeeded` or `failed`.",
    "transaction_number": "A short number for support and statements.",
    "appears_on_statement_as": "What the customer's statement shows (letters, digits, spaces, "
    "`.` and `-`, up to 18).",
    "failure_reason_code": "Why it failed: a NACHA return code (`R03`…) or a card decline "
    "code; null unless failed.",
    "failure_reason": "Why it failed, in words; null unless failed.",
    "name": "A person's or business's name.",
    "business_name": "The business's name, for a merchant that is one.",
    "email": "Email address.",
    "phone": "Phone number.",
    "ssn_last4": "The last four digits of a US social security number (shown as `xxxx`).",
    "ein": "A US employer identification number (9 digits).",
    "dob_month": "Month of birth (1 to 12).",
    "dob_year": "Year of birth.",
    "address": "A postal address.",
    "delivery_address": "Where the order is delivered.",
    "line1": _ADDRESS,
    "line2": _ADDRESS,
    "city": _ADDRESS,
    "state": _ADDRESS,
    "postal_code": _ADDRESS,
    "country_code": "ISO 3166-1 alpha-2 country code (`US`).",
    "merchant_status": "Whether the customer is underwritten as a merchant.",
    "source": "A funding source: a card or bank account, by id or href.",
    "destination": "Where money goes: a bank account (or a card or payable account, where "
    "allowed), by id or href.",
    "customer": "A customer, by id (or href in a request).",
    "order": "The order whose escrow the money goes into or comes out of, by id or href.",
    "merchant": "The customer the order's escrow belongs to.",
    "owner_customer": "The customer that owns the marketplace (its bank account receives the "
    "marketplace's cut).",
    "account_number": "The bank account number (4 to 17 digits; shown with all but the last "
    "four masked).",
    "routing_number": "The bank's ABA routing number (9 digits).",
    "account_type": "`checking` or `savings`.",
    "bank_name": "The bank's name, from its routing number or the card's BIN.",
    "fingerprint": "Same instrument, same fingerprint (within this ballast): spot duplicates.",
    "can_credit": "Whether money can be paid to it.",
    "can_debit": "Whether money can be taken from it.",
    "number": "The card number (12 to 19 digits; shown masked but for the last four).",
    "expiration_month": "Expiry month (1 to 12).",
    "expiration_year": "Expiry year.",
    "cvv": "The card's security code (3 or 4 digits), never stored or shown.",
    "cvv_match": "Whether the CVV matched (`yes`, `no`, `unsupported`), null if none was sent.",
    "cvv_result": "The CVV check's result in words.",
    "avs_street_match": "Whether the street matched the card's address (address check).",
    "avs_postal_match": "Whether the postal code matched the card's address.",
    "avs_result": "The address check's result in words.",
    "brand": "The card's network (`Visa`, `MasterCard`…).",
    "is_verified": "Whether the card was verified when tokenized.",
    "type": "The kind of this resource (for a card: `credit` or `debit`; for an event: what "
    "happened, e.g. `debit.succeeded`).",
    "category": "The card's category from its BIN.",
    "amount_escrowed": "What the order's escrow holds now, in cents: debits in, less refunds "
    "and credits out, plus reversals back.",
    "in_escrow": "What all the marketplace's orders hold, in cents.",
    "unsettled_fees": "Fees not yet settled, in cents (ballast charges none: 0).",
    "production": "Always false: ballast is a test marketplace.",
    "domain_url": "The marketplace's web address.",
    "support_email_address": "Where the marketplace's customers write for support.",
    "support_phone_number": "Where the marketplace's customers call for support.",
    "secret": "The secret, shown only in the response that created (or rotated) it.",
    "balance": "The payable account's balance, in cents (negative after a reversal of money "
    "already settled).",
    "card_hold": "The hold this debit captured.",
    "dispute": "The dispute of this debit, if a cardholder opened one.",
    "debit": "The debit this belongs to.",
    "credit": "The credit this reverses.",
    "card": "The card held.",
    "settlement": "The settlement that paid this out of its payable account, if any.",
    "bank_account": "The bank account.",
    "bank_account_verification": "The bank account's latest verification.",
    "expires_at": "When the hold lapses if not captured.",
    "voided_at": "When the hold was voided; null if not.",
    "is_void": "`true` voids the hold.",
    "attempts": "Attempts made so far.",
    "attempts_remaining": "Confirmations still allowed before the verification fails.",
    "deposit_status": "Whether the micro-deposits reached the bank account.",
    "verification_status": "`pending` until the deposits are confirmed (`succeeded`), or "
    "`failed` after three wrong answers.",
    "amount_1": "The first micro-deposit, in cents (1 to 99).",
    "amount_2": "The second micro-deposit, in cents (1 to 99).",
    "reason": "The cardholder's reason for the dispute.",
    "initiated_at": "When the dispute was opened.",
    "respond_by": "The deadline for evidence.",
    "transaction": "The disputed debit.",
    "occurred_at": "When it happened.",
    "entity": "The resource as it was after the change, in its envelope.",
    "sequence": "The event's position in the marketplace's stream (1, 2, 3…).",
    "callback_statuses": "How many of the event's deliveries are in each state.",
    "pending": "How many are waiting for their first attempt.",
    "retrying": "How many failed and wait for another attempt.",
    "succeeded": "How many succeeded.",
    "failed": "How many gave up.",
    "url": "The receiver's URL (http or https).",
    "method": "The HTTP method deliveries use.",
    "revision": "The Balanced revision of the event format (`1.1`, or `1.0`).",
    "last_status_code": "The receiver's last HTTP status; null if it never answered.",
    "last_error": "The last failure in words; null if none.",
    "callback": "The callback.",
    "event": "The event, by id (or href in a request).",
    "request_headers": "The headers sent (the signature included).",
    "response_status": "The receiver's HTTP status; null if it did not answer.",
    "latency_ms": "How long the attempt took, in milliseconds.",
    "response_excerpt": "The start of the receiver's answer.",
    "error": "Why the attempt failed (a timeout, a refused connection); null if it answered.",
    "attempted_at": "When the attempt was made.",
    "enabled": "Whether events are delivered to it.",
    "disabled_reason": "Why it was disabled (410 Gone, or failing for too long); null if enabled.",
    "failing_since": "Since when every delivery has failed; null if the last succeeded.",
    "as_of": "When this was read.",
    "queued": "How many deliveries were queued.",
    "since": "The start of the time range (inclusive).",
    "until": "The end of the time range (exclusive).",
    "overlap_ms": "How long the old secret keeps signing beside the new one, in milliseconds.",
    "marketplace": "The marketplace.",
    "ach_debits_returnable": "What its ACH debits brought in that their banks may still "
    "return, in cents.",
    "funding_instrument": "The bank account to pay the balance to, by id or href.",
    "first": "The first page.",
    "last": "The last page.",
    "next": "The next page; null on the last.",
    "previous": "The previous page; null on the first.",
    "limit": "Items per page.",
    "offset": "Items skipped before this page.",
    "total": "Items in the whole list.",
    "status_code": "The HTTP status.",
    "category_code": "The machine-readable reason (`insufficient-funds`, `card-declined`…): "
    "the field to act on.",
    "category_type": "`request` (fix the request), `banking`, `logical` (the state forbids "
    "it) or `server`.",
    "extras": "The fields at fault and what is wrong with each.",
    "additional": "More words, when there are some.",
    "request_id": "This request's id, for support (also in `description`).",
    "errors": "The errors (Balanced's error envelope).",
    "op": "The JSON Patch operation.",
    "path": "A JSON Pointer into the resource's envelope (`/cards/0/meta/key`).",
    "from": "Where `move` and `copy` take the value from (a JSON Pointer).",
    "value": "The value to add, replace or test.",
}
MODEL_FIELDS: dict[tuple[str, str], str] = {
    ("Error", "status"): "The HTTP reason phrase (`Conflict`).",
    ("Error", "description"): "What went wrong, ending with the request id.",
    ("Health", "status"): "`ok` while the API serves.",
    ("EventCallback", "status"): "`pending`, `retrying`, `succeeded` or `failed`.",
    ("EventCallback", "attempts"): "Delivery attempts made so far.",
    ("EventCallback", "id"): "The delivery's id.",
    ("EventCallbackLog", "id"): "The attempt's id.",
    ("Dispute", "status"): "`pending` while open, then `won` or `lost`.",
    ("Dispute", "amount"): "The disputed amount, in cents.",
    ("Account", "type"): "Always `payable`.",
    ("Card", "name"): "The cardholder's name.",
    ("BankAccount", "name"): "The account holder's name.",
    ("BankAccountCreate", "name"): "The account holder's name.",
    ("CardCreate", "name"): "The cardholder's name.",
    ("Marketplace", "name"): "The marketplace's name.",
    ("MarketplaceCreate", "name"): "The marketplace's name.",
    ("Event", "type"): "What happened: `debit.succeeded`, `credit.failed`…",
    ("Card", "type"): "`credit` or `debit`.",
    ("ReturnCreate", "amount"): "How much to give back, in cents; all that remains by default.",
    ("CaptureCreate", "amount"): "How much to capture, in cents; all of the hold by default.",
    ("CaptureCreate", "order"): "The order to capture into; the hold's order by default.",
    ("CustomerLinks", "source"): "The customer's default funding source.",
    ("CustomerLinks", "destination"): "The customer's default bank account for payouts.",
    ("CustomerDefaults", "source"): "The customer's default funding source (card or bank account).",
    ("CustomerDefaults", "destination"): "The customer's default bank account for payouts.",
    ("DebitLinks", "source"): "The card or bank account debited.",
    ("CreditLinks", "destination"): "The bank account, card or payable account credited.",
    ("SettlementLinks", "source"): "The payable account settled.",
    ("SettlementLinks", "destination"): "The bank account paid.",
    ("DebitRootCreate", "source"): "What to debit: a card or bank account by id or href, or a "
    "card's details to tokenize now.",
    ("CreditRootCreate", "destination"): "What to credit: a bank account, card or payable "
    "account by id or href, or a bank account's or card's details to tokenize now.",
    ("BankAccountUpdate", "customer"): "The customer to attach it to (or in `links`).",
    ("CardUpdate", "customer"): "The customer to attach it to (or in `links`).",
    ("RedeliveryCreate", "event"): "One event to deliver again.",
    ("Callback", "method"): "The HTTP method deliveries use.",
}


def describe_fields(components: dict[str, Any]) -> None:
    """Give every property of every schema in `components` its words, in place."""
    for model, schema in components.items():
        _describe(model, schema)


def _describe(model: str, schema: Any) -> None:
    if isinstance(schema, list):
        for item in schema:
            _describe(model, item)
        return
    if not isinstance(schema, dict):
        return
    for name, field in (schema.get("properties") or {}).items():
        if isinstance(field, dict) and not field.get("description"):
            words = MODEL_FIELDS.get((model, name)) or FIELDS.get(name)
            if words is not None:
                field["description"] = words
    for key, value in schema.items():
        if key == "properties":
            for field in value.values():
                _describe(model, field)
        elif isinstance(value, dict | list):
            _describe(model, value)
