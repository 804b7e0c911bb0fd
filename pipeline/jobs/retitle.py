""""New title": another post kit for one clip of a finished job. Nothing is rendered again
unless the clip shows its title as the hook line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.media import artifacts
from pipeline.media.cache import read_json, write_json
from pipeline.media.config import Settings
from pipeline.media.errors import ConfigError
from pipeline.media.models import Moment, Transcript
from pipeline.media.postkit.write import KitWriter, brief_for, write_kit_file
from pipeline.media.progress import Observer
from pipeline.media.render.job import RenderOptions, rerender_job


def retitle_job(job_dir: Path, settings: Settings, rank: int, render: RenderOptions | None,
                observer: Observer | None = None) -> dict[str, Any]:
    """The report with clip `rank`'s post kit written anew (the next offline variant, or the
    model asked for a different title); the clip is rendered again when its hook shows it."""
    report: dict[str, Any] = read_json(job_dir / artifacts.REPORT)
    clip = next((c for c in report["clips"] if c["rank"] == rank), None)
    if clip is None:
        raise ConfigError(f"Job folder {job_dir} has no clip #{rank}.")
    transcript = Transcript.from_dict(read_json(job_dir / artifacts.TRANSCRIPT))
    moment = Moment.from_dict(clip)
    variant = int((moment.post_kit or {}).get("variant", -1)) + 1
    kit = KitWriter(settings).write(brief_for(moment, transcript, report.get("title", ""), settings), variant)
    clip["post_kit"] = kit.to_dict()
    write_json(job_dir / artifacts.REPORT, report)
    write_kit_file(job_dir, Moment.from_dict(clip))
    if render is not None and settings.brand.hook and clip.get("file"):
        report = rerender_job(job_dir, settings, render, observer, [rank])
    return report
