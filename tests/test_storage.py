"""The storage layer against real databases: SQLite files and a throwaway PostgreSQL server
(tests/pg.py). No mocks: concurrency is real (separate engines, separate processes)."""

from __future__ import annotations

import asyncio
import multiprocessing
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker

import storage as st
from storage.db import alembic_config, head_revision
from storage.queue import LOST_WORKER_ERROR, retry_delay
from storage.tables import metadata
from tests.pg import create_database

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)]  # no server in test-fast
TABLES = {"users", "jobs", "clips", "feedback", "job_events"}
T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def run(coro):
    return asyncio.run(coro)


@asynccontextmanager
async def engine(url: str):
    db = st.make_engine(url)
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture(scope="session")
def pg_migrated(pg_url):
    run(st.migrate(pg_url))
    return pg_url


async def _truncate(url: str) -> None:
    async with engine(url) as db, db.begin() as conn:
        await conn.execute(sa.text(
            "TRUNCATE users, jobs, clips, feedback, job_events RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
def url(request, tmp_path) -> str:
    """A migrated, empty database of each backend."""
    if request.param == "sqlite":
        u = st.sqlite_url(tmp_path / "queue.db")
        run(st.migrate(u))
        return u
    u = request.getfixturevalue("pg_migrated")
    run(_truncate(u))
    return u


@pytest.fixture(params=BACKENDS)
def empty_url(request, tmp_path) -> str:
    """A database with nothing in it, not even the schema."""
    if request.param == "sqlite":
        return st.sqlite_url(tmp_path / "empty.db")
    return run(create_database(request.getfixturevalue("pg_url")))


# --- migrations -----------------------------------------------------------------------

async def _version_and_tables(url: str) -> tuple[str | None, set[str]]:
    async with engine(url) as db, db.connect() as conn:
        tables = set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))
        version = None
        if "alembic_version" in tables:
            version = (await conn.execute(sa.text("SELECT version_num FROM alembic_version"))).scalar()
        return version, tables


def test_migrate_from_empty_then_noop(empty_url):
    assert run(_version_and_tables(empty_url)) == (None, set())
    run(st.migrate(empty_url))
    version, tables = run(_version_and_tables(empty_url))
    assert version == head_revision()
    assert TABLES | {"alembic_version"} <= tables
    run(st.migrate(empty_url))  # already at head: nothing happens, nothing fails
    assert run(_version_and_tables(empty_url)) == (version, tables)


def test_concurrent_migrations(empty_url):
    """A bot and a worker starting together on an empty database."""
    async def main():
        await asyncio.gather(*(st.migrate(empty_url) for _ in range(3)))
    run(main())
    assert run(_version_and_tables(empty_url))[0] == head_revision()


def test_migrations_match_tables(url):
    """storage/tables.py and the Alembic revisions describe the same schema."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    async def main():
        async with engine(url) as db, db.connect() as conn:
            return await conn.run_sync(lambda c: compare_metadata(
                MigrationContext.configure(c, opts={"compare_type": True}), metadata))
    assert run(main()) == []
    assert alembic_config().get_main_option("script_location").endswith("migrations")


def test_sqlite_connection_settings(tmp_path):
    u = st.sqlite_url(tmp_path / "p.db")

    async def main():
        async with engine(u) as db, db.connect() as conn:
            return [(await conn.exec_driver_sql(f"PRAGMA {p}")).scalar()
                    for p in ("journal_mode", "foreign_keys", "busy_timeout")]
    assert run(main()) == ["wal", 1, 30000]


# --- enqueue --------------------------------------------------------------------------

def test_enqueue_is_idempotent(url):
    async def main():
        async with engine(url) as db:
            a = await st.ensure_user(db, telegram_id=1, name="Ann")
            assert await st.ensure_user(db, telegram_id=1, name="Ann B.") == a
            assert (await st.get_user(db, a)).name == "Ann B."
            b = await st.ensure_user(db, telegram_id=2, name="Bob", language="ru")
            opts = {"layout": "facecam_top", "top_k": 5}

            j1, created1 = await st.enqueue(db, a, "https://v/1", opts)
            j2, created2 = await st.enqueue(db, a, "https://v/1", dict(reversed(opts.items())))
            assert created1 and not created2 and j2.id == j1.id
            j3, created3 = await st.enqueue(db, a, "https://v/1", {**opts, "top_k": 3})
            j4, created4 = await st.enqueue(db, b, "https://v/1", opts)
            assert created3 and created4 and len({j1.id, j3.id, j4.id}) == 3

            # Still the same while running; a new job once the first is done.
            for _ in range(3):
                job = await st.claim(db, "w", 60, per_user_limit=None)
                if job.id != j1.id:
                    assert await st.complete(db, job.id, "w", {})
            assert (await st.enqueue(db, a, "https://v/1", opts))[0].id == j1.id
            assert await st.complete(db, j1.id, "w", {"clips": 0})
            j5, created5 = await st.enqueue(db, a, "https://v/1", opts)
            assert created5 and j5.id != j1.id and j5.status == "queued"
            with pytest.raises(ValueError):
                await st.enqueue(db, 999_999, "https://v/1", opts)
    run(main())


def test_concurrent_enqueues_make_one_job(url):
    async def main():
        async with engine(url) as db:
            uid = await st.ensure_user(db, telegram_id=7)
        engines = [st.make_engine(url) for _ in range(10)]
        try:
            results = await asyncio.gather(*(
                st.enqueue(e, uid, "https://v/same", {"layout": "blur_fit"}) for e in engines))
        finally:
            await asyncio.gather(*(e.dispose() for e in engines))
        assert len({job.id for job, _ in results}) == 1
        assert sum(created for _, created in results) == 1
        async with engine(url) as db:
            assert (await st.counts_by_status(db))["queued"] == 1
    run(main())


# --- claim ----------------------------------------------------------------------------

async def _fill(db, n_users: int, per_user: int) -> list[str]:
    ids = []
    for u in range(n_users):
        uid = await st.ensure_user(db, telegram_id=1000 + u)
        for i in range(per_user):
            ids.append((await st.enqueue(db, uid, f"https://v/{u}/{i}", {}))[0].id)
    return ids


async def _drain(url: str, worker: str, per_user_limit: int | None = None) -> list[str]:
    """Claim and complete until nothing is left; the ids claimed."""
    got = []
    async with engine(url) as db:
        while (job := await st.claim(db, worker, 60, per_user_limit=per_user_limit)) is not None:
            got.append(job.id)
            await asyncio.sleep(0)
            assert await st.complete(db, job.id, worker, {"ok": True})
    return got


def test_concurrent_claimers_take_each_job_once(url):
    async def main():
        async with engine(url) as db:
            ids = await _fill(db, n_users=5, per_user=8)
        claimed = await asyncio.gather(*(_drain(url, f"w{i}") for i in range(8)))
        everything = [j for c in claimed for j in c]
        assert Counter(everything) == Counter(ids)
        async with engine(url) as db:
            assert (await st.counts_by_status(db))["done"] == 40
    run(main())


def _drain_in_process(url: str, worker: str) -> list[str]:
    async def main():
        return [j for c in await asyncio.gather(*(_drain(url, f"{worker}.{i}") for i in range(3)))
                for j in c]
    return asyncio.run(main())


def test_claimers_in_two_processes_sqlite(tmp_path):
    url = st.sqlite_url(tmp_path / "mp.db")
    run(st.migrate(url))

    async def fill():
        async with engine(url) as db:
            return await _fill(db, n_users=6, per_user=10)
    ids = run(fill())
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        parts = list(pool.map(_drain_in_process, [url, url], ["p1", "p2"]))
    assert Counter(parts[0] + parts[1]) == Counter(ids)


def test_per_user_limit_under_concurrent_claimers(url):
    async def main():
        async with engine(url) as db:
            await _fill(db, n_users=1, per_user=10)
        engines = [st.make_engine(url) for _ in range(8)]
        try:
            got = await asyncio.gather(*(st.claim(e, f"w{i}", 60, per_user_limit=2)
                                         for i, e in enumerate(engines)))
        finally:
            await asyncio.gather(*(e.dispose() for e in engines))
        assert len([j for j in got if j is not None]) == 2
    run(main())


def test_drain_with_per_user_limit_under_contention(url):
    """Eight claimers, users at their limit most of the time: every job runs exactly once,
    no user ever has more than `limit` jobs running, and no claim errors out (PostgreSQL:
    no lock waits between claimers that could deadlock)."""
    limit, total = 1, 36
    running: Counter = Counter()
    peak: Counter = Counter()
    claimed: list[str] = []

    async def worker(name: str) -> None:
        async with engine(url) as db:
            while len(claimed) < total:
                job = await st.claim(db, name, 60, per_user_limit=limit)
                if job is None:
                    await asyncio.sleep(0.005)
                    continue
                claimed.append(job.id)
                running[job.user_id] += 1
                peak[job.user_id] = max(peak[job.user_id], running[job.user_id])
                await asyncio.sleep(0.002)
                running[job.user_id] -= 1  # before the commit: never over-counts
                assert await st.complete(db, job.id, name, {})

    async def main():
        async with engine(url) as db:
            ids = await _fill(db, n_users=6, per_user=6)
        await asyncio.wait_for(asyncio.gather(*(worker(f"w{i}") for i in range(8))), 60)
        assert Counter(claimed) == Counter(ids)
        assert max(peak.values()) == limit
    run(main())


def test_fair_order_across_users(url):
    async def main():
        async with engine(url) as db:
            a = await st.ensure_user(db, telegram_id=1)
            b = await st.ensure_user(db, telegram_id=2)
            a_jobs = [(await st.enqueue(db, a, f"https://a/{i}", {}, now=T0 + timedelta(seconds=i)))[0]
                      for i in range(10)]
            b_job = (await st.enqueue(db, b, "https://b/0", {}, now=T0 + timedelta(seconds=20)))[0]
            assert await st.queue_position(db, a_jobs[0].id, now=T0) == 1
            assert await st.queue_position(db, b_job.id, now=T0) == 2
            assert await st.queue_position(db, a_jobs[9].id, now=T0) == 11

            now = T0 + timedelta(minutes=1)
            first = [await st.claim(db, f"w{i}", 600, per_user_limit=2, now=now) for i in range(2)]
            assert b_job.id in {j.id for j in first}
            third = await st.claim(db, "w3", 600, per_user_limit=2, now=now)
            assert third.id == a_jobs[1].id
            # A has 2 running (the limit), B has nothing queued: nobody can be served.
            assert await st.claim(db, "w4", 600, per_user_limit=2, now=now) is None
            assert await st.queue_position(db, third.id, now=now) is None
            assert await st.queue_position(db, a_jobs[2].id, now=now) == 1
            assert await st.complete(db, a_jobs[0].id, "w0", {}, now=now)
            assert (await st.claim(db, "w4", 600, per_user_limit=2, now=now)).id == a_jobs[2].id
            jobs_a = await st.list_jobs(db, user_id=a)
            assert len(jobs_a) == 10 and jobs_a[0].id == a_jobs[9].id
            assert [j.id for j in await st.list_jobs(db, status="running")] == \
                [b_job.id, a_jobs[2].id, a_jobs[1].id]
    run(main())


# --- leases ---------------------------------------------------------------------------

def test_expired_lease_is_claimed_again(url):
    async def main():
        async with engine(url) as db:
            uid = await st.ensure_user(db)
            job, _ = await st.enqueue(db, uid, "https://v/1", {}, now=T0)
            got = await st.claim(db, "old", 30, now=T0)
            assert got.id == job.id and got.lease_owner == "old" and got.attempts == 1
            hb = await st.heartbeat(db, job.id, "old", 30, now=T0 + timedelta(seconds=20))
            assert hb.ok and hb.lease_expires_at == T0 + timedelta(seconds=50)
            assert await st.claim(db, "new", 30, now=T0 + timedelta(seconds=49)) is None

            later = T0 + timedelta(seconds=51)
            again = await st.claim(db, "new", 30, now=later)
            assert again.id == job.id and again.lease_owner == "new" and again.attempts == 2
            hb_old = await st.heartbeat(db, job.id, "old", 30, now=later)
            assert hb_old.lease_lost and not hb_old.cancel_requested
            assert not await st.set_progress(db, job.id, "old", "asr", 0.5, now=later)
            assert not await st.complete(db, job.id, "old", {}, now=later)
            assert await st.fail(db, job.id, "old", "x", now=later) is None
            assert (await st.heartbeat(db, job.id, "new", 30, now=later)).ok
            assert await st.set_progress(db, job.id, "new", "asr", 1.7, now=later)
            assert (await st.get_job(db, job.id)).progress == 1.0
            assert [e.kind for e in await st.events_for(db, job.id)] == ["lease_expired"]
    run(main())


def test_lost_worker_uses_up_attempts(url):
    """A job whose worker keeps dying is failed after max_attempts, not retried forever."""
    async def main():
        async with engine(url) as db:
            uid = await st.ensure_user(db)
            job, _ = await st.enqueue(db, uid, "https://v/huge", {}, max_attempts=2, now=T0)
            assert (await st.claim(db, "w1", 10, now=T0)).attempts == 1
            assert (await st.claim(db, "w2", 10, now=T0 + timedelta(seconds=11))).attempts == 2
            assert await st.claim(db, "w3", 10, now=T0 + timedelta(seconds=22)) is None
            final = await st.get_job(db, job.id)
            assert final.status == "failed" and final.error == LOST_WORKER_ERROR
            assert final.finished_at == T0 + timedelta(seconds=22)
    run(main())


# --- cancel ---------------------------------------------------------------------------

def test_cancel_queued_and_running(url):
    async def main():
        async with engine(url) as db:
            owner = await st.ensure_user(db, telegram_id=1)
            stranger = await st.ensure_user(db, telegram_id=2)
            queued, _ = await st.enqueue(db, owner, "https://v/q", {}, now=T0)
            running, _ = await st.enqueue(db, owner, "https://v/r", {}, now=T0 + timedelta(seconds=1))

            assert not await st.cancel(db, queued.id, user_id=stranger)
            assert await st.cancel(db, queued.id, user_id=owner)
            q = await st.get_job(db, queued.id)
            assert q.status == "cancelled" and q.finished_at is not None

            job = await st.claim(db, "w", 60, now=T0 + timedelta(seconds=2))
            assert job.id == running.id  # the cancelled one is never claimed
            assert not await st.cancel(db, running.id, user_id=stranger)
            assert not (await st.heartbeat(db, running.id, "w", 60)).cancel_requested
            assert await st.cancel(db, running.id, user_id=owner)
            r = await st.get_job(db, running.id)
            assert r.status == "running" and r.cancel_requested
            hb = await st.heartbeat(db, running.id, "w", 60)
            assert hb.cancel_requested and not hb.lease_lost and not hb.ok
            assert await st.mark_cancelled(db, running.id, "w")
            assert (await st.get_job(db, running.id)).status == "cancelled"
            assert not await st.cancel(db, running.id)  # already finished
            assert not await st.cancel(db, "nosuchjob")
            assert await st.claim(db, "w", 60) is None
            assert [e.kind for e in await st.events_for(db, running.id)] == ["cancel"]
    run(main())


def test_cancel_requested_then_worker_lost_or_released(url):
    async def main():
        async with engine(url) as db:
            uid = await st.ensure_user(db)
            lost, _ = await st.enqueue(db, uid, "https://v/lost", {}, now=T0)
            await st.claim(db, "w1", 10, now=T0)
            assert await st.cancel(db, lost.id, now=T0)
            # The worker died before its checkpoint: the lease runs out, the job is cancelled.
            assert await st.claim(db, "w2", 10, now=T0 + timedelta(seconds=11)) is None
            assert (await st.get_job(db, lost.id)).status == "cancelled"

            rel, _ = await st.enqueue(db, uid, "https://v/rel", {}, now=T0)
            await st.claim(db, "w1", 10, now=T0 + timedelta(seconds=12))
            await st.cancel(db, rel.id)
            assert await st.release(db, rel.id, "w1")
            assert (await st.get_job(db, rel.id)).status == "cancelled"
    run(main())


# --- failures -------------------------------------------------------------------------

def test_transient_failure_retries_with_backoff(url):
    async def main():
        async with engine(url) as db:
            uid = await st.ensure_user(db)
            job, _ = await st.enqueue(db, uid, "https://v/flaky", {}, max_attempts=3, now=T0)
            now = T0
            for attempt in (1, 2):
                got = await st.claim(db, "w", 60, now=now)
                assert got.id == job.id and got.attempts == attempt
                assert await st.fail(db, job.id, "w", "The video site did not answer.",
                                     detail="timeout", transient=True, now=now) == "queued"
                j = await st.get_job(db, job.id)
                delay = timedelta(seconds=retry_delay(attempt))
                assert j.status == "queued" and j.run_after == now + delay and j.lease_owner is None
                assert await st.claim(db, "w", 60, now=now + delay - timedelta(seconds=1)) is None
                now = now + delay
            assert retry_delay(1) == 30 and retry_delay(2) == 60 and retry_delay(20) == 900
            assert (await st.claim(db, "w", 60, now=now)).attempts == 3
            assert await st.fail(db, job.id, "w", "The video site did not answer.",
                                 transient=True, now=now) == "failed"
            j = await st.get_job(db, job.id)
            assert j.status == "failed" and j.finished_at == now and j.error_detail is None
            kinds = [e.kind for e in await st.events_for(db, job.id)]
            assert kinds == ["retry", "retry", "failed"]
    run(main())


def test_bad_input_fails_at_once_and_release_keeps_attempts(url):
    async def main():
        async with engine(url) as db:
            uid = await st.ensure_user(db)
            bad, _ = await st.enqueue(db, uid, "https://v/404", {}, now=T0)
            await st.claim(db, "w", 60, now=T0)
            assert await st.fail(db, bad.id, "w", "This link leads nowhere.", detail="HTTP 404",
                                 now=T0) == "failed"
            j = await st.get_job(db, bad.id)
            assert (j.status, j.error, j.error_detail, j.attempts) == \
                ("failed", "This link leads nowhere.", "HTTP 404", 1)
            assert await st.claim(db, "w", 60, now=T0 + timedelta(hours=1)) is None

            ok, _ = await st.enqueue(db, uid, "https://v/ok", {}, now=T0)
            await st.claim(db, "w", 60, now=T0)
            assert await st.release(db, ok.id, "w", now=T0)  # SIGTERM: back, attempt not counted
            j = await st.get_job(db, ok.id)
            assert (j.status, j.attempts, j.lease_owner) == ("queued", 0, None)
            assert (await st.claim(db, "w2", 60, now=T0)).attempts == 1
            assert not await st.release(db, ok.id, "w", now=T0)
    run(main())


# --- clips, feedback, events ----------------------------------------------------------

def test_record_clips_once_and_feedback_upsert(url):
    clips_in = [
        {"rank": r, "start": 10.0 * r, "end": 10.0 * r + 30, "score": 90 - r,
         "breakdown": {"loudness": 0.4}, "reasons": ["loud"], "text": "wow", "file": f"/c/{r}.mp4"}
        for r in (1, 2, 3)
    ]

    async def main():
        async with engine(url) as db:
            uid = await st.ensure_user(db, telegram_id=5)
            job, _ = await st.enqueue(db, uid, "https://v/1", {})
            first = await st.record_clips(db, job.id, clips_in)
            second = await st.record_clips(db, job.id, [{**c, "score": 1} for c in clips_in])
            assert first == second and [c.rank for c in second] == [1, 2, 3]
            engines = [st.make_engine(url) for _ in range(2)]
            try:
                await asyncio.gather(*(st.record_clips(e, job.id, clips_in) for e in engines))
            finally:
                await asyncio.gather(*(e.dispose() for e in engines))
            stored = await st.clips_for(db, job.id)
            assert [c.rank for c in stored] == [1, 2, 3] and stored[0].score == 89
            assert stored[0].breakdown == {"loudness": 0.4} and stored[0].reasons == ["loud"]
            assert (await st.get_job(db, job.id)).clips == 3

            clip = stored[0]
            assert await st.set_clip_file_id(db, clip.id, "BAACAgI")
            assert await st.mark_delivered(db, clip.id, now=T0)
            assert await st.mark_delivered(db, clip.id, now=T0 + timedelta(hours=1))
            c = await st.get_clip(db, clip.id)
            assert (c.telegram_file_id, c.delivered_at) == ("BAACAgI", T0)

            other = await st.ensure_user(db, telegram_id=6)
            await st.add_feedback(db, clip.id, uid, 1)
            await st.add_feedback(db, clip.id, uid, -1)
            await st.add_feedback(db, clip.id, other, 1)
            assert await st.feedback_for(db, clip.id) == {uid: -1, other: 1}

            eid = await st.add_event(db, job.id, "stage", {"name": "asr", "s": 12.5}, now=T0)
            ev = await st.events_for(db, job.id, kind="stage")
            assert [(e.id, e.data, e.at) for e in ev] == [(eid, {"name": "asr", "s": 12.5}, T0)]
    run(main())


def test_sessionmaker_and_aware_times(url):
    async def main():
        async with engine(url) as db:
            sm = async_sessionmaker(db)
            uid = await st.ensure_user(sm)
            job, _ = await st.enqueue(sm, uid, "https://v/1", {"k": [1, "ü"]})
            got = await st.get_job(sm, job.id)
            assert got.options == {"k": [1, "ü"]} and got.created_at.tzinfo is not None
            with pytest.raises(ValueError):
                await st.claim(db, "w", 60, now=datetime(2030, 1, 1))
            assert (await st.counts_by_status(sm)) == {
                "queued": 1, "running": 0, "done": 0, "failed": 0, "cancelled": 0}
    run(main())
