"""Prometheus metrics of one bot process. Labels are only command names, outcomes and
platform names (fixed sets): never text a member typed, a choice or a token."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The bot's counters and gauges in a registry of their own (no process-wide state)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.commands = Counter(
            "coopbot_commands",
            "Commands handled, by command name and outcome "
            "(ok, refused, duplicate, conflict, failed)",
            ["command", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "coopbot_command_seconds",
            "Time to handle one command, by command name",
            ["command"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.votes = Counter(
            "coopbot_votes_cast", "Votes recorded (new or changed)", registry=self.registry
        )
        self.outbox_pending = Gauge(
            "coopbot_outbox_pending",
            "Announcements waiting to be delivered, by platform",
            ["platform"],
            registry=self.registry,
        )
        self.outbox_oldest = Gauge(
            "coopbot_outbox_oldest_seconds",
            "Age of the oldest undelivered announcement",
            registry=self.registry,
        )
        self.outbox_dead = Gauge(
            "coopbot_outbox_dead",
            "Deliveries given up (dead letters a steward can retry), by platform",
            ["platform"],
            registry=self.registry,
        )
        self.outbox_failures = Counter(
            "coopbot_outbox_send_failures",
            "Outbox sends that failed (retried with back-off or given up), by platform",
            ["platform"],
            registry=self.registry,
        )
        self.scheduler_lag = Gauge(
            "coopbot_scheduler_lag_seconds",
            "How long the earliest due scheduled work has been waiting (0 when none is late)",
            registry=self.registry,
        )
        self.adapter_connected = Gauge(
            "coopbot_adapter_connected",
            "1 while the platform adapter is connected, by platform",
            ["platform"],
            registry=self.registry,
        )

    def command_done(self, command: str, outcome: str, seconds: float) -> None:
        """The dispatcher's observer: one command finished."""
        self.commands.labels(command=command, outcome=outcome).inc()
        self.latency.labels(command=command).observe(seconds)
        if command == "vote" and outcome == "ok":
            self.votes.inc()

    def exposition(self) -> bytes:
        """The registry in the Prometheus text format."""
        return bytes(generate_latest(self.registry))
