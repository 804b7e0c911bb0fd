"""Faults: a full disk, old job folders, a busy database, ffmpeg crashing mid-job."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
import threading
import time
from pathlib import Path

import pytest

import storage
from pipeline.jobs.retention import clean_job_folders
from pipeline.media.config import load_settings
from tests.helpers import env_for, jobs, run_cli, start_worker, submit_copies


def test_full_disk_refuses_new_jobs_with_a_message(tmp_path):
    env = {**env_for(tmp_path / "data"), "CLIPFACTORY_RETENTION__MIN_FREE_DISK_MB": str(10**12)}
    proc = run_cli("submit", "https://example.com/vod.mp4", env=env)
    assert proc.returncode == 1
    assert "out of disk space" in proc.stderr


def test_retention_removes_old_and_oversized_job_folders(tmp_path):
    jobs_dir = tmp_path / "jobs"
    now = time.time()
    for name, age_days, mb in (("old", 10, 1), ("big1", 3, 6), ("big2", 2, 6), ("active", 30, 6), ("new", 0, 1)):
        folder = jobs_dir / name
        folder.mkdir(parents=True)
        (folder / "clip.mp4").write_bytes(b"\0" * mb * 2**20)
        os.utime(folder, (now - age_days * 86400, now - age_days * 86400))
    cfg = load_settings(retention={"max_age_days": 7, "max_total_gb": 14 / 1024}).retention
    removed = clean_job_folders(jobs_dir, cfg, keep={"active"}, now=now)
    assert removed == ["old", "big1"]
    assert sorted(p.name for p in jobs_dir.iterdir()) == ["active", "big2", "new"]


def test_busy_database_is_waited_for(tmp_path):
    url = storage.sqlite_url(tmp_path / "db.sqlite")
    asyncio.run(storage.migrate(url))
    raw = sqlite3.connect(tmp_path / "db.sqlite", check_same_thread=False)
    raw.execute("BEGIN EXCLUSIVE")
    threading.Timer(1.5, raw.commit).start()

    async def enqueue():
        db = storage.make_engine(url)
        try:
            start = time.monotonic()
            user = await storage.ensure_user(db, telegram_id=5)
            job, created = await storage.enqueue(db, user, "https://example.com/v.mp4", {})
            return time.monotonic() - start, created
        finally:
            await db.dispose()

    waited, created = asyncio.run(enqueue())
    raw.close()
    assert created and waited >= 1.0


@pytest.mark.slow
def test_ffmpeg_crashing_mid_job_is_retried_later(short_media, tmp_path):
    """An ffmpeg that dies (SIGSEGV) when it renders: the job goes back to the queue with a
    message, to be retried after a backoff, and the worker carries on."""
    real = next(p for p in os.environ["PATH"].split(os.pathsep) if (Path(p) / "ffmpeg").exists())
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    wrapper = fake_bin / "ffmpeg"
    wrapper.write_text("#!/bin/sh\ncase \"$*\" in *subtitles=*|*vstack*|*overlay=*) kill -SEGV $$ ;; esac\n"
                       f'exec {real}/ffmpeg "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    env = {**env_for(tmp_path / "data"), "PATH": f"{fake_bin}{os.pathsep}{os.environ['PATH']}"}
    [job_id] = submit_copies(short_media, tmp_path, 1, env, "--layout", "blur_fit")
    worker = start_worker(env, "--burst")
    assert worker.wait(timeout=600) == 0, worker.stderr.read()
    job = jobs(env)[job_id]
    assert job["status"] == "queued" and job["attempts"] == 1, job
    assert "try again" in job["error"]
    assert "Traceback" not in worker.stderr.read()
