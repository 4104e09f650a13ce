"""The two sides of a distributed (Locust) run, free of Locust itself so that they read
and test like the rest of the package; `locustfile` wires them to Locust's events.

A worker sends the transfers its users start, keeps a receiver of its own for their
outcomes (each worker subscribes its own receiver, so outcomes come back to the process
that knows when the transfer was sent), and reports both to the master in batches. The
master gathers every worker's records into one Recorder, waits for the outcomes after
the load (the drain), and writes the same report as `ballast load`.

Both sides run under gevent (Locust's), so their HTTP is synchronous (`requests`)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import requests
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from ballast.load.config import CARD_NUMBER, ROUTING_NUMBER, LoadError
from ballast.load.railcontrol import CONTROL_TIMEOUT_S, LOAD_RULES, RULES_SHOWN_MAX, rule_line
from ballast.load.recorder import Outcomes, Recorder
from ballast.load.targets import ACCOUNT_OF_VARIANT, pipeline_outcome, rail_outcomes

SAMPLES_MESSAGE = "ballast_samples"
REQUEST_TIMEOUT_S = 30.0  # As ballast load's own requests (client.REQUEST_TIMEOUT_S).


class Batch:
    """What a worker has not yet reported: answers [local index, step, scheduled, sent,
    answered, status, accepted, completed, transfer id, follow-up] and outcomes [transfer
    id, outcome, at, message id]. Users (greenlets) and the receiver add; a flusher takes."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.answers: list[list[Any]] = []
        self.outcomes: list[list[Any]] = []
        self.rejected = 0

    def take(self) -> dict[str, Any] | None:
        with self.lock:
            if not (self.answers or self.outcomes or self.rejected):
                return None
            taken = {"answers": self.answers, "outcomes": self.outcomes, "rejected": self.rejected}
            self.answers, self.outcomes, self.rejected = [], [], 0
            return taken


class Collector:
    """The master's side: every worker's records in one Recorder, indexed per worker."""

    def __init__(self) -> None:
        self.recorder = Recorder()
        self.outcomes = Outcomes(self.recorder)
        self.workers: set[str] = set()

    def add(self, worker: str, data: dict[str, Any]) -> None:
        self.workers.add(worker)
        recorder = self.recorder
        for (
            _local,
            step,
            scheduled,
            sent,
            answered,
            status,
            accepted,
            completed,
            tid,
            follow,
        ) in data["answers"]:
            index = recorder.start(scheduled, sent, step, follow_up=bool(follow))
            if accepted:
                recorder.accept(index, answered, status, completed=completed)
                if not completed:
                    self.outcomes.known(f"{worker}/{tid}", index)
            else:
                recorder.fail(index, answered, status)
        for transfer_id, outcome, at_s, message_id in data["outcomes"]:
            self.outcomes.deliver(
                f"{worker}/{message_id}", f"{worker}/{transfer_id}", outcome, at_s
            )
        self.outcomes.rejected += data["rejected"]


class Receiver:
    """A worker's WSGI receiver of the rail's notifications or the API's callbacks."""

    def __init__(
        self,
        batch: Batch,
        target: str,
        rail_secret: str | None,
        observe: Callable[[str, float], None] | None = None,
    ) -> None:
        self.batch = batch
        self.target = target
        self.webhook = None if rail_secret is None else Webhook(rail_secret)
        self.observe = observe  # Told (transfer id, when) of each outcome, as it arrives.

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length)
        at_s = time.time()
        headers = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        try:
            found = self._outcomes(raw, headers)
        except WebhookVerificationError:
            with self.batch.lock:
                self.batch.rejected += 1
            start_response("400 Bad Request", [("Content-Length", "0")])
            return [b""]
        with self.batch.lock:
            self.batch.outcomes.extend([tid, outcome, at_s, mid] for mid, tid, outcome in found)
        observe = self.observe
        if observe is not None:
            for _, transfer_id, _ in found:
                observe(transfer_id, at_s)
        start_response("204 No Content", [])
        return [b""]

    def _outcomes(self, raw: bytes, headers: dict[str, str]) -> list[tuple[str, str, int]]:
        if self.target == "rail":
            if self.webhook is not None:
                self.webhook.verify(raw, headers)
            return rail_outcomes(raw)
        assert self.webhook is not None, "subscribe() sets the callback's secret"
        found = pipeline_outcome(self.webhook.verify(raw.decode(), headers))
        return [] if found is None else [(headers["webhook-id"], *found)]


class SyncApi:
    """The setup a pipeline worker makes before its users start (as ApiClient, but
    synchronous): an API key and marketplace of its own, a callback to its receiver, and
    funded orders."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session = requests.Session()

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.session.request(
            method, f"{self.url}{path}", json=body, timeout=REQUEST_TIMEOUT_S
        )
        if response.status_code not in (200, 201):
            raise LoadError(
                f"{method} {path} answered {response.status_code}: {response.text[:200]}"
            )
        answer: dict[str, Any] = response.json()
        return answer

    def login(self) -> None:
        key = self.call("POST", "/api_keys", {})["api_keys"][0]["secret"]
        self.session.auth = (key, "")
        self.call("POST", "/marketplaces", {"name": "Load test (Locust worker)"})

    def subscribe(self, url: str) -> str:
        return str(self.call("POST", "/callbacks", {"url": url})["callbacks"][0]["secret"])

    def fund_order(self, index: int, card: str, amount_cents: int) -> dict[str, Any]:
        merchant = self.call("POST", "/customers", {"name": f"Load merchant {index}"})["customers"][
            0
        ]["id"]
        banks = []
        for account_number in ACCOUNT_OF_VARIANT.values():
            body = {
                "name": "Load merchant",
                "routing_number": ROUTING_NUMBER,
                "account_number": account_number,
                "account_type": "checking",
            }
            bank = self.call("POST", "/bank_accounts", body)["bank_accounts"][0]["id"]
            self.call("PUT", f"/bank_accounts/{bank}", {"links": {"customer": merchant}})
            banks.append(bank)
        order = self.call("POST", f"/customers/{merchant}/orders", {})["orders"][0]["id"]
        debit = self.call(
            "POST", f"/cards/{card}/debits", {"amount": amount_cents, "order": order}
        )["debits"][0]["id"]
        payable = self.call("GET", f"/customers/{merchant}/accounts")["accounts"][0]["id"]
        return {"order": order, "banks": banks, "debit": debit, "payable": payable}

    def fund_orders(self, orders: int, amount_cents: int) -> list[dict[str, Any]]:
        card_body = {"number": CARD_NUMBER, "expiration_month": 12, "expiration_year": 2030}
        card = self.call("POST", "/cards", card_body)["cards"][0]["id"]
        return [self.fund_order(index, card, amount_cents) for index in range(orders)]


def rail_facts_sync(rail_url: str, token: str | None) -> dict[str, Any]:
    """railcontrol.rail_facts, synchronously (for the Locust master)."""
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    try:
        clock = requests.get(f"{rail_url}/clock", headers=headers, timeout=CONTROL_TIMEOUT_S)
        rules = requests.get(f"{rail_url}/rules", headers=headers, timeout=CONTROL_TIMEOUT_S)
        clock.raise_for_status()
        rules.raise_for_status()
    except requests.RequestException as error:
        return {"url": rail_url, "error": str(error)}
    facts, listed = clock.json(), rules.json()
    instant = facts["day_ms"] == 0 and not facts["frozen"]
    return {
        "url": rail_url,
        "day_ms": facts["day_ms"],
        "clock_mode": "instant" if instant else facts["mode"],
        "same_day_ach": facts["same_day_ach"],
        "rules_count": len(listed),
        "rules": [rule_line(rule) for rule in listed[:RULES_SHOWN_MAX]],
    }


def install_load_rules_sync(rail_url: str, token: str | None) -> None:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    ours = [rule["match"] for rule in LOAD_RULES]
    try:
        current = requests.get(f"{rail_url}/rules", headers=headers, timeout=CONTROL_TIMEOUT_S)
        current.raise_for_status()
        others = [rule for rule in current.json() if rule.get("match") not in ours]
        put = requests.put(
            f"{rail_url}/rules",
            data=json.dumps(LOAD_RULES + others),
            headers=headers,
            timeout=CONTROL_TIMEOUT_S,
        )
        put.raise_for_status()
    except requests.RequestException as error:
        raise LoadError(
            f"late returns and corrections need the load's rules on the rail: {error}"
        ) from None
