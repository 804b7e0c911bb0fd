"""The job queue: enqueue, claim, lease, progress, finish, cancel, and the reads about jobs.

Every function takes an AsyncEngine (or an async_sessionmaker bound to one) first and
runs its own short transaction. Times are timezone-aware UTC; `now=` may be passed to
pin the clock (tests, replays).

Life of a job::

    enqueue -> queued --claim--> running --complete--> done
                 ^   \\                 |--fail(transient, attempts left)--> queued (run_after later)
                 |    cancel           |--fail(other / attempts used up)--> failed
                 |      \\              |--cancel -> cancel_requested --mark_cancelled--> cancelled
                 |       cancelled     |--release (SIGTERM) --> queued, the attempt given back
                 '--- lease expired: the next claim takes it over ---'
                 '--- holder process gone (same host): taken over at once ---'

Attempts are counted when a job is claimed. A worker that dies (its lease runs out) has
used its attempt: the job goes to the next claimer while attempts < max_attempts, and is
failed when they are used up, so a video that kills its worker every time (out of memory
on a huge stream) cannot loop forever. `release` gives the attempt back: a clean shutdown
is not the job's fault.

A lease records its holder process (`LeaseHolder`: host, pid, start time). A claimer on the
same host asks `holder_gone` about the running jobs held there, and a job whose worker
process has died is taken over at once, as if its lease had run out (the attempt it used
counts): a crashed worker's job does not wait out its lease when a worker restarts on
the same machine. Leases held on other hosts can only run out (`foreign_leases` lists them).

Fair order: runnable jobs are ordered by (running jobs of the job's user + the job's place
in its user's queue, created_at, id), computed with ROW_NUMBER() OVER (PARTITION BY
user_id ...). So one person's tenth job waits behind everyone else's first, and a user
never gets more than `per_user_limit` jobs running at once.

Claims are exclusive. SQLite: the whole claim is one BEGIN IMMEDIATE transaction (the
single writer lock), so the first job in fair order is taken as is. PostgreSQL: the fair
order is computed without locks, then the candidates are locked one by one in that order
with SELECT ... FOR UPDATE SKIP LOCKED (a claimer never waits for another's job), and
claims for one user are serialised by a row lock on the user followed by a fresh count,
so the per-user limit holds under any number of concurrent claimers.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker

from storage.db import read_tx, utcnow, write_tx
from storage.models import HeartbeatResult, Job, LeaseHolder, row_to
from storage.records import (  # noqa: F401  (re-exported: the brief's storage.queue API)
    add_event,
    add_feedback,
    clips_for,
    delete_learnt_weights,
    ensure_user,
    events_for,
    feedback_examples,
    feedback_for,
    get_clip,
    get_learnt_weights,
    get_user,
    mark_delivered,
    mark_kept,
    record_clips,
    save_learnt_weights,
    set_clip_file_id,
    update_user,
)
from storage.tables import JOB_STATUSES, clips, job_events, jobs, users

Db = AsyncEngine | async_sessionmaker

RETRY_BASE_S = 30.0
RETRY_CAP_S = 900.0
LOST_WORKER_ERROR = "Processing stopped unexpectedly several times, so I gave up on this video."
_ID_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"  # no 0/o, 1/i/l
_ID_LENGTH = 10


# --- helpers ------------------------------------------------------------------------

def new_job_id() -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(_ID_LENGTH))


def dedupe_key(user_id: int, source: str, options: dict[str, Any]) -> str:
    """The same user, source and options (key order ignored) give the same key."""
    blob = json.dumps([int(user_id), source.strip(), options], sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def retry_delay(attempts: int) -> float:
    """Seconds before a transiently failed job may run again: 30 s, 60 s, 120 s, ... ≤ 15 min."""
    return min(RETRY_BASE_S * 2 ** max(attempts - 1, 0), RETRY_CAP_S)


def _job_select() -> sa.Select:
    n_clips = (sa.select(sa.func.count()).select_from(clips)
               .where(clips.c.job_id == jobs.c.id).scalar_subquery())
    return sa.select(*[c for c in jobs.c if c.name != "dedupe_key"], n_clips.label("clips"))


async def _get(conn: AsyncConnection, job_id: str) -> Job | None:
    row = (await conn.execute(_job_select().where(jobs.c.id == job_id))).mappings().first()
    return None if row is None else row_to(Job, row)


def _owned(job_id: str, worker_id: str) -> sa.ColumnElement[bool]:
    return sa.and_(jobs.c.id == job_id, jobs.c.lease_owner == worker_id,
                   jobs.c.status == "running")


def _is_pg(conn: AsyncConnection) -> bool:
    return conn.dialect.name == "postgresql"


# --- enqueue ------------------------------------------------------------------------

async def enqueue(db: Db, user_id: int, source: str, options: dict[str, Any],
                  max_attempts: int = 3, *, chat_id: int | None = None,
                  status_message_id: int | None = None,
                  now: datetime | None = None) -> tuple[Job, bool]:
    """Queue a job; returns (job, created). While the same user's job for the same source
    and options is queued or running, that job comes back with created=False. `chat_id` and
    `status_message_id` say where the job's live status is shown (not part of its identity)."""
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    now = utcnow(now)
    options = dict(options or {})
    key = dedupe_key(user_id, source, options)
    last: Exception | None = None
    for _ in range(8):
        try:
            async with write_tx(db) as conn:
                existing = (await conn.execute(
                    sa.select(jobs.c.id).where(jobs.c.dedupe_key == key,
                                               jobs.c.status.in_(("queued", "running")))
                )).scalar()
                if existing is not None:
                    job = await _get(conn, existing)
                    assert job is not None
                    return job, False
                job_id = new_job_id()
                await conn.execute(jobs.insert().values(
                    id=job_id, user_id=user_id, source=source.strip(), options=options,
                    dedupe_key=key, status="queued", stage="", progress=0.0, attempts=0,
                    max_attempts=max_attempts, run_after=now, cancel_requested=False,
                    chat_id=chat_id, status_message_id=status_message_id,
                    created_at=now, updated_at=now,
                ))
                job = await _get(conn, job_id)
                assert job is not None
                return job, True
        except IntegrityError as exc:
            # A concurrent enqueue of the same thing won the partial unique index (or, very
            # rarely, the random id collided, or the user does not exist): look again.
            last = exc
            async with read_tx(db) as conn:
                if (await conn.execute(sa.select(users.c.id).where(users.c.id == user_id))
                        ).first() is None:
                    raise ValueError(f"no user with id {user_id}") from exc
    raise RuntimeError("enqueue kept conflicting; giving up") from last


# --- claim --------------------------------------------------------------------------

def _runnable(t: Any, now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(
        sa.and_(t.c.status == "queued", t.c.run_after <= now),
        sa.and_(t.c.status == "running", t.c.lease_expires_at <= now),
    )


def _running_counts(now: datetime) -> sa.Subquery:
    r = jobs.alias("r_jobs")
    return (sa.select(r.c.user_id, sa.func.count().label("n"))
            .where(r.c.status == "running", r.c.lease_expires_at > now)
            .group_by(r.c.user_id).subquery("running"))


def _ranked_query(now: datetime, per_user_limit: int | None, skip_users: set[int],
                  tried: set[str], n: int) -> sa.Select:
    """Runnable jobs in fair order, the first `n`: (running jobs of the user + place in the
    user's runnable queue, created_at, id), leaving out users at their limit."""
    w = jobs.alias("w_jobs")
    where = [_runnable(w, now)]
    if skip_users:
        where.append(w.c.user_id.not_in(sorted(skip_users)))
    if tried:
        where.append(w.c.id.not_in(sorted(tried)))
    ranked = sa.select(
        w.c.id, w.c.user_id, w.c.status, w.c.lease_owner, w.c.created_at,
        sa.func.row_number().over(partition_by=w.c.user_id,
                                  order_by=(w.c.created_at, w.c.id)).label("pos"),
    ).where(*where).subquery("ranked")
    running = _running_counts(now)
    n_running = sa.func.coalesce(running.c.n, 0)
    q = (sa.select(ranked.c.id, ranked.c.user_id, ranked.c.status, ranked.c.lease_owner)
         .select_from(ranked.outerjoin(running, running.c.user_id == ranked.c.user_id))
         .order_by(n_running + ranked.c.pos, ranked.c.created_at, ranked.c.id)
         .limit(n))
    if per_user_limit is not None:
        q = q.where(n_running < per_user_limit)
    return q


async def _pg_lock_job(conn: AsyncConnection, job_id: str, now: datetime) -> Any:
    """Lock one candidate if no other claimer has it and it is still runnable, else None."""
    return (await conn.execute(
        sa.select(jobs.c.id, jobs.c.user_id, jobs.c.status, jobs.c.lease_owner)
        .where(jobs.c.id == job_id, _runnable(jobs, now))
        .with_for_update(skip_locked=True)
    )).first()


async def _pg_user_has_room(conn: AsyncConnection, user_id: int, job_id: str, now: datetime,
                            per_user_limit: int, wait: bool) -> bool:
    """Serialise claims per user with a row lock on the user, then count again: the
    ranking's snapshot may miss a claim for this user committed meanwhile. NO KEY UPDATE
    does not conflict with the key-share lock an enqueue's foreign key takes. Only a
    claimer holding no user lock yet waits (another claim's few ms); one that already holds
    one skips locked users instead, so two claimers never wait on each other (no deadlock)."""
    locked = (await conn.execute(
        sa.select(users.c.id).where(users.c.id == user_id)
        .with_for_update(key_share=True, skip_locked=not wait)
    )).first()
    if locked is None:
        return False
    n = (await conn.execute(sa.select(sa.func.count()).select_from(jobs).where(
        jobs.c.user_id == user_id, jobs.c.status == "running", jobs.c.lease_expires_at > now,
        jobs.c.id != job_id))).scalar_one()
    return n < per_user_limit


async def _sweep_lost(conn: AsyncConnection, now: datetime) -> None:
    """Jobs whose worker is gone and which must not run again: cancel requested, or no
    attempts left. They are finished here, before picking the next job."""
    dead = sa.and_(jobs.c.status == "running", jobs.c.lease_expires_at <= now,
                   sa.or_(jobs.c.cancel_requested, jobs.c.attempts >= jobs.c.max_attempts))
    ids = sa.select(jobs.c.id).where(dead).with_for_update(skip_locked=True).scalar_subquery()
    rows = (await conn.execute(
        jobs.update().where(jobs.c.id.in_(ids), dead).values(
            status=sa.case((jobs.c.cancel_requested, "cancelled"), else_="failed"),
            error=sa.case((jobs.c.cancel_requested, jobs.c.error), else_=LOST_WORKER_ERROR),
            error_detail=sa.case(
                (jobs.c.cancel_requested, jobs.c.error_detail),
                else_="the worker's lease expired after the last attempt",
            ),
            finished_at=now, lease_expires_at=None, updated_at=now,
        ).returning(jobs.c.id, jobs.c.status, jobs.c.lease_owner)
    )).all()
    if rows:
        await conn.execute(job_events.insert(), [
            {"job_id": r.id, "at": now, "kind": "lease_expired",
             "data": {"worker": r.lease_owner, "outcome": r.status}} for r in rows])


async def _expire_gone_holders(conn: AsyncConnection, host: str,
                               holder_gone: Callable[[LeaseHolder], bool], now: datetime) -> None:
    """End at once the leases held on `host` by processes that are gone."""
    held = (await conn.execute(
        sa.select(jobs.c.id, jobs.c.lease_owner, jobs.c.lease_pid, jobs.c.lease_started)
        .where(jobs.c.status == "running", jobs.c.lease_expires_at > now,
               jobs.c.lease_host == host, jobs.c.lease_pid.is_not(None))
    )).all()
    for row in held:
        if not holder_gone(LeaseHolder(host, row.lease_pid, row.lease_started or 0.0)):
            continue
        res = await conn.execute(jobs.update().where(
            _owned(row.id, row.lease_owner), jobs.c.lease_pid == row.lease_pid,
        ).values(lease_expires_at=now, updated_at=now))
        if res.rowcount == 1:
            await conn.execute(job_events.insert().values(
                job_id=row.id, at=now, kind="holder_gone",
                data={"worker": row.lease_owner, "host": host, "pid": row.lease_pid}))


async def claim(db: Db, worker_id: str, lease_s: float, per_user_limit: int | None = 2, *,
                holder: LeaseHolder | None = None,
                holder_gone: Callable[[LeaseHolder], bool] | None = None,
                now: datetime | None = None) -> Job | None:
    """Take the next runnable job for `worker_id`, or None when there is none (or every
    user with queued work is at `per_user_limit`; None means no limit). The job becomes
    running, leased to the worker until now + lease_s, with attempts + 1; keep the lease
    with `heartbeat`. Jobs whose lease ran out are taken over here (see the module notes).
    `holder` is recorded with the lease; with `holder_gone` too, the leases held on the
    same host by processes it says are gone end first, so their jobs are taken over now."""
    if lease_s <= 0:
        raise ValueError("lease_s must be positive")
    now = utcnow(now)
    expires = now + timedelta(seconds=lease_s)
    async with write_tx(db) as conn:
        pg = _is_pg(conn)
        if holder is not None and holder_gone is not None:
            await _expire_gone_holders(conn, holder.host, holder_gone, now)
        await _sweep_lost(conn, now)
        skip_users: set[int] = set()
        tried: set[str] = set()
        while True:
            # SQLite: this transaction holds the writer lock, so the first candidate is ours.
            # PostgreSQL: rank without locks (a window function cannot sit beside FOR
            # UPDATE, and a locking self-join plans badly on small unanalysed tables), then
            # lock candidates one by one in that order with SKIP LOCKED.
            cands = (await conn.execute(
                _ranked_query(now, per_user_limit, skip_users, tried, 16 if pg else 1))).all()
            if not cands:
                return None
            for cand in cands:
                if cand.user_id in skip_users:
                    continue
                tried.add(cand.id)
                if pg:
                    cand = await _pg_lock_job(conn, cand.id, now)
                    if cand is None:  # another claimer has it
                        continue
                    if per_user_limit is not None and not await _pg_user_has_room(
                            conn, cand.user_id, cand.id, now, per_user_limit,
                            wait=not skip_users):
                        skip_users.add(cand.user_id)
                        continue
                await conn.execute(jobs.update().where(jobs.c.id == cand.id).values(
                    status="running", lease_owner=worker_id, lease_expires_at=expires,
                    lease_host=holder.host if holder else None,
                    lease_pid=holder.pid if holder else None,
                    lease_started=holder.started if holder else None,
                    started_at=now, attempts=jobs.c.attempts + 1, updated_at=now,
                ))
                if cand.status == "running":  # taken over from a worker whose lease ran out
                    await conn.execute(job_events.insert().values(
                        job_id=cand.id, at=now, kind="lease_expired",
                        data={"worker": cand.lease_owner, "outcome": "reclaimed",
                              "by": worker_id}))
                return await _get(conn, cand.id)


# --- while running ------------------------------------------------------------------

async def heartbeat(db: Db, job_id: str, worker_id: str, lease_s: float, *,
                    now: datetime | None = None) -> HeartbeatResult:
    """Extend the lease to now + lease_s if this worker still owns the running job."""
    now = utcnow(now)
    expires = now + timedelta(seconds=lease_s)
    async with write_tx(db) as conn:
        row = (await conn.execute(
            jobs.update().where(_owned(job_id, worker_id))
            .values(lease_expires_at=expires, updated_at=now)
            .returning(jobs.c.cancel_requested, jobs.c.lease_expires_at)
        )).first()
        if row is not None:
            return HeartbeatResult(lease_lost=False, cancel_requested=bool(row.cancel_requested),
                                   lease_expires_at=row.lease_expires_at)
        cancel = (await conn.execute(
            sa.select(jobs.c.cancel_requested).where(jobs.c.id == job_id))).scalar()
        return HeartbeatResult(lease_lost=True, cancel_requested=bool(cancel))


async def set_progress(db: Db, job_id: str, worker_id: str, stage: str, progress: float, *,
                       now: datetime | None = None) -> bool:
    """Record the stage and progress (clamped to 0..1). False if the lease is lost."""
    now = utcnow(now)
    progress = min(max(float(progress), 0.0), 1.0)
    stage = stage[:32]  # the column's width
    async with write_tx(db) as conn:
        res = await conn.execute(jobs.update().where(_owned(job_id, worker_id))
                                 .values(stage=stage, progress=progress, updated_at=now))
        return res.rowcount == 1


async def complete(db: Db, job_id: str, worker_id: str, result: dict[str, Any], *,
                   now: datetime | None = None) -> bool:
    """The job is done with `result`. False (and nothing written) if the lease is lost."""
    now = utcnow(now)
    async with write_tx(db) as conn:
        res = await conn.execute(jobs.update().where(_owned(job_id, worker_id)).values(
            status="done", progress=1.0, result=dict(result or {}), error=None,
            error_detail=None, finished_at=now, lease_expires_at=None, updated_at=now))
        return res.rowcount == 1


async def fail(db: Db, job_id: str, worker_id: str, error: str, detail: str = "",
               transient: bool = False, *, now: datetime | None = None) -> str | None:
    """Record a failure. `error` is the message for the person, `detail` for the logs.
    Transient failures go back to the queue after `retry_delay(attempts)` while attempts
    remain; others (bad input) and the last attempt fail the job. A job whose cancel was
    requested is cancelled instead of retried. Returns the new status ("queued",
    "failed" or "cancelled"), or None if the lease was lost (nothing written)."""
    now = utcnow(now)
    async with write_tx(db) as conn:
        row = (await conn.execute(
            sa.select(jobs.c.attempts, jobs.c.max_attempts, jobs.c.cancel_requested)
            .where(_owned(job_id, worker_id)).with_for_update()
        )).first()
        if row is None:
            return None
        common = dict(error=error, error_detail=detail or None, lease_expires_at=None,
                      updated_at=now)
        values: dict[str, Any]
        if row.cancel_requested:
            status, values = "cancelled", dict(finished_at=now)
        elif transient and row.attempts < row.max_attempts:
            status = "queued"
            values = dict(lease_owner=None,
                          run_after=now + timedelta(seconds=retry_delay(row.attempts)))
        else:
            status, values = "failed", dict(finished_at=now)
        res = await conn.execute(jobs.update().where(_owned(job_id, worker_id))
                                 .values(status=status, **common, **values))
        if res.rowcount != 1:
            return None
        await conn.execute(job_events.insert().values(
            job_id=job_id, at=now, kind="retry" if status == "queued" else status,
            data={"error": error, "transient": transient, "attempts": row.attempts,
                  **({"run_after": values["run_after"].isoformat()} if status == "queued" else {})}))
        return status


async def release(db: Db, job_id: str, worker_id: str, *, now: datetime | None = None) -> bool:
    """Give a running job back (worker shutting down): queued again at once, the attempt
    not counted; cancelled instead if a cancel was requested. False if the lease is lost."""
    now = utcnow(now)
    async with write_tx(db) as conn:
        cancelled = jobs.c.cancel_requested
        res = await conn.execute(jobs.update().where(_owned(job_id, worker_id)).values(
            status=sa.case((cancelled, "cancelled"), else_="queued"),
            finished_at=sa.case((cancelled, now), else_=None),
            attempts=sa.case((jobs.c.attempts > 0, jobs.c.attempts - 1), else_=0),
            lease_owner=None, lease_expires_at=None, run_after=now, updated_at=now))
        return res.rowcount == 1


async def cancel(db: Db, job_id: str, user_id: int | None = None, *,
                 now: datetime | None = None) -> bool:
    """Cancel a job: a queued one at once, a running one by setting cancel_requested (its
    worker stops at the next checkpoint and calls `mark_cancelled`). With `user_id`, only
    that user's job. False when not found, not theirs, or already finished."""
    now = utcnow(now)
    async with write_tx(db) as conn:
        row = (await conn.execute(
            sa.select(jobs.c.status, jobs.c.user_id).where(jobs.c.id == job_id).with_for_update()
        )).first()
        if row is None or (user_id is not None and row.user_id != user_id):
            return False
        if row.status == "queued":
            values = dict(status="cancelled", cancel_requested=True, finished_at=now,
                          updated_at=now)
        elif row.status == "running":
            values = dict(cancel_requested=True, updated_at=now)
        else:
            return False
        res = await conn.execute(jobs.update()
                                 .where(jobs.c.id == job_id, jobs.c.status == row.status)
                                 .values(**values))
        if res.rowcount == 1:
            await conn.execute(job_events.insert().values(
                job_id=job_id, at=now, kind="cancel",
                data={"was": row.status, "by_user": user_id}))
        return res.rowcount == 1


async def mark_cancelled(db: Db, job_id: str, worker_id: str, *,
                         now: datetime | None = None) -> bool:
    """The worker stopped a job whose cancel was requested. False if the lease is lost."""
    now = utcnow(now)
    async with write_tx(db) as conn:
        res = await conn.execute(jobs.update().where(_owned(job_id, worker_id)).values(
            status="cancelled", cancel_requested=True, finished_at=now, lease_expires_at=None,
            updated_at=now))
        return res.rowcount == 1


# --- reads --------------------------------------------------------------------------

async def get_job(db: Db, job_id: str) -> Job | None:
    async with read_tx(db) as conn:
        return await _get(conn, job_id)


async def list_jobs(db: Db, user_id: int | None = None, limit: int = 50, *,
                    status: str | tuple[str, ...] | None = None) -> list[Job]:
    """Newest first; one user's, or everyone's; optionally only some statuses."""
    q = _job_select().order_by(jobs.c.created_at.desc(), jobs.c.id.desc()).limit(limit)
    if user_id is not None:
        q = q.where(jobs.c.user_id == user_id)
    if status is not None:
        q = q.where(jobs.c.status.in_((status,) if isinstance(status, str) else status))
    async with read_tx(db) as conn:
        return [row_to(Job, r) for r in (await conn.execute(q)).mappings()]


async def queue_position(db: Db, job_id: str, *, now: datetime | None = None) -> int | None:
    """1 = the next job a worker will claim (in the fair order); None if not queued."""
    now = utcnow(now)
    w = jobs.alias("w_jobs")
    per_user = sa.select(
        w.c.id, w.c.user_id, w.c.created_at,
        sa.func.row_number().over(partition_by=w.c.user_id,
                                  order_by=(w.c.created_at, w.c.id)).label("pos"),
    ).where(w.c.status == "queued").subquery("per_user")
    running = _running_counts(now)
    key = sa.func.coalesce(running.c.n, 0) + per_user.c.pos
    ordered = (sa.select(
        per_user.c.id,
        sa.func.row_number().over(order_by=(key, per_user.c.created_at, per_user.c.id)).label("n"))
        .select_from(per_user.outerjoin(running, running.c.user_id == per_user.c.user_id))
        .subquery("ordered"))
    async with read_tx(db) as conn:
        return (await conn.execute(sa.select(ordered.c.n).where(ordered.c.id == job_id))).scalar()


async def foreign_leases(db: Db, host: str, *, now: datetime | None = None) -> dict[str, datetime]:
    """Running jobs whose lease, still in time, is held elsewhere than `host` (or by a worker
    that did not say where it runs): job id -> lease expiry. Their workers may be alive or
    not; only the lease running out tells."""
    now = utcnow(now)
    async with read_tx(db) as conn:
        rows = (await conn.execute(
            sa.select(jobs.c.id, jobs.c.lease_expires_at).where(
                jobs.c.status == "running", jobs.c.lease_expires_at > now,
                sa.or_(jobs.c.lease_host.is_(None), jobs.c.lease_host != host))
        )).all()
    return {r.id: r.lease_expires_at for r in rows}


async def counts_by_status(db: Db) -> dict[str, int]:
    """Every status with its number of jobs (zeros included)."""
    async with read_tx(db) as conn:
        rows = (await conn.execute(
            sa.select(jobs.c.status, sa.func.count()).group_by(jobs.c.status))).all()
    out = dict.fromkeys(JOB_STATUSES, 0)
    out.update({status: n for status, n in rows})
    return out


__all__ = [
    "RETRY_BASE_S", "RETRY_CAP_S", "add_event", "add_feedback", "cancel", "claim",
    "clips_for", "complete", "counts_by_status", "dedupe_key", "ensure_user", "events_for",
    "fail", "foreign_leases",
    "feedback_for", "get_clip", "get_job", "get_user", "heartbeat", "list_jobs", "mark_cancelled",
    "mark_delivered", "new_job_id", "queue_position", "record_clips", "release",
    "retry_delay", "set_clip_file_id", "set_progress", "update_user",
    "delete_learnt_weights", "feedback_examples", "get_learnt_weights", "mark_kept",
    "save_learnt_weights",
]
