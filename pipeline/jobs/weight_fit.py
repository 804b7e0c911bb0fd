"""Fitting the scoring weights on a labelled set (`clipfactory fit-weights`).

The measure is the mean over streams of AP@0.5 + HIT@1 of the picks made with a set of
weights. Both are step functions of the weights, so many weight sets tie; among ties a
margin decides (the scores of the picks that hit a highlight, less those of the picks that
do not), which also leads the search across plateaus toward the next step up.

The search is coordinate ascent: one weight at a time is scaled by a few factors (or set from
zero), the weights are brought back to a fixed total (the Virality Score divides by the sum,
so only the proportions matter; a fixed total keeps the scores comparable) and capped, and a
change is kept when the measure (or, at a tie, the margin) rises. Rounds repeat, in a seeded
order, until none helps. Then the weights are drawn back toward the starting ones as far as
the measure allows: as a whole (the nearest of a few points on the line back) and one by one.
Six streams are few; a weight they cannot tell anything about stays as configured.
Which weights exist is read from the settings at run time: nothing here names a feature."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.jobs.evaluation import LabelledVideo, Pick, average_precision, hit_at, iou, ranked, with_weights

Weights = dict[str, float]
FACTORS = (0.0, 0.5, 0.75, 1.33, 2.0)
SHRINK = (0.0, 0.25, 0.5, 0.75)   # points on the line back to the start, nearest first
EPS = 1e-9


@dataclass(frozen=True)
class Value:
    measure: float   # mean AP@0.5 + HIT@1
    margin: float    # decides between equal measures

    def beats(self, other: Value) -> bool:
        return self.measure > other.measure + EPS or (
            abs(self.measure - other.measure) <= EPS and self.margin > other.margin + EPS)


Objective = Callable[[Mapping[str, float]], Value]


@dataclass(frozen=True)
class FitResult:
    weights: Weights
    value: float          # the measure at `weights`
    start_value: float    # the measure at the starting weights
    evaluations: int
    rounds: int


def normalise(weights: Mapping[str, float], keys: Sequence[str], total: float, max_weight: float) -> Weights:
    """`weights` with the `keys` scaled to sum to `total`, each at most `max_weight` (what a
    cap takes off goes to the others); the other weights are left as they are."""
    out = {k: max(0.0, float(v)) for k, v in weights.items()}
    free = list(keys)
    budget = total
    for _ in range(len(keys) + 1):
        mass = sum(out[k] for k in free)
        if mass <= 0:
            for k in free:
                out[k] = budget / len(free) if free else 0.0
            break
        for k in free:
            out[k] *= budget / mass
        capped = [k for k in free if out[k] > max_weight]
        if not capped:
            break
        for k in capped:
            out[k] = max_weight
            free.remove(k)
            budget -= max_weight
        if not free:
            break
    return {k: round(v, 4) for k, v in out.items()}


def coordinate_ascent(objective: Objective, start: Mapping[str, float], keys: Sequence[str], *,
                      total: float | None = None, max_weight: float = 3.0, factors: Sequence[float] = FACTORS,
                      rounds: int = 6, seed: int = 0) -> FitResult:
    """Maximise `objective` over the `keys` of the weights, from `start`; then come back
    toward `start` as far as the measure stays at its best."""
    if not keys:
        raise ValueError("nothing to fit: no weight is free")
    total = sum(start[k] for k in keys) if total is None else total
    if total <= 0 or max_weight * len(keys) < total:
        raise ValueError(f"cannot spread a total of {total} over {len(keys)} weights of at most {max_weight}")
    memo: dict[tuple[float, ...], Value] = {}

    def value(w: Weights) -> Value:
        key = tuple(w[k] for k in sorted(w))
        if key not in memo:
            memo[key] = objective(w)
        return memo[key]

    origin = normalise(start, keys, total, max_weight)
    current, best = origin, value(origin)
    rng = random.Random(seed)
    done = 0
    while done < rounds:
        done += 1
        improved = False
        for k in rng.sample(list(keys), len(keys)):
            tries = [current[k] * f for f in factors] if current[k] > 0 else \
                [total / len(keys) * f for f in (0.5, 1.0)]
            for v in tries:
                candidate = normalise({**current, k: v}, keys, total, max_weight)
                got = value(candidate)
                if got.beats(best):
                    best, current, improved = got, candidate, True
        if not improved:
            break
    current = _back_toward(origin, current, keys, total, max_weight, lambda w: value(w).measure)
    return FitResult(current, value(current).measure, value(origin).measure, len(memo), done)


def _back_toward(origin: Weights, fitted: Weights, keys: Sequence[str], total: float, max_weight: float,
                 measure: Callable[[Weights], float]) -> Weights:
    target = measure(fitted)
    for alpha in SHRINK:
        candidate = normalise({k: origin[k] + alpha * (fitted[k] - origin[k]) for k in fitted},
                              keys, total, max_weight)
        if measure(candidate) >= target - EPS:
            fitted = candidate
            break
    for k in keys:
        if abs(fitted[k] - origin[k]) > EPS:
            candidate = normalise({**fitted, k: origin[k]}, keys, total, max_weight)
            if measure(candidate) >= target - EPS:
                fitted = candidate
    return fitted


def stream_value(picks: Sequence[Pick], video: LabelledVideo) -> Value:
    """AP@0.5 + HIT@1 of one stream's picks, and the margin: the mean over the picks of their
    score (0..1) counted up for a pick that hits a highlight, down for one that does not."""
    margin = sum(p.score * (1 if any(iou(p, h) >= 0.5 for h in video.highlights) else -1)
                 for p in ranked(picks)) / (100.0 * max(1, len(picks)))
    return Value(average_precision(picks, video.highlights) + hit_at(picks, video.highlights, 1), margin)


def set_objective(videos: Sequence[LabelledVideo],
                  pick: Callable[[LabelledVideo, Mapping[str, float]], Sequence[Pick]]) -> Objective:
    """`stream_value` averaged over `videos`, picking with `pick(video, weights)`."""
    def objective(weights: Mapping[str, float]) -> Value:
        values = [stream_value(pick(v, weights), v) for v in videos]
        return Value(sum(v.measure for v in values) / len(values), sum(v.margin for v in values) / len(values))

    return objective


def job_picker(settings: Any, jobs: Mapping[str, tuple[Path, float, bool]]
               ) -> Callable[[LabelledVideo, Mapping[str, float]], list[Pick]]:
    """Picks from the finished analysis of each video's job folder (`jobs`: id -> folder,
    duration, whether it has chat), scored again with other weights, nothing written. Each
    folder is read once: only the weights change between calls."""
    from pipeline.jobs.stages import scoring_inputs
    from pipeline.media.scoring import pick_moments

    inputs = {vid: scoring_inputs(job_dir, duration, with_chat)
              for vid, (job_dir, duration, with_chat) in jobs.items()}

    def pick(video: LabelledVideo, weights: Mapping[str, float]) -> list[Pick]:
        raw, sentences = inputs[video.id]
        scoring = with_weights(settings, weights).scoring
        moments, _ = pick_moments(raw, sentences, jobs[video.id][1], scoring)
        return [Pick(m.start, m.end, m.score, dict(m.breakdown)) for m in moments]

    return pick


def weights_yaml(weights: Mapping[str, float], header: Sequence[str] = ()) -> str:
    """A `scoring.weights` block to paste into a config (keys in the given order)."""
    lines = [f"# {h}" for h in header] + ["scoring:", "  weights:"]
    lines += [f"    {k}: {round(float(v), 3):g}" for k, v in weights.items()]
    return "\n".join(lines) + "\n"
