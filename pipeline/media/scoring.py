"""From per-second curves to ranked moments with a Virality Score and its breakdown.

Each curve is normalised robustly (median and MAD) against a baseline that fits it:
- the voice and the words (loudness, timbre, pitch, bursts, speech rate, semantic, emotion,
  keywords, exclamations) against the seconds where someone speaks, so silence between
  sentences does not make ordinary speech look loud, and ordinary speech sits at zero;
- audio events (laughter, screams, crowd, explosions: tagger probabilities) above the stream's
  own constant level of them;
- the picture and chat against the whole stream.
Words count in proportion to the vocal arousal in the same seconds (`arousal`), and loud music
without a voice is damped (`music_damping`). Candidate windows cover the raised stretch around a
peak, from a lead-in before it rises to where it calms down, snapped to sentence starts/ends or
quiet seconds."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray
from scipy.ndimage import maximum_filter1d
from scipy.signal import find_peaks

from pipeline.media.config import FEATURES, ScoringSettings
from pipeline.media.enrich import SentenceFeatures
from pipeline.media.models import Moment

Curve = NDArray[np.float64]

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
    "laughter": "laughter",
    "scream": "screaming",
    "crowd": "crowd cheering",
    "explosion": "explosions and gunfire",
}
EVENTS = ("laughter", "scream", "crowd", "explosion")
"""Audio events scored as features (curves of the audio-events stage, 0..1 per second)."""
# Features a stream may not have at all (no chat replay, no audio events): left out of its
# weighted sum then.
OPTIONAL = ("chat", *EVENTS)
WORDS = ("semantic", "emotion", "keywords", "exclamation")
"""What is said: counts in proportion to how it is said (the arousal gate)."""
MUSIC_DAMPED = ("loudness", "bursts", "timbre", "pitch")
PRESENT = 0.05
"""An optional feature counts in a stream once its smoothed curve passes this somewhere."""
SPEECH_SHARE = 0.5
"""A second is speech when words cover at least this share of it (or the tagger's speech
probability reaches it)."""
BURST_WINDOW_S = 10
CALM_GAP_S = 3
"""A raised stretch ends after this many seconds in a row below its threshold."""
RAISED_SHARE = 0.35
"""A second is part of a peak's raised stretch while the score stays this share of the way from
the stream's median to the peak."""
AFTERMATH_SHARE = 0.15
"""After the raised stretch, the clip runs on (reactions) while the score stays this share of the
way up, for at most `lead_in_s` more seconds and up to `target_clip_s` in all."""


class FeatureSetError(RuntimeError):
    """The curves this module builds and the configured FEATURES do not name the same features."""


@dataclass(frozen=True)
class Analysis:
    """The per-second curves of a stream as scored: each feature 0..1 (gated and damped,
    before smoothing) and the arousal and speech masks that shaped them."""

    curves: dict[str, Curve]
    arousal: Curve
    speech: NDArray[np.bool_]
    voice_db: float
    """Median loudness of the speech seconds (dB); the stream's median when it has too few."""


def robust_norm(x: np.ndarray, z_cap: float) -> Curve:
    """Robust z-score against the stream's own baseline, mapped to 0..1 over [0, z_cap]."""
    return baseline_norm(x, None, z_cap)


def baseline_norm(x: np.ndarray, baseline: NDArray[np.bool_] | None, z_cap: float,
                  dead_z: float = 0.0, min_seconds: int = 1) -> Curve:
    """Robust z-score of every second against the median and MAD of the `baseline` seconds
    (all seconds when None or fewer than `min_seconds`), mapped to 0..1 over [dead_z, z_cap]:
    z-scores up to `dead_z` are ordinary (0). A flat baseline falls back to the standard
    deviation (rare events such as keyword hits), then to zeros."""
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        return x
    ref = x if baseline is None or int(baseline.sum()) < min_seconds else x[baseline]
    med, scale = _centre_scale(ref)
    if scale < 1e-9:
        scale = float(np.std(x))
    if scale < 1e-9:
        return np.zeros_like(x)
    z = (x - med) / scale
    normed: Curve = np.clip(z - dead_z, 0.0, z_cap - dead_z) / (z_cap - dead_z)
    return normed


def _centre_scale(ref: Curve) -> tuple[float, float]:
    """Median and robust spread (1.4826 MAD, else the standard deviation) of `ref`."""
    med = float(np.median(ref))
    scale = 1.4826 * float(np.median(np.abs(ref - med)))
    return med, scale if scale >= 1e-9 else float(np.std(ref))


def event_norm(p: np.ndarray, full: float) -> Curve:
    """A tagger's per-second probability of an event, above the stream's constant level of it
    (its median, at most half of `full`), mapped to 0..1 with `full` and above counting fully:
    a stream recorded in a noisy hall does not cheer all the time."""
    p = np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)
    if p.size == 0:
        return p
    floor = min(float(np.median(p)), full / 2)
    normed: Curve = np.clip((p - floor) / (full - floor), 0.0, 1.0)
    return normed


def speech_coverage(spans: Sequence[tuple[float, float]], n: int) -> Curve:
    """Share of each of `n` seconds covered by the (start, end) spans (words, sentences)."""
    cover = np.zeros(n)
    for start, end in spans:
        lo, hi = max(0.0, float(start)), min(float(n), float(end))
        if hi <= lo:
            continue
        first, last = int(lo), min(n - 1, int(math.ceil(hi)) - 1)
        for s in range(first, last + 1):
            cover[s] += max(0.0, min(hi, s + 1.0) - max(lo, float(s)))
    clipped: Curve = np.clip(cover, 0.0, 1.0)
    return clipped


def smooth(x: np.ndarray, width_s: float) -> np.ndarray:
    w = max(1, int(round(width_s)))
    if w == 1 or len(x) < w:
        return x
    return np.convolve(x, np.ones(w) / w, mode="same")


def _fit(raw: Mapping[str, np.ndarray], name: str, n: int) -> Curve:
    arr = np.asarray(raw.get(name, np.zeros(n)), dtype=np.float64)
    return np.pad(arr[:n], (0, max(0, n - len(arr))))


def _voice_bursts(loudness_db: Curve, voice_db: float, scale: float, cfg: ScoringSettings) -> Curve:
    """How far each second jumps over both the seconds before it and the voice's own level, in
    robust z units of the voice (its spread taken as at least 1 dB), mapped like the other voice
    curves: the first words after a pause are no burst, a shout is."""
    n = loudness_db.size
    padded = np.r_[np.full(BURST_WINDOW_S, loudness_db[0]), loudness_db]
    trailing = np.median(sliding_window_view(padded, BURST_WINDOW_S)[:n], axis=1)
    z = (loudness_db - np.maximum(trailing, voice_db)) / max(scale, 1.0)
    out: Curve = np.clip(z - cfg.voice_dead_z, 0.0, cfg.z_cap - cfg.voice_dead_z) / (cfg.z_cap - cfg.voice_dead_z)
    return out


def speech_seconds(raw: Mapping[str, np.ndarray], n: int) -> NDArray[np.bool_]:
    """Seconds where someone speaks: covered by ASR words (`words`, a share per second) or
    heard as speech by the audio tagger (`speech`). The ASR alone misses a shout it could not
    transcribe, the tagger alone quiet speech under game sound: either counts."""
    words = _fit(raw, "words", n)
    tagged = _fit(raw, "speech", n)
    mask: NDArray[np.bool_] = (words >= SPEECH_SHARE) | (tagged >= SPEECH_SHARE)
    return mask


def music_damping(raw: Mapping[str, np.ndarray], n: int, cfg: ScoringSettings) -> Curve:
    """Factor (1 - music_damping .. 1) applied to the loudness, bursts, timbre and pitch of each
    second: music alone is not a moment. A second is damped in proportion to the
    tagger's music probability times the absence of a voice (speech, laughter or a scream, the
    strongest of them): loud music under someone shouting or laughing is not damped, a song
    between two games is. Without an events file (no `music` curve) nothing is damped."""
    music = np.clip(_fit(raw, "music", n), 0.0, 1.0)
    voice = np.clip(_fit(raw, "speech" if "speech" in raw else "words", n), 0.0, 1.0)
    for event in ("laughter", "scream"):
        voice = np.maximum(voice, np.clip(_fit(raw, event, n), 0.0, 1.0))
    factor: Curve = 1.0 - cfg.music_damping * music * (1.0 - voice)
    return factor


def arousal(curves: Mapping[str, Curve], cfg: ScoringSettings) -> Curve:
    """How aroused the voice is each second, 0..1, from the cues in `cfg.arousal` (loudness,
    pitch movement and speech rate over the voice's own baseline; laughter and screams). A cue
    reaches full strength at `arousal_full_z` robust z-scores over the voice baseline (events:
    at their full probability); each cue alone raises arousal up to its weight, and cues
    together combine as independent chances (1 - product of 1 - weight * cue), so agreeing
    cues add up without ever passing 1. Spread over the neighbouring seconds (max over 3 s): a
    shout right before or after a sentence belongs to it."""
    n = len(next(iter(curves.values())))
    stretch = (cfg.z_cap - cfg.voice_dead_z) / (cfg.arousal_full_z - cfg.voice_dead_z)
    calm = np.ones(n)
    for cue, weight in cfg.arousal.items():
        value = curves[cue] if cue in EVENTS else np.clip(curves[cue] * stretch, 0.0, 1.0)
        calm *= 1.0 - weight * value
    spread: Curve = maximum_filter1d(1.0 - calm, size=3, mode="nearest")
    return spread


def analyse(raw: Mapping[str, np.ndarray], n: int, cfg: ScoringSettings) -> Analysis:
    """The 0..1 curves of every scoring feature, before smoothing. See the module docstring."""
    speech = speech_seconds(raw, n)
    min_s = int(cfg.voice_min_s)

    def voice(name: str) -> Curve:
        return baseline_norm(_fit(raw, name, n), speech, cfg.z_cap, cfg.voice_dead_z, min_s)

    def stream(name: str) -> Curve:
        return robust_norm(_fit(raw, name, n), cfg.z_cap)

    loud = _fit(raw, "loudness_db", n)
    voice_db, voice_scale = _centre_scale(loud[speech] if int(speech.sum()) >= min_s else loud)
    curves: dict[str, Curve] = {
        "semantic": voice("semantic"),
        "emotion": voice("emotion"),
        "keywords": voice("keywords"),
        "loudness": voice("loudness_db"),
        "timbre": voice("centroid_hz"),
        "motion": stream("motion"),
        "speech_rate": voice("speech_rate"),
        "bursts": 0.5 * _voice_bursts(loud, voice_db, voice_scale, cfg) + 0.5 * voice("onset"),
        "pitch": voice("pitch_semitone_std"),
        "exclamation": voice("exclamation"),
        "scene_cuts": stream("scene_cuts"),
        "chat": stream("chat"),
        **{e: event_norm(_fit(raw, e, n), cfg.event_full) for e in EVENTS},
    }
    _check_features(curves)
    damp = music_damping(raw, n, cfg)
    for name in MUSIC_DAMPED:
        curves[name] = curves[name] * damp
    aroused = arousal(curves, cfg)
    gate = cfg.arousal_floor + (1.0 - cfg.arousal_floor) * aroused
    for name in WORDS:
        curves[name] = curves[name] * gate
    return Analysis(curves=curves, arousal=aroused, speech=speech, voice_db=voice_db)


def feature_curves(raw: Mapping[str, np.ndarray], n: int, cfg: ScoringSettings) -> dict[str, Curve]:
    """The smoothed 0..1 per-second curve of every scoring feature."""
    return {k: smooth(v, cfg.smooth_s) for k, v in analyse(raw, n, cfg).curves.items()}


def _check_features(curves: Mapping[str, np.ndarray]) -> None:
    missing = sorted(set(FEATURES) - set(curves))
    extra = sorted(set(curves) - set(FEATURES))
    if missing or extra:
        raise FeatureSetError(f"scoring builds no curve for {missing} and an unknown curve for "
                              f"{extra}; FEATURES and feature_curves must name the same features")


def active_weights(curves: Mapping[str, np.ndarray], weights: dict[str, float]) -> dict[str, float]:
    """The weights that apply to this stream: an optional feature whose curve never rises
    (missing, constant, or an event the tagger never hears: below PRESENT all along) is absent,
    and its weight does not dilute the others."""
    active = {k: w for k, w in weights.items()
              if k not in OPTIONAL or np.any(np.asarray(curves.get(k, 0)) > PRESENT)}
    return active if sum(active.values()) > 0 else weights


def combined(curves: Mapping[str, np.ndarray], weights: dict[str, float]) -> np.ndarray:
    total = sum(weights.values())
    mix = np.asarray(sum(weights.get(k, 0.0) * v for k, v in curves.items()))
    return mix / total


def _hot_mean(values: np.ndarray) -> float:
    """Mean of the strongest third of a window (at least 5 s): length does not dilute a peak."""
    if values.size == 0:
        return 0.0
    k = min(values.size, max(5, values.size // 3))
    return float(np.sort(values)[-k:].mean())


def window_breakdown(curves: Mapping[str, np.ndarray], start: float, end: float) -> dict[str, float]:
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


def _raised_edge(score: np.ndarray, peak: int, keep: float, step: int, limit: int) -> int:
    """The last second, walking from `peak` by `step` (at most `limit` seconds), of the stretch
    where the score stays at or above `keep` with no more than CALM_GAP_S - 1 seconds below it
    in a row."""
    edge, t, low_run = peak, peak + step, 0
    while 0 <= t < len(score) and abs(t - peak) <= limit:
        if score[t] >= keep:
            edge, low_run = t, 0
        else:
            low_run += 1
            if low_run >= CALM_GAP_S:
                break
        t += step
    return edge


def raised_stretch(peak: int, score: np.ndarray, limit: int) -> tuple[int, int]:
    """The seconds [rise, fall) around `peak` where the score stays raised: RAISED_SHARE of the
    way from the stream's median to the peak, gaps under CALM_GAP_S s bridged."""
    keep = float(np.median(score)) + RAISED_SHARE * (float(score[peak]) - float(np.median(score)))
    return _raised_edge(score, peak, keep, -1, limit), _raised_edge(score, peak, keep, +1, limit) + 1


def top_of_stretch(peak: int, score: np.ndarray, limit: int) -> int:
    """The highest second of the raised stretch around `peak`: a side bump of a bigger moment
    stands for that moment, not for a window of its own around the bump."""
    for _ in range(8):
        rise, fall = raised_stretch(peak, score, limit)
        top = rise + int(np.argmax(score[rise:fall]))
        if score[top] <= score[peak]:
            return peak
        peak = top
    return peak


def candidate_window(peak: int, score: np.ndarray, starts: Sequence[float], ends: Sequence[float],
                     quiet: Sequence[float], duration: float, cfg: ScoringSettings) -> tuple[float, float]:
    """A window holding the moment around `peak`: the stretch where the score stays raised
    (RAISED_SHARE of the way from the stream's median to the peak, gaps under CALM_GAP_S s
    bridged), from `lead_in_s` before it rises (snapped to a sentence start or a quiet second)
    to where it calms down (plus the reactions after it, see AFTERMATH_SHARE; snapped to a
    sentence end or a quiet second); padded to `min_clip_s`, and when longer than `max_clip_s`
    cut to it around the peak."""
    base = float(np.median(score))
    height = float(score[peak]) - base
    rise, fall = raised_stretch(peak, score, int(cfg.max_clip_s))
    want_start = max(0.0, rise - cfg.lead_in_s)
    start = _first_snap(want_start, ((starts, want_start - 3, float(rise)),
                                     (quiet, want_start - 3, want_start + 2)))
    settle = _raised_edge(score, fall - 1, base + AFTERMATH_SHARE * height, +1, int(cfg.lead_in_s)) + 1
    end = float(max(fall, min(settle, start + cfg.target_clip_s)))
    end = min(duration, _first_snap(end, ((ends, end, end + 3), (quiet, end, end + 2))))
    if end - start < cfg.min_clip_s:
        end = min(duration, start + cfg.min_clip_s)
        end = _first_snap(end, ((ends, end, min(duration, end + 3)),))
        start = min(start, max(0.0, end - cfg.min_clip_s))
    if end - start > cfg.max_clip_s:
        start = max(start, min(peak - cfg.lead_in_s, end - cfg.max_clip_s))
        start = _first_snap(start, ((starts, start, start + 3),))
        end = min(end, start + cfg.max_clip_s)
        end = _first_snap(end, ((ends, max(start + cfg.min_clip_s, end - 4), end),))
    return round(start, 2), round(min(end, duration), 2)


def _overlaps(a: tuple[float, float], b: tuple[float, float], gap: float) -> bool:
    return a[0] < b[1] + gap and b[0] < a[1] + gap


def _window_text(features: Sequence[SentenceFeatures], start: float, end: float) -> str:
    return " ".join(f.text for f in features if f.end > start and f.start < end).strip()


def pick_moments(raw: Mapping[str, np.ndarray], sentences: Sequence[SentenceFeatures], duration: float,
                 cfg: ScoringSettings) -> tuple[list[Moment], np.ndarray]:
    """Top-K non-overlapping moments, best first, and the per-second combined score.

    `raw` holds the analysis curves by name (audio features, motion, text curves, optionally
    chat, the audio events and `words`: the share of each second covered by ASR words; without
    `words`, the sentences' spans stand in for it)."""
    n = max(1, int(math.ceil(duration)))
    if "words" not in raw and sentences:
        raw = {**raw, "words": speech_coverage([(f.start, f.end) for f in sentences], n)}
    analysis = analyse(raw, n, cfg)
    curves = {k: smooth(v, cfg.smooth_s) for k, v in analysis.curves.items()}
    weights = active_weights(curves, cfg.weights)
    score = combined(curves, weights)
    starts = [f.start for f in sentences]
    ends = [f.end for f in sentences]
    loud = _fit(raw, "loudness_db", n)
    quiet = [float(i) for i in np.flatnonzero(~analysis.speech & (loud < analysis.voice_db - 6))]
    peaks, _ = find_peaks(score, distance=max(1, int(cfg.min_clip_s // 2)))
    if peaks.size == 0:
        peaks = np.array([int(np.argmax(score))])
    peaks = peaks[np.argsort(score[peaks])[::-1]][: cfg.top_k * 6]
    candidates = []
    for p in dict.fromkeys(top_of_stretch(int(p), score, int(cfg.max_clip_s)) for p in peaks):
        window = candidate_window(p, score, starts, ends, quiet, duration, cfg)
        breakdown = window_breakdown(curves, *window)
        candidates.append((virality(breakdown, cfg, weights), window, breakdown, p))
    candidates.sort(key=lambda c: c[0], reverse=True)
    chosen: list[Moment] = []
    for value, window, breakdown, peak in candidates:
        if any(_overlaps(window, (m.start, m.end), cfg.min_gap_s) for m in chosen):
            continue
        lo, hi = int(window[0]), max(int(window[0]) + 1, int(math.ceil(window[1])))
        chosen.append(Moment(
            rank=len(chosen) + 1, start=window[0], end=window[1], score=value,
            breakdown=breakdown, reasons=reasons(breakdown, weights),
            text=_window_text(sentences, *window), peak=float(peak),
            extra={"arousal": round(_hot_mean(analysis.arousal[lo:hi]), 4)},
        ))
        if len(chosen) == cfg.top_k:
            break
    return chosen, score
