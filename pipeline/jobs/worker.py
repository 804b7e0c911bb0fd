"""The worker: claims jobs from the queue and runs them, `slots` at a time.

The analysis stages of every job share one process pool (models stay loaded in its
processes; they die with the worker however it ends, see `lifeline`). A heartbeat keeps
each job's lease; a worker that dies stops heartbeating, the lease expires, and another
worker takes the job and resumes it from its stage cache; on the same host at once, since
the lease names the holder process (`holder`). Cancelling and SIGTERM take effect at the
next stage boundary, so a finished stage is never thrown away; at shutdown the pool is
stopped with whatever stage was still running in it.

With `burst`, the worker leaves when nothing is left for it: no runnable job, and no lease
held on another host that may yet run out (a holder there that renews its lease is alive
and finishes its job itself), so a burst run after a crash elsewhere still finishes it."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

import storage
from pipeline.jobs import metrics
from pipeline.jobs.holder import holder_gone, this_process
from pipeline.jobs.learning_store import job_settings as with_learnt_weights
from pipeline.jobs.logs import job_context
from pipeline.jobs.notify import Notifier
from pipeline.jobs.pool import AnalysisPool, make_pool
from pipeline.jobs.retention import check_free_space, clean_job_folders
from pipeline.jobs.retitle import retitle_job
from pipeline.jobs.runner import run_job
from pipeline.media.config import Settings
from pipeline.media.errors import ClipFactoryError
from pipeline.media.options import JobOptions, apply_options
from pipeline.media.render.job import RenderOptions, rerender_job

log = logging.getLogger(__name__)

STAGE_WEIGHTS = {"fetch": 8, "probe": 1, "audio": 3, "asr": 40, "audio_features": 3, "audio_events": 3, "motion": 8,
                 "chat": 1, "enrich": 5, "score": 2, "post_kit": 1, "subtitles": 4, "render": 30}
OPTIONAL_STAGES = {"chat", "subtitles", "post_kit"}   # counted once they start: not every job has them
PUSH_EVERY_S = 2.0
CLEAN_EVERY_S = 600.0
OOPS = "Something went wrong on our side while making your clips. I will try again."


class JobCancelled(Exception):
    pass


class JobInterrupted(Exception):
    """The worker is shutting down: the job goes back to the queue."""


class LeaseLost(Exception):
    """Another worker has taken this job over."""


def overall_progress(fractions: dict[str, float], rendering: bool) -> float:
    weights = {k: v for k, v in STAGE_WEIGHTS.items()
               if (rendering or k != "render") and (k not in OPTIONAL_STAGES or k in fractions)}
    return sum(w * fractions.get(k, 0.0) for k, w in weights.items()) / sum(weights.values())


@dataclass
class JobSignals:
    """Set by the worker's async side, read by the job's thread at checkpoints."""

    cancel: threading.Event
    lost: threading.Event
    stopping: threading.Event


class JobObserver:
    """Receives the runner's stage calls in the job's thread and forwards them to the
    database and the notifier on the event loop, at most every PUSH_EVERY_S."""

    def __init__(self, loop: asyncio.AbstractEventLoop, db: Any, job: storage.Job, worker_id: str,
                 notifier: Notifier, signals: JobSignals, rendering: bool, job_dir: Path) -> None:
        self._loop, self._db, self._job, self._worker, self._job_dir = loop, db, job, worker_id, job_dir
        self._notifier, self._signals, self._rendering = notifier, signals, rendering
        self._fractions: dict[str, float] = {}
        self._last_push = 0.0
        self._deliveries: list[concurrent.futures.Future] = []

    def _push(self, stage: str, note: str, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_push < PUSH_EVERY_S:
            return
        self._last_push = now
        overall = overall_progress(self._fractions, self._rendering)

        async def send() -> None:
            await storage.set_progress(self._db, self._job.id, self._worker, stage, overall)
            await self._notifier.progress(self._job, stage, overall, note)

        asyncio.run_coroutine_threadsafe(send(), self._loop)

    def stage_progress(self, stage: str, fraction: float, note: str = "") -> None:
        self._fractions[stage] = max(0.0, min(1.0, fraction))
        self._push(stage, note)

    def stage_done(self, stage: str, seconds: float, cached: bool) -> None:
        self._fractions[stage] = 1.0
        if not cached:
            metrics.STAGE_SECONDS.labels(stage).observe(seconds)
        log.info("stage %s %s", stage, "cached" if cached else f"done in {seconds:.1f} s")
        self._push(stage, "cached" if cached else "", force=True)
        if self._signals.lost.is_set():
            raise LeaseLost()
        if self._signals.cancel.is_set():
            raise JobCancelled()
        if self._signals.stopping.is_set():
            raise JobInterrupted()

    def clip_done(self, clip: dict[str, Any]) -> None:
        """Store and send the clip now, while the others are still rendering."""
        async def deliver() -> None:
            try:
                await storage.record_clips(self._db, self._job.id, [clip])
                await self._notifier.clip_ready(self._job, clip, self._job_dir)
            except Exception:  # the job goes on; the final pass sends what was not sent
                log.exception("early delivery of clip %s failed", clip.get("rank"))

        self._deliveries.append(asyncio.run_coroutine_threadsafe(deliver(), self._loop))

    async def deliveries_settled(self) -> None:
        """Wait for the clips sent early, so that the final pass does not send one twice."""
        for fut in self._deliveries:
            with contextlib.suppress(Exception):
                await asyncio.wrap_future(fut)


@dataclass
class WorkerContext:
    settings: Settings
    db: Any
    pool: AnalysisPool
    notifier: Notifier
    worker_id: str
    stopping: threading.Event
    resolve_source: Callable[[storage.Job, Path], Awaitable[str]] | None = None
    holder: storage.LeaseHolder = field(default_factory=this_process)


async def _heartbeat(ctx: WorkerContext, job: storage.Job, signals: JobSignals) -> None:
    cfg = ctx.settings.worker
    while True:
        await asyncio.sleep(cfg.heartbeat_s)
        try:
            beat = await storage.heartbeat(ctx.db, job.id, ctx.worker_id, cfg.lease_s)
        except Exception as exc:  # a busy database must not kill the job; the next beat retries
            log.warning("heartbeat for %s failed: %s", job.id, exc)
            continue
        if beat.cancel_requested:
            signals.cancel.set()
        if beat.lease_lost:
            signals.lost.set()


def _summary(report: dict[str, Any]) -> dict[str, Any]:
    return {k: report.get(k) for k in ("job_id", "title", "duration", "language", "stages", "render",
                                       "facecam", "faces", "timeline_file", "weights")}


async def run_one(ctx: WorkerContext, job: storage.Job) -> str:
    """Run one claimed job to its end; returns the job's new status."""
    with job_context(job.id):
        log.info("job claimed by %s (attempt %d)", ctx.worker_id, job.attempts)
        status = await _run_one(ctx, job)
        metrics.JOBS_FINISHED.labels(status).inc()
        log.info("job %s", status)
        return status


async def _run_one(ctx: WorkerContext, job: storage.Job) -> str:
    loop = asyncio.get_running_loop()
    signals = JobSignals(threading.Event(), threading.Event(), ctx.stopping)
    beat = asyncio.create_task(_heartbeat(ctx, job, signals))
    job_dir = ctx.settings.jobs_dir / job.id
    await storage.add_event(ctx.db, job.id, "started", {"worker": ctx.worker_id, "attempt": job.attempts})
    try:
        try:
            options = JobOptions(**job.options)
        except ValidationError as exc:
            raise ClipFactoryError("The options of this job are not valid.", detail=str(exc)) from exc
        job_settings, render = apply_options(ctx.settings, options)
        weights = None
        if not options.rerender_of:  # a re-render keeps its moments: weights do not matter
            job_settings, chosen = await with_learnt_weights(ctx.db, job_settings, job.user_id, options.template)
            weights = chosen.describe()
            await storage.add_event(ctx.db, job.id, "weights", weights)
        job_dir = ctx.settings.jobs_dir / (options.rerender_of or job.id)
        observer = JobObserver(loop, ctx.db, job, ctx.worker_id, ctx.notifier, signals, render is not None,
                               job_dir)
        if options.rerender_of and options.retitle and options.rank:
            report = await asyncio.to_thread(retitle_job, job_dir, job_settings, options.rank, render, observer)
            report = {**report, "clips": [c for c in report["clips"] if c["rank"] == options.rank]}
        elif options.rerender_of:
            report = await asyncio.to_thread(
                rerender_job, job_dir, job_settings, render or RenderOptions.from_settings(job_settings),
                observer, [options.rank] if options.rank else None, options.extend_s or 0.0)
            report = {**report, "clips": [c for c in report["clips"] if not options.rank or c["rank"] == options.rank]}
        else:
            check_free_space(ctx.settings.jobs_dir, ctx.settings.retention)
            source = await ctx.resolve_source(job, job_dir) if ctx.resolve_source else job.source
            report = await asyncio.to_thread(run_job, source, job_settings, ctx.settings.jobs_dir,
                                             observer, ctx.pool, job.id, render, options.chat)
            report["weights"] = weights
        await observer.deliveries_settled()
        await storage.record_clips(ctx.db, job.id, report["clips"])
        if not await storage.complete(ctx.db, job.id, ctx.worker_id, _summary(report)):
            return "lost"
        for clip in report["clips"]:
            if clip.get("file"):
                await ctx.notifier.clip_ready(job, clip, job_dir)
        await ctx.notifier.finished(job, report, job_dir)
        return "done"
    except JobCancelled:
        await storage.mark_cancelled(ctx.db, job.id, ctx.worker_id)
        await ctx.notifier.cancelled(job)
        return "cancelled"
    except JobInterrupted:
        await storage.release(ctx.db, job.id, ctx.worker_id)
        return "released"
    except LeaseLost:
        return "lost"
    except ClipFactoryError as exc:
        metrics.FAILURES.labels(type(exc).__name__).inc()
        log.warning("job failed: %s (%s)", exc.user_message, exc.detail or "")
        status = await storage.fail(ctx.db, job.id, ctx.worker_id, exc.user_message, exc.detail or "",
                                    transient=exc.transient)
        if status == "failed":
            await ctx.notifier.failed(job, exc.user_message)
        return status or "lost"
    except Exception as exc:
        metrics.FAILURES.labels("crash").inc()
        log.exception("job %s crashed", job.id)
        status = await storage.fail(ctx.db, job.id, ctx.worker_id, OOPS, repr(exc)[:2000], transient=True)
        if status == "failed":
            await ctx.notifier.failed(job, OOPS)
        return status or "lost"
    finally:
        beat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beat


def database_url(settings: Settings) -> str:
    """The configured database, else a SQLite file in the data folder (created)."""
    return settings.worker.database_url or storage.sqlite_url(settings.data_dir / "clipfactory.db")


async def open_database(settings: Settings) -> Any:
    url = database_url(settings)
    await storage.migrate(url)
    return storage.make_engine(url)


def default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


async def run_worker(settings: Settings, notifier: Notifier, *, slots: int | None = None,
                     burst: bool = False, worker_id: str | None = None, db: Any = None,
                     resolve_source: Callable[[storage.Job, Path], Awaitable[str]] | None = None,
                     stop: asyncio.Event | None = None) -> int:
    """Run jobs until SIGTERM/SIGINT (or, with `burst`, until the queue is empty).
    Returns how many jobs this worker finished."""
    own_db, own_stop = db is None, stop is None
    db = db or await open_database(settings)
    stop = stop or asyncio.Event()
    ctx = WorkerContext(settings, db, make_pool(), notifier, worker_id or default_worker_id(),
                        threading.Event(), resolve_source)
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        ctx.stopping.set()
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT) if own_stop else ():
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, on_signal)
    finished = 0
    first_seen: dict[str, datetime] = {}   # --burst: lease expiry when first seen, per job

    async def leases_may_run_out() -> bool:
        """--burst: is a lease held on another host still in time and not renewed since
        first seen? Then its worker may be dead, and the job ours once the lease runs out."""
        leases = await storage.foreign_leases(db, ctx.holder.host)
        waiting = []
        for job_id, expires in leases.items():
            if job_id not in first_seen:
                first_seen[job_id] = expires
                log.info("job %s is leased on another host until %s: waiting to see whether it "
                         "is taken care of", job_id, expires.isoformat(timespec="seconds"))
            if expires <= first_seen[job_id]:
                waiting.append(job_id)
        return bool(waiting)

    async def claim() -> storage.Job | None:
        return await storage.claim(db, ctx.worker_id, settings.worker.lease_s, settings.worker.per_user_limit,
                                   holder=ctx.holder, holder_gone=holder_gone)

    async def slot() -> None:
        nonlocal finished
        while not stop.is_set():
            job = await claim()
            if job is None and burst and not await leases_may_run_out():
                job = await claim()  # a lease may have run out between the claim and the look
                if job is None:
                    return
            if job is None:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), settings.worker.poll_s)
                continue
            if await run_one(ctx, job) == "done":
                finished += 1

    async def watch_stop() -> None:
        await stop.wait()
        ctx.stopping.set()

    async def housekeeping() -> None:
        last_clean = 0.0
        while True:
            with contextlib.suppress(Exception):
                metrics.record_counts(await storage.counts_by_status(db))
            if time.monotonic() - last_clean > CLEAN_EVERY_S:
                last_clean = time.monotonic()
                try:
                    active = {j.id for j in await storage.list_jobs(db, limit=10_000, status=("queued", "running"))}
                    removed = await asyncio.to_thread(clean_job_folders, settings.jobs_dir, settings.retention, active)
                    if removed:
                        log.info("retention removed %d old job folder(s)", len(removed))
                except Exception as exc:
                    log.warning("retention failed: %s", exc)
            await asyncio.sleep(15)

    if settings.observability.metrics_enabled and own_stop:
        metrics.serve(settings.observability.metrics_host, settings.observability.metrics_port)
    watcher = asyncio.create_task(watch_stop())
    refresher = asyncio.create_task(housekeeping())
    try:
        await asyncio.gather(*(slot() for _ in range(slots or settings.worker.slots)))
    finally:
        watcher.cancel()
        refresher.cancel()
        await asyncio.to_thread(ctx.pool.close)
        if own_db:
            await db.dispose()
    return finished


def ensure_dirs(settings: Settings) -> Path:
    settings.jobs_dir.mkdir(parents=True, exist_ok=True)
    return settings.jobs_dir
