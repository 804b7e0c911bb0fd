"""Runs one job: walks the stage graph (`pipeline.jobs.stages`), resuming from the stage
cache, then renders the picked moments and writes the report.

Local stages run in this process in the graph's order; pool stages are submitted as soon as
the stages they read have finished, so ASR, audio features and motion run at the same time
and enrichment starts when ASR is done. Every finished stage is recorded in the job folder,
so a rerun (or a run after a crash) skips it."""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pipeline.jobs.pool import AnalysisPool, analysis_pool
from pipeline.jobs.stages import ANALYSIS, Stage, StageContext, usable
from pipeline.jobs.tasks import run_in_pool
from pipeline.media import artifacts
from pipeline.media.cache import load_stage, read_json, save_stage, stable_hash, write_json
from pipeline.media.chat.stage import chat_origin, report_block
from pipeline.media.config import Settings
from pipeline.media.fetch import source_identity
from pipeline.media.models import Moment, Transcript, Word
from pipeline.media.postkit.write import write_kit_file
from pipeline.media.progress import NullObserver, Observer
from pipeline.media.render.job import RenderOptions, clip_sources, render_moments

log = logging.getLogger(__name__)


def job_id_for(source: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9]+", "-", Path(source.split("?")[0].rstrip("/")).stem).strip("-")
    return f"{stem[:32] or 'job'}-{stable_hash(source_identity(source), length=10)}"


@dataclass
class _Walk:
    """One walk of the graph: the results and cache keys so far, the stage timings."""

    ctx: StageContext
    observer: Observer
    results: dict[str, dict[str, Any] | None]
    keys: dict[str, str]
    stages: dict[str, dict[str, Any]]

    def context(self) -> StageContext:
        return replace(self.ctx, results={k: v for k, v in self.results.items() if v is not None})

    def key(self, stage: Stage, ctx: StageContext) -> str:
        inputs = [self.keys[d] for d in stage.after if d in self.keys and usable(self.results.get(d))]
        return stable_hash(stage.name, inputs, *stage.key(ctx.settings), *stage.identity(ctx))

    def cached(self, stage: Stage, key: str) -> bool:
        hit = load_stage(self.ctx.job_dir, stage.name, key)
        if hit is None:
            return False
        self.stages[stage.name] = {"seconds": 0.0, "cached": True}
        self.observer.stage_done(stage.name, 0.0, True)
        self.results[stage.name], self.keys[stage.name] = hit, key
        return True

    def finish(self, stage: Stage, key: str, started: float, result: dict[str, Any] | None) -> None:
        self.results[stage.name] = result
        if result is None:  # nothing came of it (chat that cannot be had): not cached, not an input
            return
        save_stage(self.ctx.job_dir, stage.name, key, result, list(stage.outputs))
        seconds = round(time.monotonic() - started, 3)
        self.stages[stage.name] = {"seconds": seconds, "cached": False}
        self.keys[stage.name] = key
        self.observer.stage_done(stage.name, seconds, False)

    def progress(self, stage: str) -> Any:
        return lambda fraction, note="": self.observer.stage_progress(stage, fraction, note)


def _drain(queue: Any, observer: Observer) -> None:
    while True:
        try:
            stage, fraction, note = queue.get_nowait()
        except Exception:  # queue.Empty through the manager proxy
            return
        observer.stage_progress(stage, fraction, note)


def walk_graph(stages: Sequence[Stage], ctx: StageContext, observer: Observer,
               pool: AnalysisPool | None = None) -> _Walk:
    """Run every stage of `stages` whose inputs are ready, cached ones skipped. A pool is made
    only when a pool stage has to run (unless given) and closed as soon as none is left."""
    walk = _Walk(ctx, observer, {}, {}, {})
    names = {s.name for s in stages}
    pending = list(stages)
    running: dict[Future[dict[str, Any] | None], tuple[Stage, str, float]] = {}
    with contextlib.ExitStack() as own:
        held: list[tuple[AnalysisPool, Any]] = []

        def pool_queue() -> tuple[AnalysisPool, Any]:
            if not held:
                ap = own.enter_context(analysis_pool(pool))
                held.append((ap, ap.manager.Queue()))
            return held[0]

        try:
            while pending or running:
                ready = next((s for s in pending
                              if all(d in walk.results for d in s.after if d in names)), None)
                if ready is not None:
                    pending.remove(ready)
                    _start(ready, walk, running, pool_queue)
                    if held and not running and all(s.where == "local" for s in pending):
                        own.close()
                        held.clear()
                    continue
                if not running:
                    raise RuntimeError(f"stages wait on inputs that never come: {[s.name for s in pending]}")
                done, _ = wait(list(running), timeout=0.25, return_when=FIRST_COMPLETED)
                _drain(held[0][1], observer)
                for fut in done:
                    stage, key, started = running.pop(fut)
                    walk.finish(stage, key, started, fut.result())
            if held:
                _drain(held[0][1], observer)
        finally:
            for fut in running:
                fut.cancel()
    return walk


def _start(stage: Stage, walk: _Walk, running: dict[Future[dict[str, Any] | None], tuple[Stage, str, float]],
           pool_queue: Any) -> None:
    ctx = walk.context()
    if not stage.when(ctx):
        walk.results[stage.name] = None
        return
    key = walk.key(stage, ctx)
    if walk.cached(stage, key):
        return
    walk.observer.stage_progress(stage.name, 0.0)
    started = time.monotonic()
    if stage.where == "local":
        walk.finish(stage, key, started, stage.run(ctx, walk.progress(stage.name)))
        return
    ap, queue = pool_queue()
    future = ap.executor_for(stage.where).submit(run_in_pool, stage.run, ctx, stage.name, queue)
    running[future] = (stage, key, started)


def run_job(source: str, settings: Settings, out_dir: Path, observer: Observer | None = None,
            pool: AnalysisPool | None = None, job_id: str | None = None,
            render: RenderOptions | None = None, chat: str | None = None,
            stages: Sequence[Stage] = ANALYSIS) -> dict[str, Any]:
    """Analyse `source`, render its moments when `render` is given, and write
    `<out_dir>/<job_id>/report.json`; return the report. `chat` is a chat log (a file or a
    link); without it the chat replay of a YouTube or Twitch link is fetched when `chat.auto`.
    `stages` is the analysis graph (the bench swaps a stage there)."""
    observer = observer or NullObserver()
    job_id = job_id or job_id_for(source)
    job_dir = Path(out_dir).resolve() / job_id
    job_dir.mkdir(parents=True, exist_ok=True)
    ctx = StageContext(job_dir, source, settings, chat_origin(source, chat, settings), render is not None)
    walk = walk_graph(stages, ctx, observer, pool)
    ctx = walk.context()
    info, transcript = ctx.info, Transcript.from_dict(read_json(job_dir / artifacts.TRANSCRIPT))
    picked = ctx.results.get("post_kit") or ctx.results["score"]
    moments = [Moment.from_dict(m) for m in picked["moments"]]
    for moment in moments:
        write_kit_file(job_dir, moment)
    clips: list[dict[str, Any]] = [m.to_dict() for m in moments]
    render_summary = None
    if render is not None and moments:
        refined = ctx.results.get("subtitles")
        words = [Word(**w) for w in refined["words"]] if refined else transcript.words
        rendered, render_summary = render_moments(
            job_dir, ctx.media, info, moments, words, settings, render, walk.keys["fetch"], observer,
            clip_sources(ctx.results["fetch"], info, moments, job_dir, settings))
        clips = [c.to_dict() for c in rendered]
        walk.stages["render"] = {"seconds": 0.0 if render_summary["cached"] else render_summary["seconds"],
                                 "cached": render_summary["cached"]}
    report = {
        "job_id": job_id,
        "source_key": walk.keys["fetch"],
        "source": source,
        "title": ctx.results["fetch"].get("title", ""),
        "duration": info.duration,
        "language": transcript.language,
        "media": ctx.results["probe"],
        "models": {"asr": f"{transcript.engine}:{transcript.model}", **ctx.results.get("enrich", {}),
                   **({"subtitles": settings.asr.cascade_model} if "subtitles" in ctx.results else {})},
        "stages": walk.stages,
        "clips": clips,
        "timeline_file": artifacts.TIMELINE,
        "render": render_summary,
        "facecam": render_summary["facecam"] if render_summary else None,
        "faces": render_summary.get("faces") if render_summary else None,
        "chat": report_block(ctx.results.get("chat")),
    }
    write_json(job_dir / artifacts.REPORT, report)
    return report
