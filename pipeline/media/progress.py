"""How a running job tells the outside world where it is.

The runner calls an `Observer`; the console shows rich progress bars, the worker will
forward the same calls to a Notifier (Telegram)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID


class Observer(Protocol):
    def stage_progress(self, stage: str, fraction: float, note: str = "") -> None: ...

    def stage_done(self, stage: str, seconds: float, cached: bool) -> None: ...

    def clip_done(self, clip: dict[str, Any]) -> None:
        """A rendered clip is ready (its file is in the job folder). Called from a render
        thread as each clip finishes, before the others are, so it can be delivered early."""


class NullObserver:
    def stage_progress(self, stage: str, fraction: float, note: str = "") -> None:
        pass

    def stage_done(self, stage: str, seconds: float, cached: bool) -> None:
        pass

    def clip_done(self, clip: dict[str, Any]) -> None:
        pass


class RichObserver:
    """One progress bar per stage on the console."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._tasks: dict[str, TaskID] = {}

    def _task(self, stage: str) -> TaskID:
        if stage not in self._tasks:
            self._tasks[stage] = self._progress.add_task(stage, total=1.0)
        return self._tasks[stage]

    def stage_progress(self, stage: str, fraction: float, note: str = "") -> None:
        self._progress.update(self._task(stage), completed=max(0.0, min(1.0, fraction)),
                              description=f"{stage} {note}".strip())

    def stage_done(self, stage: str, seconds: float, cached: bool) -> None:
        label = f"{stage} [dim](cached)[/dim]" if cached else f"{stage} [dim]{seconds:.1f}s[/dim]"
        self._progress.update(self._task(stage), completed=1.0, description=label)

    def clip_done(self, clip: dict[str, Any]) -> None:
        self._progress.console.print(f"clip {clip['rank']} ready: {clip['file']} (score {clip['score']:.0f})")
