"""The platform's Prometheus metrics, in a registry of each app's own.

One `Metrics` per built platform (`platform.build_services`), not the library's global registry,
so tests and several apps in one process count apart. The web layer counts requests
(`request`), the delivery service counts callback attempts through a hook the composition root
hands it (`callback_attempt`), and the scrape handler reads the outbox and renders (`render`).
Labels are bounded: a route is its template, never the raw path. The names are listed in
docs/operations.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Final

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    Info,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from kco_sandbox.domain.delivery import Attempt, Callback, CallbackKind
from kco_sandbox.services.health import OutboxLoad

CONTENT_TYPE: Final = CONTENT_TYPE_LATEST
# Most answers take a millisecond or two; one waiting on a merchant callback up to its time-out.
LATENCY_BUCKETS: Final = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
# Methods a client may send are any token: others are counted together.
_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OUTCOMES: Final = ("sent", "failed")


class _Outbox(Collector):
    """The gauges read at scrape time; absent while the database does not answer."""

    def __init__(self) -> None:
        self.load: OutboxLoad | None = None

    def describe(self) -> Iterable[Metric]:
        return list(self._families(OutboxLoad(0, 0, 0.0), database_up=True))

    def collect(self) -> Iterable[Metric]:
        return list(self._families(self.load, database_up=self.load is not None))

    def _families(self, load: OutboxLoad | None, database_up: bool) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "kco_sandbox_database_up",
            "1 when the database answered the scrape's queries, else 0.",
            value=1 if database_up else 0,
        )
        if load is None:
            return
        yield GaugeMetricFamily(
            "kco_sandbox_callbacks_pending",
            "Push and notification callbacks with attempts still to make (due or scheduled).",
            value=load.pending,
        )
        yield GaugeMetricFamily(
            "kco_sandbox_callbacks_due",
            "Pending callbacks already due on the platform clock (the delivery backlog).",
            value=load.due,
        )
        yield GaugeMetricFamily(
            "kco_sandbox_outbox_age_seconds",
            "Platform seconds since the oldest pending callback fell due (0 when none is due).",
            value=load.age_seconds,
        )


class Metrics:
    def __init__(self, version: str) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "kco_sandbox_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "kco_sandbox_http_request_duration_seconds",
            "Time from a request's arrival until its answer was sent, by method and route.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.callback_attempts = Counter(
            "kco_sandbox_callback_attempts",
            "Callback attempts (push, notification, HPP status update, webhook), by kind and "
            "outcome (sent: 2xx; failed: any other "
            "answer, no answer, or an injected fault).",
            ["kind", "outcome"],
            registry=self.registry,
        )
        for kind in CallbackKind:  # every series from the start, so rates begin at zero
            for outcome in OUTCOMES:
                self.callback_attempts.labels(kind.value, outcome)
        Info("kco_sandbox", "The running kco-sandbox.", registry=self.registry).info(
            {"version": version}
        )
        self._outbox = _Outbox()
        self.registry.register(self._outbox)
        # (method, route, status) → the two children to update: `labels()` takes a lock and
        # builds a key on each call; this is one dict look-up on the request path.
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request; `route` is its template (or `unmatched`)."""
        if method not in _METHODS:
            method = "other"
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            children = (
                self.requests.labels(method, route, str(status)),
                self.latency.labels(method, route),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def callback_attempt(self, callback: Callback, attempt: Attempt) -> None:
        """Count one push or notification attempt (the delivery service's hook)."""
        outcome = "sent" if attempt.succeeded else "failed"
        self.callback_attempts.labels(callback.kind.value, outcome).inc()

    def render(self, outbox: OutboxLoad | None) -> bytes:
        """The exposition text, with the outbox as just read (None: the database is down)."""
        self._outbox.load = outbox
        return generate_latest(self.registry)
