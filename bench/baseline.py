"""The straightforward pipeline, the yardstick of bench/bench_pipeline.py (not used by the service).

Same input, same scoring, same number of clips as `pipeline.jobs.runner.run_job`, but done the
way a first version would do it: every frame decoded at full resolution into OpenCV for
motion, the whole audio handed to faster-whisper in one sequential call without VAD or
batching, and every stage one after another in this one process (no process pool, no stage
cache reuse), clips rendered one after another. It is our own stage graph with the motion
stage swapped and every stage moved into this process (`baseline_graph`) and settings that
turn VAD, batching and parallel renders off (`baseline_settings`): the differences measured
are the ones the pipeline's design makes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.jobs.runner import run_job
from pipeline.jobs.stages import ANALYSIS, Stage, StageContext, graph
from pipeline.media import artifacts
from pipeline.media.cache import save_npz
from pipeline.media.config import QualityLevel, Settings, VideoSettings
from pipeline.media.errors import ProcessingError
from pipeline.media.models import ProgressFn, no_progress
from pipeline.media.motion import is_cut
from pipeline.media.probe import probe
from pipeline.media.progress import Observer
from pipeline.media.render.job import RenderOptions


def motion_full_decode(src: Path, duration: float, cfg: VideoSettings,
                       progress: ProgressFn = no_progress) -> dict[str, np.ndarray]:
    """The arrays of `pipeline.media.motion.analyse_motion` (`motion` 0..1 and `scene_cuts` per
    second), from every frame at full resolution: OpenCV decodes, converts to grey and
    differences each frame against the one before."""
    import cv2

    n = max(1, int(np.ceil(duration)))
    motion_sum, counts, cuts = np.zeros(n), np.zeros(n), np.zeros(n)
    cap = cv2.VideoCapture(str(src))
    if not cap.isOpened():
        raise ProcessingError(detail=f"OpenCV could not open {src}")
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    expected = max(1.0, duration * fps)
    prev: np.ndarray | None = None
    index = 0
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
            if prev is not None:
                diff = cv2.absdiff(grey, prev)
                second = min(int(index / fps), n - 1)
                motion_sum[second] += float(diff.mean()) / 255.0
                counts[second] += 1
                if is_cut(diff, cfg):
                    cuts[second] += 1
            prev = grey
            index += 1
            if index % 300 == 0:
                progress(min(1.0, index / expected))
    finally:
        cap.release()
    if index == 0:
        raise ProcessingError(detail=f"OpenCV decoded no frame of {src}")
    progress(1.0)
    return {"motion": np.divide(motion_sum, counts, out=np.zeros(n), where=counts > 0), "scene_cuts": cuts}


def baseline_settings(settings: Settings, duration: float) -> Settings:
    """`settings` with ASR over the whole audio in one call without VAD, batching or a second
    pass, and clips rendered one at a time with the encode every clip had before quality
    levels: x264 `veryfast`, CRF 23."""
    fields = type(settings.asr).model_fields
    asr_update = {"vad": False, "chunk_s": max(settings.asr.chunk_s, duration + 60)}
    if "batch_size" in fields:
        asr_update["batch_size"] = 1  # 1: never batched
    if "cascade_model" in fields:
        asr_update["cascade_model"] = None
    asr = settings.asr.model_copy(update=asr_update)
    straightforward = QualityLevel(x264_preset="veryfast", crf=23)
    render = settings.render.model_copy(update={"parallel": 1, "quality": "straightforward",
                                                "qualities": {"straightforward": straightforward}})
    return settings.model_copy(update={"asr": asr, "render": render})


def baseline_motion(ctx: StageContext, progress: ProgressFn) -> dict[str, Any]:
    """The motion stage with `motion_full_decode` in place of the keyframe decode."""
    save_npz(motion_full_decode(ctx.media, ctx.info.duration, ctx.settings.video, progress),
             ctx.path(artifacts.MOTION))
    return {}


def baseline_graph() -> tuple[Stage, ...]:
    """Our analysis graph with the full-decode motion stage, every stage in this process."""
    motion = next(s for s in ANALYSIS if s.name == "motion")
    return graph(replace_stages={"motion": replace(motion, run=baseline_motion)}, where="local")


def run_baseline(source: str, settings: Settings, out_dir: Path, observer: Observer | None = None,
                 job_id: str | None = None, render: RenderOptions | None = None) -> dict[str, Any]:
    """Analyse and render `source` the straightforward way into `<out_dir>/<job_id>/`; returns
    run_job's report. `out_dir` should be fresh: nothing is reused."""
    duration = probe(Path(source)).duration if Path(source).exists() else 0.0
    return run_job(source, baseline_settings(settings, duration), out_dir, observer, job_id=job_id,
                   render=render, stages=baseline_graph())
