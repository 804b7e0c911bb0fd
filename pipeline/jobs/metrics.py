"""Prometheus metrics (behind `metrics.enabled`): jobs by status, queue depth, stage
durations, clips sent, failures by reason."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

JOBS = Gauge("clipfactory_jobs", "Jobs by status", ["status"])
QUEUE_DEPTH = Gauge("clipfactory_queue_depth", "Jobs waiting to run")
STAGE_SECONDS = Histogram("clipfactory_stage_seconds", "Wall time of a pipeline stage", ["stage"],
                          buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600))
CLIPS_SENT = Counter("clipfactory_clips_sent_total", "Clips delivered to people")
FAILURES = Counter("clipfactory_job_failures_total", "Failed job attempts by reason", ["reason"])
JOBS_FINISHED = Counter("clipfactory_jobs_finished_total", "Jobs finished by outcome", ["outcome"])


def serve(host: str, port: int) -> None:
    start_http_server(port, addr=host)


def record_counts(counts: dict[str, int]) -> None:
    for status, n in counts.items():
        JOBS.labels(status).set(n)
    QUEUE_DEPTH.set(counts.get("queued", 0))
