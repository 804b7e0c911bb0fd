"""The declared stage graph and the runner that walks it, on toy stages (real pool processes,
real job folders): order, overlap, cache and resume, a swapped stage."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pipeline.jobs.pool import make_pool
from pipeline.jobs.runner import walk_graph
from pipeline.jobs.stages import ANALYSIS, Stage, StageContext, graph
from pipeline.media import artifacts
from pipeline.media.config import load_settings
from pipeline.media.models import ProgressFn
from pipeline.media.progress import NullObserver


class Recorder(NullObserver):
    def __init__(self) -> None:
        self.done: list[tuple[str, bool]] = []

    def stage_done(self, stage: str, seconds: float, cached: bool) -> None:
        self.done.append((stage, cached))


def _log(ctx: StageContext, line: str) -> None:
    with open(ctx.job_dir / "log.txt", "a", encoding="utf-8") as fh:
        fh.write(line + "\n")


def first(ctx: StageContext, progress: ProgressFn) -> dict[str, Any]:
    _log(ctx, "first")
    (ctx.job_dir / "first.txt").write_text("1")
    return {"n": 1}


def _meet(ctx: StageContext, me: str, other: str) -> dict[str, Any]:
    """Leave a mark, then wait for the other stage's: only stages running at the same time meet."""
    (ctx.job_dir / f"{me}.started").touch()
    deadline = time.monotonic() + 60
    while not (ctx.job_dir / f"{other}.started").exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{me} never met {other}")
        time.sleep(0.05)
    _log(ctx, me)
    return {"from": ctx.results["first"]["n"]}


def left(ctx: StageContext, progress: ProgressFn) -> dict[str, Any]:
    return _meet(ctx, "left", "right")


def right(ctx: StageContext, progress: ProgressFn) -> dict[str, Any]:
    return _meet(ctx, "right", "left")


def last(ctx: StageContext, progress: ProgressFn) -> dict[str, Any]:
    _log(ctx, "last")
    return {"sum": ctx.results["left"]["from"] + ctx.results["right"]["from"]}


def other_last(ctx: StageContext, progress: ProgressFn) -> dict[str, Any]:
    _log(ctx, "other_last")
    return {"sum": -1}


TOY = (
    Stage("first", first, outputs=("first.txt",), key=lambda s: (s.audio.sample_rate,)),
    Stage("left", left, "cpu", after=("first",), key=lambda s: (s.video,)),
    Stage("right", right, "asr", after=("first",)),
    Stage("last", last, after=("left", "right"), key=lambda s: (s.scoring.top_k,)),
)


def _walk(tmp_path: Path, stages: tuple[Stage, ...] = TOY, **settings: Any) -> tuple[Any, Recorder]:
    observer = Recorder()
    ctx = StageContext(tmp_path, "toy", load_settings(**settings))
    pool = make_pool(cpu_processes=1) if any(s.where != "local" for s in stages) else None
    try:
        return walk_graph(stages, ctx, observer, pool), observer
    finally:
        if pool is not None:
            pool.close()


def _log_lines(job_dir: Path) -> list[str]:
    path = job_dir / "log.txt"
    return path.read_text(encoding="utf-8").split() if path.exists() else []


@pytest.mark.slow
def test_pool_stages_run_at_the_same_time_after_their_inputs_and_resume_from_the_cache(tmp_path):
    walk, observer = _walk(tmp_path)
    lines = _log_lines(tmp_path)
    assert lines[0] == "first" and lines[-1] == "last" and set(lines[1:3]) == {"left", "right"}
    assert walk.results["last"] == {"sum": 2}
    assert all(not cached for _, cached in observer.done)

    (tmp_path / "log.txt").unlink()
    again, observer = _walk(tmp_path)
    assert _log_lines(tmp_path) == []
    assert sorted(observer.done) == sorted((s.name, True) for s in TOY)
    assert again.keys == walk.keys

    # A setting in the key of `left` only: left and what reads it run again, the rest is cached.
    for name in ("left.started", "right.started"):
        (tmp_path / name).unlink()
    (tmp_path / "right.started").touch()  # right is cached: left must not wait for it
    changed, observer = _walk(tmp_path, video={"fps": 3})
    assert _log_lines(tmp_path) == ["left", "last"]
    assert dict(observer.done) == {"first": True, "right": True, "left": False, "last": False}
    assert changed.keys["left"] != walk.keys["left"] and changed.keys["last"] != walk.keys["last"]
    assert changed.keys["first"] == walk.keys["first"]


def test_a_missing_output_file_runs_its_stage_again(tmp_path):
    local = graph_of(TOY[:1])
    _walk(tmp_path, local)
    (tmp_path / "first.txt").unlink()
    _, observer = _walk(tmp_path, local)
    assert observer.done == [("first", False)]
    assert _log_lines(tmp_path) == ["first", "first"]


def graph_of(stages: tuple[Stage, ...]) -> tuple[Stage, ...]:
    return tuple(replace(s, where="local") for s in stages)


def test_a_stage_whose_input_never_comes_is_an_error_not_a_hang(tmp_path):
    orphan = (Stage("last", last, after=("left",)), Stage("left", left, after=("last",)))
    with pytest.raises(RuntimeError, match="never come"):
        _walk(tmp_path, orphan)


def test_a_swapped_stage_runs_in_place_of_the_declared_one(tmp_path):
    swapped = (TOY[0], replace(TOY[3], run=other_last, after=("first",)))
    walk, _ = _walk(tmp_path, swapped)
    assert walk.results["last"] == {"sum": -1}
    assert _log_lines(tmp_path) == ["first", "other_last"]


def test_the_analysis_graph_is_declared_in_order_with_one_owner_per_file():
    names = [s.name for s in ANALYSIS]
    for i, stage in enumerate(ANALYSIS):
        assert set(stage.after) <= set(names[:i]), f"{stage.name} reads a stage declared after it"
    outputs = [o for s in ANALYSIS for o in s.outputs]
    assert len(outputs) == len(set(outputs))
    declared = {v for k, v in vars(artifacts).items() if k.isupper()}
    assert set(outputs) <= declared
    assert {s.where for s in ANALYSIS} == {"local", "cpu", "asr"}
    assert {s.name for s in ANALYSIS if s.where != "local"} == {"asr", "audio_features", "audio_events", "motion",
                                                               "enrich"}


def test_graph_moves_every_stage_and_swaps_by_name():
    local = graph(where="local")
    assert {s.where for s in local} == {"local"}
    motion = next(s for s in ANALYSIS if s.name == "motion")
    swapped = graph(replace_stages={"motion": replace(motion, run=other_last)})
    assert next(s for s in swapped if s.name == "motion").run is other_last
    assert [s.name for s in swapped] == [s.name for s in ANALYSIS]


def test_every_stage_has_a_share_of_the_progress_bar():
    from pipeline.jobs.worker import OPTIONAL_STAGES, STAGE_WEIGHTS

    assert {s.name for s in ANALYSIS} | {"render"} == set(STAGE_WEIGHTS)
    assert {s.name for s in ANALYSIS if s.name in OPTIONAL_STAGES} == {"chat", "subtitles", "post_kit"}
