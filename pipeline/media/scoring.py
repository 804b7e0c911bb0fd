"""From per-second curves to ranked moments with a Virality Score and its breakdown.

Every feature is normalised against the stream's own baseline (median and MAD), so a loud
streamer is not always "hype" and a quiet one can still have a peak. Candidate windows grow
around the peaks of the weighted sum and snap to sentence starts/ends or quiet seconds."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from scipy.signal import find_peaks

from pipeline.media.config import FEATURES, ScoringSettings
from pipeline.media.enrich import SentenceFeatures
from pipeline.media.models import Moment

REASONS = {
    "semantic": "sounds like a hype moment",
    "emotion": "strong emotion in what is said",
    "keywords": "hype words and emotes",
    "loudness": "loud",
    "timbre": "excited, bright voice",
    "motion": "fast action on screen",
    "speech_rate": "fast talking",
    "bursts": "sudden bursts of sound",
    "pitch": "voice pitch jumping",
    "exclamation": "exclamations",
    "scene_cuts": "rapid scene changes",
    "chat": "chat went wild",
}
# Features a stream may not have at all (no chat replay): left out of its weighted sum then.
OPTIONAL = ("chat",)


class FeatureSetError(RuntimeError):
    """The curves this module builds and the configured FEATURES do not name the same features."""


def robust_norm(x: np.ndarray, z_cap: float) -> np.ndarray:
    """Robust z-score against the stream's own baseline, mapped to 0..1 over [0, z_cap]."""
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        return x
    med = np.median(x)
    scale = 1.4826 * np.median(np.abs(x - med))
    if scale < 1e-9:
        scale = float(np.std(x))
    if scale < 1e-9:
        return np.zeros_like(x)
    normed: NDArray[np.float64] = np.clip((x - med) / scale, 0.0, z_cap) / z_cap
    return normed


def smooth(x: np.ndarray, width_s: float) -> np.ndarray:
    w = max(1, int(round(width_s)))
    if w == 1 or len(x) < w:
        return x
    return np.convolve(x, np.ones(w) / w, mode="same")


def feature_curves(raw: dict[str, np.ndarray], n: int, cfg: ScoringSettings) -> dict[str, np.ndarray]:
    """The 0..1 per-second curve of every scoring feature."""
    def norm(name: str) -> np.ndarray:
        arr = np.asarray(raw.get(name, np.zeros(n)), dtype=np.float64)
        arr = np.pad(arr[:n], (0, max(0, n - len(arr))))
        return robust_norm(arr, cfg.z_cap)

    curves = {
        "semantic": norm("semantic"),
        "emotion": norm("emotion"),
        "keywords": norm("keywords"),
        "loudness": norm("loudness_db"),
        "timbre": norm("centroid_hz"),
        "motion": norm("motion"),
        "speech_rate": norm("speech_rate"),
        "bursts": 0.5 * norm("bursts_db") + 0.5 * norm("onset"),
        "pitch": norm("pitch_semitone_std"),
        "exclamation": norm("exclamation"),
        "scene_cuts": norm("scene_cuts"),
        "chat": norm("chat"),
    }
    _check_features(curves)
    return {k: smooth(v, cfg.smooth_s) for k, v in curves.items()}


def _check_features(curves: dict[str, np.ndarray]) -> None:
    missing = sorted(set(FEATURES) - set(curves))
    extra = sorted(set(curves) - set(FEATURES))
    if missing or extra:
        raise FeatureSetError(f"scoring builds no curve for {missing} and an unknown curve for "
                              f"{extra}; FEATURES and feature_curves must name the same features")


def active_weights(curves: dict[str, np.ndarray], weights: dict[str, float]) -> dict[str, float]:
    """The weights that apply to this stream: an optional feature whose curve is flat (missing,
    or constant) is absent, and its weight does not dilute the others."""
    active = {k: w for k, w in weights.items() if k not in OPTIONAL or np.any(curves.get(k, 0) > 0)}
    return active if sum(active.values()) > 0 else weights


def combined(curves: dict[str, np.ndarray], weights: dict[str, float]) -> np.ndarray:
    total = sum(weights.values())
    mix = np.asarray(sum(weights.get(k, 0.0) * v for k, v in curves.items()))
    return mix / total


def _hot_mean(values: np.ndarray) -> float:
    """Mean of the strongest third of a window (at least 5 s): length does not dilute a peak."""
    if values.size == 0:
        return 0.0
    k = min(values.size, max(5, values.size // 3))
    return float(np.sort(values)[-k:].mean())


def window_breakdown(curves: dict[str, np.ndarray], start: float, end: float) -> dict[str, float]:
    lo, hi = int(start), max(int(start) + 1, int(math.ceil(end)))
    return {k: round(_hot_mean(v[lo:hi]), 4) for k, v in curves.items()}


def virality(breakdown: dict[str, float], cfg: ScoringSettings,
             weights: dict[str, float] | None = None) -> float:
    """0..100 from a window's breakdown; `weights` (default: the configured ones) are those
    active for the stream."""
    weights = cfg.weights if weights is None else weights
    weighted = sum(weights.get(k, 0.0) * v for k, v in breakdown.items()) / sum(weights.values())
    return round(100.0 * (1.0 - math.exp(-cfg.calibration * weighted)), 1)


def reasons(breakdown: dict[str, float], weights: dict[str, float], n: int = 3) -> tuple[str, ...]:
    ranked = sorted(breakdown, key=lambda k: weights.get(k, 0.0) * breakdown[k], reverse=True)
    return tuple(REASONS[k] for k in ranked[:n] if breakdown[k] > 0)


def _snap(target: float, points: Sequence[float], lo: float, hi: float) -> float | None:
    inside = [p for p in points if lo <= p <= hi]
    return min(inside, key=lambda p: abs(p - target)) if inside else None


def _first_snap(target: float,
                tries: Sequence[tuple[Sequence[float], float, float]]) -> float:
    """`target` snapped to the first of `tries` (points, lo, hi) with a point in range, else
    `target` itself (a snap to 0.0 is a snap)."""
    for points, lo, hi in tries:
        snapped = _snap(target, points, lo, hi)
        if snapped is not None:
            return snapped
    return target


def candidate_window(peak: int, score: np.ndarray, starts: Sequence[float], ends: Sequence[float],
                     quiet: Sequence[float], duration: float, cfg: ScoringSettings) -> tuple[float, float]:
    """A window around `peak`: begins a little before it at a sentence start or a quiet
    second, runs while the score stays raised, ends at a sentence end or a quiet second."""
    want_start = max(0.0, peak - cfg.lead_in_s)
    start = _first_snap(want_start, ((starts, want_start - 8, min(peak, want_start + 3)),
                                     (quiet, want_start - 5, want_start + 2)))
    base = float(np.median(score))
    keep = base + 0.35 * (score[peak] - base)
    end = float(peak + 1)
    low_run = 0
    for t in range(peak + 1, min(len(score), int(start + cfg.max_clip_s))):
        low_run = low_run + 1 if score[t] < keep else 0
        end = float(t + 1)
        if low_run >= 3:
            end = float(t - 2)
            break
    end = max(end, start + cfg.min_clip_s, min(start + cfg.target_clip_s, peak + 8.0))
    end = min(end, start + cfg.max_clip_s, duration)
    hi = min(start + cfg.max_clip_s, duration)
    lo = max(start + cfg.min_clip_s, end - 2)
    end = _first_snap(end, ((ends, lo, min(hi, end + 8)), (quiet, lo, min(hi, end + 4))))
    if end - start < cfg.min_clip_s:
        start = max(0.0, end - cfg.min_clip_s)
    return round(start, 2), round(min(end, duration), 2)


def _overlaps(a: tuple[float, float], b: tuple[float, float], gap: float) -> bool:
    return a[0] < b[1] + gap and b[0] < a[1] + gap


def _window_text(features: Sequence[SentenceFeatures], start: float, end: float) -> str:
    return " ".join(f.text for f in features if f.end > start and f.start < end).strip()


def pick_moments(raw: dict[str, np.ndarray], sentences: Sequence[SentenceFeatures], duration: float,
                 cfg: ScoringSettings) -> tuple[list[Moment], np.ndarray]:
    """Top-K non-overlapping moments, best first, and the per-second combined score."""
    n = max(1, int(math.ceil(duration)))
    curves = feature_curves(raw, n, cfg)
    weights = active_weights(curves, cfg.weights)
    score = combined(curves, weights)
    starts = [f.start for f in sentences]
    ends = [f.end for f in sentences]
    loud = np.asarray(raw.get("loudness_db", np.zeros(n)))[:n]
    quiet = [float(i) for i in np.flatnonzero(loud < np.median(loud) - 6)] if loud.size else []
    peaks, _ = find_peaks(score, distance=max(1, int(cfg.min_clip_s // 2)))
    if peaks.size == 0:
        peaks = np.array([int(np.argmax(score))])
    peaks = peaks[np.argsort(score[peaks])[::-1]][: cfg.top_k * 6]
    candidates = []
    for p in peaks:
        window = candidate_window(int(p), score, starts, ends, quiet, duration, cfg)
        breakdown = window_breakdown(curves, *window)
        candidates.append((virality(breakdown, cfg, weights), window, breakdown, int(p)))
    candidates.sort(key=lambda c: c[0], reverse=True)
    chosen: list[Moment] = []
    for value, window, breakdown, peak in candidates:
        if any(_overlaps(window, (m.start, m.end), cfg.min_gap_s) for m in chosen):
            continue
        chosen.append(Moment(
            rank=len(chosen) + 1, start=window[0], end=window[1], score=value,
            breakdown=breakdown, reasons=reasons(breakdown, weights),
            text=_window_text(sentences, *window), peak=float(peak),
        ))
        if len(chosen) == cfg.top_k:
            break
    return chosen, score
