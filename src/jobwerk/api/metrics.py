"""Prometheus metrics of one app: runs and steps (fed from bus events), HTTP and WebSockets.

Every app has its own ``CollectorRegistry``, so several apps in one process (tests) never share
counters. Labels stay low-cardinality: workflow, step, route template, status.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from jobwerk import __version__
from jobwerk.core.events import Event, EventBus
from jobwerk.core.states import FINISHED

log = structlog.get_logger("jobwerk.metrics")
DURATION_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200)
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
MAX_TRACKED = 10_000


class Metrics:
    """The app's metrics and the bus consumer that keeps the run metrics current."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.runs = Counter(
            "jobwerk_runs", "Runs that entered a status", ["workflow", "status"], registry=r
        )
        self.run_duration = Histogram(
            "jobwerk_run_duration_seconds",
            "Run duration from start to finish",
            ["workflow"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.step_duration = Histogram(
            "jobwerk_step_duration_seconds",
            "Step attempt duration",
            ["workflow", "step"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.queue_depth = Gauge(
            "jobwerk_queue_depth", "Runs waiting to be executed", ["queue"], registry=r
        )
        self.in_progress = Gauge(
            "jobwerk_runs_in_progress", "Runs executing (all nodes)", registry=r
        )
        self.http_requests = Counter(
            "jobwerk_http_requests",
            "HTTP requests answered",
            ["method", "route", "status"],
            registry=r,
        )
        self.http_duration = Histogram(
            "jobwerk_http_request_duration_seconds",
            "HTTP request duration",
            ["method", "route"],
            buckets=HTTP_BUCKETS,
            registry=r,
        )
        self.ws_connections = Gauge(
            "jobwerk_ws_connections", "Open WebSocket connections", ["endpoint"], registry=r
        )
        Gauge("jobwerk_build_info", "Build information", ["version"], registry=r).labels(
            __version__
        ).set(1)
        self.http_total = 0
        self.ws_clients: dict[str, int] = {}
        self._workflow: OrderedDict[str, str] = OrderedDict()
        self._run_started: dict[str, float] = {}
        self._step_started: dict[tuple[str, str], float] = {}
        self._task: asyncio.Task[None] | None = None

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.http_total += 1
        self.http_requests.labels(method, route, str(status)).inc()
        self.http_duration.labels(method, route).observe(seconds)

    def ws_opened(self, endpoint: str) -> None:
        self.ws_clients[endpoint] = self.ws_clients.get(endpoint, 0) + 1
        self.ws_connections.labels(endpoint).inc()

    def ws_closed(self, endpoint: str) -> None:
        self.ws_clients[endpoint] = self.ws_clients.get(endpoint, 0) - 1
        self.ws_connections.labels(endpoint).dec()

    def _workflow_of(self, event: Event) -> str:
        run_id = event.run_id or ""
        workflow = event.data.get("workflow")
        if isinstance(workflow, str):
            self._workflow[run_id] = workflow
            if len(self._workflow) > MAX_TRACKED:
                self._workflow.popitem(last=False)
            return workflow
        return self._workflow.get(run_id, "unknown")

    def observe_event(self, event: Event) -> None:
        """Count a run or step state change."""
        if event.run_id is None:
            return
        if event.kind == "run.status" and not event.data.get("cancel_requested"):
            status = str(event.data.get("status"))
            workflow = self._workflow_of(event)
            self.runs.labels(workflow, status).inc()
            if status == "running":
                self._run_started[event.run_id] = event.at
            elif status in FINISHED:
                self._workflow.pop(event.run_id, None)
                started = self._run_started.pop(event.run_id, None)
                if started is not None:
                    self.run_duration.labels(workflow).observe(max(0.0, event.at - started))
        elif event.kind == "step.status":
            key = (event.run_id, str(event.data.get("step")))
            if event.data.get("status") == "running":
                self._step_started[key] = event.at
            elif key in self._step_started:
                began = self._step_started.pop(key)
                workflow = self._workflow.get(event.run_id, "unknown")
                self.step_duration.labels(workflow, key[1]).observe(max(0.0, event.at - began))

    def render(self, runs_by_status: dict[str, int]) -> bytes:
        """The exposition text, with the queue gauges set from the database counts."""
        self.queue_depth.labels("default").set(runs_by_status.get("queued", 0))
        self.in_progress.set(runs_by_status.get("running", 0))
        return generate_latest(self.registry)

    def start(self, bus: EventBus) -> None:
        self._task = asyncio.create_task(self._consume(bus), name="jobwerk-metrics")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _consume(self, bus: EventBus) -> None:
        while True:
            # Each process counts its own runs: Prometheus adds the processes up.
            subscription = bus.subscribe(
                maxsize=10_000,
                accept=lambda e: not e.relayed and e.kind in ("run.status", "step.status"),
            )
            try:
                async for event in subscription:
                    self.observe_event(event)
            finally:
                subscription.close()
            log.warning("metrics fell behind the event bus; resubscribed")
