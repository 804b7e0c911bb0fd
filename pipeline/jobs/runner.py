"""Runs one job through the stages, resuming from the stage cache.

fetch → probe → audio decode run in this process; ASR, audio features and motion run at
the same time in the process pool; enrichment starts as soon as ASR is done; scoring is
cheap and runs here. Every finished stage is recorded in the job folder, so a rerun (or a
run after a crash) skips it."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.jobs import tasks
from pipeline.media.cache import load_stage, read_json, save_stage, stable_hash, write_json
from pipeline.media.chat.stage import CURVES_FILE as CHAT_FILE
from pipeline.media.chat.stage import chat_origin, chat_stage, report_block
from pipeline.media.config import Settings
from pipeline.media.errors import ChatUnavailableError, NoAudioError
from pipeline.media.fetch import fetch, source_identity
from pipeline.media.models import MediaInfo, Moment, Transcript, Word
from pipeline.media.probe import check_usable, probe
from pipeline.media.progress import NullObserver, Observer
from pipeline.jobs.pool import AnalysisPool, analysis_pool, make_pool
from pipeline.media.render.job import RenderOptions, clip_sources, render_moments

CASCADE_ONLY = {"cascade_model", "cascade_beam_size"}   # change the subtitles, not the scoring
log = logging.getLogger(__name__)


def job_id_for(source: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9]+", "-", Path(source.split("?")[0].rstrip("/")).stem).strip("-")
    return f"{stem[:32] or 'job'}-{stable_hash(source_identity(source), length=10)}"


@dataclass
class _Run:
    job_dir: Path
    observer: Observer
    stages: dict[str, dict[str, Any]]

    def cached(self, stage: str, key: str) -> dict | None:
        result = load_stage(self.job_dir, stage, key)
        if result is not None:
            self.stages[stage] = {"seconds": 0.0, "cached": True}
            self.observer.stage_done(stage, 0.0, True)
        return result

    def finish(self, stage: str, key: str, started: float, result: dict, files: list[str]) -> dict:
        save_stage(self.job_dir, stage, key, result, files)
        seconds = round(time.monotonic() - started, 3)
        self.stages[stage] = {"seconds": seconds, "cached": False}
        self.observer.stage_done(stage, seconds, False)
        return result

    def local(self, stage: str, key: str, fn: Callable[[], tuple[dict, list[str]]]) -> dict:
        hit = self.cached(stage, key)
        if hit is not None:
            return hit
        started = time.monotonic()
        self.observer.stage_progress(stage, 0.0)
        result, files = fn()
        return self.finish(stage, key, started, result, files)


def _drain(queue: Any, observer: Observer) -> None:
    while True:
        try:
            stage, fraction, note = queue.get_nowait()
        except Exception:  # queue.Empty through the manager proxy
            return
        observer.stage_progress(stage, fraction, note)


def run_job(source: str, settings: Settings, out_dir: Path, observer: Observer | None = None,
            pool: AnalysisPool | None = None, job_id: str | None = None,
            render: RenderOptions | None = None, chat: str | None = None) -> dict[str, Any]:
    """Analyse `source`, render its moments when `render` is given, and write
    `<out_dir>/<job_id>/report.json`; return the report. `chat` is a chat log (a file or a
    link); without it the chat replay of a YouTube or Twitch link is fetched when `chat.auto`."""
    observer = observer or NullObserver()
    job_id = job_id or job_id_for(source)
    job_dir = Path(out_dir).resolve() / job_id
    job_dir.mkdir(parents=True, exist_ok=True)
    run = _Run(job_dir, observer, {})

    k_fetch = stable_hash("fetch", source_identity(source), settings.fetch, settings.limits)

    def do_fetch() -> tuple[dict, list[str]]:
        src = fetch(source, job_dir, settings,
                    lambda f, note="": observer.stage_progress("fetch", f, note))
        return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(src).items()}, []

    src = run.local("fetch", k_fetch, do_fetch)
    media = Path(src["path"])

    k_probe = stable_hash("probe", k_fetch, settings.limits, settings.scoring.min_clip_s)

    def do_probe() -> tuple[dict, list[str]]:
        info = probe(media)
        check_usable(info, settings)
        return asdict(info), []

    info = MediaInfo(**run.local("probe", k_probe, do_probe))
    origin = chat_origin(source, chat, settings)

    k_audio = stable_hash("audio", k_fetch, settings.audio.sample_rate)

    def do_audio() -> tuple[dict, list[str]]:
        from pipeline.media.audio_decode import decode_audio
        from pipeline.media.cache import atomic_path

        with atomic_path(job_dir / "audio.f32") as tmp:
            decode_audio(media, tmp, settings.audio.sample_rate,
                         lambda f: observer.stage_progress("audio", f), info.duration)
        if (job_dir / "audio.f32").stat().st_size == 0:
            raise NoAudioError()
        return {}, ["audio.f32"]

    run.local("audio", k_audio, do_audio)
    audio_path = job_dir / "audio.f32"

    keys = {
        "asr": stable_hash("asr", k_audio, settings.asr.model_dump(exclude=CASCADE_ONLY)),
        "audio_features": stable_hash("audio_features", k_audio, settings.audio),
        "motion": stable_hash("motion", k_fetch, settings.video),
    }
    keys["enrich"] = stable_hash("enrich", keys["asr"], settings.embeddings, settings.emotion,
                                 settings.anchors, settings.emotion_prototypes, settings.keywords)
    files = {"asr": "transcript.json", "audio_features": "audio_features.npz",
             "motion": "motion.npz", "enrich": "enrich.json"}
    results: dict[str, dict] = {}

    with analysis_pool(pool) as ap:
        queue = ap.manager.Queue()
        jobs = {
            "asr": (tasks.asr_task, audio_path, info.duration, settings),
            "audio_features": (tasks.audio_features_task, audio_path, info.duration, settings.audio),
            "motion": (tasks.motion_task, media, info.duration, settings.video),
            "enrich": (tasks.enrich_task, job_dir / files["asr"], settings),
        }
        running: dict[Future, tuple[str, float]] = {}

        def submit(stage: str) -> None:
            hit = run.cached(stage, keys[stage])
            if hit is not None:
                results[stage] = hit
                return
            fn, *args = jobs[stage]
            observer.stage_progress(stage, 0.0)
            future = ap.executor_for(stage).submit(fn, *args, job_dir / files[stage], queue)
            running[future] = (stage, time.monotonic())

        for stage in ("asr", "audio_features", "motion"):
            submit(stage)
        if "asr" in results:
            submit("enrich")
        try:
            while running:
                done, _ = wait(list(running), timeout=0.25, return_when=FIRST_COMPLETED)
                _drain(queue, observer)
                for fut in done:
                    stage, started = running.pop(fut)
                    results[stage] = run.finish(stage, keys[stage], started, fut.result(), [files[stage]])
                    if stage == "asr":
                        submit("enrich")
        finally:
            for fut in running:
                fut.cancel()
        _drain(queue, observer)

    chat_result, k_chat = None, None
    if origin is not None:
        k_chat = stable_hash("chat", origin.identity, keys["audio_features"], settings.chat)
        try:
            chat_result = run.local("chat", k_chat, lambda: chat_stage(origin, job_dir, info.duration, settings))
        except ChatUnavailableError as exc:
            log.warning("going on without chat: %s", exc)
    with_chat = bool(chat_result and chat_result.get("available"))

    k_score = stable_hash("score", keys["enrich"], keys["audio_features"], keys["motion"], settings.scoring,
                          *([k_chat] if with_chat else []))

    def do_score() -> tuple[dict, list[str]]:
        moments, timeline = score_job(job_dir, info.duration, settings, with_chat)
        write_json(job_dir / "timeline.json", [round(float(v), 4) for v in timeline])
        return {"moments": [asdict(m) for m in moments]}, ["timeline.json"]

    scored = run.local("score", k_score, do_score)
    transcript = read_json(job_dir / files["asr"])
    clips, render_summary = scored["moments"], None
    if render is not None and clips:
        words = subtitle_words(run, audio_path, Transcript.from_dict(transcript), clips,
                               stable_hash("subtitles", keys["asr"], k_score, settings.asr), settings)
        clips, render_summary = render_moments(job_dir, media, info, clips, words, settings, render,
                                               k_fetch, observer,
                                               clip_sources(src, info, clips, job_dir, settings))
        run.stages["render"] = {"seconds": 0.0 if render_summary["cached"] else render_summary["seconds"],
                                "cached": render_summary["cached"]}
    report = {
        "job_id": job_id,
        "source_key": k_fetch,
        "source": source,
        "title": src.get("title", ""),
        "duration": info.duration,
        "language": transcript["language"],
        "media": asdict(info),
        "models": {"asr": f"{transcript['engine']}:{transcript['model']}", **results.get("enrich", {}),
                   **({"subtitles": settings.asr.cascade_model} if "subtitles" in run.stages else {})},
        "stages": run.stages,
        "clips": clips,
        "timeline_file": "timeline.json",
        "render": render_summary,
        "facecam": render_summary["facecam"] if render_summary else None,
        "chat": report_block(chat_result),
    }
    write_json(job_dir / "report.json", report)
    return report


def subtitle_words(run: _Run, audio_path: Path, transcript: Transcript, clips: list[dict[str, Any]],
                   key: str, settings: Settings) -> list[Word]:
    """The words burned into the clips: the fast pass's, or with asr.cascade_model set, the
    better model's over the chosen clips (the `subtitles` stage)."""
    if not settings.asr.cascade_model:
        return transcript.words

    def do_refine() -> tuple[dict, list[str]]:
        from pipeline.media.asr.cascade import refine_words

        words = refine_words(audio_path, transcript, [(c["start"], c["end"]) for c in clips], settings)
        return {"model": settings.asr.cascade_model, "words": [asdict(w) for w in words]}, []

    return [Word(**w) for w in run.local("subtitles", key, do_refine)["words"]]


def score_job(job_dir: Path, duration: float, settings: Settings,
              with_chat: bool = False) -> tuple[list[Moment], np.ndarray]:
    from pipeline.media.enrich import features_from_dicts, text_curves
    from pipeline.media.scoring import pick_moments

    enriched = read_json(job_dir / "enrich.json")
    sentences = features_from_dicts(enriched["sentences"])
    raw: dict[str, np.ndarray] = {}
    for name in ("audio_features.npz", "motion.npz", *([CHAT_FILE] if with_chat else [])):
        with np.load(job_dir / name) as data:
            raw.update({k: data[k] for k in data.files})
    raw.update(text_curves(sentences, duration))
    return pick_moments(raw, sentences, duration, settings.scoring)
