"""What runs inside the analysis pool's spawned processes: a stage function with progress
sent back through the parent's queue. Models are loaded once per process by the loaders the
stages call."""

from __future__ import annotations

import time
from typing import Any

from pipeline.jobs.stages import StageContext, StageFn


class QueueProgress:
    """A ProgressFn that forwards to the parent's queue, at most every 1 % or 0.5 s."""

    def __init__(self, queue: Any, stage: str) -> None:
        self._queue, self._stage = queue, stage
        self._last, self._last_t = -1.0, 0.0

    def __call__(self, fraction: float, note: str = "") -> None:
        now = time.monotonic()
        if fraction - self._last >= 0.01 or now - self._last_t > 0.5 or fraction >= 1.0:
            self._last, self._last_t = fraction, now
            if self._queue is not None:
                self._queue.put((self._stage, float(fraction), note))


def run_in_pool(fn: StageFn, ctx: StageContext, stage: str, queue: Any) -> dict[str, Any] | None:
    return fn(ctx, QueueProgress(queue, stage))
