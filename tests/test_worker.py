"""Workers on a real queue: several processes share it, a killed worker's job is finished by
another from the cache, cancel and SIGTERM stop at a stage boundary."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from pathlib import Path

import pytest

import storage
from pipeline.media.sample import SampleSpec, make_sample
from tests.helpers import env_for, jobs, run_cli, start_worker, submit_copies

# Worker processes on real queues (one on PostgreSQL): left out of `make test-fast`.
pytestmark = pytest.mark.slow


def wait_for(predicate, timeout: float = 300, every: float = 0.3):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("timed out waiting")


def events(db_url: str, job_id: str, kind: str) -> list:
    async def go():
        db = storage.make_engine(db_url)
        try:
            return await storage.events_for(db, job_id, kind)
        finally:
            await db.dispose()
    return asyncio.run(go())


def sqlite_of(data: Path) -> str:
    return storage.sqlite_url(data / "clipfactory.db")


def drain_with_workers(media: Path, tmp: Path, n_workers: int, n_jobs: int, db_url: str = "") -> None:
    env = env_for(tmp / "data", db_url)
    ids = submit_copies(media, tmp, n_jobs, env, "--no-render")
    workers = [start_worker(env, "--burst") for _ in range(n_workers)]
    for w in workers:
        assert w.wait(timeout=900) == 0, w.stderr.read()
    state = jobs(env)
    url = db_url or sqlite_of(tmp / "data")
    for job_id in ids:
        assert state[job_id]["status"] == "done", state[job_id]
        assert state[job_id]["clips"] >= 1
        assert len(events(url, job_id, "started")) == 1, "no job ran twice"


def test_two_workers_share_one_sqlite_file(short_media, tmp_path):
    drain_with_workers(short_media, tmp_path, n_workers=2, n_jobs=4)


def test_four_workers_share_postgresql(short_media, tmp_path, pg_url):  # noqa: F811
    drain_with_workers(short_media, tmp_path, n_workers=4, n_jobs=6, db_url=pg_url)


def test_killed_worker_job_is_finished_by_another_from_the_cache(tmp_path):
    media = make_sample(tmp_path / "long.mp4", SampleSpec(duration=60, hype_at=(30,), width=320, height=180))
    env = env_for(tmp_path / "data")
    [job_id] = submit_copies(media, tmp_path, 1, env)
    first = start_worker(env)
    job_dir = tmp_path / "data" / "jobs" / job_id
    wait_for(lambda: (job_dir / "asr.done.json").exists() or first.poll() is not None)
    assert first.poll() is None
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    assert jobs(env)[job_id]["status"] == "running", "the dead worker still holds the lease"

    second = start_worker(env)
    try:
        done = wait_for(lambda: jobs(env)[job_id]["status"] in ("done", "failed") and jobs(env)[job_id])
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=120) == 0
    assert done["status"] == "done", done
    report = json.loads((job_dir / "report.json").read_text())
    assert report["stages"]["asr"]["cached"] is True
    assert len(events(sqlite_of(tmp_path / "data"), job_id, "started")) == 2

    async def clips():
        db = storage.make_engine(sqlite_of(tmp_path / "data"))
        try:
            return await storage.clips_for(db, job_id)
        finally:
            await db.dispose()
    recorded = asyncio.run(clips())
    assert sorted(c.rank for c in recorded) == [c["rank"] for c in report["clips"]]
    assert all((job_dir / c.file).exists() for c in recorded)


def test_cancel_stops_a_running_job_and_the_next_one_runs(short_media, tmp_path):
    env = env_for(tmp_path / "data")
    first_id, second_id = submit_copies(short_media, tmp_path, 2, env, "--no-render")
    worker = start_worker(env, "--burst")
    wait_for(lambda: jobs(env)[first_id]["status"] == "running")
    assert run_cli("cancel", first_id, env=env).returncode == 0
    assert worker.wait(timeout=600) == 0, worker.stderr.read()
    state = jobs(env)
    assert state[first_id]["status"] == "cancelled"
    assert state[second_id]["status"] == "done"


def test_sigterm_finishes_the_stage_and_gives_the_job_back(short_media, tmp_path):
    env = env_for(tmp_path / "data")
    [job_id] = submit_copies(short_media, tmp_path, 1, env, "--no-render")
    worker = start_worker(env)
    wait_for(lambda: jobs(env)[job_id]["status"] == "running")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=300) == 0, worker.stderr.read()
    job = jobs(env)[job_id]
    assert job["status"] in ("queued", "done"), job
    if job["status"] == "queued":
        finisher = start_worker(env, "--burst")
        assert finisher.wait(timeout=600) == 0
        assert jobs(env)[job_id]["status"] == "done"


def test_bad_input_fails_at_once_with_a_clear_message(tmp_path):
    env = env_for(tmp_path / "data")
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all" * 100)
    proc = run_cli("submit", str(broken), env=env)
    job_id = proc.stdout.strip()
    worker = start_worker(env, "--burst")
    assert worker.wait(timeout=300) == 0
    job = jobs(env)[job_id]
    assert job["status"] == "failed" and job["attempts"] == 1
    assert "damaged" in job["error"]


def test_submitting_the_same_thing_twice_gives_the_same_job(short_media, tmp_path):
    env = env_for(tmp_path / "data")
    first = run_cli("submit", str(short_media), "--no-render", env=env)
    again = run_cli("submit", str(short_media), "--no-render", env=env)
    other = run_cli("submit", str(short_media), env=env)
    assert first.returncode == again.returncode == other.returncode == 0
    assert first.stdout.strip() == again.stdout.strip()
    assert "already queued" in again.stderr
    assert other.stdout.strip() != first.stdout.strip(), "other options make another job"


class RecordingNotifier:
    """Notes which clips were sent, and whether each was already stored when it was."""

    def __init__(self, db) -> None:
        self.db, self.sent = db, []

    async def clip_ready(self, job, clip, job_dir):
        stored = {c.rank for c in await storage.clips_for(self.db, job.id)}
        self.sent.append((clip["rank"], clip["rank"] in stored, Path(job_dir)))


def test_a_clip_is_stored_and_sent_as_soon_as_it_is_rendered(tmp_path):
    import threading

    from pipeline.jobs.worker import JobObserver, JobSignals

    async def main():
        url = storage.sqlite_url(tmp_path / "queue.db")
        await storage.migrate(url)
        db = storage.make_engine(url)
        try:
            user = await storage.ensure_user(db, 42, "streamer")
            job, _ = await storage.enqueue(db, user, "vod.mp4", {})
            notifier = RecordingNotifier(db)
            signals = JobSignals(threading.Event(), threading.Event(), threading.Event())
            observer = JobObserver(asyncio.get_running_loop(), db, job, "w1", notifier, signals, True, tmp_path)
            clip = {"rank": 2, "start": 10.0, "end": 40.0, "score": 71.0, "breakdown": {}, "reasons": [],
                    "text": "", "file": "clip_02.mp4", "thumbnail": "clip_02.jpg"}
            await asyncio.to_thread(observer.clip_done, clip)   # the render thread's call
            await observer.deliveries_settled()
            return notifier.sent, [c.rank for c in await storage.clips_for(db, job.id)]
        finally:
            await db.dispose()

    sent, stored = asyncio.run(main())
    assert sent == [(2, True, tmp_path)]
    assert stored == [2]
