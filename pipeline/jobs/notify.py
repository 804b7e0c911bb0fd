"""How a worker tells people about their jobs. The console one is here; the Telegram one
lives in bot/."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from rich.console import Console


class Notifier(Protocol):
    async def progress(self, job: Any, stage: str, fraction: float, note: str) -> None: ...

    async def clip_ready(self, job: Any, clip: dict[str, Any], job_dir: Path) -> None: ...

    async def finished(self, job: Any, report: dict[str, Any], job_dir: Path) -> None: ...

    async def failed(self, job: Any, message: str) -> None: ...

    async def cancelled(self, job: Any) -> None: ...


class ConsoleNotifier:
    def __init__(self, console: Console | None = None) -> None:
        self._console = console or Console(stderr=True)

    async def progress(self, job: Any, stage: str, fraction: float, note: str) -> None:
        self._console.print(f"[dim]{job.id}[/dim] {stage} {fraction:.0%} {note}".rstrip())

    async def clip_ready(self, job: Any, clip: dict[str, Any], job_dir: Path) -> None:
        self._console.print(f"{job.id} clip {clip['rank']} score {clip['score']:.0f}: {job_dir / clip['file']}")

    async def finished(self, job: Any, report: dict[str, Any], job_dir: Path) -> None:
        self._console.print(f"[green]{job.id} done[/green]: {len(report['clips'])} moments in {job_dir}")

    async def failed(self, job: Any, message: str) -> None:
        self._console.print(f"[red]{job.id} failed[/red]: {message}")

    async def cancelled(self, job: Any) -> None:
        self._console.print(f"[yellow]{job.id} cancelled[/yellow]")
