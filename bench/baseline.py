"""The straightforward pipeline, the yardstick of bench/bench_pipeline.py (not used by the service).

Same input, same scoring, same number of clips as `pipeline.jobs.runner.run_job`, but done the
way a first version would do it: every frame decoded at full resolution into OpenCV for
motion, the whole audio handed to faster-whisper in one sequential call without VAD or
batching, and every stage one after another in this one process (no process pool, no stage
cache reuse), clips rendered one after another. Where the work is the same (audio decode and
features, enrichment, scoring, the render of one clip) the project's own code runs, so the
differences measured are the ones the pipeline's design makes."""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.jobs import tasks
from pipeline.media.cache import read_json, write_json
from pipeline.media.config import Settings, VideoSettings
from pipeline.media.errors import NoAudioError, ProcessingError
from pipeline.media.models import MediaInfo, ProgressFn, Transcript, no_progress
from pipeline.media.motion import is_cut
from pipeline.media.progress import NullObserver, Observer
from pipeline.media.render.job import RenderOptions, find_facecam, render_moments
from pipeline.jobs.runner import job_id_for, score_job



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
    pass, and clips rendered one at a time."""
    fields = type(settings.asr).model_fields
    asr_update = {"vad": False, "chunk_s": max(settings.asr.chunk_s, duration + 60)}
    if "batch_size" in fields:
        asr_update["batch_size"] = 1  # 1: never batched
    if "cascade_model" in fields:
        asr_update["cascade_model"] = None
    asr = settings.asr.model_copy(update=asr_update)
    render = settings.render.model_copy(update={"parallel": 1})
    return settings.model_copy(update={"asr": asr, "render": render})


class _Stages:
    """Times each stage the way the runner does: {"stage": {"seconds", "cached"}}."""

    def __init__(self, observer: Observer) -> None:
        self.observer = observer
        self.stages: dict[str, dict[str, Any]] = {}

    def run(self, stage: str, fn, *args):
        started = time.monotonic()
        self.observer.stage_progress(stage, 0.0)
        result = fn(*args)
        seconds = round(time.monotonic() - started, 3)
        self.stages[stage] = {"seconds": seconds, "cached": False}
        self.observer.stage_done(stage, seconds, False)
        return result


def run_baseline(source: str, settings: Settings, out_dir: Path, observer: Observer | None = None,
                 job_id: str | None = None, render: RenderOptions | None = None) -> dict[str, Any]:
    """Analyse and render `source` the straightforward way into `<out_dir>/<job_id>/`; returns
    a report shaped like run_job's, plus `clip_times`: seconds from the start of this call to
    each clip file being done, in render order. `out_dir` should be fresh: nothing is reused."""
    from pipeline.media.audio_decode import decode_audio
    from pipeline.media.fetch import fetch
    from pipeline.media.probe import check_usable, probe

    started = time.monotonic()
    observer = observer or NullObserver()
    job_id = job_id or job_id_for(source)
    job_dir = Path(out_dir).resolve() / job_id
    job_dir.mkdir(parents=True, exist_ok=True)
    st = _Stages(observer)

    src = st.run("fetch", fetch, source, job_dir, settings)
    media = Path(src.path)

    def do_probe() -> MediaInfo:
        info = probe(media)
        check_usable(info, settings)
        return info

    info = st.run("probe", do_probe)
    settings = baseline_settings(settings, info.duration)
    audio_path = job_dir / "audio.f32"
    st.run("audio", decode_audio, media, audio_path, settings.audio.sample_rate)
    if audio_path.stat().st_size == 0:
        raise NoAudioError()

    st.run("asr", tasks.asr_task, audio_path, info.duration, settings, job_dir / "transcript.json", None)
    st.run("audio_features", tasks.audio_features_task, audio_path, info.duration, settings.audio,
           job_dir / "audio_features.npz", None)

    def do_motion() -> None:
        arrays = motion_full_decode(media, info.duration, settings.video)
        with open(job_dir / "motion.npz", "wb") as fh:
            np.savez(fh, **arrays)

    st.run("motion", do_motion)
    enriched = st.run("enrich", tasks.enrich_task, job_dir / "transcript.json", settings,
                      job_dir / "enrich.json", None)

    def do_score() -> list[dict[str, Any]]:
        moments, timeline = score_job(job_dir, info.duration, settings)
        write_json(job_dir / "timeline.json", [round(float(v), 4) for v in timeline])
        return [asdict(m) for m in moments]

    clips = st.run("score", do_score)
    transcript = read_json(job_dir / "transcript.json")
    render_summary, clip_times = None, []
    if render is not None and clips:
        words = Transcript.from_dict(transcript).words
        source_key = f"baseline-{job_id}"
        if settings.layouts[render.layout].kind == "facecam_top":  # as run_job, outside the render time
            st.run("facecam", find_facecam, job_dir, media, info, settings, source_key)
        t0 = time.monotonic()
        rendered = []
        for clip in clips:  # one render_moments call per clip: each file is done when it returns
            done, render_summary = render_moments(job_dir, media, info, [clip], words, settings, render,
                                                  source_key, observer)
            rendered += done
            clip_times.append(round(time.monotonic() - started, 3))
        seconds = round(time.monotonic() - t0, 3)
        clips, render_summary = rendered, {**render_summary, "seconds": seconds}
        st.stages["render"] = {"seconds": seconds, "cached": False}
    report = {
        "job_id": job_id,
        "source": source,
        "duration": info.duration,
        "language": transcript["language"],
        "media": asdict(info),
        "models": {"asr": f"{transcript['engine']}:{transcript['model']}", **enriched},
        "stages": st.stages,
        "clips": clips,
        "render": render_summary,
        "clip_times": clip_times,
    }
    write_json(job_dir / "report.json", report)
    return report
