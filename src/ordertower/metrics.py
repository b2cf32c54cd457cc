"""What a process counts as it works (Prometheus instruments, prometheus-client).

These are per process: the API node counts its requests, each worker its claims, records
and callouts. What the database knows (orders and items by state, fallout, queue lag,
jeopardy) is read at scrape time instead (``adapters/store/metrics_queries.py``), so every
node reports the same, true figures.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram, disable_created_metrics

disable_created_metrics()  # the *_created series only double what Prometheus already knows

CALLOUTS = Counter(
    "ordertower_callouts", "Callouts made to fulfillment systems, by outcome: ok, accepted "
    "(asynchronous reply to come), retryable (time-out, connection error, 429/5xx), fatal.",
    ["system", "outcome"])
CALLOUT_SECONDS = Histogram(
    "ordertower_callout_duration_seconds", "Time from sending a callout to its reply.",
    ["system"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
CLAIMS = Counter("ordertower_worker_claims", "Plan items claimed, by worker.", ["worker"])
RECORDS = Counter("ordertower_worker_records", "Outcomes recorded, by worker and the item's "
                  "new state.", ["worker", "state"])
RELEASES = Counter("ordertower_worker_releases", "Claimed items given back unrun (shutdown), "
                   "by worker.", ["worker"])
HTTP_REQUESTS = Counter("ordertower_http_requests", "HTTP requests answered, by method, route "
                        "template and status.", ["method", "route", "status"])
HTTP_SECONDS = Histogram("ordertower_http_request_duration_seconds", "Time to answer an HTTP "
                         "request, by method and route template.", ["method", "route"],
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))


def callout_outcome(outcome) -> str:
    """ok, accepted (an asynchronous reply is to come), retryable or fatal."""
    if outcome.ok:
        return "ok" if outcome.kind == "done" else "accepted"
    return "retryable" if outcome.retryable else "fatal"
