"""Logging: plain or JSON lines, the job id on every line logged while a job runs, and
secrets (the bot token, database passwords) scrubbed from every record."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Iterable, Iterator
from contextvars import ContextVar

from sqlalchemy.engine import make_url

job_id_var: ContextVar[str] = ContextVar("job_id", default="-")
PLAIN = "%(asctime)s %(levelname)s %(name)s [job %(job_id)s] %(message)s"


@contextlib.contextmanager
def job_context(job_id: str) -> Iterator[None]:
    token = job_id_var.set(job_id)
    try:
        yield
    finally:
        job_id_var.reset(token)


class JobContext(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.job_id = getattr(record, "job_id", None) or job_id_var.get()
        return True


class RedactSecrets(logging.Filter):
    """Replaces every known secret in the formatted message (and exception text) by ***."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            record.msg = self.redact(record.getMessage())
            record.args = ()
            if record.exc_info:
                record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
                record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {"ts": round(record.created, 3), "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)),
                "level": record.levelname, "logger": record.name, "job_id": getattr(record, "job_id", "-"),
                "message": record.getMessage()}
        if record.exc_text:
            data["exc"] = record.exc_text
        elif record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def known_secrets(database_url: str = "") -> list[str]:
    secrets = [os.environ.get("TELEGRAM_BOT_TOKEN", "")]
    for url in (database_url, os.environ.get("CLIPFACTORY_WORKER__DATABASE_URL", "")):
        if url:
            with contextlib.suppress(Exception):
                password = make_url(url).password
                secrets += [password or "", url]
    return [s for s in secrets if s]


def configure_logging(level: str = "INFO", as_json: bool = False, secrets: Iterable[str] = (),
                      stream=None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(JobContext())
    handler.addFilter(RedactSecrets(secrets))
    handler.setFormatter(JsonFormatter() if as_json else logging.Formatter(PLAIN))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    return handler
