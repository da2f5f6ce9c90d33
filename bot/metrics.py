"""Prometheus metrics of one bot process. Labels are only command names, outcomes and
platform names (fixed sets): never text a member typed, a choice or a token.

The values are kept in plain Python objects; prometheus_client (2 MB in every process) is
imported only when GET /metrics asks for the exposition, so a bot without `[http] listen`
never loads it (issue 11)."""

from __future__ import annotations

import bisect
import time
from collections.abc import Iterator
from typing import Any

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _Child:
    """One labelled series: a counter's or gauge's value, or a histogram's buckets."""

    def __init__(self, buckets: tuple[float, ...] = ()) -> None:
        self.value = 0.0
        self.created = time.time()
        self.bounds = buckets
        self.counts = [0] * (len(buckets) + 1)  # per bucket (not cumulative); last is +Inf
        self.sum = 0.0

    def inc(self, amount: float = 1.0) -> None:
        self.value += amount

    def set(self, value: float) -> None:
        self.value = float(value)

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.sum += value


class _Family:
    """A metric and its series by label values (prometheus_client's labels() API)."""

    def __init__(
        self,
        kind: str,
        name: str,
        documentation: str,
        labelnames: tuple[str, ...] = (),
        buckets: tuple[float, ...] = (),
    ) -> None:
        self.kind, self.name, self.documentation = kind, name, documentation
        self.labelnames, self.buckets = labelnames, buckets
        self.children: dict[tuple[str, ...], _Child] = {}
        if not labelnames:
            self.children[()] = _Child(buckets)

    def labels(self, **values: Any) -> _Child:
        if set(values) != set(self.labelnames):
            raise ValueError(f"{self.name} takes the labels {', '.join(self.labelnames)}")
        key = tuple(str(values[name]) for name in self.labelnames)
        child = self.children.get(key)
        if child is None:
            child = self.children[key] = _Child(self.buckets)
        return child

    def _only(self) -> _Child:
        if self.labelnames:
            raise ValueError(f"{self.name} has labels: use labels(...)")
        return self.children[()]

    def inc(self, amount: float = 1.0) -> None:
        if amount < 0:
            raise ValueError("counters only go up")
        self._only().inc(amount)

    def set(self, value: float) -> None:
        self._only().set(value)

    def observe(self, value: float) -> None:
        self._only().observe(value)


class Metrics:
    """The bot's counters and gauges, of this Metrics alone (no process-wide state)."""

    def __init__(self) -> None:
        self.commands = _Family(
            "counter",
            "coopbot_commands",
            "Commands handled, by command name and outcome "
            "(ok, refused, duplicate, conflict, failed)",
            ("command", "outcome"),
        )
        self.latency = _Family(
            "histogram",
            "coopbot_command_seconds",
            "Time to handle one command, by command name",
            ("command",),
            buckets=LATENCY_BUCKETS,
        )
        self.votes = _Family("counter", "coopbot_votes_cast", "Votes recorded (new or changed)")
        self.outbox_pending = _Family(
            "gauge",
            "coopbot_outbox_pending",
            "Announcements waiting to be delivered, by platform",
            ("platform",),
        )
        self.outbox_oldest = _Family(
            "gauge", "coopbot_outbox_oldest_seconds", "Age of the oldest undelivered announcement"
        )
        self.outbox_dead = _Family(
            "gauge",
            "coopbot_outbox_dead",
            "Deliveries given up (dead letters a steward can retry), by platform",
            ("platform",),
        )
        self.outbox_failures = _Family(
            "counter",
            "coopbot_outbox_send_failures",
            "Outbox sends that failed (retried with back-off or given up), by platform",
            ("platform",),
        )
        self.scheduler_lag = _Family(
            "gauge",
            "coopbot_scheduler_lag_seconds",
            "How long the earliest due scheduled work has been waiting (0 when none is late)",
        )
        self.adapter_connected = _Family(
            "gauge",
            "coopbot_adapter_connected",
            "1 while the platform adapter is connected, by platform",
            ("platform",),
        )
        self._families = [
            self.commands,
            self.latency,
            self.votes,
            self.outbox_pending,
            self.outbox_oldest,
            self.outbox_dead,
            self.outbox_failures,
            self.scheduler_lag,
            self.adapter_connected,
        ]

    def command_done(self, command: str, outcome: str, seconds: float) -> None:
        """The dispatcher's observer: one command finished."""
        self.commands.labels(command=command, outcome=outcome).inc()
        self.latency.labels(command=command).observe(seconds)
        if command == "vote" and outcome == "ok":
            self.votes.inc()

    def exposition(self) -> bytes:
        """The metrics in the Prometheus text format (imports prometheus_client)."""
        from prometheus_client import CollectorRegistry, generate_latest

        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Collector(self._families))
        return bytes(generate_latest(registry))


class _Collector:
    """The families as prometheus_client metric families, as its own Counter, Gauge and
    Histogram would expose them (with their `_created` samples)."""

    def __init__(self, families: list[_Family]) -> None:
        self._families = families

    def collect(self) -> Iterator[Any]:
        from prometheus_client.metrics_core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )
        from prometheus_client.samples import Sample

        for family in self._families:
            names = list(family.labelnames)
            series = list(family.children.items())
            if family.kind == "counter":
                counter = CounterMetricFamily(family.name, family.documentation, labels=names)
                for key, child in series:
                    counter.add_metric(list(key), child.value, created=child.created)
                yield counter
            elif family.kind == "gauge":
                gauge = GaugeMetricFamily(family.name, family.documentation, labels=names)
                for key, child in series:
                    gauge.add_metric(list(key), child.value)
                yield gauge
            else:
                histogram = HistogramMetricFamily(family.name, family.documentation, labels=names)
                for key, child in series:
                    buckets, total = [], 0
                    for bound, count in zip(
                        [*child.bounds, float("inf")], child.counts, strict=True
                    ):
                        total += count
                        buckets.append((_le(bound), float(total)))
                    histogram.add_metric(list(key), buckets, child.sum)
                    histogram.samples.append(
                        Sample(
                            f"{family.name}_created",
                            dict(zip(names, key, strict=True)),
                            child.created,
                        )
                    )
                yield histogram


def _le(bound: float) -> str:
    """A bucket bound as prometheus_client writes it (`0.005`, `1.0`, `+Inf`)."""
    return "+Inf" if bound == float("inf") else repr(float(bound))
