"""The schema as SQLAlchemy Core tables. Alembic's migrations create exactly this (a test
compares them); change both together.

Times are stored in UTC: TIMESTAMPTZ on PostgreSQL, naive UTC text on SQLite; Python
always sees timezone-aware UTC datetimes (`UTCDateTime`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

JOB_STATUSES = ("queued", "running", "done", "failed", "cancelled")
ACTIVE_STATUSES = ("queued", "running")
FINAL_STATUSES = ("done", "failed", "cancelled")

metadata = sa.MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})


class UTCDateTime(sa.TypeDecorator):
    """Aware UTC datetimes in and out, on both backends. Naive values are refused."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: storage takes timezone-aware times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


def _status_in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


users = sa.Table(
    "users", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("telegram_id", sa.BigInteger, nullable=True, unique=True),
    sa.Column("name", sa.String(200), nullable=False, server_default=""),
    sa.Column("language", sa.String(16), nullable=False, server_default="en"),
    sa.Column("settings", JSONType, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

jobs = sa.Table(
    "jobs", metadata,
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("options", JSONType, nullable=False),
    sa.Column("dedupe_key", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="queued"),
    sa.Column("stage", sa.String(32), nullable=False, server_default=""),
    sa.Column("progress", sa.Float, nullable=False, server_default="0"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("max_attempts", sa.Integer, nullable=False, server_default="3"),
    sa.Column("run_after", UTCDateTime, nullable=False),
    sa.Column("lease_owner", sa.String(200), nullable=True),
    sa.Column("lease_expires_at", UTCDateTime, nullable=True),
    # The process holding the lease (storage.models.LeaseHolder): host, pid, start time.
    sa.Column("lease_host", sa.String(255), nullable=True),
    sa.Column("lease_pid", sa.Integer, nullable=True),
    sa.Column("lease_started", sa.Float, nullable=True),
    sa.Column("cancel_requested", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("error_detail", sa.Text, nullable=True),
    sa.Column("result", JSONType, nullable=True),
    sa.Column("chat_id", sa.BigInteger, nullable=True),
    sa.Column("status_message_id", sa.BigInteger, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=True),
    sa.Column("finished_at", UTCDateTime, nullable=True),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.CheckConstraint(_status_in("status", JOB_STATUSES), name="status"),
    sa.CheckConstraint("progress >= 0 AND progress <= 1", name="progress"),
    sa.CheckConstraint("max_attempts >= 1", name="max_attempts"),
    # The claim query: queued jobs due by run_after; running jobs by lease expiry.
    sa.Index("ix_jobs_status_run_after", "status", "run_after"),
    sa.Index("ix_jobs_status_lease_expires_at", "status", "lease_expires_at"),
    # Per-user running counts, each user's queue order, a person's job list.
    sa.Index("ix_jobs_user_id_status_created_at", "user_id", "status", "created_at"),
    sa.Index("ix_jobs_created_at", "created_at"),
    # One active job per (user, source, options): makes enqueue idempotent and race-safe.
    sa.Index(
        "uq_jobs_active_dedupe_key", "dedupe_key", unique=True,
        sqlite_where=sa.text(_status_in("status", ACTIVE_STATUSES)),
        postgresql_where=sa.text(_status_in("status", ACTIVE_STATUSES)),
    ),
)

clips = sa.Table(
    "clips", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("job_id", sa.String(16), sa.ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("rank", sa.Integer, nullable=False),
    sa.Column("start", sa.Float, nullable=False),
    sa.Column("end", sa.Float, nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("breakdown", JSONType, nullable=False),
    sa.Column("reasons", JSONType, nullable=False),
    sa.Column("text", sa.Text, nullable=False, server_default=""),
    sa.Column("file", sa.Text, nullable=True),
    sa.Column("thumbnail", sa.Text, nullable=True),
    sa.Column("telegram_file_id", sa.String(255), nullable=True),
    sa.Column("delivered_at", UTCDateTime, nullable=True),
    sa.UniqueConstraint("job_id", "rank"),
)

feedback = sa.Table(
    "feedback", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("clip_id", sa.Integer, sa.ForeignKey("clips.id", ondelete="CASCADE"), nullable=False),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("vote", sa.Integer, nullable=False),   # 1 👍, -1 👎, 0 none (only kept)
    sa.Column("created_at", UTCDateTime, nullable=False),
    # The person asked for the clip again (another layout, longer, shorter): a like.
    sa.Column("kept", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.UniqueConstraint("clip_id", "user_id"),
    sa.Index("ix_feedback_user_id", "user_id"),
)

job_events = sa.Table(
    "job_events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("job_id", sa.String(16), sa.ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("data", JSONType, nullable=False),
    sa.Index("ix_job_events_job_id_at", "job_id", "at"),
)

# A link or upload a person sent, waiting for them to pick a layout (callback data carries
# only this short id: Telegram allows 64 bytes).
requests = sa.Table(
    "requests", metadata,
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("chat_id", sa.BigInteger, nullable=False),
    sa.Column("message_id", sa.BigInteger, nullable=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("title", sa.Text, nullable=False, server_default=""),
    sa.Column("duration", sa.Float, nullable=True),
    sa.Column("options", JSONType, nullable=False),
    sa.Column("job_id", sa.String(16), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_requests_user_id_created_at", "user_id", "created_at"),
)

# Scoring weights learnt from a person's votes: one row for all their jobs (template ""),
# one per channel template they have voted enough on.
learnt_weights = sa.Table(
    "learnt_weights", metadata,
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("template", sa.String(64), primary_key=True, server_default=""),
    sa.Column("weights", JSONType, nullable=False),
    sa.Column("votes", sa.Integer, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)
