"""The analysis process pools a job runs its CPU-heavy stages in."""

from __future__ import annotations

import contextlib
import multiprocessing
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

CPU_PROCESSES = 2


@dataclass
class AnalysisPool:
    """Spawn process pools: one process keeps the ASR model loaded; the CPU stages (audio
    features, motion, embeddings) share the others. A manager's queues carry progress back."""

    asr: ProcessPoolExecutor
    cpu: ProcessPoolExecutor
    manager: Any

    def executor_for(self, stage: str) -> ProcessPoolExecutor:
        return self.asr if stage == "asr" else self.cpu

    def close(self) -> None:
        for executor in (self.asr, self.cpu):
            executor.shutdown(wait=True, cancel_futures=True)
        self.manager.shutdown()


def make_pool(cpu_processes: int = CPU_PROCESSES) -> AnalysisPool:
    ctx = multiprocessing.get_context("spawn")
    return AnalysisPool(ProcessPoolExecutor(max_workers=1, mp_context=ctx),
                        ProcessPoolExecutor(max_workers=cpu_processes, mp_context=ctx), ctx.Manager())


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
