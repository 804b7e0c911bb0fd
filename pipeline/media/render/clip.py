"""Render one moment into a finished clip: layout, karaoke subtitles, loudness, encoder."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from pipeline.media.cache import atomic_path
from pipeline.media.config import RenderSettings
from pipeline.media.errors import ProcessingError
from pipeline.media.render.encoder import video_args
from pipeline.media.render.loudness import audio_filter


@dataclass(frozen=True)
class ClipJob:
    media: Path
    start: float
    end: float
    out: Path
    thumbnail: Path
    graph: str                  # [0:v] → [vbase]
    ass: Path | None            # subtitles file beside `out`, or None
    encoder: str
    threads: int
    peak: float


class _OverCap(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


def _ffmpeg(args: list[str], cwd: Path) -> None:
    proc = subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args],
                          capture_output=True, text=True, cwd=cwd, timeout=3600)
    if proc.returncode != 0:
        raise ProcessingError(detail=f"ffmpeg failed ({proc.returncode}): {proc.stderr.strip()[-400:]}")


def _encode(job: ClipJob, cfg: RenderSettings, afilter: str, target: Path, scale: float) -> None:
    duration = job.end - job.start
    # libass reads the subtitles by a name relative to the clip folder: no path escaping needed.
    subs = f"[vbase]subtitles={job.ass.name}[v]" if job.ass else "[vbase]null[v]"
    graph = f"{job.graph};{subs};[0:a:0]{afilter}[a]"
    _ffmpeg(["-ss", f"{job.start:.3f}", "-t", f"{duration:.3f}", "-i", str(job.media),
             "-filter_complex", graph, "-map", "[v]", "-map", "[a]",
             *video_args(job.encoder, cfg, duration, job.threads, scale),
             "-c:a", "aac", "-b:a", f"{cfg.audio_bitrate_k}k", "-ar", "48000", "-ac", "2",
             "-movflags", "+faststart", "-f", "mp4", str(target)], cwd=job.out.parent)


def render_clip(job: ClipJob, cfg: RenderSettings) -> dict[str, float]:
    """Encode the clip and its thumbnail; returns size and the bitrate scale that fit."""
    duration = job.end - job.start
    afilter = audio_filter(job.media, job.start, duration, cfg.loudness_lufs)
    limit = cfg.max_size_mb * 1024 * 1024
    scale = 1.0
    for _ in range(3):
        try:
            with atomic_path(job.out) as tmp:
                _encode(job, cfg, afilter, tmp, scale)
                size = os.path.getsize(tmp)
                if size > limit:
                    raise _OverCap(size)
            break
        except _OverCap as over:
            scale *= 0.9 * limit / over.size
    else:
        raise ProcessingError(detail=f"could not fit {job.out.name} under {cfg.max_size_mb} MB")
    at = min(max(0.0, job.peak - job.start), duration / 2)
    with atomic_path(job.thumbnail) as tmp:
        _ffmpeg(["-ss", f"{at:.3f}", "-i", str(job.out), "-frames:v", "1",
                 "-vf", f"scale={cfg.thumbnail_width}:-2", "-q:v", "3", "-f", "image2", str(tmp)],
                cwd=job.out.parent)
    return {"size_bytes": size, "bitrate_scale": round(scale, 3)}
