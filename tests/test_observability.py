"""Logs (JSON, job ids, secrets scrubbed) and the Prometheus endpoint."""

from __future__ import annotations

import io
import json
import logging
import socket
import urllib.request

from pipeline.jobs import metrics
from pipeline.jobs.logs import configure_logging, job_context, known_secrets


def test_json_lines_carry_the_job_id_and_hide_secrets(monkeypatch):
    token = "123456:AAsecret-token-value"
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", token)
    stream = io.StringIO()
    handler = configure_logging("INFO", True, known_secrets("postgresql+asyncpg://u:pa55word@db/x"), stream=stream)
    try:
        log = logging.getLogger("clipfactory.test")
        log.info("outside any job")
        with job_context("job42"):
            log.info("calling https://api.telegram.org/bot%s/sendMessage", token)
            log.warning("db is postgresql+asyncpg://u:pa55word@db/x")
            try:
                raise RuntimeError(f"boom {token}")
            except RuntimeError:
                log.exception("failed")
    finally:
        logging.getLogger().removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["job_id"] for line in lines] == ["-", "job42", "job42", "job42"]
    text = stream.getvalue()
    assert token not in text and "pa55word" not in text
    assert "bot***/sendMessage" in text and "boom ***" in text


def test_plain_lines_too():
    stream = io.StringIO()
    handler = configure_logging("INFO", False, (), stream=stream)
    try:
        with job_context("abc"):
            logging.getLogger("x").info("hello")
    finally:
        logging.getLogger().removeHandler(handler)
    assert "[job abc] hello" in stream.getvalue()


def test_metrics_endpoint_serves_the_counters():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    metrics.serve("127.0.0.1", port)
    metrics.record_counts({"queued": 3, "running": 1, "done": 7, "failed": 0, "cancelled": 0})
    metrics.STAGE_SECONDS.labels("asr").observe(4.2)
    metrics.FAILURES.labels("NoAudioError").inc()
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    assert "clipfactory_queue_depth 3.0" in body
    assert 'clipfactory_jobs{status="done"} 7.0' in body
    assert 'clipfactory_stage_seconds_count{stage="asr"}' in body
    assert 'clipfactory_job_failures_total{reason="NoAudioError"}' in body
    assert "clipfactory_clips_sent_total" in body
