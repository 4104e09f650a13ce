"""ballast load on Locust, for load beyond one machine: the same scenarios against the
rail or the pipeline, spread over Locust workers, and the same report at the end.

    locust -f "$(ballast load locustfile)" --headless --master --expect-workers 2 \\
        -u 20 -r 20 -t 60s --host http://127.0.0.1:8095 --ballast-scenario payday
    locust -f "$(ballast load locustfile)" --worker      # once per worker, any machine

Each worker receives the outcomes of its own transfers on a receiver of its own
(`--ballast-receiver-host` must be reachable from the target), so end-to-end latency is
measured where the transfer was sent; the master gathers every worker's records and,
after the drain, writes report.html, summary.json and samples.csv, checks the thresholds
and exits 1 when one fails. Locust's users are a closed model (`--ballast-user-rate`
paces each user, as Locust's constant_throughput): latencies count from the send.

This module is imported by Locust only: importing it patches the standard library for
gevent."""

from __future__ import annotations

import itertools
import os
import secrets
import shlex
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import gevent
from gevent.pywsgi import WSGIServer
from locust import HttpUser, events, task
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from ballast.load.command import CONTROL_TOKEN_ENV, RAIL_SECRET_ENV, report_dir
from ballast.load.config import (
    DEFAULT_PIPELINE_RAIL_URL,
    DEFAULT_URLS,
    LoadConfig,
    LoadError,
    check_loopback,
)
from ballast.load.distributed import (
    SAMPLES_MESSAGE,
    Batch,
    Collector,
    Receiver,
    SyncApi,
    install_load_rules_sync,
    rail_facts_sync,
)
from ballast.load.metadata import run_metadata
from ballast.load.report import one_line, write_report
from ballast.load.scenario import Mix, Transfer, load_scenario
from ballast.load.summary import Timing, summarize
from ballast.load.targets import ACCOUNT_OF_VARIANT, FUNDING_CENTS_MAX, rail_entry
from ballast.load.thresholds import check_all, parse_thresholds, render_results

STOP_MESSAGE = "ballast_stop"
FLUSH_INTERVAL_S = 0.5  # How often a worker reports to the master: small batches, live.
# Transfer indexes of worker n start at n * WORKER_INDEX_STRIDE: unique across workers.
WORKER_INDEX_STRIDE = 10**9


def _add_arguments(parser: Any) -> None:
    group = parser.add_argument_group("ballast", "ballast load's scenario and report")
    group.add_argument("--ballast-target", choices=("rail", "pipeline"), default="rail")
    group.add_argument("--ballast-scenario", default="", help="a TOML file or a shipped name")
    group.add_argument("--ballast-threshold", default="", help="comma-separated: p99<250ms,…")
    group.add_argument("--ballast-out", default="", help="report folder (default: timestamped)")
    group.add_argument("--ballast-drain-timeout", type=float, default=30.0)
    group.add_argument("--ballast-orders", type=int, default=10, help="pipeline: per worker")
    group.add_argument("--ballast-user-rate", type=float, default=0.0, help="transfers/s/user")
    group.add_argument("--ballast-rail-url", default="", help="the rail's control API")
    group.add_argument("--ballast-receiver-host", default="127.0.0.1")
    group.add_argument("--ballast-allow-remote", action="store_true")


def _listen(hook: Any, handler: Callable[..., None]) -> None:
    """Subscribe to one of Locust's events (typed here: Locust's hooks are not)."""
    hook.add_listener(handler)


_listen(events.init_command_line_parser, _add_arguments)


def _options(environment: Environment) -> Any:
    assert environment.parsed_options is not None
    return environment.parsed_options


def _scenario_mix(options: Any) -> Mix:
    from ballast.load.scenario import default_scenario

    scenario = load_scenario(options.ballast_scenario) if options.ballast_scenario else None
    return Mix(scenario or default_scenario(0.0))


class WorkerSide:
    """A worker's state: its receiver, its not-yet-reported records, its transfers."""

    def __init__(self, environment: Environment) -> None:
        options = _options(environment)
        self.environment = environment
        self.target: str = options.ballast_target
        self.mix = _scenario_mix(options)
        self.batch = Batch()
        self.run_id = secrets.token_hex(4)
        runner = environment.runner
        worker_index = runner.worker_index if isinstance(runner, WorkerRunner) else 0
        self.indexes = itertools.count(worker_index * WORKER_INDEX_STRIDE)
        self.sent_at: dict[str, tuple[float, str]] = {}  # transfer id → (sent, kind)
        self.early: dict[str, float] = {}  # transfer id → its outcome, come before its answer
        self.orders: list[dict[str, Any]] = []
        self.order_locks: list[threading.Lock] = []
        self.auth: tuple[str, str] | None = None
        # Set by the master's STOP_MESSAGE: a headless master whose run time is up quits
        # without stopping its workers first, and would otherwise drain under load.
        self.stopped = False
        rail_secret = os.environ.get(RAIL_SECRET_ENV) if self.target == "rail" else None
        self.receiver = Receiver(self.batch, self.target, rail_secret, self._observe)
        self.server = WSGIServer((options.ballast_receiver_host, 0), self.receiver, log=None)
        self.server.start()
        host = options.ballast_receiver_host
        self.receiver_url = f"http://{host}:{self.server.server_port}/outcomes"
        if self.target == "pipeline":
            self._prepare_pipeline(
                environment.host or DEFAULT_URLS["pipeline"], options.ballast_orders
            )
        gevent.spawn(self._flush_forever)

    def sent(self, transfer_id: str, sent_s: float, kind: str) -> None:
        """A transfer the target took; its outcome may already be here (a fast rail)."""
        arrived_s = self.early.pop(transfer_id, None)
        if arrived_s is None:
            self.sent_at[transfer_id] = (sent_s, kind)
        else:
            self._fire(kind, sent_s, arrived_s)

    def _observe(self, transfer_id: str, at_s: float) -> None:
        """A first outcome shows in Locust's own statistics too, as an `E2E` request timed
        from the send (a later one, a late return, does not)."""
        sent = self.sent_at.pop(transfer_id, None)
        if sent is None:
            self.early.setdefault(transfer_id, at_s)
            return
        self._fire(sent[1], sent[0], at_s)

    def _fire(self, kind: str, sent_s: float, at_s: float) -> None:
        request: Any = self.environment.events.request  # Locust's events are untyped.
        request.fire(
            request_type="E2E",
            name=f"{kind} outcome",
            response_time=(at_s - sent_s) * 1000,
            response_length=0,
            exception=None,
            context={},
        )

    def _prepare_pipeline(self, url: str, orders: int) -> None:
        api = SyncApi(url)
        api.login()
        secret = api.subscribe(self.receiver_url)
        from standardwebhooks.webhooks import Webhook

        self.receiver.webhook = Webhook(secret)
        most_cents = max(step.amount_cents_max for step in self.mix.scenario.steps)
        # Funding for up to a million transfers a worker: far beyond a few minutes' load.
        funding = min(FUNDING_CENTS_MAX, most_cents * 1_000_000 // max(1, orders))
        self.orders = api.fund_orders(orders, funding)
        self.order_locks = [threading.Lock() for _ in self.orders]
        assert isinstance(api.session.auth, tuple)
        self.auth = api.session.auth

    def _flush_forever(self) -> None:
        while True:
            gevent.sleep(FLUSH_INTERVAL_S)
            data = self.batch.take()
            if data is not None:
                self.environment.runner.send_message(SAMPLES_MESSAGE, data)  # type: ignore[union-attr]


class MasterSide:
    """The master's state (or a single process's): every worker's records and the report."""

    def __init__(self, environment: Environment) -> None:
        self.environment = environment
        self.collector = Collector()
        self.started_s = time.time()
        self.metadata: dict[str, Any] = {}

    def receive(self, environment: Environment, msg: Any, **_: Any) -> None:
        self.collector.add(str(msg.node_id), msg.data)

    def started(self) -> None:
        options = _options(self.environment)
        self.started_s = time.time()
        self.config = _config(self.environment)
        self.metadata = run_metadata(self.config)
        self.metadata["generator"] = "locust"
        rail_url = self.config.rail_url
        if rail_url:
            token = os.environ.get(CONTROL_TOKEN_ENV)
            if _scenario_mix(options).needs_rail_rules:
                install_load_rules_sync(rail_url, token)
            self.metadata["rail"] = rail_facts_sync(rail_url, token)

    def finish(self) -> None:
        load_ended_s = time.time()
        runner = self.environment.runner
        assert runner is not None
        runner.send_message(STOP_MESSAGE)
        recorder = self.collector.recorder
        # Let the workers' last batches arrive, then wait for the outcomes.
        gevent.sleep(3 * FLUSH_INTERVAL_S)
        deadline_s = time.time() + self.config.drain_timeout_s
        while not recorder.settled and time.time() < deadline_s:
            gevent.sleep(FLUSH_INTERVAL_S)
        gevent.sleep(FLUSH_INTERVAL_S)
        timing = Timing(self.started_s, load_ended_s, time.time())
        summary = summarize(self.config, recorder, self.collector.outcomes, timing)
        self.metadata["workers"] = len(self.collector.workers)
        self.metadata["interrupted"] = False
        summary["run"] = self.metadata
        summary["thresholds"] = check_all(self.config.thresholds, summary)
        assert self.config.out_dir is not None
        mix = Mix(self.config.effective_scenario)
        write_report(self.config.out_dir, summary, recorder, mix, self.started_s)
        print(one_line(summary))
        if summary["thresholds"]:
            print("thresholds:\n" + render_results(summary["thresholds"]))
        print(f"report: {self.config.out_dir / 'report.html'}")
        failed = not all(result["passed"] for result in summary["thresholds"])
        if failed:
            self.environment.process_exit_code = 1


def _config(environment: Environment) -> LoadConfig:
    """The LoadConfig the report describes; a LoadError ends the run before any load."""
    options = _options(environment)
    target = options.ballast_target
    url = (environment.host or DEFAULT_URLS[target]).rstrip("/")
    rail_url = options.ballast_rail_url or (url if target == "rail" else DEFAULT_PIPELINE_RAIL_URL)
    if not options.ballast_allow_remote:
        check_loopback(url)
        check_loopback(rail_url)
    scenario = _scenario_mix(options).scenario
    thresholds = [t for t in options.ballast_threshold.split(",") if t.strip()]
    users = max(1, int(options.num_users or 1))
    return LoadConfig(
        target=target,
        url=url,
        duration_s=float(options.run_time) if options.run_time else None,
        concurrency=min(users, 1024),
        scenario=scenario,
        thresholds=parse_thresholds([*scenario.load.thresholds, *thresholds]),
        orders=max(1, options.ballast_orders),
        drain_timeout_s=options.ballast_drain_timeout,
        out_dir=_out_dir(options, target, scenario.name),
        rail_url=rail_url,
        progress=False,
        command_line=shlex.join(["locust", *sys.argv[1:]]),
    )


def _out_dir(options: Any, target: str, scenario_name: str) -> Any:
    from pathlib import Path

    return Path(options.ballast_out) if options.ballast_out else report_dir(target, scenario_name)


class _Sides:
    """This process's side(s), set from Locust's events (which are module-level hooks)."""

    worker: WorkerSide | None = None
    master: MasterSide | None = None


def _on_stop_message(environment: Environment, msg: Any, **_: Any) -> None:
    if _Sides.worker is not None:
        _Sides.worker.stopped = True


def _on_init(environment: Environment, **_: Any) -> None:
    # gevent's loop keeps a cached "now" that went stale while this module's imports ran
    # (seconds, on a busy machine); Locust's --run-time timer, set next, would count from
    # that stale moment and end a single-process run at once. Refresh it.
    gevent.get_hub().loop.update_now()
    if not isinstance(environment.runner, MasterRunner):
        environment.runner.register_message(STOP_MESSAGE, _on_stop_message)  # type: ignore[union-attr]
    if not isinstance(environment.runner, WorkerRunner):
        _Sides.master = MasterSide(environment)
        environment.runner.register_message(SAMPLES_MESSAGE, _Sides.master.receive)  # type: ignore[union-attr]


def _on_test_start(environment: Environment, **_: Any) -> None:
    try:
        if _Sides.master is not None:
            _Sides.master.started()
        if not isinstance(environment.runner, MasterRunner) and _Sides.worker is None:
            _Sides.worker = WorkerSide(environment)
    except LoadError as error:
        print(f"ballast load (locust): {error}")
        environment.process_exit_code = 2
        if environment.runner is not None:
            environment.runner.quit()


def _on_test_stop(environment: Environment, **_: Any) -> None:
    if _Sides.master is not None and hasattr(_Sides.master, "config"):
        _Sides.master.finish()


_listen(events.init, _on_init)
_listen(events.test_start, _on_test_start)
_listen(events.test_stop, _on_test_stop)


class BallastUser(HttpUser):
    """One user: runs the scenario's next transfer, then waits its think time (or the
    pacing of --ballast-user-rate)."""

    _think_s = 0.0
    _cp_last_run = 0.0
    _cp_last_wait_time = 0.0

    def wait_time(self) -> float:
        rate = _options(self.environment).ballast_user_rate
        if rate > 0:
            from locust import constant_throughput

            return constant_throughput(rate)(self)
        return self._think_s

    @task
    def transfer(self) -> None:
        side = _Sides.worker
        if side is None or side.stopped:
            gevent.sleep(FLUSH_INTERVAL_S)  # Idle, not spinning, until Locust stops the user.
            return
        index = next(side.indexes)
        transfer = side.mix.transfer(index)
        self._think_s = transfer.think_time_ms / 1000
        sent_s = time.time()
        transfer_id, status, completed = self._send(side, index, transfer)
        answered_s = time.time()
        accepted = status in (200, 201)
        follow_up = side.target == "rail" and transfer.variant in ("late_return", "correction")
        if accepted and not completed:
            side.sent(transfer_id, sent_s, transfer.kind)
        local = index % WORKER_INDEX_STRIDE
        row = [
            local,
            transfer.step_index,
            sent_s,
            sent_s,
            answered_s,
            status,
            accepted,
            completed,
            transfer_id,
            follow_up,
        ]
        with side.batch.lock:
            side.batch.answers.append(row)

    def _send(self, side: WorkerSide, index: int, transfer: Transfer) -> tuple[str, int, bool]:
        if side.target == "rail":
            body = rail_entry(side.run_id, index, transfer, side.receiver_url)
            response = self.client.post("/entries", json=body, name=f"rail {transfer.kind}")
            return str(body["id"]), response.status_code, False
        return self._send_pipeline(side, index, transfer)

    def _post(self, side: WorkerSide, path: str, body: dict[str, Any], name: str) -> Any:
        return self.client.post(path, json=body, auth=side.auth, name=name)

    def _send_pipeline(
        self, side: WorkerSide, index: int, transfer: Transfer
    ) -> tuple[str, int, bool]:
        order = side.orders[index % len(side.orders)]
        amount = transfer.amount_cents
        if transfer.kind == "credit":
            bank = order["banks"][list(ACCOUNT_OF_VARIANT).index(transfer.variant)]
            response = self._post(
                side,
                f"/bank_accounts/{bank}/credits",
                {"amount": amount, "order": order["order"]},
                "credit",
            )
            return _id(response, "credits"), response.status_code, False
        if transfer.kind == "refund":
            response = self._post(
                side, f"/debits/{order['debit']}/refunds", {"amount": amount}, "refund"
            )
            return _id(response, "refunds"), response.status_code, True
        with side.order_locks[index % len(side.orders)]:
            credit = self._post(
                side,
                f"/accounts/{order['payable']}/credits",
                {"amount": amount, "order": order["order"]},
                "account credit",
            )
            if credit.status_code != 201:
                return "", credit.status_code, True
            if transfer.kind == "reversal":
                response = self._post(
                    side, f"/credits/{_id(credit, 'credits')}/reversals", {}, "reversal"
                )
                return _id(response, "reversals"), response.status_code, True
            body = {"funding_instrument": order["banks"][0]}
            response = self._post(
                side, f"/accounts/{order['payable']}/settlements", body, "settlement"
            )
            return _id(response, "settlements"), response.status_code, True


def _id(response: Any, plural: str) -> str:
    if response.status_code not in (200, 201):
        return ""
    return str(response.json()[plural][0]["id"])
