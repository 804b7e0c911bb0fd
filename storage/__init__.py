"""Persistence: the only package that speaks SQL.

Jobs (a fair, leased queue), users, clips, feedback, learnt weights and job events, on
SQLAlchemy 2 async: SQLite through aiosqlite by default (one file, WAL), PostgreSQL through
asyncpg when several worker hosts share one database. One schema, Alembic migrations in
``storage/migrations``, applied at start::

    from storage import make_engine, migrate, sqlite_url, enqueue, claim

    url = sqlite_url("data/clipfactory.db")   # or "postgresql+asyncpg://user@host/db"
    await migrate(url)
    db = make_engine(url)
    user = await ensure_user(db, telegram_id=42, name="Ann")
    job, created = await enqueue(db, user, "https://twitch.tv/videos/1", {"layout": "facecam_top"})
    job = await claim(db, "worker-1", lease_s=60)

The pipeline keeps each job's stage artifacts in its job folder (`pipeline.media.cache`); only
small records live here. See `storage.queue` for the job life cycle, lease semantics and
the fair order.
"""

from storage.db import make_engine, migrate, normalise_url, sqlite_url
from storage.models import Clip, HeartbeatResult, Job, JobEvent, LearntWeights, LeaseHolder, Request, User
from storage.queue import (
    add_event,
    add_feedback,
    cancel,
    claim,
    clips_for,
    complete,
    counts_by_status,
    delete_learnt_weights,
    enqueue,
    ensure_user,
    events_for,
    fail,
    feedback_examples,
    feedback_for,
    foreign_leases,
    get_clip,
    get_job,
    get_learnt_weights,
    get_user,
    heartbeat,
    list_jobs,
    mark_cancelled,
    mark_delivered,
    mark_kept,
    queue_position,
    record_clips,
    release,
    retry_delay,
    save_learnt_weights,
    set_clip_file_id,
    set_progress,
    update_user,
)
from storage.requests import create_request, get_request, update_request

__all__ = [
    "Clip", "HeartbeatResult", "Job", "JobEvent", "Request", "User",
    "create_request", "get_request", "update_request",
    "add_event", "add_feedback", "cancel", "claim", "clips_for", "complete",
    "counts_by_status", "ensure_user", "enqueue", "events_for", "fail", "feedback_for",
    "get_clip", "get_job", "get_user", "heartbeat", "list_jobs", "make_engine",
    "mark_cancelled", "mark_delivered", "migrate", "normalise_url",
    "queue_position", "record_clips", "release", "retry_delay", "set_clip_file_id",
    "set_progress", "sqlite_url", "update_user",
    "LeaseHolder", "foreign_leases",
    "LearntWeights", "delete_learnt_weights", "feedback_examples", "get_learnt_weights", "mark_kept",
    "save_learnt_weights",
]
