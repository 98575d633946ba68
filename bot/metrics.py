"""Prometheus metrics served at GET /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

SLACK_REQUESTS = Counter(
    "countersign_slack_requests_total", "Slack requests received", ["kind", "status"]
)
ACK_LATENCY = Histogram(
    "countersign_slack_ack_seconds", "Time from request to HTTP response to Slack",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5),
)
OUTBOX_DELIVERED = Counter("countersign_outbox_delivered_total", "Outbox calls delivered",
                           ["method"])
OUTBOX_RETRIED = Counter("countersign_outbox_retried_total", "Outbox calls to retry",
                         ["reason"])
OUTBOX_FAILED = Counter("countersign_outbox_failed_total", "Outbox calls given up", ["method"])
OUTBOX_RECONCILED = Counter(
    "countersign_outbox_reconciled_total",
    "Uncertain deliveries found already posted, so not posted again",
)
OUTBOX_LAG = Histogram("countersign_outbox_lag_seconds", "Enqueue to delivery",
                       buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300))
TIMERS_FIRED = Counter("countersign_timers_fired_total", "Durable timers fired", ["kind"])
TIMER_LATENESS = Histogram("countersign_timer_lateness_seconds", "due_at to fired",
                           buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60))
IS_LEADER = Gauge("countersign_clock_leader", "1 when this process leads the clock")
USAGE_EVENTS = Counter("countersign_usage_events_total", "AI usage events received",
                       ["source", "outcome"])
INGEST_IN_HAND = Gauge("countersign_ingest_batches_in_hand",
                       "Ingestion batches being worked on or waiting")
INGEST_OVERLOADED = Counter("countersign_ingest_overloaded_total",
                            "Ingestion requests told to retry later (429)")
GITHUB_WEBHOOKS = Counter("countersign_github_webhooks_total", "GitHub webhook deliveries received",
                          ["event", "status"])
GITHUB_ACK_LATENCY = Histogram(
    "countersign_github_ack_seconds", "Time from a GitHub delivery to its HTTP response",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10),
)
GITHUB_DELIVERIES = Counter("countersign_github_deliveries_total",
                            "GitHub deliveries worked on, by how they ended", ["outcome"])
