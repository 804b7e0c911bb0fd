from __future__ import annotations

import numpy as np
import pytest

from pipeline.media import scoring
from pipeline.media.config import load_settings
from pipeline.media.enrich import SentenceFeatures
from pipeline.media.scoring import (
    FeatureSetError,
    candidate_window,
    feature_curves,
    pick_moments,
    robust_norm,
    virality,
)


def _raw(n: int, rng: np.random.Generator, peaks: dict[int, float]) -> dict[str, np.ndarray]:
    raw = {
        "loudness_db": -30 + rng.normal(0, 1.5, n),
        "centroid_hz": 1500 + rng.normal(0, 100, n),
        "onset": 1 + rng.normal(0, 0.2, n),
        "bursts_db": np.abs(rng.normal(0, 1, n)),
        "pitch_semitone_std": 1 + np.abs(rng.normal(0, 0.3, n)),
        "motion": 0.02 + np.abs(rng.normal(0, 0.005, n)),
        "scene_cuts": np.zeros(n),
        "semantic": 0.2 + rng.normal(0, 0.03, n),
        "emotion": 0.2 + rng.normal(0, 0.03, n),
        "keywords": np.zeros(n),
        "speech_rate": 2.5 + rng.normal(0, 0.3, n),
        "exclamation": np.zeros(n),
    }
    for at, strength in peaks.items():
        sl = slice(at, at + 12)
        raw["loudness_db"][sl] += 15 * strength
        raw["motion"][sl] += 0.2 * strength
        raw["semantic"][sl] += 0.5 * strength
        raw["keywords"][sl] += 2 * strength
    return raw


def test_robust_norm_ignores_a_constant_level_and_caps():
    assert np.all(robust_norm(np.full(50, 7.0), 4) == 0)
    x = np.r_[np.zeros(95), np.full(5, 100.0)] + np.random.default_rng(0).normal(0, 1, 100)
    n = robust_norm(x, 4)
    assert n.max() == 1.0 and n[:95].max() < 0.9


def test_strongest_planted_moments_come_first_and_never_overlap():
    rng = np.random.default_rng(1)
    n = 1200
    raw = _raw(n, rng, {200: 1.0, 700: 0.6, 1000: 0.3})
    sentences = [SentenceFeatures(t, t + 4, f"sentence {t}", 0.2, 0.2, 0, 2.5, 0) for t in range(0, n - 5, 6)]
    cfg = load_settings().scoring
    moments, timeline = pick_moments(raw, sentences, float(n), cfg)
    assert len(timeline) == n
    assert [m.rank for m in moments] == list(range(1, len(moments) + 1))
    assert len(moments) == cfg.top_k
    tops = [m.peak for m in moments[:3]]
    assert 200 <= tops[0] < 212 and 700 <= tops[1] < 712 and 1000 <= tops[2] < 1012
    assert moments[0].score > moments[1].score > moments[2].score > moments[3].score
    spans = sorted((m.start, m.end) for m in moments)
    assert all(a[1] + cfg.min_gap_s <= b[0] for a, b in zip(spans, spans[1:]))
    for m in moments:
        assert cfg.min_clip_s <= m.end - m.start <= cfg.max_clip_s
        assert m.start <= m.peak <= m.end
        assert any(abs(m.start - s.start) < 1e-6 for s in sentences), "starts at a sentence start"
    assert "loud" in moments[0].reasons


def test_weights_change_the_ranking():
    rng = np.random.default_rng(2)
    n = 600
    raw = _raw(n, rng, {})
    raw["motion"][100:112] += 0.5      # pure on-screen action
    raw["loudness_db"][400:412] += 20  # pure shouting
    cfg = load_settings().scoring
    motion_first = cfg.model_copy(update={"weights": {**cfg.weights, "motion": 5.0, "loudness": 0.1}})
    loud_first = cfg.model_copy(update={"weights": {**cfg.weights, "motion": 0.1, "loudness": 5.0}})
    assert 100 <= pick_moments(raw, [], float(n), motion_first)[0][0].peak < 112
    assert 400 <= pick_moments(raw, [], float(n), loud_first)[0][0].peak < 412


def test_virality_is_monotonic_and_bounded():
    cfg = load_settings().scoring
    zero = {k: 0.0 for k in cfg.weights}
    full = {k: 1.0 for k in cfg.weights}
    half = {k: 0.5 for k in cfg.weights}
    assert virality(zero, cfg) == 0.0
    assert 0 < virality(half, cfg) < virality(full, cfg) <= 100


def test_short_stream_gives_one_window_within_bounds():
    rng = np.random.default_rng(3)
    raw = _raw(20, rng, {5: 1.0})
    moments, _ = pick_moments(raw, [], 20.0, load_settings().scoring)
    assert len(moments) == 1
    assert 0 <= moments[0].start < moments[0].end <= 20.0


def test_a_window_can_start_at_a_sentence_starting_at_zero():
    cfg = load_settings().scoring
    peak = int(cfg.lead_in_s) + 2
    want_start = peak - cfg.lead_in_s
    quiet = [want_start + 1.5]
    score = np.zeros(120)
    score[peak:peak + 10] = 1.0
    start, end = candidate_window(peak, score, [0.0], [], quiet, 120.0, cfg)
    assert start == 0.0
    assert end - start >= cfg.min_clip_s


def test_curves_for_a_feature_list_that_differs_from_the_code_are_refused(monkeypatch):
    cfg = load_settings().scoring
    n = 30
    assert set(feature_curves({}, n, cfg)) == set(scoring.FEATURES)
    monkeypatch.setattr(scoring, "FEATURES", (*scoring.FEATURES[1:], "giggles"))
    with pytest.raises(FeatureSetError) as err:
        feature_curves({}, n, cfg)
    assert "giggles" in str(err.value)
    assert "semantic" in str(err.value)
