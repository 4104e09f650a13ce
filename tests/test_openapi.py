"""The OpenAPI document (`/openapi.json`) is valid OpenAPI 3.1 and describes every route;
schemathesis, driven by it against the running API, finds no server error, no error outside
Balanced's envelope, no response that differs from the document and no other content type
than `application/json`."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import strategies as st
from openapi_spec_validator import validate as validate_openapi
from schemathesis import GenerationMode

from api import idempotency, openapi, parsing
from api.routes import routes
from tests.conftest import Marketplace
from tests.support import ach, flows
from tests.support.pipeline import Api, Pipeline, eventually
from tests.support.receiver import Receiver

# Examples per operation and generation mode: with ~90 operations in both modes, enough to
# reach every documented status on a 2-core CI machine in well under a minute. Set
# BALLAST_FUZZ_EXAMPLES to search longer locally.
EXAMPLES_PER_OPERATION = int(os.environ.get("BALLAST_FUZZ_EXAMPLES", "12"))
# CI draws the same examples on every run (a failure is a regression, never luck);
# BALLAST_FUZZ_RANDOM=1 draws new ones each time, to search for new bugs.
DERANDOMIZE = not os.environ.get("BALLAST_FUZZ_RANDOM")
# Coverage-phase cases per operation: about 120 on average, a few operations have more.
COVERAGE_CASES_MAX = 200
# Seconds one request may take before the run counts it as hung.
REQUEST_TIMEOUT_S = 10.0
ERROR_FIELDS = {
    "status",
    "status_code",
    "category_code",
    "category_type",
    "description",
    "extras",
    "additional",
    "request_id",
}
# Body fields that name another resource, and the collection whose ids fit them.
REFERENCE_FIELDS = {
    "order": "orders",
    "funding_instrument": "bank_accounts",
    "customer": "customers",
    "event": "events",
    "source": "cards",
    "destination": "bank_accounts",
}
# Body fields whose valid values a schema cannot describe (a Luhn check digit, an ABA
# routing number): values that pass, so that creations can succeed too.
VALID_FIELDS = {"number": flows.VISA, "routing_number": flows.ROUTING}
# Returns of a transfer, whose amount is bounded by what remains of it.
RETURN_PATHS = ("/refunds", "/reversals")
# What `GET /resources/{id}` finds.
RESOURCES = {"customers", "bank_accounts", "cards", "orders", "accounts", "debits", "credits"}
RESOURCES |= {"refunds", "reversals", "settlements", "card_holds"}
RESOURCES |= {"marketplaces", "events", "callbacks", "api_keys"}
# Every check schemathesis has (its CLI's `--checks all`), and the response-time bound.
schemathesis.checks.load_all_checks()
CHECKS = [*schemathesis.checks.CHECKS.get_all(), schemathesis.checks.max_response_time]


async def test_document_is_valid_openapi_31_and_lists_every_route(pipeline: Pipeline) -> None:
    response = await pipeline.api.get("/openapi.json")
    assert response.status == 200, response.body
    assert response.headers["Content-Type"] == "application/json"
    document = response.body
    assert document["openapi"].startswith("3.1")
    validate_openapi(document)
    documented = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
    }
    served = {(route.method, route.path) for route in routes()}
    # The reference page's own files are not API operations.
    hidden = {(m, p) for m, p in served if p.startswith(openapi.HIDDEN_PREFIXES)}
    assert hidden and documented == served - hidden
    for name in document["components"]["schemas"]:
        assert "__" not in name, f"two models share the name of {name}: rename one"
    undocumented = [
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if openapi.UNDOCUMENTED["description"] in json.dumps(operation)
    ]
    assert not undocumented, "give these a response model in api/response_models.py"


# Requests schemathesis once answered with a 500 (or a wrong content type), and the status
# each gets now: (method, path and query, raw body, status).
FOUND = [
    ("GET", "/orders/OR%00abc", None, 404),
    ("GET", "/events/EV%00/callbacks", None, 404),
    ("GET", "/events?type=a%00b", None, 400),
    ("GET", "/debits?amount%5B%3C%5D=4310795928191584442460158296064", None, 400),
    ("GET", "/debits?limit=%C2%B2", None, 400),
    ("GET", "/events?occurred_at%5B%3E%3D%5D=9999-12-31T23:59:59-23:59", None, 400),
    ("GET", "/debits?created_at%5B%3E%5D=0001-01-01T00:00:00%2B23:59", None, 400),
    ("POST", "/customers", b'{"meta": {"k": "a\\u0000"}}', 400),
    ("POST", "/customers", b'{"name": "\\ud800"}', 400),
    ("POST", "/customers", b'{"meta": ' + b"[" * 20_000 + b"]" * 20_000 + b"}", 400),
    ("POST", "/cards", b'{"number": "4111111111111111", "expiration_month": 1, '
     b'"expiration_year": 1950}', 400),
    ("POST", "/callbacks", b'{"url": "http://[::1"}', 400),
    ("POST", "/callbacks", b'{"url": "http://example.com:99999/"}', 400),
    ("POST", "/_rail/notifications", b"\xff\xfe", 400),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "body", "status"), FOUND)
async def test_inputs_schemathesis_found_are_refused_in_the_envelope(
    marketplace: Marketplace, method: str, path: str, body: bytes | None, status: int
) -> None:
    response = await marketplace.api.request(method, path, data=body)
    assert response.status == status, response.body
    assert response.headers["Content-Type"] == "application/json"
    (error,) = response.body["errors"]
    assert set(error) == ERROR_FIELDS and error["status_code"] == status


async def test_health_check_is_plain_application_json(pipeline: Pipeline) -> None:
    response = await pipeline.api.get("/healthz")
    assert (response.status, response.body) == (200, {"status": "ok"})
    assert response.headers["Content-Type"] == "application/json"


async def _seed(pipeline: Pipeline, marketplace: Marketplace) -> dict[str, list[str]]:
    """One resource of every kind, so that fuzzed requests also reach existing ones. Nothing
    here waits for the rail: the reversed credit is one to a payable account (immediate)."""
    api = marketplace.api
    receiver = await pipeline.serve(Receiver().app())
    hooks_url = str(receiver.make_url("/hooks"))
    callback = await _created(api, "/callbacks", {"url": hooks_url})
    funded = await flows.funded_order(api, 50_000)
    debit = (await api.get(f"/debits/{funded.debit_id}")).body["debits"][0]
    path = f"/bank_accounts/{funded.bank_account_id}/credits"
    await _created(api, path, {"amount": 1000, "order": funded.order_id})
    refund = await _created(api, f"/debits/{funded.debit_id}/refunds", {"amount": 100})
    account = (await api.get(f"/customers/{funded.merchant_id}/accounts")).body["accounts"][0]
    path = f"/accounts/{account['id']}/credits"
    credit = await _created(api, path, {"amount": 1000, "order": funded.order_id})
    reversal = await _created(api, f"/credits/{credit['id']}/reversals", {"amount": 100})
    path = f"/accounts/{account['id']}/settlements"
    settlement = await _created(api, path, {"funding_instrument": funded.bank_account_id})
    event = (await api.get("/events?limit=1")).body["events"][0]
    # Another key of the marketplace: the fuzzing may revoke it, never its own.
    other_key = await _created(api, "/api_keys", {})
    hold = await _created(api, f"/cards/{debit['links']['source']}/card_holds", {"amount": 100})
    verified = await ach.verified_bank_account(api)
    disputed = await ach.disputed_debit(api, 100)
    return {
        "marketplaces": [marketplace.id],
        "customers": [funded.merchant_id],
        "bank_accounts": [funded.bank_account_id, verified["id"]],
        "verifications": [verified["links"]["bank_account_verification"]],
        "disputes": [disputed["links"]["dispute"]],
        "cards": [debit["links"]["source"]],
        "orders": [funded.order_id],
        "accounts": [account["id"]],
        "debits": [funded.debit_id, disputed["id"]],
        "credits": [credit["id"]],
        "refunds": [refund["id"]],
        "reversals": [reversal["id"]],
        "settlements": [settlement["id"]],
        "events": [event["id"]],
        "callbacks": [callback["id"]],
        "api_keys": [other_key["id"]],
        "card_holds": [hold["id"]],
        "hooks": [hooks_url],
    }


async def _created(api: Api, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await api.post(path, body)
    assert response.status == 201, response.body
    item: dict[str, Any] = next(v for k, v in response.body.items() if k != "links")[0]
    return item


@dataclass
class Fuzzer:
    """Runs schemathesis over every operation (blocking: call it in a thread)."""

    base_url: str
    secret: str
    existing: dict[str, list[str]]
    failures: list[str] = field(default_factory=list)
    requests_sent: int = 0
    # Per operation, the statuses it answered: to tell which ones ever succeeded.
    statuses: dict[str, set[int]] = field(default_factory=dict)

    def run(self, document: dict[str, Any]) -> None:
        schema = schemathesis.openapi.from_dict(document)
        # Request bodies are UTF-8 JSON and PostgreSQL text holds no NUL: strings with a
        # lone surrogate or a NUL are refused (400, tests above), which no schema states.
        schema.config.generation.update(allow_x00=False, codec="utf-8")
        session = requests.Session()
        operations = [result.ok() for result in schema.get_all_operations()]
        # Deletions last: a deleted callback would turn every later request about it into
        # a 404, and leave its other operations untried.
        operations.sort(key=lambda operation: operation.method.upper() == "DELETE")
        for operation in operations:
            self._cover(schema, operation, session)
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                self._fuzz(operation, mode, session)

    def _cover(self, schema: Any, operation: Any, session: requests.Session) -> None:
        """Schemathesis' coverage phase: deterministic boundary values and one violation of
        each constraint at a time (missing fields, wrong types, lengths just past a bound,
        unexpected methods)."""
        cases = schema.iter_coverage_cases(
            operation,
            generation_modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
            generation_config=schema.config.generation_for(operation=operation),
        )
        for case in itertools.islice(cases, COVERAGE_CASES_MAX):
            try:
                self._send(case, session)
            except (Exception, BaseExceptionGroup) as error:  # Collected: report all at once.
                self.failures.append(f"{operation.label} [coverage]: {_describe(error)}")

    def _send(self, case: Any, session: requests.Session) -> None:
        # Explicit headers win over those schemathesis generates for the security scheme.
        token = base64.b64encode(f"{self.secret}:".encode()).decode()
        headers = {"Authorization": f"Basic {token}"}
        key = (case.headers or {}).get(idempotency.HEADER)
        if isinstance(key, str) and 0 < len(key) <= idempotency.KEY_LENGTH_MAX:
            # Generated keys repeat across cases and operations, and a key reused for
            # another request is rightly a 422: every valid key is made one of its own.
            headers[idempotency.HEADER] = uuid.uuid4().hex
        if _is_positive(case):
            _make_acceptable(case)
        response = case.call(
            base_url=self.base_url, session=session, headers=headers, timeout=REQUEST_TIMEOUT_S
        )
        self.requests_sent += 1
        self.statuses.setdefault(case.operation.label, set()).add(response.status_code)
        case.validate_response(response, checks=CHECKS)
        _check_wire_conventions(case, response)

    def _fuzz(self, operation: Any, mode: GenerationMode, session: requests.Session) -> None:
        @hypothesis.settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=DERANDOMIZE,
            suppress_health_check=list(hypothesis.HealthCheck),
            phases=[hypothesis.Phase.generate, hypothesis.Phase.shrink],
            verbosity=hypothesis.Verbosity.quiet,
        )
        @hypothesis.given(case=operation.as_strategy(generation_mode=mode), pick=st.integers(0, 3))
        def check(case: Any, pick: int) -> None:
            if mode.is_positive and pick > 0:
                self._use_existing(case, pick)
            self._send(case, session)

        try:
            check()
        except hypothesis.errors.Unsatisfiable:
            pass  # Nothing in this operation can be made invalid (no parameters, no body).
        except (Exception, BaseExceptionGroup) as error:  # Collected: report all at once.
            self.failures.append(f"{operation.label} [{mode.value}]: {_describe(error)}")

    def _use_existing(self, case: Any, pick: int) -> None:
        """Point the case at resources that exist, so that it can succeed."""
        for name, value in list((case.path_parameters or {}).items()):
            collection = _collection_of(case.operation.path, name)
            if collection in self.existing or collection == "resources":
                case.path_parameters[name] = self._existing(collection, pick, value)
        if isinstance(case.body, dict):
            for name, collection in REFERENCE_FIELDS.items():
                if name in case.body:
                    case.body[name] = self._existing(collection, pick, case.body[name])
            if "url" in case.body:  # A receiver that answers, one URL per pick.
                case.body["url"] = f"{self.existing['hooks'][0]}/{pick}"

    def _existing(self, collection: str, pick: int, default: Any) -> Any:
        if collection == "resources":
            every = [i for c, ids in self.existing.items() if c in RESOURCES for i in ids]
            return every[pick % len(every)]
        ids = self.existing.get(collection)
        return ids[pick % len(ids)] if ids else default


def _is_positive(case: Any) -> bool:
    generation = getattr(getattr(case, "meta", None), "generation", None)
    return generation is not None and generation.mode.is_positive


def _make_acceptable(case: Any) -> None:
    """What the document allows but cannot state, made so in a valid case: a card number's
    Luhn digit and a routing number's ABA checksum (VALID_FIELDS, in bodies and in their
    envelopes and inline instruments), a return within what remains (RETURN_PATHS),
    and integers written without a decimal point (JSON Schema counts 100.0 as an integer;
    ballast refuses it: money is never a float)."""
    if isinstance(case.body, dict | list):  # Assigning marks the case modified: only bodies.
        case.body = _without_integral_floats(case.body)
    # The body, what Balanced's envelope holds (`{"refunds": [{…}]}`) and any instrument
    # given inline (`{"credits": [{"destination": {"routing_number": …}}]}`): every object.
    items = list(_objects(case.body))
    for item in items:
        for name, value in VALID_FIELDS.items():
            if name in item:
                item[name] = value
        if case.operation.path.endswith(RETURN_PATHS) and isinstance(item.get("amount"), int):
            # What remains of a debit to refund (a credit to reverse) is its state, not a
            # shape; more is 400 `invalid-amount`, as Balanced's "Create a failed refund".
            item["amount"] = 1


def _objects(value: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object in `value`, itself included, outermost first."""
    if isinstance(value, dict):
        yield value
        for inner in value.values():
            yield from _objects(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _objects(inner)


def _without_integral_floats(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _without_integral_floats(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_integral_floats(item) for item in value]
    return value


def _describe(error: BaseException) -> str:
    lines = [f"{type(error).__name__}: {error}", *getattr(error, "__notes__", [])]
    for inner in getattr(error, "exceptions", ()):
        lines += [f"  {type(inner).__name__}: {inner}", *getattr(inner, "__notes__", [])]
    return "\n".join(lines)


def _collection_of(path: str, parameter: str) -> str:
    segments = path.strip("/").split("/")
    index = segments.index(f"{{{parameter}}}")
    return segments[index - 1]


def _check_wire_conventions(case: Any, response: Any) -> None:
    """Balanced's conventions, beyond what the document's schemas say."""
    content_types = response.headers.get("content-type", [])
    if response.status_code == 204:
        assert response.content in (b"", None), "a 204 has no body"
        return
    if case.operation.path == "/docs":
        return
    assert content_types == ["application/json"], f"Content-Type {content_types}"
    if response.status_code >= 400:
        errors = response.json().get("errors")
        assert isinstance(errors, list) and errors, "an error outside the envelope"
        for error in errors:
            assert set(error) == ERROR_FIELDS, f"error fields {sorted(error)}"
            assert error["status_code"] == response.status_code


async def _quiesce(pipeline: Pipeline, api: Api) -> None:
    """Leave nothing running for the next tests: no callback to fan events out to, and no
    job left in the outbox (the fuzzing queued hundreds of deliveries and transfers)."""
    listed = await api.get(f"/callbacks?limit={parsing.PAGE_LIMIT_MAX}")
    for callback in listed.body["callbacks"]:
        await api.delete(f"/callbacks/{callback['id']}")

    async def drained() -> bool:
        open_jobs: int = await pipeline.pool.fetchval(
            "SELECT count(*) FROM outbox WHERE not_before <= now()"
        )
        return open_jobs == 0

    await eventually(drained)


async def test_schemathesis_finds_no_bug(pipeline: Pipeline, marketplace: Marketplace) -> None:
    existing = await _seed(pipeline, marketplace)
    document = (await pipeline.api.get("/openapi.json")).body
    fuzzer = Fuzzer(pipeline.api.base_url, marketplace.secret, existing)
    started = time.monotonic()
    await asyncio.to_thread(fuzzer.run, document)
    elapsed_s = time.monotonic() - started
    await _quiesce(pipeline, marketplace.api)
    unsucceeded = sorted(
        label
        for label, seen in fuzzer.statuses.items()
        if not any(200 <= status < 300 for status in seen)
    )
    print(f"schemathesis: {fuzzer.requests_sent} requests in {elapsed_s:.1f} s")
    print(f"operations that never succeeded: {unsucceeded}")
    assert not fuzzer.failures, "\n\n".join(fuzzer.failures)
    assert len(fuzzer.statuses) == sum(len(ops) for ops in document["paths"].values())
    # Every read of a kind the seed made reached an existing resource at least once, so that
    # success responses were checked against the document, not only errors.
    seeded = [
        label
        for label in unsucceeded
        if label.startswith("GET ") and label.split("/")[1] in existing
    ]
    assert not seeded, f"reads that never succeeded: {seeded}"
