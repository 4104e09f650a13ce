"""Request bodies, validated once at the edge.

Unknown fields are ignored (Balanced's clients send whole resources back, read-only fields
included); numeric strings are accepted where Balanced accepted them; every string, map
and amount is bounded."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    RootModel,
    WithJsonSchema,
    model_validator,
)
from pydantic.fields import FieldInfo

from api.parsing import reference
from ledger.money import AMOUNT_CENTS_MAX, AMOUNT_CENTS_MIN, parse_amount_cents

# Bounds on free text: generous for real use, small enough that no request is a burden.
NAME_LENGTH_MAX = 255
DESCRIPTION_LENGTH_MAX = 1024
URL_LENGTH_MAX = 2048
# `meta` is a single-level map of strings (Balanced); bounded in keys and sizes.
META_KEYS_MAX = 50
META_KEY_LENGTH_MAX = 64
META_VALUE_LENGTH_MAX = 1024


def _meta(value: Any) -> dict[str, str]:
    """Balanced coerces meta values to strings (`"rating": 8` comes back as `"8"`)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError("must be an object of strings")
    if len(value) > META_KEYS_MAX:
        raise ValueError(f"may hold at most {META_KEYS_MAX} keys")
    meta: dict[str, str] = {}
    for key, item in value.items():
        if isinstance(item, dict | list) or item is None:
            raise ValueError("values must be strings or numbers")
        text = str(item).lower() if isinstance(item, bool) else str(item)
        if len(key) > META_KEY_LENGTH_MAX or len(text) > META_VALUE_LENGTH_MAX:
            raise ValueError("a key or value is too long")
        meta[key] = text
    return meta


def _digits(value: Any) -> Any:
    """Card and account numbers may be written with spaces and dashes, or as JSON numbers
    (Balanced's own scenarios send `"number": 5105105105105100`, `"cvv": 123`)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    return value.replace(" ", "").replace("-", "") if isinstance(value, str) else value


def _int_from_text(value: Any) -> Any:
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return value


# In each Annotated below, the constraints come before the BeforeValidator: the validator
# still runs first, and the constraints then appear in the JSON Schema (api/openapi.py).
MetaMap = dict[
    Annotated[str, Field(max_length=META_KEY_LENGTH_MAX)],
    Annotated[str, Field(max_length=META_VALUE_LENGTH_MAX)],
]
# What `_meta` takes, stated whole: null (no meta), and values that are strings, or numbers
# and booleans (kept as their text).
META_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {
            "type": "object",
            "maxProperties": META_KEYS_MAX,
            "propertyNames": {"maxLength": META_KEY_LENGTH_MAX},
            "additionalProperties": {
                "anyOf": [
                    {"type": "string", "maxLength": META_VALUE_LENGTH_MAX},
                    {"type": "number", "minimum": -1e15, "maximum": 1e15},
                    {"type": "boolean"},
                ]
            },
        },
        {"type": "null"},
    ]
}
Meta = Annotated[
    MetaMap,
    Field(max_length=META_KEYS_MAX),
    BeforeValidator(_meta),
    WithJsonSchema(META_SCHEMA),
]
# In an update: the new meta, or null (or absent) to keep the current one.
MetaChange = Annotated[
    dict[str, str] | None,
    BeforeValidator(lambda value: None if value is None else _meta(value)),
    WithJsonSchema(META_SCHEMA),
]
AmountCents = Annotated[
    int, Field(ge=AMOUNT_CENTS_MIN, le=AMOUNT_CENTS_MAX), BeforeValidator(parse_amount_cents)
]
Name = Annotated[str | None, Field(max_length=NAME_LENGTH_MAX)]
Description = Annotated[str | None, Field(max_length=DESCRIPTION_LENGTH_MAX)]
Month = Annotated[int, Field(ge=1, le=12, strict=True), BeforeValidator(_int_from_text)]
Year = Annotated[int, Field(ge=1900, le=2100, strict=True), BeforeValidator(_int_from_text)]
# A card's expiry: the range the `cards` table accepts (no card issued before 2000 is live).
ExpirationYear = Annotated[
    int, Field(ge=2000, le=2100, strict=True), BeforeValidator(_int_from_text)
]


def _reference_field(collection: str, prefix: str) -> FieldInfo:
    """The documented shape of an id of `collection` (`OR…`) or its href (`/orders/OR…`)."""
    # pydantic types Field() as Any, so that it fits any field's default; this is its info.
    shape: FieldInfo = Field(
        max_length=128,
        json_schema_extra={"pattern": f"^(/{collection}/)?{prefix}[a-zA-Z0-9]{{16,32}}$"},
    )
    return shape


def _reference_check(collection: str, prefix: str) -> AfterValidator:
    """Turns an id or href of `collection` into the id (see `reference`)."""
    return AfterValidator(lambda value: reference(value, collection, prefix))


# Spelled out in full rather than built by a function, so that type checkers see aliases.
OrderRef = Annotated[str, _reference_field("orders", "OR"), _reference_check("orders", "OR")]
CustomerRef = Annotated[
    str, _reference_field("customers", "CU"), _reference_check("customers", "CU")
]


def _instrument_reference(prefixes: dict[str, str]) -> AfterValidator:
    """Turns an id or href of any of `prefixes` (collection → id prefix) into the id."""

    def check(value: str) -> str:
        for collection, prefix in prefixes.items():
            if value.startswith((prefix, f"/{collection}/")):
                return reference(value, collection, prefix)
        raise ValueError(f"must be an id or href of one of {', '.join(prefixes)}")

    return AfterValidator(check)


def _instrument_field(prefixes: dict[str, str]) -> FieldInfo:
    """Each collection with its own prefix: `/cards/CC…`, never `/cards/BA…`."""
    kinds = "|".join(f"(/{collection}/)?{prefix}" for collection, prefix in prefixes.items())
    shape: FieldInfo = Field(
        max_length=128, json_schema_extra={"pattern": f"^({kinds})[a-zA-Z0-9]{{16,32}}$"}
    )
    return shape


_SOURCES = {"cards": "CC", "bank_accounts": "BA"}
_DESTINATIONS = {"bank_accounts": "BA", "cards": "CC", "accounts": "AT"}
# A funding source (a card or a bank account), a bank account, or a credit's destination
# (those, or a payable account): an id or its href.
SourceRef = Annotated[str, _instrument_field(_SOURCES), _instrument_reference(_SOURCES)]
BankAccountOnlyRef = Annotated[
    str,
    _instrument_field({"bank_accounts": "BA"}),
    _instrument_reference({"bank_accounts": "BA"}),
]
DestinationRef = Annotated[
    str, _instrument_field(_DESTINATIONS), _instrument_reference(_DESTINATIONS)
]


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class Address(Body):
    line1: Name = None
    line2: Name = None
    city: Name = None
    state: Name = None
    postal_code: Annotated[str | None, Field(max_length=16)] = None
    country_code: Annotated[str | None, Field(pattern=r"^[A-Z]{2}$")] = None


class MarketplaceCreate(Body):
    name: Name = None
    domain_url: Name = None
    support_email_address: Name = None
    support_phone_number: Annotated[str | None, Field(max_length=64)] = None


class CustomerDefaults(Body):
    """A customer's default funding instruments (Balanced's `links.source`,
    `links.destination`)."""

    source: SourceRef | None = None
    destination: BankAccountOnlyRef | None = None


class CustomerCreate(Body):
    name: Name = None
    business_name: Name = None
    email: Name = None
    phone: Annotated[str | None, Field(max_length=64)] = None
    ssn_last4: Annotated[str | None, Field(pattern=r"^[0-9]{4}$")] = None
    ein: Annotated[str | None, Field(pattern=r"^[0-9]{9}$")] = None
    dob_month: Month | None = None
    dob_year: Year | None = None
    address: Address = Field(default_factory=Address)
    meta: Meta = Field(default_factory=dict)
    # The default instruments, flat (`"source": "CC…"`, as Balanced's checkout flow) or in
    # `links`.
    source: SourceRef | None = None
    destination: BankAccountOnlyRef | None = None
    links: CustomerDefaults = Field(default_factory=CustomerDefaults)


class CustomerUpdate(Body):
    """`PUT /customers/:id` (and the result of a PATCH): the details given change, the
    others stay; a default instrument given is named, one left out or null stays."""

    name: Name = None
    business_name: Name = None
    email: Name = None
    phone: Annotated[str | None, Field(max_length=64)] = None
    ssn_last4: Annotated[str | None, Field(pattern=r"^[0-9]{4}$")] = None
    ein: Annotated[str | None, Field(pattern=r"^[0-9]{9}$")] = None
    dob_month: Month | None = None
    dob_year: Year | None = None
    address: Address | None = None
    meta: MetaChange = None
    source: SourceRef | None = None
    destination: BankAccountOnlyRef | None = None
    links: CustomerDefaults = Field(default_factory=CustomerDefaults)

    @model_validator(mode="before")
    @classmethod
    def _masked_ssn_is_no_change(cls, data: Any) -> Any:
        """Clients send the whole resource back, with the `ssn_last4` it showed: `xxxx`."""
        if isinstance(data, dict) and data.get("ssn_last4") == "xxxx":
            return {key: value for key, value in data.items() if key != "ssn_last4"}
        return data


class BankAccountCreate(Body):
    name: Name = None
    account_number: Annotated[str, Field(pattern=r"^[0-9]{4,17}$"), BeforeValidator(_digits)]
    routing_number: Annotated[str, Field(pattern=r"^[0-9]{9}$"), BeforeValidator(_digits)]
    account_type: Literal["checking", "savings"] = "checking"
    address: Address = Field(default_factory=Address)
    meta: Meta = Field(default_factory=dict)


class BankAccountLinks(Body):
    customer: CustomerRef | None = None


class BankAccountUpdate(Body):
    """`PUT /bank_accounts/:id`: Balanced clients send the whole resource back; only
    `links.customer` (attach to a customer) and `meta` are writable."""

    links: BankAccountLinks = Field(default_factory=BankAccountLinks)
    customer: CustomerRef | None = None
    meta: MetaChange = None


class CardUpdate(BankAccountUpdate):
    """`PUT /cards/:id`: only `links.customer` (attach to a customer) and `meta`."""


class CardCreate(Body):
    number: Annotated[str, Field(pattern=r"^[0-9]{12,19}$"), BeforeValidator(_digits)]
    expiration_month: Month
    expiration_year: ExpirationYear
    cvv: Annotated[str | None, Field(pattern=r"^[0-9]{3,4}$"), BeforeValidator(_digits)] = None
    name: Name = None
    address: Address = Field(default_factory=Address)
    meta: Meta = Field(default_factory=dict)


class OrderCreate(Body):
    description: Description = None
    delivery_address: Address = Field(default_factory=Address)
    meta: Meta = Field(default_factory=dict)


class TransferCreate(Body):
    amount: AmountCents
    order: OrderRef | None = None
    description: Description = None
    appears_on_statement_as: Annotated[str | None, Field(pattern=r"^[a-zA-Z0-9 .\-]{1,18}$")] = None
    meta: Meta = Field(default_factory=dict)


# A TCP port, 0 to 65535, as a regular expression.
PORT = "([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"


class CallbackCreate(Body):
    # What the server takes: an absolute http(s) URL with a host (callbacks.ssrf decides
    # which hosts it may then reach).
    url: Annotated[
        str,
        Field(
            min_length=1,
            max_length=URL_LENGTH_MAX,
            json_schema_extra={"pattern": f"^https?://[A-Za-z0-9.-]+(:{PORT})?(/[!-~]*)?$"},
        ),
    ]
    method: Literal["post", "put", "get"] = "post"
    revision: Literal["1.0", "1.1"] = "1.1"


class ReturnCreate(Body):
    """A refund of a debit or a reversal of a credit: the whole remainder by default."""

    amount: AmountCents | None = None
    description: Description = None
    meta: Meta = Field(default_factory=dict)


BankAccountRef = Annotated[
    str, _reference_field("bank_accounts", "BA"), _reference_check("bank_accounts", "BA")
]


class SettlementCreate(Body):
    funding_instrument: BankAccountRef
    description: Description = None
    appears_on_statement_as: Annotated[str | None, Field(pattern=r"^[a-zA-Z0-9 .\-]{1,18}$")] = None
    meta: Meta = Field(default_factory=dict)


class DetailsUpdate(Body):
    """`PUT` of a transfer or an order: only `description` and `meta` are writable."""

    description: Description = None
    meta: MetaChange = None


EventRef = Annotated[str, _reference_field("events", "EV"), _reference_check("events", "EV")]
# Longest overlap a rotation may ask for: a week is ample for any receiver to switch over.
ROTATION_OVERLAP_MS_MAX = 7 * 24 * 3600 * 1000


class RedeliveryCreate(Body):
    """One event (`event`), or every event that occurred from `since` to `until`."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["event"], "properties": {"event": {"type": "string"}}},
                {
                    "required": ["since", "until"],
                    "properties": {"since": {"type": "string"}, "until": {"type": "string"}},
                },
            ],
        }
    )

    event: EventRef | None = None
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None


class RotationCreate(Body):
    overlap_ms: Annotated[int | None, Field(ge=0, le=ROTATION_OVERLAP_MS_MAX, strict=True)] = None


class CaptureCreate(Body):
    """A capture of a hold: all of it by default, into the hold's order by default."""

    amount: AmountCents | None = None
    order: OrderRef | None = None
    description: Description = None
    meta: Meta = Field(default_factory=dict)


class HoldUpdate(DetailsUpdate):
    """`PUT /card_holds/:id`: description, meta, and `is_void: true` to void it."""

    is_void: bool | None = None


# A micro-deposit is under a dollar (Balanced): an amount outside 1..99 cents is no answer.
DEPOSIT_CENTS_MIN = 1
DEPOSIT_CENTS_MAX = 99
DepositCents = Annotated[
    int,
    Field(ge=DEPOSIT_CENTS_MIN, le=DEPOSIT_CENTS_MAX, strict=True),
    BeforeValidator(_int_from_text),
]


class VerificationCreate(Body):
    """`POST /bank_accounts/:id/verifications`: nothing is required."""

    meta: Meta = Field(default_factory=dict)


class VerificationConfirm(Body):
    """`PUT /verifications/:id`: the two micro-deposits, in cents, in either order."""

    amount_1: DepositCents
    amount_2: DepositCents


class DebitRootCreate(TransferCreate):
    """`POST /debits`: a debit of `source`, a card or bank account by id or href, or a card
    to tokenize on the spot."""

    source: SourceRef | CardCreate


class CreditRootCreate(TransferCreate):
    """`POST /credits`: a credit to `destination`, a bank account, card or payable account
    by id or href, or a bank account or card to tokenize on the spot."""

    destination: DestinationRef | BankAccountCreate | CardCreate


# A JSON Patch (RFC 6902) holds at most this many operations: Balanced's clients send one
# or two; a bound keeps one request's work small.
PATCH_OPERATIONS_MAX = 32
POINTER_LENGTH_MAX = 256


# A JSON Pointer into the resource's envelope: `/cards/0/meta/key` (never the whole of it).
POINTER = Field(max_length=POINTER_LENGTH_MAX, json_schema_extra={"pattern": "^/"})


class PatchOperation(Body):
    """One operation of a JSON Patch, on the resource's envelope (`/cards/0/meta/key`)."""

    model_config = ConfigDict(
        json_schema_extra={
            # RFC 6902: `move` and `copy` take the value at `from`.
            "anyOf": [
                {"properties": {"op": {"enum": ["add", "remove", "replace", "test"]}}},
                {
                    "properties": {"op": {"enum": ["move", "copy"]}, "from": {"type": "string"}},
                    "required": ["from"],
                },
            ]
        }
    )

    op: Literal["add", "remove", "replace", "move", "copy", "test"]
    path: Annotated[str, POINTER]
    from_: Annotated[str | None, Field(alias="from"), POINTER] = None
    value: Any = None


class JsonPatch(RootModel[list[PatchOperation]]):
    root: Annotated[list[PatchOperation], Field(min_length=1, max_length=PATCH_OPERATIONS_MAX)]
