"""Render one moment into a finished clip: layout, karaoke subtitles, loudness, encoder.

The graphs are ffmpeg-python streams: the layout draws the picture, the subtitles go on top,
the audio gets the loudness gain; the encoder's arguments come from `encoder.video_args`."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ffmpeg

from pipeline.media.cache import atomic_path
from pipeline.media.config import RenderSettings
from pipeline.media.errors import ProcessingError
from pipeline.media.render.brand import Watermark, with_watermark
from pipeline.media.render.encoder import as_options, video_args
from pipeline.media.render.layouts import Plan
from pipeline.media.render.loudness import loudness_gain, normalised, read_audio

FFMPEG = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]


@dataclass(frozen=True)
class ClipJob:
    media: Path
    start: float
    end: float
    out: Path
    thumbnail: Path
    plan: Plan
    ass: Path | None            # subtitles file beside `out`, or None
    encoder: str
    threads: int
    peak: float
    watermark: Watermark | None = None
    gain_db: float | None = None    # loudness gain from `clip_gain`, found before the encode


class _OverCap(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


def run_ffmpeg(graph: Any, cwd: Path) -> None:
    """Run a compiled ffmpeg-python output graph in `cwd`."""
    proc = subprocess.run(graph.compile(cmd=FFMPEG), capture_output=True, text=True, cwd=cwd, timeout=3600)
    if proc.returncode != 0:
        raise ProcessingError(detail=f"ffmpeg failed ({proc.returncode}): {proc.stderr.strip()[-400:]}")


def clip_graph(job: ClipJob, cfg: RenderSettings, gain_db: float | None, target: Path | str,
               scale: float = 1.0) -> Any:
    """The whole encode of one clip, as an ffmpeg-python output."""
    duration = job.end - job.start
    # Twice as many decoder threads as cores: the decoder then fills the gaps the encoder and
    # the filters leave (5 % faster on 1080p stream content, bench/bench_render_quality.py).
    source = ffmpeg.input(str(job.media), ss=f"{job.start:.3f}", t=f"{duration:.3f}", threads=2 * job.threads)
    video = job.plan.draw(source.video)
    if job.ass:
        # libass reads the subtitles by a name relative to the clip folder: no path escaping needed.
        video = video.filter("subtitles", job.ass.name)
    if job.watermark:
        video = with_watermark(video, job.watermark)
    audio = normalised(source["a:0"], gain_db)
    return ffmpeg.output(video, audio, str(target), format="mp4", movflags="+faststart", ac=2,
                         **as_options(video_args(job.encoder, cfg, duration, job.threads, scale)),
                         **{"c:a": "aac", "b:a": f"{cfg.audio_bitrate_k}k"})


def thumbnail_graph(clip: Path, at: float, width: int, target: Path) -> Any:
    return (ffmpeg.input(str(clip), ss=f"{at:.3f}").filter("scale", width, -2)
            .output(str(target), vframes=1, format="image2", **{"q:v": 3}))


def clip_gain(media: Path, start: float, end: float, cfg: RenderSettings) -> float | None:
    """The loudness gain for a clip: audio only, so it can run while another clip encodes."""
    return loudness_gain(read_audio(media, start, end - start), cfg.loudness_lufs)


def render_clip(job: ClipJob, cfg: RenderSettings) -> dict[str, float]:
    """Encode the clip (at `job.gain_db`) and its thumbnail; returns size and the bitrate
    scale that fit."""
    duration = job.end - job.start
    gain = job.gain_db
    limit = cfg.max_size_mb * 1024 * 1024
    scale = 1.0
    for _ in range(3):
        try:
            with atomic_path(job.out) as tmp:
                run_ffmpeg(clip_graph(job, cfg, gain, tmp, scale), job.out.parent)
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
        run_ffmpeg(thumbnail_graph(job.out, at, cfg.thumbnail_width, tmp), job.out.parent)
    return {"size_bytes": size, "bitrate_scale": round(scale, 3)}
