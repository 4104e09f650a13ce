"""The OpenAPI 3.1 document of the API, generated from the route table and the models.

Every route the application serves is described: its path parameters (in the id format
of the collection they name), its query parameters (pagination, and the filters of the
lists that take them), the `Idempotency-Key` header of every POST, its request body (the
JSON Schema of the very pydantic model the handler validates with, flat or in Balanced's
envelope), its success response (the envelope of the models in `api.response_models`) and the
Balanced error envelope for every error status. The document is built once per
application, on first request, and served as is after that.
"""

from __future__ import annotations

import json
import weakref
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from api import docs, openapi_text, request_models, response_models
from api.errors import Handler
from api.openapi_params import (
    ANY_RESOURCE_KINDS,
    TRANSFER_PLURALS,
    idempotency_header,
    path_parameters,
    query_parameters,
)
from api.responses import CONTENT_TYPE
from dashboard.urls import DASHBOARD_PREFIX
from ledger import wire
from ledger.errors import RequestInvalid

OPENAPI_VERSION = "3.1.0"
# Per operation ("GET /orders/{id}"), a request and its response as the tests sent and
# received them: written by tests/support/examples.py, checked by tests/test_api_reference.py.
EXAMPLES_PATH = Path(__file__).with_name("examples.json")
# Routes that are not the Balanced API: the reference page's files, and the dashboard (HTML
# for people, with its own sign-in).
HIDDEN_PREFIXES = (docs.ASSETS_PREFIX, DASHBOARD_PREFIX)
API_VERSION = "1.1"
REF = "#/components/schemas/{model}"

# `GET /resources/{id}` answers with the envelope of whatever the id names.
ANY_RESOURCE = {
    "anyOf": [
        {"$ref": REF.format(model=response_models.ITEMS[kind + "s"].__name__ + "Envelope")}
        for kind in ANY_RESOURCE_KINDS
    ]
}


@dataclass(frozen=True)
class Spec:
    """What a route answers when it succeeds, beyond what its path says."""

    plural: str | None  # The envelope key of the response; None for an empty body.
    status: int = 200
    listing: bool = False
    public: bool = False
    schema: dict[str, Any] | None = None  # A response body that is not an envelope.
    media_type: str = CONTENT_TYPE
    summary: str | None = None


# Request bodies: the model each handler validates with, and the key of its envelope form.
BODIES: dict[tuple[str, str], tuple[type[BaseModel], str]] = {
    ("POST", "/marketplaces"): (request_models.MarketplaceCreate, "marketplaces"),
    ("POST", "/customers"): (request_models.CustomerCreate, "customers"),
    ("POST", "/bank_accounts"): (request_models.BankAccountCreate, "bank_accounts"),
    ("POST", "/customers/{id}/cards"): (request_models.CardCreate, "cards"),
    ("POST", "/customers/{id}/bank_accounts"): (request_models.BankAccountCreate, "bank_accounts"),
    ("POST", "/customers/{id}/debits"): (request_models.TransferCreate, "debits"),
    ("POST", "/customers/{id}/credits"): (request_models.TransferCreate, "credits"),
    ("POST", "/debits"): (request_models.DebitRootCreate, "debits"),
    ("POST", "/credits"): (request_models.CreditRootCreate, "credits"),
    **{
        (method, f"/{plural}/{{id}}"): (model, plural)
        for plural, model in (
            ("customers", request_models.CustomerUpdate),
            ("cards", request_models.CardUpdate),
            ("bank_accounts", request_models.BankAccountUpdate),
        )
        for method in ("PUT", "PATCH")
    },
    ("POST", "/cards"): (request_models.CardCreate, "cards"),
    ("POST", "/customers/{id}/orders"): (request_models.OrderCreate, "orders"),
    ("PUT", "/orders/{id}"): (request_models.DetailsUpdate, "orders"),
    ("POST", "/cards/{id}/debits"): (request_models.TransferCreate, "debits"),
    ("POST", "/bank_accounts/{id}/credits"): (request_models.TransferCreate, "credits"),
    ("POST", "/accounts/{id}/credits"): (request_models.TransferCreate, "credits"),
    ("POST", "/cards/{id}/credits"): (request_models.TransferCreate, "credits"),
    ("POST", "/debits/{id}/refunds"): (request_models.ReturnCreate, "refunds"),
    ("POST", "/credits/{id}/reversals"): (request_models.ReturnCreate, "reversals"),
    ("POST", "/accounts/{id}/settlements"): (request_models.SettlementCreate, "settlements"),
    ("POST", "/callbacks"): (request_models.CallbackCreate, "callbacks"),
    ("POST", "/callbacks/{id}/secret_rotations"): (request_models.RotationCreate, "callbacks"),
    ("POST", "/callbacks/{id}/redeliveries"): (request_models.RedeliveryCreate, "redeliveries"),
    ("POST", "/cards/{id}/card_holds"): (request_models.TransferCreate, "card_holds"),
    ("PUT", "/card_holds/{id}"): (request_models.HoldUpdate, "card_holds"),
    ("POST", "/card_holds/{id}/debits"): (request_models.CaptureCreate, "debits"),
    ("POST", "/bank_accounts/{id}/verifications"): (
        request_models.VerificationCreate,
        "bank_account_verifications",
    ),
    ("PUT", "/verifications/{id}"): (
        request_models.VerificationConfirm,
        "bank_account_verifications",
    ),
    ("POST", "/bank_accounts/{id}/debits"): (request_models.TransferCreate, "debits"),
    **{
        ("PUT", f"/{plural}/{{id}}"): (request_models.DetailsUpdate, plural)
        for plural in TRANSFER_PLURALS
    },
}

# Routes whose response the path alone does not tell.
SPECS: dict[tuple[str, str], Spec] = {
    ("POST", "/api_keys"): Spec(
        "api_keys",
        201,
        public=True,
        summary="Create an API key (of a new marketplace, anonymously)",
    ),
    ("GET", "/resources/{id}"): Spec(None, schema=ANY_RESOURCE, summary="Fetch any resource by id"),
    ("GET", "/events/{id}/callbacks"): Spec(
        "event_callbacks", listing=True, summary="List an event's deliveries, one per callback"
    ),
    ("GET", "/events/{id}/callbacks/{callback_id}/logs"): Spec(
        "event_callback_logs", listing=True, summary="List the attempts of one delivery"
    ),
    ("GET", "/callbacks/{id}/health"): Spec("callback_health", summary="Fetch a callback's health"),
    ("POST", "/callbacks/{id}/enable"): Spec("callback_health", summary="Enable a callback again"),
    ("POST", "/callbacks/{id}/secret_rotations"): Spec(
        "callbacks", summary="Rotate a callback's signing secret"
    ),
    ("POST", "/callbacks/{id}/redeliveries"): Spec(
        "redeliveries", 202, summary="Deliver events to a callback again"
    ),
    ("DELETE", "/card_holds/{id}"): Spec("card_holds", summary="Void a card hold"),
    ("POST", "/bank_accounts/{id}/verifications"): Spec(
        "bank_account_verifications", 201, summary="Verify a bank account by micro-deposits"
    ),
    ("GET", "/bank_accounts/{id}/verifications"): Spec(
        "bank_account_verifications", listing=True, summary="List a bank account's verifications"
    ),
    ("GET", "/verifications/{id}"): Spec(
        "bank_account_verifications", summary="Fetch a bank account verification"
    ),
    ("PUT", "/verifications/{id}"): Spec(
        "bank_account_verifications", summary="Confirm a verification's micro-deposits"
    ),
    ("GET", "/debits/{id}/dispute"): Spec("disputes", summary="Fetch the dispute of a debit"),
    ("GET", "/holds/{id}"): Spec(
        "card_holds", summary="Fetch a card hold (where a debit's `card_hold` link points)"
    ),
    ("GET", "/orders/{id}/buyers"): Spec(
        "customers", listing=True, summary="List the customers who paid into an order"
    ),
    ("GET", "/marketplaces/{id}/shortfall"): Spec(
        "shortfalls", summary="Fetch what returns and disputes left the marketplace short"
    ),
    ("POST", "/_rail/notifications"): Spec(
        None, 204, public=True, summary="Receive an outcome from the ACH rail (signed by it)"
    ),
    ("GET", "/healthz"): Spec(
        None, public=True, schema={"$ref": REF.format(model="Health")}, summary="Health check"
    ),
    ("GET", "/openapi.json"): Spec(
        None, public=True, schema={"type": "object"}, summary="This OpenAPI document"
    ),
    ("GET", "/docs"): Spec(
        None,
        public=True,
        schema={"type": "string"},
        media_type="text/html",
        summary="The API reference page",
    ),
    ("GET", "/"): Spec(
        None,
        public=True,
        schema={"$ref": REF.format(model="Index")},
        summary="Where to start: the dashboard for a browser, links for the rest",
    ),
}
# Summaries where "Create a debit" would not say whose.
SUMMARIES = {
    ("POST", "/cards/{id}/debits"): "Debit a card",
    ("POST", "/bank_accounts/{id}/debits"): "Debit a verified bank account (ACH)",
    ("POST", "/customers/{id}/debits"): "Debit a customer's default source",
    ("POST", "/debits"): "Debit a card or bank account given in the body",
    ("POST", "/bank_accounts/{id}/credits"): "Pay out to a bank account (ACH credit)",
    ("POST", "/accounts/{id}/credits"): "Pay out into a payable account",
    ("POST", "/cards/{id}/credits"): "Push money to a debit card",
    ("POST", "/customers/{id}/credits"): "Pay out to a customer's default destination",
    ("POST", "/credits"): "Pay out to an instrument given in the body",
    ("POST", "/debits/{id}/refunds"): "Refund a debit",
    ("POST", "/credits/{id}/reversals"): "Reverse a credit",
    ("POST", "/accounts/{id}/settlements"): "Settle a payable account to a bank account",
    ("POST", "/cards/{id}/card_holds"): "Hold an amount on a card",
    ("POST", "/card_holds/{id}/debits"): "Capture a card hold",
    ("POST", "/customers/{id}/orders"): "Create an order (a merchant's escrow)",
    ("POST", "/customers/{id}/cards"): "Add a card to a customer",
    ("POST", "/customers/{id}/bank_accounts"): "Add a bank account to a customer",
    ("POST", "/cards"): "Tokenize a card",
    ("POST", "/bank_accounts"): "Tokenize a bank account",
    ("DELETE", "/api_keys/{id}"): "Revoke an API key",
    ("DELETE", "/cards/{id}"): "Unstore a card",
    ("DELETE", "/bank_accounts/{id}"): "Unstore a bank account",
    ("DELETE", "/callbacks/{id}"): "Unsubscribe a callback",
}

# Error statuses every authenticated operation may answer, and those only some may.
ERROR_STATUSES = (400, 401, 404, 409, 429, 500, 503)
BODY_ERROR_STATUSES = (413,)  # A request body above api.app.REQUEST_BODY_BYTES_MAX.
# An Idempotency-Key reused for a different request (422) or still in use (409).
POST_ERROR_STATUSES = (409, 422)
PUBLIC_ERROR_STATUSES = (400, 401, 429, 500, 503)
# A transfer persisted as failed answers with the transfer beside the errors: 402 for a
# card the processor declines, 409 for the rest. Holds fail the same way.
FAILED_TRANSFER_STATUSES = (402, 409)
FAILABLE_PLURALS = TRANSFER_PLURALS | {"card_holds"}
# The response of a route whose resource has no model in api.response_models.ITEMS yet: the
# document stays servable, and tests/test_openapi.py names the route to document.
UNDOCUMENTED = {
    "type": "object",
    "description": "Undocumented: add its model to api.response_models.",
}

# Built once per application (the route table is fixed once the application runs); weak,
# so that a test creating many applications does not keep them alive.
_rendered: weakref.WeakKeyDictionary[web.Application, Rendered] = weakref.WeakKeyDictionary()


def spec_of(method: str, path: str) -> Spec:
    """The explicit spec of a route, or the one its path implies: `GET /orders` lists
    orders, `GET /orders/{id}` fetches one, `POST /customers/{id}/orders` creates one."""
    if (method, path) in SPECS:
        return SPECS[(method, path)]
    segments = path.strip("/").split("/")
    if method == "DELETE":
        return Spec(None, 204)
    if segments[-1].startswith("{"):
        return Spec(segments[-2])
    if method == "GET":
        return Spec(segments[-1], listing=True)
    return Spec(segments[-1], 201 if method == "POST" else 200)


def request_body(model: type[BaseModel], plural: str, method: str = "POST") -> dict[str, Any]:
    """The model's fields flat, or Balanced's envelope around them: both are accepted; a
    PATCH also takes a JSON Patch."""
    ref = {"$ref": REF.format(model=model.__name__)}
    enveloped = {
        "type": "object",
        "properties": {plural: {"type": "array", "items": ref, "minItems": 1, "maxItems": 1}},
        "required": [plural],
    }
    forms: list[dict[str, Any]] = [ref, enveloped]
    if method == "PATCH":
        forms.append({"$ref": REF.format(model=request_models.JsonPatch.__name__)})
    schema = model.model_json_schema()
    # A body with required fields, or one of several sets of them (`anyOf`), must be sent.
    required = bool(schema.get("required") or schema.get("anyOf"))
    return {
        "required": required,
        "content": {CONTENT_TYPE: {"schema": {"anyOf": forms}}},
    }


def envelope_name(plural: str, listing: bool) -> str:
    return response_models.ITEMS[plural].__name__ + ("Page" if listing else "Envelope")


def envelope_schema(plural: str, listing: bool) -> dict[str, Any]:
    """`{"<plural>": [...], "links": {...}}`, plus `meta` on a list; `links` holds exactly
    the URI templates of `ledger.wire.LINK_TEMPLATES`."""
    templates = wire.LINK_TEMPLATES.get(plural, {})
    links = {
        "type": "object",
        "description": "URI templates of related resources: `{debits.order}` stands for the "
        "item's `links.order` (Balanced's top-level `links`).",
        "properties": {
            key: {"const": value, "description": f"Where `{key}` points: `{value}`."}
            for key, value in templates.items()
        },
        "required": sorted(templates),
        "additionalProperties": False,
    }
    name = response_models.ITEMS[plural].__name__
    item = {"$ref": REF.format(model=name)}
    items: dict[str, Any] = {"type": "array", "items": item}
    if listing:
        items["description"] = f"This page of the list ({name} items)."
    else:
        items |= {"minItems": 1, "maxItems": 1, "description": f"The {name}, alone in a list."}
    properties: dict[str, Any] = {plural: items, "links": links}
    if listing:
        properties["meta"] = {
            "$ref": REF.format(model="PageMeta"),
            "description": "Where this page is in the list.",
        }
    return {
        "type": "object",
        "properties": properties,
        "required": sorted(properties),
        "additionalProperties": False,
    }


def error_envelope() -> dict[str, Any]:
    errors = {
        "type": "array",
        "items": {"$ref": REF.format(model="Error")},
        "minItems": 1,
        "description": "What went wrong: one error (Balanced's clients read the first).",
    }
    return {
        "type": "object",
        "properties": {"errors": errors},
        "required": ["errors"],
        "additionalProperties": False,
    }


def failed_transfer_envelope(plural: str) -> dict[str, Any]:
    """A transfer persisted as `failed`: the transfer beside the errors (Balanced 1.1)."""
    schema = envelope_schema(plural, listing=False)
    schema["properties"]["errors"] = error_envelope()["properties"]["errors"]
    schema["required"] = sorted(schema["properties"])
    return schema


def error_response(schema: dict[str, Any]) -> dict[str, Any]:
    text = {"type": "string"}
    return {
        "description": "Balanced's error envelope.",
        "headers": {
            "Retry-After": {"description": "Seconds to wait before retrying.", "schema": text},
            "WWW-Authenticate": {"description": "The HTTP Basic challenge.", "schema": text},
        },
        "content": {CONTENT_TYPE: {"schema": schema}},
    }


def component_responses() -> dict[str, Any]:
    """`Error`, and per kind of transfer the error of one persisted as failed."""
    envelope = {"$ref": REF.format(model="ErrorEnvelope")}
    responses = {"Error": error_response(envelope)}
    for plural in sorted(FAILABLE_PLURALS):
        failed = {"$ref": REF.format(model=failed_name(plural))}
        responses[failed_name(plural)] = error_response({"anyOf": [envelope, failed]})
    return responses


def failed_name(plural: str) -> str:
    return f"Failed{response_models.ITEMS[plural].__name__}"


def error_statuses(method: str, spec: Spec, creates_transfer: bool) -> tuple[int, ...]:
    statuses: tuple[int, ...] = PUBLIC_ERROR_STATUSES if spec.public else ERROR_STATUSES
    if method in ("POST", "PUT", "PATCH"):
        statuses += BODY_ERROR_STATUSES
    if method == "POST":
        statuses += POST_ERROR_STATUSES
    if creates_transfer:
        statuses += FAILED_TRANSFER_STATUSES
    return tuple(sorted(set(statuses)))


def success_response(method: str, spec: Spec) -> dict[str, Any]:
    response: dict[str, Any] = {"description": "Success."}
    if method == "POST":
        replayed = {"type": "string", "enum": ["true"]}
        response["headers"] = {
            "Idempotent-Replayed": {
                "description": "This is the stored response of an earlier request.",
                "schema": replayed,
            }
        }
    if spec.status == 204:
        return response
    schema = spec.schema
    if spec.plural is not None:
        schema = UNDOCUMENTED
        if spec.plural in response_models.ITEMS:
            schema = {"$ref": REF.format(model=envelope_name(spec.plural, spec.listing))}
    assert schema is not None, spec
    response["content"] = {spec.media_type: {"schema": schema}}
    return response


def summary(method: str, path: str, spec: Spec) -> str:
    """`List the credits of a bank account`, `Fetch a credit`…, from the route's shape."""
    if spec.summary is not None:
        return spec.summary
    if (method, path) in SUMMARIES:
        return SUMMARIES[(method, path)]
    segments = path.strip("/").split("/")
    thing = str(spec.plural).replace("_", " ")
    if spec.listing:
        parent = segments[0].removesuffix("s").replace("_", " ")
        return f"List the {thing} of {_a(parent)}" if len(segments) > 1 else f"List {thing}"
    verbs = {
        "GET": "Fetch",
        "PUT": "Update",
        "PATCH": "Patch",
        "POST": "Create",
        "DELETE": "Delete",
    }
    verb = verbs[method]
    noun = (spec.plural or segments[0]).removesuffix("s").replace("_", " ")
    return f"{verb} {_a(noun)}"


def _a(noun: str) -> str:
    return ("an " if noun[0] in "aeiou" else "a ") + noun


def operation(method: str, path: str, handler: Any) -> dict[str, Any]:
    spec = spec_of(method, path)
    creates_transfer = method == "POST" and spec.plural in FAILABLE_PLURALS
    parameters = path_parameters(path)
    if spec.listing and spec.plural is not None:
        parameters += query_parameters(spec.plural)
    if method == "POST":
        parameters.append(idempotency_header())
    responses = {str(spec.status): success_response(method, spec)}
    for status in error_statuses(method, spec, creates_transfer):
        name = "Error"
        if creates_transfer and status in FAILED_TRANSFER_STATUSES:
            name = failed_name(str(spec.plural))
        responses[str(status)] = {"$ref": f"#/components/responses/{name}"}
    result: dict[str, Any] = {
        "operationId": method.lower() + ("".join(c if c.isalnum() else "_" for c in path)),
        "summary": summary(method, path, spec),
        "description": openapi_text.description(
            method, path, spec.plural, spec.listing, handler.__doc__
        ),
        "tags": [openapi_text.tag_of(method, path, spec.plural)],
        "parameters": parameters,
        "responses": responses,
    }
    if spec.public:
        result["security"] = [{}, {"basic": []}]
    if (method, path) in BODIES:
        result["requestBody"] = request_body(*BODIES[(method, path)], method)
    elif method in ("POST", "PUT", "PATCH"):
        anything = {"type": "object"}
        result["requestBody"] = {"required": False, "content": {CONTENT_TYPE: {"schema": anything}}}
    return result


def component_schemas() -> dict[str, Any]:
    """The request models, the response models and the envelopes around them."""
    models = {model for model, _ in BODIES.values()} | {request_models.JsonPatch}
    requests = sorted(models, key=lambda m: m.__name__)
    responses: list[type[BaseModel]] = [
        *response_models.ITEMS.values(),
        response_models.PageMeta,
        response_models.Error,
        response_models.Health,
        response_models.Index,
    ]
    _, top = models_json_schema(
        [(model, "validation") for model in [*requests, *responses]],
        ref_template=REF,
    )
    components: dict[str, Any] = dict(top["$defs"])
    for plural in response_models.ITEMS:
        components[envelope_name(plural, False)] = envelope_schema(plural, listing=False)
        components[envelope_name(plural, True)] = envelope_schema(plural, listing=True)
    for plural in sorted(FAILABLE_PLURALS):
        components[failed_name(plural)] = failed_transfer_envelope(plural)
    components["ErrorEnvelope"] = error_envelope()
    openapi_text.describe_fields(components)
    return components


def document(app: web.Application) -> dict[str, Any]:
    """The OpenAPI document of every route `app` serves (HEAD routes aside: aiohttp adds
    one beside every GET)."""
    paths: dict[str, dict[str, Any]] = {}
    for route in app.router.routes():
        if route.method == "HEAD" or route.resource is None:
            continue
        path = route.resource.canonical
        if path.startswith(HIDDEN_PREFIXES):
            continue
        built = operation(route.method, path, route.handler)
        example = examples().get(f"{route.method} {path}")
        if example is not None:
            with_example(built, path, example)
        paths.setdefault(path, {})[route.method.lower()] = built
    used = {operation["tags"][0] for item in paths.values() for operation in item.values()}
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "ballast",
            "version": API_VERSION,
            "description": openapi_text.INTRODUCTION,
        },
        "tags": [
            {"name": name, "description": words}
            for name, words in openapi_text.TAGS.items()
            if name in used
        ],
        "paths": paths,
        "components": {
            "schemas": component_schemas(),
            "responses": component_responses(),
            "securitySchemes": {
                "basic": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "The API key secret as the username, no password.",
                }
            },
        },
        "security": [{"basic": []}],
    }


@cache
def examples() -> dict[str, dict[str, Any]]:
    """The recorded examples (api/examples.json), by "METHOD /path/{template}"."""
    recorded: dict[str, dict[str, Any]] = json.loads(EXAMPLES_PATH.read_text())
    return recorded


def with_example(built: dict[str, Any], path: str, example: dict[str, Any]) -> None:
    """Put a recorded exchange into an operation: its parameters' values, its request body
    and its response body, each where Swagger UI shows it."""
    concrete, _, query = str(example["path"]).partition("?")
    values = dict(zip(path.split("/"), concrete.split("/"), strict=False))
    queried = dict(part.partition("=")[::2] for part in query.split("&") if part)
    for parameter in built["parameters"]:
        if parameter["in"] == "path":
            parameter["example"] = values["{" + parameter["name"] + "}"]
        elif parameter["in"] == "query" and parameter["name"] in queried:
            value: Any = queried[parameter["name"]]
            parameter["example"] = int(value) if value.isdigit() else value
    body = built.get("requestBody")
    if body is not None and example.get("request") is not None:
        for media in body["content"].values():
            media["example"] = example["request"]
    response = built["responses"].get(str(example["status"]), {})
    for media in response.get("content", {}).values():
        if example.get("response") is not None:
            media["example"] = example["response"]


@dataclass(frozen=True)
class Rendered:
    json_body: bytes
    html: str


def rendered(app: web.Application) -> Rendered:
    """The document of `app`, built on first use and kept for the application's life."""
    if app not in _rendered:
        built = document(app)
        title = f"{built['info']['title']} API {built['info']['version']} reference"
        _rendered[app] = Rendered(
            json.dumps(built, separators=(",", ":")).encode(), docs.page(title)
        )
    return _rendered[app]


# The query parameters each operation documents, by (method, path template).
_query_names: dict[tuple[str, str], frozenset[str]] = {}


def query_names(method: str, path: str) -> frozenset[str]:
    if (method, path) not in _query_names:
        parameters = path_parameters(path)
        spec = spec_of(method, path)
        if spec.listing and spec.plural is not None:
            parameters += query_parameters(spec.plural)
        names = frozenset(p["name"] for p in parameters if p["in"] == "query")
        _query_names[(method, path)] = names
    return _query_names[(method, path)]


@web.middleware
async def documented_query_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """On a list, a query parameter the document does not name is refused (400), as the
    document says (and as Stripe does): a misspelt filter that was silently ignored would
    list the wrong things without a word."""
    resource = request.match_info.route.resource
    if resource is not None and request.query and request.method in ("GET", "HEAD"):
        method = "GET" if request.method == "HEAD" else request.method
        known = query_names(method, resource.canonical)
        unknown = sorted(set(request.query) - known)
        if known and unknown:  # Reads of one resource take none, and ignore any.
            shown = unknown[0][:64]
            raise RequestInvalid(
                f"Unknown query parameter [{shown}].", extras={shown: "not a parameter here"}
            )
    return await handler(request)


async def openapi_json(request: web.Request) -> web.Response:
    """The OpenAPI 3.1 document of this API."""
    return web.Response(
        body=rendered(request.app).json_body, headers={"Content-Type": CONTENT_TYPE}
    )


async def docs_page(request: web.Request) -> web.Response:
    """The API reference, as a page for people."""
    return web.Response(
        text=rendered(request.app).html, content_type="text/html", headers=docs.security_headers()
    )
