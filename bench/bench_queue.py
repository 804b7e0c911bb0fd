"""Benchmark the job queue (not a test): enqueue and claim throughput and claim latency on
SQLite and on PostgreSQL, with 1, 4 and 16 concurrent claimers.

Each claimer is an asyncio task with its own engine (own connection), all in this one
process; a claimer claims a job and completes it at once, so "claim jobs/s" is the rate of
claim + complete round trips the queue sustains. Enqueuers run at the same concurrency.
PostgreSQL is a throwaway server started like the tests' one (tests/pg.py).

    .venv/bin/python bench/bench_queue.py [--jobs 600] [--users 30] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from pg import create_database, find_bindir, postgres_cluster  # noqa: E402

import storage as st  # noqa: E402


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


async def bench_one(url: str, claimers: int, n_jobs: int, n_users: int) -> dict[str, float]:
    await st.migrate(url)
    setup = st.make_engine(url)
    users = [await st.ensure_user(setup, telegram_id=10_000 + i) for i in range(n_users)]
    await setup.dispose()
    engines = [st.make_engine(url) for _ in range(claimers)]
    try:
        # Warm each engine's connection so pool start-up is not timed.
        await asyncio.gather(*(st.counts_by_status(e) for e in engines))

        todo = list(range(n_jobs))

        async def enqueuer(db) -> None:
            while todo:
                i = todo.pop()
                await st.enqueue(db, users[i % n_users], f"https://vod.example/{i}", {"k": 5})

        t0 = time.perf_counter()
        await asyncio.gather(*(enqueuer(e) for e in engines))
        enqueue_s = time.perf_counter() - t0

        latencies: list[float] = []
        empty = 0
        done = 0

        async def claimer(db, name: str) -> None:
            nonlocal empty, done
            while done < n_jobs:
                t = time.perf_counter()
                job = await st.claim(db, name, 300)
                latencies.append(time.perf_counter() - t)
                if job is None:
                    empty += 1
                    await asyncio.sleep(0.001)
                    continue
                await st.complete(db, job.id, name, {"clips": 0})
                done += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(claimer(e, f"w{i}") for i, e in enumerate(engines)))
        claim_s = time.perf_counter() - t0
        counts = await st.counts_by_status(engines[0])
        assert counts["done"] == n_jobs, counts
    finally:
        await asyncio.gather(*(e.dispose() for e in engines))
    return {
        "enqueue_per_s": n_jobs / enqueue_s,
        "claim_per_s": n_jobs / claim_s,
        "p50_ms": _pct(latencies, 0.50) * 1000,
        "p99_ms": _pct(latencies, 0.99) * 1000,
        "empty": empty,
    }


async def run_backend(name: str, make_url, levels: list[int], n_jobs: int, n_users: int):
    rows = []
    for claimers in levels:
        url = await make_url(claimers)
        r = await bench_one(url, claimers, n_jobs, n_users)
        rows.append((name, claimers, r))
        print(f"  {name:10s} {claimers:3d} claimers done", file=sys.stderr)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", type=int, default=600)
    ap.add_argument("--users", type=int, default=30)
    ap.add_argument("--claimers", default="1,4,16")
    ap.add_argument("--backends", default="sqlite,postgresql")
    args = ap.parse_args()
    levels = [int(x) for x in args.claimers.split(",")]
    backends = args.backends.split(",")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-queue-") as tmp:
        if "sqlite" in backends:
            async def sqlite_db(claimers: int) -> str:
                return st.sqlite_url(Path(tmp) / f"q{claimers}.db")
            rows += asyncio.run(run_backend("sqlite", sqlite_db, levels, args.jobs, args.users))
        if "postgresql" in backends:
            if find_bindir() is None:
                print("PostgreSQL binaries not found: skipping postgresql", file=sys.stderr)
            else:
                with postgres_cluster() as base:
                    async def pg_db(claimers: int) -> str:
                        return await create_database(base, f"bench_{claimers}")
                    rows += asyncio.run(run_backend("postgresql", pg_db, levels, args.jobs,
                                                    args.users))

    print(f"\n{args.jobs} jobs over {args.users} users; per_user_limit=2; claim = claim + complete")
    head = (f"{'backend':10s} | {'claimers':>8s} | {'enqueue jobs/s':>14s} | "
            f"{'claim jobs/s':>12s} | {'claim p50 ms':>12s} | {'claim p99 ms':>12s} | {'empty claims':>12s}")
    print(head)
    print("-" * len(head))
    for name, claimers, r in rows:
        print(f"{name:10s} | {claimers:8d} | {r['enqueue_per_s']:14.0f} | {r['claim_per_s']:12.0f} | "
              f"{r['p50_ms']:12.2f} | {r['p99_ms']:12.2f} | {r['empty']:12d}")


if __name__ == "__main__":
    main()
