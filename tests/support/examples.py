"""The API reference's examples (api/examples.json), recorded from a live pipeline.

`record(pipeline)` walks the crowdfunding flow and then every other operation through a
`Recorder`, an API client that keeps, per operation, the first exchange that succeeded:
the path it was sent to, the body sent and the body received. tests/test_api_reference.py
runs it on every test run and fails when the committed examples no longer have the shape
of what the API answers (so they cannot drift); `BALLAST_WRITE_EXAMPLES=1` makes that test
write them anew instead.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from api import openapi
from api.routes import routes
from tests.support import ach, flows
from tests.support.pipeline import Api, Pipeline, Response, eventually
from tests.support.receiver import Receiver

# Secrets are not examples: recorded ones keep their prefix (`ak-`, `whsec_`, `v1,`) and
# lose the rest.
REDACTED = {"secret", "webhook-signature"}
SECRET_PREFIX = re.compile(r"^(ak-|whsec_|v1,)?")
# A creditable debit card (push to card) and Balanced's test numbers.
CREDITABLE_CARD = "4342561111111118"
# Operations whose response is no JSON example: the page itself and this very document.
NO_RESPONSE_EXAMPLE = {"GET /docs", "GET /openapi.json"}


def _templates() -> list[tuple[str, str, re.Pattern[str], int]]:
    table = []
    for route in routes():
        pattern = "/".join(
            "[^/]+" if part.startswith("{") else re.escape(part) for part in route.path.split("/")
        )
        literal = sum(not part.startswith("{") for part in route.path.split("/"))
        table.append((route.method, route.path, re.compile(f"^{pattern}$"), literal))
    return table


TEMPLATES = _templates()


def operation_of(method: str, path: str) -> str | None:
    """`GET /orders/{id}` for `GET /orders/OR123…?limit=2`: the route with the most literal
    segments among those that match (`/debits/{id}/dispute` before `/debits/{id}/{…}`)."""
    bare = path.partition("?")[0]
    found = [
        (literal, template)
        for route_method, template, pattern, literal in TEMPLATES
        if route_method == method and pattern.match(bare)
    ]
    return f"{method} {max(found)[1]}" if found else None


class Recorder(Api):
    """An Api that keeps the first successful exchange of every operation."""

    def __init__(self, api: Api, examples: dict[str, dict[str, Any]] | None = None) -> None:
        super().__init__(api.session, api.base_url, api.secret)
        self.examples: dict[str, dict[str, Any]] = {} if examples is None else examples

    def as_key(self, secret: str | None) -> Recorder:
        return Recorder(Api(self.session, self.base_url, secret), self.examples)

    async def request(
        self,
        method: str,
        path: str,
        json: Any = None,
        *,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        response = await super().request(method, path, json, data=data, headers=headers)
        path = path.removeprefix(self.base_url)
        operation = operation_of(method, path)
        if operation is not None and 200 <= response.status < 300:
            sent = json if data is None else _json_or_none(data)
            self.examples.setdefault(
                operation,
                {
                    "path": path,
                    "request": _redacted(sent) if method in ("POST", "PUT", "PATCH") else None,
                    "status": response.status,
                    "response": _redacted(response.body) if response.body != {} else None,
                },
            )
        return response


def _json_or_none(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return None


def _redacted(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: _placeholder(item)
            if key in REDACTED and isinstance(item, str)
            else _redacted(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_redacted(item) for item in value]
    return value


def _placeholder(secret: str) -> str:
    prefix = SECRET_PREFIX.match(secret)
    return (prefix[0] if prefix else "") + "EXAMPLE-shown-once"


def _ok(response: Response, status: int = 200) -> dict[str, Any]:
    assert response.status == status, (response.status, response.body)
    return response.body


def _item(response: Response, status: int = 200) -> dict[str, Any]:
    body = _ok(response, status)
    item: dict[str, Any] = next(v for k, v in body.items() if k not in ("links", "meta"))[0]
    return item


async def record(pipeline: Pipeline) -> dict[str, dict[str, Any]]:
    """Every operation of the API, once, against `pipeline`; the examples by operation."""
    anonymous = Recorder(pipeline.api)
    secret = _item(await anonymous.post("/api_keys", {}), 201)["secret"]
    api = anonymous.as_key(secret)
    await _marketplace_and_keys(api)
    ids = await _crowdfunding(pipeline, api)
    await _customers_and_instruments(api, ids)
    await _holds(api, ids)
    await _accounts_and_settlements(api, ids)
    await _verifications_and_disputes(api, ids)
    await _details(api, ids)
    await _reads(api, ids)
    await _callbacks_and_events(pipeline, api, ids)
    await _rail_notification(pipeline, api, ids)
    await _service(api)
    return dict(sorted(api.examples.items()))


async def _marketplace_and_keys(api: Recorder) -> None:
    body = {"name": "Crowdfund Inc", "support_email_address": "support@crowdfund.example"}
    marketplace = _item(await api.post("/marketplaces", body), 201)
    _ok(await api.get("/marketplaces"))
    _ok(await api.get(f"/marketplaces/{marketplace['id']}"))
    _ok(await api.get(f"/marketplaces/{marketplace['id']}/shortfall"))
    other = _item(await api.post("/api_keys", {"meta": {"purpose": "reporting"}}), 201)
    _ok(await api.get("/api_keys"))
    _ok(await api.get(f"/api_keys/{other['id']}"))
    _ok(await api.delete(f"/api_keys/{other['id']}"), 204)


async def _crowdfunding(pipeline: Pipeline, api: Recorder) -> dict[str, str]:
    """The README's walkthrough: a merchant, its order, a backer's debit, a payout that
    settles, a refund and a reversal."""
    funded = await flows.funded_order(api, 10_000)
    credit = await flows.credit_order(api, funded, 6_000)
    await flows.credit_status(api, credit["id"], "succeeded")
    refund = _item(await api.post(f"/debits/{funded.debit_id}/refunds", {"amount": 1_000}), 201)
    reversal = _item(await api.post(f"/credits/{credit['id']}/reversals", {"amount": 500}), 201)
    await flows.status(api, f"/reversals/{reversal['id']}", "succeeded")
    debit = _item(await api.get(f"/debits/{funded.debit_id}"))
    return {
        "order": funded.order_id,
        "merchant": funded.merchant_id,
        "bank_account": funded.bank_account_id,
        "debit": funded.debit_id,
        "card": debit["links"]["source"],
        "credit": credit["id"],
        "refund": refund["id"],
        "reversal": reversal["id"],
    }


async def _customers_and_instruments(api: Recorder, ids: dict[str, str]) -> None:
    merchant, order = ids["merchant"], ids["order"]
    buyer = _item(
        await api.post(
            "/customers",
            {"name": "Grace Hopper", "email": "grace@example.com", "meta": {"backer": "42"}},
        ),
        201,
    )
    ids["buyer"] = buyer["id"]
    body = {"number": flows.VISA, "expiration_month": 12, "expiration_year": 2030}
    card = _item(await api.post(f"/customers/{buyer['id']}/cards", body), 201)
    ids["buyer_card"] = card["id"]
    _ok(await api.put(f"/customers/{buyer['id']}", {"phone": "+1 555 0100"}))
    patch = [{"op": "replace", "path": "/customers/0/meta/backer", "value": "43"}]
    _ok(await api.request("PATCH", f"/customers/{buyer['id']}", patch))
    _ok(await api.put(f"/cards/{card['id']}", {"meta": {"nickname": "work card"}}))
    patch = [{"op": "add", "path": "/cards/0/meta/color", "value": "blue"}]
    _ok(await api.request("PATCH", f"/cards/{card['id']}", patch))
    debit = {"amount": 2_500, "order": order, "description": "Backer reward tier 2"}
    _item(await api.post(f"/customers/{buyer['id']}/debits", debit), 201)
    root = {"source": card["id"], "amount": 1_500, "order": order}
    _item(await api.post("/debits", root), 201)
    bank = {"routing_number": flows.ROUTING, "account_number": flows.ACCOUNT_SUCCEEDS}
    added = _item(
        await api.post(f"/customers/{merchant}/bank_accounts", bank | {"name": "Ada"}), 201
    )
    _ok(await api.put(f"/bank_accounts/{added['id']}", {"meta": {"use": "payouts"}}))
    patch = [{"op": "add", "path": "/bank_accounts/0/meta/branch", "value": "SF"}]
    _ok(await api.request("PATCH", f"/bank_accounts/{added['id']}", patch))
    payout = {"amount": 1_000, "order": order}
    _item(await api.post(f"/customers/{merchant}/credits", payout), 201)
    _item(await api.post("/credits", payout | {"destination": ids["bank_account"]}), 201)
    pushed = {"number": CREDITABLE_CARD, "expiration_month": 1, "expiration_year": 2031}
    # Push to card: a creditable debit card of the order's merchant.
    pushed |= {"name": "Ada Lovelace"}
    creditable = _item(await api.post(f"/customers/{merchant}/cards", pushed), 201)
    _item(
        await api.post(f"/cards/{creditable['id']}/credits", {"amount": 500, "order": order}), 201
    )
    # What deletion looks like, on instruments and a customer made for it.
    spare = _item(await api.post("/customers", {"name": "Spare"}), 201)
    spare_card = _item(await api.post("/cards", body), 201)
    spare_bank = _item(await api.post("/bank_accounts", bank), 201)
    _ok(await api.delete(f"/cards/{spare_card['id']}"), 204)
    _ok(await api.delete(f"/bank_accounts/{spare_bank['id']}"), 204)
    _ok(await api.delete(f"/customers/{spare['id']}"), 204)


async def _holds(api: Recorder, ids: dict[str, str]) -> None:
    card = ids["buyer_card"]
    hold = _item(await api.post(f"/cards/{card}/card_holds", {"amount": 3_000}), 201)
    _ok(await api.put(f"/card_holds/{hold['id']}", {"description": "Pledge, to capture"}))
    capture = {"amount": 3_000, "order": ids["order"]}
    _item(await api.post(f"/card_holds/{hold['id']}/debits", capture), 201)
    voided = _item(await api.post(f"/cards/{card}/card_holds", {"amount": 700}), 201)
    _ok(await api.delete(f"/card_holds/{voided['id']}"))
    ids["hold"] = hold["id"]


async def _accounts_and_settlements(api: Recorder, ids: dict[str, str]) -> None:
    account = _item(await api.get(f"/customers/{ids['merchant']}/accounts"))
    ids["account"] = account["id"]
    payout = {"amount": 2_000, "order": ids["order"]}
    credit = _item(await api.post(f"/accounts/{account['id']}/credits", payout), 201)
    ids["account_credit"] = credit["id"]
    reversal = _item(await api.post(f"/credits/{credit['id']}/reversals", {"amount": 200}), 201)
    ids["account_reversal"] = reversal["id"]
    body = {"funding_instrument": ids["bank_account"], "description": "Weekly settlement"}
    settlement = _item(await api.post(f"/accounts/{account['id']}/settlements", body), 201)
    ids["settlement"] = settlement["id"]


async def _verifications_and_disputes(api: Recorder, ids: dict[str, str]) -> None:
    verified = await ach.verified_bank_account(api)
    ids["verified_bank_account"] = verified["id"]
    ids["verification"] = verified["links"]["bank_account_verification"]
    body = {"amount": 1_200, "order": ids["order"]}
    debit = _item(await api.post(f"/bank_accounts/{verified['id']}/debits", body), 201)
    ids["ach_debit"] = debit["id"]
    card = {"number": ach.DISPUTE_CARD, "expiration_month": 12, "expiration_year": 2030}
    disputed_card = _item(await api.post(f"/customers/{ids['buyer']}/cards", card), 201)
    body = {"amount": 800, "order": ids["order"]}
    disputed = _item(await api.post(f"/cards/{disputed_card['id']}/debits", body), 201)
    ids["disputed_card"], ids["disputed_debit"] = disputed_card["id"], disputed["id"]
    ids["dispute"] = disputed["links"]["dispute"]


async def _details(api: Recorder, ids: dict[str, str]) -> None:
    """Transfers' writable details: description and meta."""
    for plural, key in [("debits", "debit"), ("credits", "credit"), ("refunds", "refund")]:
        body = {"description": f"Updated {key}", "meta": {"campaign": "telescope"}}
        _ok(await api.put(f"/{plural}/{ids[key]}", body))
    for plural, key in [("reversals", "reversal"), ("settlements", "settlement")]:
        body = {"description": f"Updated {key}", "meta": {"campaign": "telescope"}}
        _ok(await api.put(f"/{plural}/{ids[key]}", body))


async def _reads(api: Recorder, ids: dict[str, str]) -> None:
    """Every read, on what the flow made (lists two at a time: examples stay short)."""
    for operation in sorted({f"{r.method} {r.path}" for r in routes() if r.method == "GET"}):
        path = operation.split(" ", 1)[1]
        skipped = path in ("/docs", "/openapi.json", "/", "/healthz") or "/events" in path
        if operation in api.examples or skipped or path.startswith(openapi.HIDDEN_PREFIXES):
            continue
        if "callbacks" in path:
            continue
        concrete = _concrete(path, ids)
        answered = await api.get(concrete + ("?limit=2" if _is_list(path) else ""))
        assert answered.status == 200, (concrete, answered.body)


# Which recorded resource a path's `{id}` means, by the collection before it.
_ID_OF = {
    "orders": "order",
    "customers": "merchant",
    "bank_accounts": "bank_account",
    "cards": "card",
    "debits": "debit",
    "credits": "credit",
    "refunds": "refund",
    "reversals": "reversal",
    "settlements": "settlement",
    "accounts": "account",
    "card_holds": "hold",
    "holds": "hold",
    "verifications": "verification",
    "disputes": "dispute",
    "resources": "order",
}
# Sub-lists that are empty on the defaults above: another resource has items.
_ID_OF_PATH = {
    "/customers/{id}/disputes": "buyer",
    "/customers/{id}/card_holds": "buyer",
    "/cards/{id}/disputes": "disputed_card",
    "/cards/{id}/card_holds": "buyer_card",
    "/cards/{id}/credits": "card",
    "/debits/{id}/dispute": "disputed_debit",
    "/bank_accounts/{id}/verifications": "verified_bank_account",
    "/bank_accounts/{id}/debits": "verified_bank_account",
    "/accounts/{id}/reversals": "account",
    "/credits/{id}/settlements": "account_credit",
    "/reversals/{id}/settlements": "account_reversal",
}


def _concrete(path: str, ids: dict[str, str]) -> str:
    collection = path.strip("/").split("/")[0]
    return path.replace("{id}", ids[_ID_OF_PATH.get(path, _ID_OF.get(collection, ""))])


def _is_list(path: str) -> bool:
    last = path.rstrip("/").split("/")[-1]
    return not last.startswith("{") and last not in ("dispute", "shortfall", "health")


async def _callbacks_and_events(pipeline: Pipeline, api: Recorder, ids: dict[str, str]) -> None:
    receiver = await pipeline.serve(Receiver().app())
    callback = _item(await api.post("/callbacks", {"url": str(receiver.make_url("/hooks"))}), 201)
    path = f"/callbacks/{callback['id']}"
    # An event after the subscription, so that it has a delivery with an attempt.
    update = {"description": "Campaign: a telescope for the school"}
    _ok(await api.put(f"/orders/{ids['order']}", update))
    body = {"amount": 300, "order": ids["order"]}
    debit = _item(await api.post(f"/cards/{ids['buyer_card']}/debits", body), 201)
    event = _ok(await api.get(f"/debits/{debit['id']}/events?limit=1"))["events"][0]

    async def delivered() -> bool:
        logs = await api.as_key(api.secret).get(
            f"/events/{event['id']}/callbacks/{callback['id']}/logs"
        )
        return logs.status == 200 and bool(logs.body["event_callback_logs"])

    await eventually(delivered)
    _ok(await api.get("/events?limit=2"))
    _ok(await api.get(f"/events/{event['id']}"))
    _ok(await api.get(f"/events/{event['id']}/callbacks"))
    _ok(await api.get(f"/orders/{ids['order']}/events?limit=2"))
    for parent, key in [("credits", "credit"), ("refunds", "refund")]:
        _ok(await api.get(f"/{parent}/{ids[key]}/events?limit=2"))
    for parent, key in [("reversals", "reversal"), ("settlements", "settlement")]:
        _ok(await api.get(f"/{parent}/{ids[key]}/events?limit=2"))
    for parent, key in [("customers", "merchant"), ("bank_accounts", "bank_account")]:
        _ok(await api.get(f"/{parent}/{ids[key]}/events?limit=2"))
    for parent, key in [("cards", "card"), ("accounts", "account"), ("disputes", "dispute")]:
        _ok(await api.get(f"/{parent}/{ids[key]}/events?limit=2"))
    _ok(await api.get("/callbacks"))
    _ok(await api.get(path))
    _ok(await api.get(f"{path}/health"))
    _ok(await api.post(f"{path}/secret_rotations", {"overlap_ms": 60_000}), 200)
    _ok(await api.post(f"{path}/enable", {}))
    _ok(await api.post(f"{path}/redeliveries", {"event": event["id"]}), 202)
    now = datetime.now(UTC)
    window = {"since": (now - timedelta(minutes=5)).isoformat(), "until": now.isoformat()}
    await api.as_key(api.secret).post(f"{path}/redeliveries", window)
    _ok(await api.delete(path), 204)


async def _rail_notification(pipeline: Pipeline, api: Recorder, ids: dict[str, str]) -> None:
    """What the rail posts when an entry settles: here, again for the settled payout (a
    notification about a transfer that already succeeded changes nothing)."""
    async with pipeline.http.get(f"{pipeline.rail_url}/entries/{ids['credit']}") as answer:
        entry = await answer.json()
    body = {
        "id": "NTF-example-settled",
        "type": "entry.settled",
        "entry": entry,
        "occurred_at": datetime.now(UTC).isoformat(),
    }
    sender = _WithApi(pipeline.rail_secret, Recorder(pipeline.api, api.examples))
    signed = await flows.post_signed_notification(sender, body["id"], json.dumps(body))  # type: ignore[arg-type]
    assert signed.status == 204, signed.body


class _WithApi:
    """`pipeline` as flows.post_signed_notification sees it, its `api` a Recorder."""

    def __init__(self, rail_secret: str, api: Recorder) -> None:
        self.rail_secret = rail_secret
        self.api = api


async def _service(api: Recorder) -> None:
    _ok(await api.get("/healthz"))
    _ok(await api.get("/"))
    # Neither has a JSON example (NO_RESPONSE_EXAMPLE); their parameters have none either.
    api.examples.setdefault("GET /docs", {"path": "/docs", "request": None, "status": 200})
    api.examples.setdefault(
        "GET /openapi.json", {"path": "/openapi.json", "request": None, "status": 200}
    )
    for key in NO_RESPONSE_EXAMPLE:
        api.examples[key]["response"] = None


def shape(value: Any) -> Any:
    """What must not drift: keys and value types, not ids, times or amounts. A list is the
    shape of its first item (lists are pages of like items)."""
    if isinstance(value, dict):
        # An event's entity is whichever resource changed: an object, whatever its keys.
        return {
            key: "object" if key == "entity" else shape(item) for key, item in sorted(value.items())
        }
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if isinstance(value, bool) or value is None:
        return repr(value) if value is None else "bool"
    return type(value).__name__
