"""Workers that crash or are killed: their pool processes and ffmpeg go with them (SIGKILL,
SIGTERM, SIGTERM then SIGKILL, as container runtimes do), and their job is taken back at
once on the same host, or once its lease runs out when it is held on another host.

A stand-in ffmpeg (`sleep`, through a wrapper first on PATH) never finishes the decode it is
given, so the kill always lands while that subprocess runs: in a pool process (the motion
decode, `video.proxy: frames`) or in the worker itself (the audio decode)."""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import pytest

import storage
from pipeline.jobs.holder import holder_gone, host_id, this_process
from tests.fake_telegram import FakeTelegram
from tests.helpers import ROOT, cli_cmd, env_for, jobs, start_worker, submit_copies
from tests.test_worker import events, sqlite_of, wait_for

GONE_WITHIN_S = 10.0
DECODES = {"motion": "format=gray", "audio": "f32le"}   # what each decode's ffmpeg command has


def stand_in_ffmpeg(folder: Path, decode: str) -> str:
    """A PATH whose ffmpeg runs `sleep 600` for the chosen decode, the real one otherwise."""
    real = next(p for p in os.environ["PATH"].split(os.pathsep) if (Path(p) / "ffmpeg").exists())
    folder.mkdir(exist_ok=True)
    wrapper = folder / "ffmpeg"
    wrapper.write_text(f'#!/bin/sh\ncase "$*" in *{DECODES[decode]}*) exec sleep 600 ;; esac\n'
                       f'exec {real}/ffmpeg "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    return f"{folder}{os.pathsep}{os.environ['PATH']}"


def descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    def running(p: psutil.Process) -> bool:
        try:
            return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False
    return [p for p in processes if running(p)]


def stand_in_running(proc: subprocess.Popen, pool: bool) -> list[psutil.Process]:
    """Wait until the stand-in decode runs (in a pool process when `pool`): every process of
    the worker's tree then."""
    def ready():
        assert proc.poll() is None, "the worker ended early"
        tree = descendants(proc.pid)
        sleeps = [p for p in tree if p.name() == "sleep"]
        if not sleeps or (pool and sleeps[0].ppid() == proc.pid):
            return None
        return tree
    return wait_for(ready, timeout=300, every=0.2)


def gone_within(tree: list[psutil.Process], limit: float = GONE_WITHIN_S) -> float:
    """Seconds until no process of `tree` is left; fails after `limit`."""
    started = time.monotonic()
    while alive(tree):
        left = alive(tree)
        assert time.monotonic() - started < limit, [(p.pid, p.name(), p.cmdline()[:4]) for p in left]
        time.sleep(0.05)
    return time.monotonic() - started


def start(command: str, env: dict[str, str], tg: FakeTelegram | None) -> subprocess.Popen:
    if command == "worker":
        return start_worker({**env, "TELEGRAM_BOT_TOKEN": ""})
    assert tg is not None
    full = {**os.environ, **env, "TELEGRAM_BOT_TOKEN": tg.token, "TELEGRAM_API_SERVER": tg.base_url,
            "TELEGRAM_API_LOCAL": "false"}
    return subprocess.Popen(cli_cmd(command), cwd=ROOT, env=full, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


@pytest.fixture
def tg():
    with FakeTelegram().run_in_thread() as fake:
        yield fake


def a_job_with_a_stand_in(short_media, tmp_path, decode: str) -> dict[str, str]:
    env = {**env_for(tmp_path / "data"), "CLIPFACTORY_VIDEO__PROXY": "frames",
           "PATH": stand_in_ffmpeg(tmp_path / "bin", decode)}
    submit_copies(short_media, tmp_path, 1, env, "--no-render")
    return env


@pytest.mark.slow
@pytest.mark.parametrize("command, decode", [("worker", "motion"), ("worker", "audio"), ("run", "motion")])
def test_sigkill_leaves_no_process_behind(short_media, tmp_path, tg, command, decode):
    env = a_job_with_a_stand_in(short_media, tmp_path, decode)
    proc = start(command, env, tg)
    tree = stand_in_running(proc, pool=decode == "motion")
    if decode == "motion":
        assert len(tree) >= 5, [p.name() for p in tree]   # manager, ASR, 2 CPU processes, the stand-in
    proc.send_signal(signal.SIGKILL)   # the worker alone: its helpers are on their own
    proc.wait()
    took = gone_within(tree)
    print(f"{command} {decode}: {len(tree)} processes gone {took:.2f} s after SIGKILL")


@pytest.mark.slow
@pytest.mark.parametrize("command", ["worker", "run"])
def test_sigterm_then_sigkill_leaves_no_process_behind(short_media, tmp_path, tg, command):
    """As `docker stop` does: SIGTERM, and SIGKILL a little later while the stage still runs."""
    env = a_job_with_a_stand_in(short_media, tmp_path, "motion")
    proc = start(command, env, tg)
    tree = stand_in_running(proc, pool=True)
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=2)
    except subprocess.TimeoutExpired:
        tree = list({p.pid: p for p in [*tree, *descendants(proc.pid)]}.values())
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    took = gone_within(tree)
    print(f"{command}: {len(tree)} processes gone {took:.2f} s after SIGTERM + SIGKILL")


@pytest.mark.slow
def test_sigterm_stops_the_pool_and_its_ffmpeg_and_gives_the_job_back(short_media, tmp_path):
    """The stage that ends after SIGTERM (ASR) is kept; the one that would never end (the
    stand-in motion decode) is stopped with its pool process, and the job is queued again."""
    env = a_job_with_a_stand_in(short_media, tmp_path, "motion")
    proc = start("worker", env, None)
    tree = stand_in_running(proc, pool=True)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=180) == 0, proc.stderr.read()
    took = gone_within(tree)
    print(f"worker: {len(tree)} processes gone {took:.2f} s after it exited on SIGTERM")
    [job] = jobs(env).values()
    assert job["status"] == "queued" and job["attempts"] == 0, job


# --------------------------------------------------------------------------- leases


def test_this_process_is_alive_and_a_finished_one_is_gone():
    me = this_process()
    assert not holder_gone(me)
    ended = subprocess.Popen(["true"])
    ended.wait()
    assert holder_gone(storage.LeaseHolder(me.host, ended.pid, me.started))
    assert holder_gone(storage.LeaseHolder(me.host, me.pid, me.started - 3600)), "a reused pid"
    assert not holder_gone(storage.LeaseHolder("elsewhere", ended.pid, me.started)), "other hosts: unknown"


def test_a_lease_whose_holder_is_gone_is_taken_over_at_once_on_its_host_only(tmp_path):
    url = storage.sqlite_url(tmp_path / "db.sqlite")
    here, there = host_id(), "another-host pid:[1]"
    dead = storage.LeaseHolder(here, 4_000_000, 1.0)

    async def go():
        await storage.migrate(url)
        db = storage.make_engine(url)
        try:
            user = await storage.ensure_user(db, telegram_id=1)
            a, _ = await storage.enqueue(db, user, "a.mp4", {})
            b, _ = await storage.enqueue(db, user, "b.mp4", {})
            assert (await storage.claim(db, "dead-here", 600, None, holder=dead)).id == a.id
            assert (await storage.claim(db, "there", 600, None,
                                        holder=storage.LeaseHolder(there, 4_000_000, 1.0))).id == b.id
            me = this_process()
            # An old worker without a holder does not reclaim early.
            assert await storage.claim(db, "old-style", 600, None) is None
            taken = await storage.claim(db, "me", 600, None, holder=me, holder_gone=holder_gone)
            again = await storage.claim(db, "me-2", 600, None, holder=me, holder_gone=holder_gone)
            held = await storage.get_job(db, a.id)
            foreign = await storage.foreign_leases(db, here)
            kinds = [e.kind for e in await storage.events_for(db, a.id)]
            return taken, again, held, foreign, kinds, b.id
        finally:
            await db.dispose()

    taken, again, held, foreign, kinds, other = asyncio.run(go())
    assert taken is not None and taken.attempts == 2 and taken.lease_owner == "me"
    assert (held.lease_host, held.lease_pid) == (host_id(), os.getpid())
    assert again is None, "the job held on the other host (pid unknown there) is not touched"
    assert list(foreign) == [other]
    assert "holder_gone" in kinds and "lease_expired" in kinds


@pytest.mark.slow
def test_a_killed_workers_job_is_finished_at_once_by_a_burst_worker_on_the_same_host(short_media, tmp_path):
    env = {**env_for(tmp_path / "data"), "CLIPFACTORY_WORKER__LEASE_S": "300"}
    [job_id] = submit_copies(short_media, tmp_path, 1, env)
    first = start_worker(env)
    wait_for(lambda: (tmp_path / "data" / "jobs" / job_id / "asr.done.json").exists() or first.poll() is not None)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    restarted, restarted_at = time.monotonic(), datetime.now(UTC)
    second = start_worker(env, "--burst")
    assert second.wait(timeout=600) == 0, second.stderr.read()
    url = sqlite_of(tmp_path / "data")
    started = events(url, job_id, "started")
    assert len(started) == 2
    taken_after = (started[1].at - restarted_at).total_seconds()
    assert taken_after < 30, taken_after   # at once, not when the 300 s lease runs out
    assert jobs(env)[job_id]["status"] == "done"
    assert [e.data["worker"] for e in events(url, job_id, "holder_gone")] == [started[0].data["worker"]]

    async def clips():
        db = storage.make_engine(url)
        try:
            return await storage.clips_for(db, job_id)
        finally:
            await db.dispose()
    recorded = asyncio.run(clips())
    assert recorded and len({c.rank for c in recorded}) == len(recorded)
    took = time.monotonic() - restarted
    print(f"job taken back {taken_after:.1f} s and finished {took:.1f} s after the crash (lease 300 s)")


def _foreign_lease(env: dict[str, str], lease_s: float, renew_for_s: float = 0.0) -> str:
    """Queue a job and claim it for a worker on another host; keep renewing its lease for
    `renew_for_s` (a live worker there) from a thread."""
    url = sqlite_of(Path(env["CLIPFACTORY_DATA_DIR"]))
    holder = storage.LeaseHolder("another-host pid:[1]", 4242, 1.0)

    async def claim() -> str:
        await storage.migrate(url)
        db = storage.make_engine(url)
        try:
            user = await storage.ensure_user(db, telegram_id=7)
            await storage.enqueue(db, user, "https://example.com/never-fetched.mp4", {"render": False},
                                  max_attempts=1)
            return (await storage.claim(db, "far-away", lease_s, None, holder=holder)).id
        finally:
            await db.dispose()

    async def renew() -> None:
        db = storage.make_engine(url)
        try:
            deadline = time.monotonic() + renew_for_s
            while time.monotonic() < deadline:
                await storage.heartbeat(db, job_id, "far-away", lease_s)
                await asyncio.sleep(1)
        finally:
            await db.dispose()

    job_id = asyncio.run(claim())
    if renew_for_s:
        threading.Thread(target=lambda: asyncio.run(renew()), daemon=True).start()
    return job_id


@pytest.mark.slow
def test_burst_waits_for_a_lease_on_another_host_to_run_out_then_runs_the_job(tmp_path):
    env = env_for(tmp_path / "data")
    job_id = _foreign_lease(env, lease_s=5)
    started = time.monotonic()
    worker = start_worker({**env, "TELEGRAM_BOT_TOKEN": ""}, "--burst")
    assert worker.wait(timeout=120) == 0, worker.stderr.read()
    waited = time.monotonic() - started
    job = jobs(env)[job_id]
    # Its one attempt was used by the worker that vanished: the burst worker finishes the job
    # off (as it would run it with attempts left) instead of leaving it running forever.
    assert job["status"] == "failed" and "stopped unexpectedly" in job["error"], job
    assert 3 < waited < 60, waited


@pytest.mark.slow
def test_burst_does_not_wait_for_a_job_whose_worker_on_another_host_renews_its_lease(tmp_path):
    env = env_for(tmp_path / "data")
    job_id = _foreign_lease(env, lease_s=6, renew_for_s=60)
    started = time.monotonic()
    worker = start_worker({**env, "TELEGRAM_BOT_TOKEN": ""}, "--burst")
    assert worker.wait(timeout=60) == 0, worker.stderr.read()
    assert time.monotonic() - started < 30
    job = jobs(env)[job_id]
    assert job["status"] == "running" and job["attempts"] == 1, job


def test_lease_expiry_is_what_foreign_leases_report(tmp_path):
    url = storage.sqlite_url(tmp_path / "db.sqlite")

    async def go():
        await storage.migrate(url)
        db = storage.make_engine(url)
        try:
            user = await storage.ensure_user(db, telegram_id=1)
            job, _ = await storage.enqueue(db, user, "a.mp4", {})
            claimed = await storage.claim(db, "w", 60, None)   # no holder: counts as elsewhere
            now = claimed.lease_expires_at - timedelta(seconds=60)
            return (await storage.foreign_leases(db, host_id(), now=now),
                    await storage.foreign_leases(db, host_id(), now=now + timedelta(seconds=61)), claimed)
        finally:
            await db.dispose()

    before, after, claimed = asyncio.run(go())
    assert before == {claimed.id: claimed.lease_expires_at} and after == {}
