"""Prometheus metrics for `GET /metrics`: is the watcher itself healthy?

Each bot owns its registry (no process-global state); gauges that describe the database (open
incidents, outbox depth) are read at scrape time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30)
COMMAND_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)


class _DatabaseGauges(Collector):
    def __init__(self, read: Callable[[], tuple[dict[str, int], dict[str, int]]]) -> None:
        self.read = read

    def describe(self) -> list[GaugeMetricFamily]:
        """Nothing to read at registration time (the schema may not exist yet)."""
        return []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        open_by_service, pending_by_sink = self.read()
        incidents = GaugeMetricFamily("statusbot_open_incidents", "Open incidents", labels=["service"])
        for service, count in open_by_service.items():
            incidents.add_metric([service], count)
        outbox = GaugeMetricFamily("statusbot_outbox_pending", "Outbox rows not yet delivered", labels=["sink"])
        for sink, count in pending_by_sink.items():
            outbox.add_metric([sink], count)
        yield incidents
        yield outbox


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.probe_latency = Histogram(
            "statusbot_probe_latency_seconds", "Probe latency", ["probe"], buckets=LATENCY_BUCKETS, registry=r
        )
        self.probe_results = Counter(
            "statusbot_probe_results", "Probe results by class", ["probe", "outcome"], registry=r
        )
        self.polls = Counter("statusbot_polls", "Status page polls", ["service", "result"], registry=r)
        self.poll_success = Gauge(
            "statusbot_poll_last_success_timestamp_seconds", "Time of the last successful poll", ["service"], registry=r
        )
        self.deliveries = Counter("statusbot_deliveries", "Outbox deliveries", ["sink", "result"], registry=r)
        self.signals = Counter(
            "statusbot_signal_batches", "Signal and alert batches by result", ["service", "result"], registry=r
        )
        self.commands = Histogram(
            "statusbot_command_seconds", "Command latency", ["command"], buckets=COMMAND_BUCKETS, registry=r
        )
        self.leader = Gauge("statusbot_leader", "1 while this replica holds the leader lease", registry=r)
        self.leadership_changes = Counter(
            "statusbot_leadership_changes", "Times this replica started or stopped leading", registry=r
        )

    def watch_database(self, read: Callable[[], tuple[dict[str, int], dict[str, int]]]) -> None:
        self.registry.register(_DatabaseGauges(read))

    def poll(self, service: str, ok: bool, at: datetime) -> None:
        self.polls.labels(service, "success" if ok else "failure").inc()
        if ok:
            self.poll_success.labels(service).set(at.timestamp())

    def probe(self, probe: str, outcome: str, latency_ms: float) -> None:
        self.probe_results.labels(probe, outcome).inc()
        self.probe_latency.labels(probe).observe(latency_ms / 1000)

    def delivery(self, sink: str, ok: bool) -> None:
        self.deliveries.labels(sink, "delivered" if ok else "failed").inc()

    def signal(self, service: str, result: str) -> None:
        self.signals.labels(service, result).inc()

    def leadership(self, leading: bool) -> None:
        self.leader.set(1 if leading else 0)
        self.leadership_changes.inc()

    def command(self, name: str, seconds: float) -> None:
        self.commands.labels(name).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
