"""Disk hygiene: refuse new work when the disk is nearly full, and remove old job folders."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterable
from pathlib import Path

from pipeline.media.config import RetentionSettings
from pipeline.media.errors import ClipFactoryError


class DiskFullError(ClipFactoryError):
    user_message = "The server is out of disk space right now. Please try again later."
    transient = True


def free_mb(path: Path) -> float:
    path.mkdir(parents=True, exist_ok=True)
    return shutil.disk_usage(path).free / 2**20


def check_free_space(path: Path, cfg: RetentionSettings) -> None:
    if free_mb(path) < cfg.min_free_disk_mb:
        raise DiskFullError(detail=f"{free_mb(path):.0f} MB free in {path}, need {cfg.min_free_disk_mb:.0f}")


def _size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def clean_job_folders(jobs_dir: Path, cfg: RetentionSettings, keep: Iterable[str] = (),
                      now: float | None = None) -> list[str]:
    """Remove job folders past the age limit, then the oldest while the total is over the
    cap; folders named in `keep` (active jobs) are never touched. Returns the removed names."""
    if not jobs_dir.is_dir():
        return []
    now = now or time.time()
    keep = set(keep)
    sizes = {p: _size(p) for p in jobs_dir.iterdir() if p.is_dir()}
    total = sum(sizes.values())
    folders = sorted((p for p in sizes if p.name not in keep), key=lambda p: p.stat().st_mtime)
    removed = []
    for folder in folders:
        too_old = now - folder.stat().st_mtime > cfg.max_age_days * 86400
        too_big = total > cfg.max_total_gb * 2**30
        if not (too_old or too_big):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        total -= sizes[folder]
        removed.append(folder.name)
    return removed
