"""How a thing is said: voice-baseline normalisation, the arousal gate on words, audio events,
music damping and windows that hold a whole moment, on per-second curves built here.

A synthetic stream is calm talk: a sentence of 3 s every 7 s at about -32 dB with silence
(-58 dB) between, so silence fills more than half of it, as in real streams. Stretches are planted
on top; expectations are plain numbers and orderings, not the scorer's own helpers."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from pipeline.media.config import load_settings
from pipeline.media.enrich import SentenceFeatures, text_curves
from pipeline.media.models import Moment
from pipeline.media.scoring import feature_curves, pick_moments

EVENT_NAMES = ("laughter", "scream", "crowd", "explosion", "music", "speech")
TALK_DB, SILENCE_DB = -32.0, -58.0


@dataclass
class Stream:
    n: int
    raw: dict[str, np.ndarray]
    sentences: list[SentenceFeatures] = field(default_factory=list)

    def sentence_at(self, start: float, end: float, **values: float) -> None:
        """Replace the sentences overlapping [start, end) by one sentence with `values`."""
        self.sentences = [s for s in self.sentences if s.end <= start or s.start >= end]
        calm = dict(semantic=0.15, emotion=0.1, keywords=0, speech_rate=2.5, exclamation=0.0)
        calm.update(values)
        self.sentences.append(SentenceFeatures(start, end, f"planted {start:.0f}", calm["semantic"],
                                               calm["emotion"], int(calm["keywords"]),
                                               calm["speech_rate"], calm["exclamation"]))
        self.sentences.sort(key=lambda s: s.start)

    def scored(self, *, events: bool = True) -> tuple[list[Moment], np.ndarray]:
        raw = dict(self.raw)
        words = np.zeros(self.n)
        for s in self.sentences:
            for sec in range(int(s.start), min(self.n, int(np.ceil(s.end)))):
                words[sec] = min(1.0, words[sec] + min(s.end, sec + 1) - max(s.start, sec))
        raw["words"] = words
        raw.update(text_curves(self.sentences, float(self.n)))
        if not events:
            raw = {k: v for k, v in raw.items() if k not in EVENT_NAMES}
        return pick_moments(raw, self.sentences, float(self.n), load_settings().scoring)


def calm_stream(n: int, seed: int) -> Stream:
    rng = np.random.default_rng(seed)
    loud = SILENCE_DB + rng.normal(0, 0.5, n)
    speech_event = np.full(n, 0.03)
    stream = Stream(n, {})
    for t0 in range(0, n - 6, 7):
        lo, hi = t0 + 1, t0 + 4
        loud[lo:hi] = TALK_DB + rng.normal(0, 1.5, hi - lo)
        speech_event[lo:hi] = 0.85
        stream.sentences.append(SentenceFeatures(float(lo), float(hi), f"calm {t0}",
                                                 float(np.clip(0.15 + rng.normal(0, 0.05), 0, 1)),
                                                 0.1, 0, float(2.5 + rng.normal(0, 0.3)), 0.0))
    talking = speech_event > 0.5
    stream.raw = {
        "loudness_db": loud,
        "centroid_hz": np.where(talking, 1400.0, 600.0) + rng.normal(0, 80, n),
        "onset": np.where(talking, 1.2, 0.2) + np.abs(rng.normal(0, 0.15, n)),
        "bursts_db": np.zeros(n),
        "pitch_semitone_std": np.where(talking, 2.0, 0.0) + np.abs(rng.normal(0, 0.3, n)),
        "motion": 0.02 + np.abs(rng.normal(0, 0.004, n)),
        "scene_cuts": np.zeros(n),
        **{name: np.clip(0.02 + np.abs(rng.normal(0, 0.01, n)), 0, 1) for name in EVENT_NAMES},
    }
    stream.raw["speech"] = speech_event
    return stream


def shout(stream: Stream, lo: int, hi: int, db: float, rng: np.random.Generator) -> None:
    stream.raw["loudness_db"][lo:hi] = db + rng.normal(0, 1.0, hi - lo)
    stream.raw["pitch_semitone_std"][lo:hi] = 5.0 + np.abs(rng.normal(0, 0.5, hi - lo))
    stream.raw["centroid_hz"][lo:hi] = 2200.0 + rng.normal(0, 80, hi - lo)
    stream.raw["onset"][lo:hi] = 2.5 + np.abs(rng.normal(0, 0.2, hi - lo))


def covering(moments: list[Moment], lo: float, hi: float) -> Moment | None:
    return next((m for m in moments if m.start < hi and m.end > lo), None)


def test_talking_sits_at_zero_and_shouting_stands_out():
    stream = calm_stream(600, seed=1)
    rng = np.random.default_rng(2)
    shout(stream, 300, 312, -18.0, rng)
    raw = {**stream.raw, **text_curves(stream.sentences, 600.0)}
    talk = np.zeros(600, dtype=bool)
    for s in stream.sentences:
        if s.end < 290 or s.start > 325:
            talk[int(s.start) + 1:int(s.end) - 1] = True   # inner seconds, away from the smoothing edges
    curves = feature_curves(raw, 600, load_settings().scoring)
    assert curves["loudness"][talk].mean() < 0.05, "ordinary talking is not loud"
    assert np.quantile(curves["loudness"][talk], 0.95) < 0.2
    assert curves["loudness"][302:310].min() > 0.6, "shouting 14 dB over the voice is"
    assert curves["speech_rate"][talk].mean() < 0.1, "silence between sentences does not make talk fast"
    assert curves["pitch"][talk].mean() < 0.1
    assert curves["pitch"][302:310].min() > 0.5


def test_a_calm_read_out_of_hype_phrases_is_not_a_moment_and_shouted_paraphrases_are():
    stream = calm_stream(600, seed=3)
    rng = np.random.default_rng(4)
    for t in range(150, 171, 7):     # read out at the voice's level: hype words, calm voice
        stream.sentence_at(t + 1, t + 4, semantic=0.85, emotion=0.8, keywords=3, exclamation=2.0)
    for t in range(300, 321, 7):     # other words for the same thing, shouted
        stream.sentence_at(t + 1, t + 4, semantic=0.6, emotion=0.5, keywords=0, exclamation=1.0)
    shout(stream, 300, 326, -19.0, rng)
    for t in range(450, 471, 7):     # no hype words at all: a scream and laughter, loud
        stream.sentence_at(t + 1, t + 4, semantic=0.1, emotion=0.2)
    shout(stream, 450, 476, -20.0, rng)
    stream.raw["scream"][452:460] = 0.85
    stream.raw["laughter"][462:472] = 0.8

    moments, _ = stream.scored()
    read_out = covering(moments, 150, 176)
    paraphrase, screams = covering(moments, 300, 326), covering(moments, 450, 476)
    assert paraphrase is not None and screams is not None
    assert {moments[0].rank, moments[1].rank} == {paraphrase.rank, screams.rank}
    read_score = read_out.score if read_out else 0.0
    assert screams.score > read_score + 25
    assert paraphrase.score > read_score + 25
    assert read_score < 35
    assert "screaming" in screams.reasons or "laughter" in screams.reasons
    assert screams.extra["arousal"] > 0.8
    assert read_out is None or read_out.extra["arousal"] < 0.5


def test_loud_music_alone_scores_below_laughter():
    stream = calm_stream(600, seed=5)
    rng = np.random.default_rng(6)
    shout(stream, 200, 225, -18.0, rng)            # a loud song between two games: no voice
    stream.sentences = [s for s in stream.sentences if s.end <= 198 or s.start >= 227]
    stream.raw["speech"][198:227] = 0.05
    stream.raw["music"][198:227] = 0.9
    stream.raw["laughter"][400:412] = 0.75          # laughing along the talk, barely louder
    stream.raw["loudness_db"][400:412] = -28 + rng.normal(0, 1.0, 12)

    moments, _ = stream.scored()
    laughter = covering(moments, 400, 412)
    music = covering(moments, 198, 227)
    assert laughter is not None and laughter.rank == 1
    assert music is None or music.score < laughter.score - 5

    stream.raw["music"][198:227] = 0.02             # the same stretch, not music: it is loud
    unmusical = covering(stream.scored()[0], 198, 227)
    assert unmusical is not None and (music is None or unmusical.score > music.score + 10)


def test_streams_without_audio_events_are_not_diluted():
    stream = calm_stream(400, seed=7)
    shout(stream, 200, 212, -18.0, np.random.default_rng(8))
    cfg = load_settings().scoring
    with_events, _ = stream.scored(events=True)
    without, _ = stream.scored(events=False)
    no_event_weights = cfg.model_copy(update={"weights": {k: w for k, w in cfg.weights.items()
                                                           if k not in ("laughter", "scream", "crowd", "explosion")}})
    raw = {k: v for k, v in stream.raw.items() if k not in EVENT_NAMES}
    raw.update(text_curves(stream.sentences, 400.0))
    reference, _ = pick_moments({**raw, "words": without_words(stream)}, stream.sentences, 400.0, no_event_weights)
    assert [(m.start, m.end, m.score) for m in without] == [(m.start, m.end, m.score) for m in reference]
    assert all(m.breakdown["laughter"] == 0.0 for m in without)
    assert [(m.start, m.end) for m in with_events] == [(m.start, m.end) for m in reference]
    assert all(abs(a.score - b.score) <= 1.0 for a, b in zip(with_events, reference)), \
        "events the tagger never hears in a stream do not dilute it either"
    top = covering(with_events, 200, 212)
    assert top is not None and top.rank == 1 and top.score > 40


def without_words(stream: Stream) -> np.ndarray:
    words = np.zeros(stream.n)
    for s in stream.sentences:
        for sec in range(int(s.start), min(stream.n, int(np.ceil(s.end)))):
            words[sec] = min(1.0, words[sec] + min(s.end, sec + 1) - max(s.start, sec))
    return words


PLANTED = ((120, 15, 1.0), (300, 30, 0.8), (520, 22, 0.9), (760, 26, 0.7), (980, 18, 0.85))


def test_windows_hold_planted_moments_of_15_to_30_s():
    stream = calm_stream(1200, seed=9)
    rng = np.random.default_rng(10)
    for at, length, strength in PLANTED:
        end = at + length
        stream.sentences = [s for s in stream.sentences if s.end <= at - 1 or s.start >= end + 1]
        for t in range(at, end - 2, 4):      # the words of the moment, sentence by sentence
            stream.sentence_at(t + 0.3, min(end, t + 3.6), semantic=0.3 + 0.4 * strength, emotion=0.5,
                               exclamation=1.0)
        shout(stream, at, end, -32 + 16 * strength, rng)
        dip = at + length // 2                # a breath in the middle: 2 s back at talking level
        stream.raw["loudness_db"][dip:dip + 2] = TALK_DB
        stream.raw["scream"][at + 2:at + 6] = 0.7 * strength
        stream.raw["laughter"][end - 6:end - 1] = 0.8 * strength
        stream.raw["motion"][at:end] += 0.05 * strength
    cfg = load_settings().scoring

    moments, _ = stream.scored()
    assert len(moments) == cfg.top_k
    for at, length, _ in PLANTED:
        end = at + length
        clip = covering(moments, at, end)
        assert clip is not None, (at, [(m.start, m.end) for m in moments])
        covered = min(clip.end, end) - max(clip.start, at)
        assert covered >= 0.9 * length, (at, length, clip.start, clip.end)
        assert clip.start >= at - 10 and clip.end <= end + 10, (at, length, clip.start, clip.end)
        assert cfg.min_clip_s <= clip.end - clip.start <= cfg.max_clip_s


def test_a_moment_longer_than_the_longest_clip_keeps_its_peak():
    stream = calm_stream(600, seed=11)
    rng = np.random.default_rng(12)
    shout(stream, 200, 290, -22.0, rng)              # 90 s of raised voice
    shout(stream, 260, 270, -12.0, rng)              # and its loudest part
    stream.raw["scream"][262:268] = 0.9
    cfg = load_settings().scoring
    moments, _ = stream.scored()
    top = moments[0]
    assert top.end - top.start <= cfg.max_clip_s + 1e-6
    assert top.start <= 260 and top.end >= 270


def test_without_speech_information_the_whole_stream_is_the_baseline():
    stream = calm_stream(300, seed=13)
    shout(stream, 150, 162, -18.0, np.random.default_rng(14))
    raw = {k: v for k, v in stream.raw.items() if k != "speech"}
    moments, _ = pick_moments(raw, [], 300.0, load_settings().scoring)
    assert moments and 150 - 10 <= moments[0].start <= 150 and moments[0].end >= 160
    assert replace(moments[0], extra={}).score > 0
