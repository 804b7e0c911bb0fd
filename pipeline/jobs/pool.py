"""The analysis process pools a job runs its CPU-heavy stages in."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing.managers import SyncManager
from typing import Any

from pipeline.jobs import lifeline

CPU_PROCESSES = 2


@dataclass
class AnalysisPool:
    """Spawn process pools: one process keeps the ASR model loaded; the CPU stages (audio
    features, motion, embeddings) share the others. A manager's queues carry progress back.
    Every process of it dies with the process that made the pool (`lifeline`)."""

    asr: ProcessPoolExecutor
    cpu: ProcessPoolExecutor
    manager: Any

    def executor_for(self, stage: str) -> ProcessPoolExecutor:
        return self.asr if stage == "asr" else self.cpu

    def close(self) -> None:
        """Stop every pool process now, with the ffmpeg it runs: when the pool is closed, no
        one is left to take a stage's result (a job given back at SIGTERM, a finished run),
        and an 8-hour ASR would otherwise hold the shutdown until it ends."""
        executors = (self.asr, self.cpu)
        # ProcessPoolExecutor has no public way to stop its processes before Python 3.14
        # (terminate_workers); `_processes` (pid -> Process) has been there since 3.2.
        pids = [pid for ex in executors for pid in (getattr(ex, "_processes", None) or {})]
        threads = [t for ex in executors if (t := getattr(ex, "_executor_manager_thread", None))]
        for executor in executors:
            executor.shutdown(wait=False, cancel_futures=True)
        lifeline.stop_groups(pids)
        for thread in threads:
            thread.join(timeout=lifeline.STOP_GRACE_S)
        self.manager.shutdown()


def make_pool(cpu_processes: int = CPU_PROCESSES) -> AnalysisPool:
    ctx = multiprocessing.get_context("spawn")
    me = (os.getpid(),)
    manager = SyncManager(ctx=ctx)
    manager.start(lifeline.adopt, me)
    return AnalysisPool(
        ProcessPoolExecutor(max_workers=1, mp_context=ctx, initializer=lifeline.adopt, initargs=me),
        ProcessPoolExecutor(max_workers=cpu_processes, mp_context=ctx, initializer=lifeline.adopt, initargs=me),
        manager)


@contextlib.contextmanager
def analysis_pool(pool: AnalysisPool | None) -> Iterator[AnalysisPool]:
    if pool is not None:
        yield pool
        return
    own = make_pool()
    try:
        yield own
    finally:
        own.close()
