"""Measuring picks: metrics on hand-made windows, per-kind and decoy counts, the labels file,
the generated labelled set (phrases the scorer never sees, disjoint splits, synthesised
sounds), fitting weights, and `clipfactory eval` / `fit-weights` end to end on a tiny set."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from pipeline.jobs import eval_sounds
from pipeline.jobs.eval_phrases import HELDOUT, TRAIN, SplitPhrases
from pipeline.jobs.evaluation import (
    LabelledVideo,
    LabelsError,
    Pick,
    Window,
    average_precision,
    decoy_report,
    decoys_above,
    feedback_examples,
    hit_at,
    iou,
    kind_report,
    learnt_weights,
    load_labels,
    match,
    mean_score,
    precision_at,
    score_video,
    targets,
)
from pipeline.jobs.labelled_set import (
    DECOYS,
    HIGHLIGHTS,
    SPAM,
    SPLITS,
    Event,
    SetSpec,
    chat_log,
    labels_of,
    make_labelled_set,
    plan_set,
)
from pipeline.jobs.weight_fit import coordinate_ascent, normalise, set_objective, weights_yaml
from pipeline.media.config import load_settings
from tests.helpers import run_cli

H = (Window(10, 20, "shouting"), Window(50, 60, "laughter"), Window(100, 110, "hype_en"))


def pick(start: float, end: float, score: float, **breakdown: float) -> Pick:
    return Pick(start, end, score, breakdown)


def test_iou():
    assert iou((0, 10), (0, 10)) == 1.0
    assert iou((0, 10), (5, 15)) == pytest.approx(5 / 15)
    assert iou((0, 10), (10, 20)) == 0.0
    assert iou((0, 10), (30, 40)) == 0.0
    assert iou((0, 10), (2, 4)) == pytest.approx(0.2)
    assert iou(Window(0, 20), Pick(0, 10, 1.0)) == 0.5


def test_metrics_on_known_windows():
    # Given in a shuffled order: the metrics rank by score.
    picks = [
        pick(52, 62, 60),    # on "laughter" again: that highlight is taken, so a miss
        pick(0, 5, 80),      # miss
        pick(200, 210, 50),  # miss
        pick(50, 60, 90),    # "laughter", exactly
        pick(11, 21, 70),    # "shouting", IoU 9/11
    ]
    assert match(picks, H) == [1, None, 0, None, None]
    assert hit_at(picks, H, 1) == 1.0
    assert hit_at(picks, H, 5) == 1.0
    assert precision_at(picks, H, 5) == pytest.approx(2 / 5)
    assert average_precision(picks, H) == pytest.approx((1 / 1 + 2 / 3) / 3)
    score = score_video(picks, H, decoys=(Window(0, 6, "menu"),))
    assert (score.hit_at_1, score.hit_at_5, score.picks, score.highlights) == (1.0, 1.0, 5, 3)
    assert score.decoys_in_top5 == 1


def test_top_pick_missing_and_threshold():
    picks = [pick(30, 40, 90), pick(100, 120, 80)]  # the second has IoU exactly 0.5
    assert hit_at(picks, H, 1) == 0.0
    assert hit_at(picks, H, 5) == 1.0
    assert average_precision(picks, H) == pytest.approx((1 / 2) / 3)
    assert hit_at(picks, H, 5, threshold=0.51) == 0.0
    assert precision_at(picks, H, 5) == pytest.approx(1 / 5)


def test_no_picks_and_all_hits():
    none = score_video([], H)
    assert (none.hit_at_1, none.hit_at_5, none.precision_at_5, none.average_precision) == (0, 0, 0, 0)
    perfect = score_video([pick(h.start, h.end, 100 - i) for i, h in enumerate(H)], H)
    assert perfect.average_precision == 1.0
    assert perfect.precision_at_5 == pytest.approx(3 / 5)  # three highlights: P@5 cannot reach 1


def test_each_label_matched_once_and_best_iou_wins():
    one = (Window(0, 20),)
    twins = [pick(0, 20, 90), pick(1, 20, 80), pick(0, 19, 70)]
    assert match(twins, one) == [0, None, None]
    assert precision_at(twins, one, 5) == pytest.approx(1 / 5)
    assert average_precision(twins, one) == 1.0
    # A pick over two highlights takes the one it overlaps most, leaving the other to the next pick.
    two = (Window(0, 10), Window(8, 30))
    assert match([pick(6, 30, 90), pick(0, 11, 80)], two) == [1, 0]


def test_mean_score():
    a = score_video([pick(10, 20, 9)], H)
    b = score_video([pick(300, 310, 9)], H)
    m = mean_score([a, b])
    assert (m.hit_at_1, m.videos) == (0.5, 2)
    assert m.map == pytest.approx((1 / 3 + 0) / 2)


def _videos() -> list[LabelledVideo]:
    return [LabelledVideo("a", "a.mp4", (Window(10, 30, "shouting"),), (Window(60, 80, "loud_music"),)),
            LabelledVideo("b", "b.mp4", (Window(100, 120, "laughter"),))]


def test_feedback_votes_leave_the_video_out():
    picks = {
        "a": [pick(14, 40, 90, motion=0.1, loudness=0.9),   # IoU 16/30 with the highlight: liked
              pick(60, 80, 80, motion=0.0, loudness=1.0)],  # the loud music decoy: disliked
        "b": [pick(112, 140, 70, motion=0.9, loudness=0.2)],  # IoU 8/40 = 0.2 < 0.3: disliked
    }
    examples = feedback_examples(picks, _videos(), leave_out="b")
    assert examples == [({"motion": 0.1, "loudness": 0.9}, 1), ({"motion": 0.0, "loudness": 1.0}, 0)]
    assert feedback_examples(picks, _videos(), leave_out="a") == [({"motion": 0.9, "loudness": 0.2}, 0)]
    assert len(feedback_examples(picks, _videos())) == 3


def test_learnt_weights_keep_the_features_and_chat_off():
    defaults = {"loudness": 1.0, "motion": 1.0, "chat": 0.0}
    picks = {"a": [pick(10, 30, 9, loudness=1.0, motion=0.0, chat=1.0)]}
    seen = []

    def fit(examples, base):
        seen.append((examples, dict(base)))
        return {"loudness": 1.5, "motion": 0.5, "chat": 0.4, "unknown": 3.0}

    assert learnt_weights(picks, _videos(), "b", defaults, fit) == {"loudness": 1.5, "motion": 0.5, "chat": 0.0}
    assert seen == [([({"loudness": 1.0, "motion": 0.0, "chat": 1.0}, 1)], defaults)]
    assert learnt_weights(picks, _videos(), "b", defaults, lambda e, d: None) is None


def test_learnt_weights_with_the_real_fit():
    learning = pytest.importorskip("pipeline.media.learning")
    defaults = {"loudness": 1.0, "motion": 1.0, "keywords": 1.0}
    videos, picks = [], {}
    for i in range(6):
        videos.append(LabelledVideo(f"v{i}", "x.mp4", (Window(0, 20),)))
        picks[f"v{i}"] = [pick(0, 20, 90, motion=0.9, loudness=0.1, keywords=0.2),
                          pick(40, 60, 80, motion=0.1, loudness=0.9, keywords=0.3),
                          pick(80, 100, 70, motion=0.05, loudness=0.8, keywords=0.2)]
    weights = learnt_weights(picks, videos, "v0", defaults, learning.fit_weights)
    assert weights is not None and set(weights) == set(defaults)
    assert all(w >= 0 for w in weights.values())
    assert weights["motion"] > weights["loudness"]


def _write(path: Path, data) -> Path:
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def test_labels_paths_are_relative_to_the_labels_file(tmp_path, monkeypatch):
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "one.mp4").write_bytes(b"x")
    (tmp_path / "media" / "one.chat.txt").write_text("[0:00:01] a: hi\n", encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    labels = _write(tmp_path / "labels.json", {"videos": [
        {"id": "one", "source": "media/one.mp4", "chat": "media/one.chat.txt",
         "highlights": [{"start": 1, "end": 5.5, "kind": "shouting"}], "decoys": [{"start": 7, "end": 9}]},
        {"source": "https://example.org/vod.mp4", "highlights": [{"start": 0, "end": 3}]},
    ]})
    one, two = load_labels(labels)
    assert one.source == str(tmp_path / "media" / "one.mp4")
    assert one.chat == str(tmp_path / "media" / "one.chat.txt")
    assert one.highlights == (Window(1.0, 5.5, "shouting"),) and one.decoys == (Window(7.0, 9.0, ""),)
    assert (two.id, two.source, two.chat, two.decoys) == ("video2", "https://example.org/vod.mp4", None, ())


@pytest.mark.parametrize("content, words", [
    (None, "no labels file"),
    ("{not json", "not readable JSON"),
    ({"videos": []}, "non-empty \"videos\""),
    ({"videos": [{"source": "https://x/v.mp4", "highlights": []}]}, "at least one highlight"),
    ({"videos": [{"source": "https://x/v.mp4", "highlights": [{"start": 5, "end": 2}]}]}, "start < end"),
    ({"videos": [{"source": "https://x/v.mp4", "highlights": [{"start": "a", "end": 2}]}]}, "numeric start"),
    ({"videos": [{"source": "missing.mp4", "highlights": [{"start": 0, "end": 2}]}]}, "no file"),
    ({"videos": [{"id": "x", "source": "https://x/1.mp4", "highlights": [{"start": 0, "end": 2}]},
                 {"id": "x", "source": "https://x/2.mp4", "highlights": [{"start": 0, "end": 2}]}]}, "same id"),
])
def test_bad_labels_file(tmp_path, content, words):
    path = tmp_path / "labels.json"
    if content is not None:
        _write(path, content)
    with pytest.raises(LabelsError) as err:
        load_labels(path)
    assert words in str(err.value)
    assert str(path) in err.value.user_message


def test_eval_cli_rejects_a_bad_labels_file(tmp_path):
    proc = run_cli("eval", str(_write(tmp_path / "labels.json", {"videos": "nope"})), "--out", str(tmp_path / "o"))
    assert proc.returncode == 2
    assert "needs a non-empty \"videos\" list" in proc.stderr
    assert "Traceback" not in proc.stderr


# ---------------------------------------------------------------- per kind and decoys


def _planted_videos() -> list[LabelledVideo]:
    return [
        LabelledVideo("v1", "v1.mp4",
                      (Window(10, 30, "scream"), Window(60, 80, "laughter"), Window(110, 130, "scream")),
                      (Window(150, 170, "loud_music"), Window(200, 220, "menu"))),
        LabelledVideo("v2", "v2.mp4", (Window(0, 20, "crowd"),), (Window(50, 70, "menu"),)),
        LabelledVideo("v3", "v3.mp4", (Window(0, 20, "scream"),)),
    ]


PLANTED_PICKS = {
    "v1": [pick(150, 172, 90),   # on the loud music, before any highlight is found: above
           pick(10, 30, 80),     # the first scream
           pick(58, 80, 70),     # the laughter (IoU 20/22)
           pick(205, 230, 60),   # covers 15 of the menu's 20 s, the second scream not yet found: above
           pick(300, 320, 50),   # nothing
           pick(110, 130, 40)],  # the second scream, but sixth
    "v2": [pick(0, 20, 90), pick(50, 70, 80)],  # the menu comes after every highlight is found
    "v3": [pick(100, 120, 90), pick(160, 175, 80)],
}


def test_per_kind_and_decoy_counts_on_hand_made_picks():
    videos = _planted_videos()
    scores = {v.id: score_video(PLANTED_PICKS[v.id], v.highlights, v.decoys) for v in videos}
    assert scores["v1"].kinds_found == ("laughter", "scream")
    assert scores["v1"].decoys_above == ("loud_music", "menu")
    assert (scores["v2"].kinds_found, scores["v2"].decoys_above) == (("crowd",), ())
    assert (scores["v3"].kinds_found, scores["v3"].decoys_above) == ((), ())
    assert kind_report(videos, scores) == {"crowd": {"streams": 1, "in_top5": 1},
                                           "laughter": {"streams": 1, "in_top5": 1},
                                           "scream": {"streams": 2, "in_top5": 1}}
    assert decoy_report(videos, scores) == {
        "streams": 2, "none_above_planted": 1,
        "kinds": {"loud_music": {"streams": 1, "above_planted": 1}, "menu": {"streams": 2, "above_planted": 1}}}


def test_a_pick_lands_on_a_decoy_only_when_it_covers_half_and_hits_nothing():
    highlights = (Window(0, 20, "crowd"), Window(40, 60, "scream"))
    decoys = (Window(20, 40, "menu"),)
    assert decoys_above([pick(31, 50, 90)], highlights, decoys) == []          # 9 of 20 s of the menu
    assert decoys_above([pick(28, 48, 90)], highlights, decoys) == ["menu"]    # 12 of 20 s, IoU 8/32 with the scream
    assert decoys_above([pick(22, 52, 90)], highlights, decoys) == ["menu"]
    assert decoys_above([pick(18, 58, 90)], highlights, decoys) == ["menu"]    # IoU 18/42 < 0.5 with the scream
    assert decoys_above([pick(40, 60, 95), pick(0, 20, 92), pick(20, 40, 90)], highlights, decoys) == []


def test_targets():
    kinds = {"scream": {"streams": 6, "in_top5": 5}, "hype_en": {"streams": 3, "in_top5": 3}}
    decoys = {"streams": 6, "none_above_planted": 5, "kinds": {}}
    good = mean_score([score_video([pick(0, 20, 9)], (Window(0, 20),))] * 5
                      + [score_video([pick(50, 70, 9)], (Window(0, 20),))])
    assert targets(good, kinds, decoys) == {"hit_at_1": True, "map": True, "every_kind_in_top5": True,
                                            "no_decoy_above_planted": True}
    worse = {"scream": {"streams": 6, "in_top5": 4}, "hype_en": {"streams": 3, "in_top5": 2}}
    met = targets(good, worse, {**decoys, "none_above_planted": 4})
    assert not met["every_kind_in_top5"] and not met["no_decoy_above_planted"]
    half = mean_score([score_video([pick(0, 20, 9)], (Window(0, 20),)),
                       score_video([pick(50, 70, 9)], (Window(0, 20),))])
    assert targets(half, kinds, decoys)["hit_at_1"] is False and targets(half, kinds, decoys)["map"] is False


# ---------------------------------------------------------------- what the labelled set says

WORD = re.compile(r"[\w']+")
# Function words: sharing them with an anchor says nothing about the scorer's lists.
STOPWORDS = {
    "that", "this", "what", "with", "have", "from", "they", "them", "there", "then", "than", "your", "will",
    "were", "been", "into", "about", "over", "some", "when", "where", "which", "while", "would", "could",
    "should", "their", "these", "those", "here", "very", "really",
    "было", "быть", "этот", "эта", "это", "этой", "этого", "этом", "что", "как", "так", "если", "когда",
    "чтобы", "тоже", "меня", "тебя", "него", "есть", "надо", "очень",
}


def _words(text: str) -> list[str]:
    return [w.lower().replace("ё", "е") for w in WORD.findall(text)]


def _scorer_phrases() -> list[str]:
    """Every anchor, keyword and emotion prototype of the defaults and of every channel template."""
    settings = load_settings()
    lists = [settings.anchors, settings.keywords, settings.emotion_prototypes]
    for template in settings.templates.values():
        lists += [getattr(template, name, None) or {} for name in ("anchors", "keywords", "emotion_prototypes")]
    return [phrase for by_language in lists for phrases in by_language.values() for phrase in phrases]


def _same_stem(a: str, b: str) -> bool:
    common = 0
    for x, y in zip(a, b):
        if x != y:
            break
        common += 1
    return a == b or common >= 5


@pytest.mark.parametrize("split", [TRAIN, HELDOUT], ids=["train", "heldout"])
def test_planted_phrases_share_nothing_with_the_scorer(split: SplitPhrases):
    from pipeline.media.emotion import EXCITED_WORDS

    scorer = _scorer_phrases()
    assert len(scorer) > 100  # the templates are in there
    content = {w for p in scorer for w in _words(p) if len(w) >= 4 and w not in STOPWORDS}
    sequences = [" " + " ".join(_words(p)) + " " for p in scorer]
    clashes = []
    for text in split.planted():
        words = _words(text)
        joined = " " + " ".join(words) + " "
        clashes += [(text, s.strip()) for s in sequences if s in joined]
        clashes += [(text, w, c) for w in words if len(w) >= 4 and w not in STOPWORDS
                    for c in content if _same_stem(w, c)]
        clashes += [(text, w) for w in words if w in EXCITED_WORDS]
    assert clashes == []


@pytest.mark.parametrize("split", [TRAIN, HELDOUT], ids=["train", "heldout"])
def test_the_readout_decoy_reads_the_scorer_own_phrases(split: SplitPhrases):
    sequences = [" " + " ".join(_words(p)) + " " for p in _scorer_phrases()]
    for text in split.readout_en + split.readout_ru:
        assert any(s in " " + " ".join(_words(text)) + " " for s in sequences), text


def test_the_splits_share_no_phrase_seed_or_voice():
    train, heldout = SPLITS["train"], SPLITS["heldout"]

    def texts(p: SplitPhrases) -> set[str]:
        return set(p.planted() + p.readout_en + p.readout_ru)

    assert texts(train.phrases) & texts(heldout.phrases) == set()
    assert len(texts(train.phrases)) > 30 and len(texts(heldout.phrases)) > 30
    assert set(train.seeds(100)) & set(heldout.seeds(100)) == set()
    assert {v.key for v in train.voices()} & {v.key for v in heldout.voices()} == set()
    english = ({v.name for v in s.voices() if v.engine == "espeak"} for s in (train, heldout))
    assert next(english) & next(english) == set()
    assert train.calm_picture != heldout.calm_picture
    first = [[e.kind for e in p.events] for p in plan_set(SetSpec(split="train"))]
    second = [[e.kind for e in p.events] for p in plan_set(SetSpec(split="heldout"))]
    assert first != second


@pytest.mark.parametrize("split", ["train", "heldout"])
def test_every_stream_plants_each_kind_once_and_two_decoys(split):
    spec = SetSpec(split=split)
    plans = plan_set(spec)
    assert [p.language for p in plans] == ["en", "ru", "en", "ru", "en", "en+ru"]
    decoy_count: dict[str, int] = {}
    for plan in plans:
        kinds = [e.kind for e in plan.events]
        hype = "hype_en" if plan.language == "en" else "hype_ru"
        assert sorted(k for k in kinds if k in HIGHLIGHTS) == sorted([hype, "laughter", "scream", "crowd", "explosion"])
        assert len([k for k in kinds if k in DECOYS]) == 2
        for k in kinds:
            if k in DECOYS:
                decoy_count[k] = decoy_count.get(k, 0) + 1
        labels = labels_of(plan, spec.duration)
        windows = sorted((w["start"], w["end"]) for w in labels["highlights"] + labels["decoys"])
        assert all(a[1] + 5 <= b[0] for a, b in zip(windows, windows[1:])), windows
        assert windows[-1][1] <= spec.duration - 5
        for e, w in zip([e for e in plan.events if e.is_highlight], labels["highlights"]):
            assert (w["kind"], w["start"], w["end"]) == (e.kind, e.start - 6, e.end + 4)
        assert {w["kind"] for w in labels["decoys"]} <= set(DECOYS)
        if plan.language == "en+ru":
            hype_ru = next(e for e in plan.events if e.kind == "hype_ru")
            assert plan.russian[0] < hype_ru.start and hype_ru.end < plan.russian[1]
            assert plan.language_at(hype_ru.start) == "ru" and plan.language_at(plan.russian[1] + 1) == "en"
    assert decoy_count == {k: 3 for k in DECOYS}


LINE = re.compile(r"^\[(\d+):(\d\d):(\d\d)\] (\S+): (.+)$")


def test_chat_log_bursts_after_highlights_and_spam_elsewhere():
    events = [Event("laughter", 20, 30), Event("menu", 60, 80), Event("scream", 100, 110)]
    lines = [LINE.match(line) for line in chat_log(events, 150, seed=3).splitlines()]
    assert all(lines)
    at = [(int(h) * 3600 + int(m) * 60 + int(s), who, text) for h, m, s, who, text in (x.groups() for x in lines)]
    assert [t for t, _, _ in at] == sorted(t for t, _, _ in at)

    def viewers(lo, hi):
        return [who for t, who, _ in at if lo <= t < hi and who.startswith("viewer_")]

    assert len(viewers(26, 34)) == 14 and len(viewers(106, 114)) == 14
    assert viewers(0, 26) == viewers(34, 106) == []
    spam = [t for t, who, text in at if text == SPAM]
    assert len(spam) >= 15 and {who for _, who, text in at if text == SPAM} == {"cheap_follows_bot"}
    labelled = [(e.start - 6, e.end + 8) for e in events if e.kind != "menu"]
    assert not any(lo <= t <= hi for t in spam for lo, hi in labelled)


# ---------------------------------------------------------------- the synthesised sounds

SR = 16000


def _frames_db(x: np.ndarray, frame_s: float = 0.02) -> np.ndarray:
    n = int(frame_s * SR)
    frames = x[: len(x) // n * n].reshape(-1, n).astype(np.float64)
    return 20 * np.log10(np.sqrt((frames ** 2).mean(axis=1)) + 1e-9)


def _pitch_hz(x: np.ndarray, lo: float = 80, hi: float = 1200) -> float:
    x = x - x.mean()
    ac = np.correlate(x, x, "full")[len(x) - 1:]
    lags = np.arange(int(SR / hi), int(SR / lo))
    return SR / lags[int(np.argmax(ac[lags]))]


def test_laughter_comes_in_bursts_of_four_to_five_a_second():
    x = eval_sounds.laughter(8, SR, np.random.default_rng(5))
    assert x.dtype == np.float32 and len(x) == 8 * SR and np.max(np.abs(x)) > 0.5
    env = 10 ** (_frames_db(x, 0.01) / 20)
    spectrum = np.abs(np.fft.rfft(env - env.mean()))
    freqs = np.fft.rfftfreq(len(env), 0.01)
    band = (freqs > 1) & (freqs < 20)
    assert 3.5 <= freqs[band][np.argmax(spectrum[band])] <= 6.0
    assert np.array_equal(x, eval_sounds.laughter(8, SR, np.random.default_rng(5)))
    assert not np.array_equal(x, eval_sounds.laughter(8, SR, np.random.default_rng(6)))


def test_a_scream_is_high_loud_and_held():
    x = eval_sounds.screams(6, SR, np.random.default_rng(1))
    db = _frames_db(x)
    assert np.mean(db > db.max() - 15) > 0.6
    loudest = int(np.argmax(db)) * int(0.02 * SR)
    assert _pitch_hz(x[loudest:loudest + 2048]) > 400


def test_explosions_are_low_with_sudden_onsets_and_crowds_are_a_steady_roar():
    boom = eval_sounds.explosions(10, SR, np.random.default_rng(2)).astype(np.float64)
    power = np.abs(np.fft.rfft(boom)) ** 2
    freqs = np.fft.rfftfreq(len(boom), 1 / SR)
    assert power[freqs < 1000].sum() > 0.5 * power.sum()
    db = _frames_db(boom, 0.01)
    assert np.max(np.diff(db)) > 20  # from quiet to full within 10 ms
    roar = eval_sounds.crowd(10, SR, np.random.default_rng(2))
    db = _frames_db(roar)[50:-50]
    assert np.mean(db > db.max() - 20) > 0.9


def test_music_has_a_beat_and_the_menu_music_is_soft_pads():
    x = eval_sounds.music(12, SR, np.random.default_rng(3), loud=True)
    env = np.maximum(0, np.diff(10 ** (_frames_db(x, 0.01) / 20)))
    ac = np.correlate(env - env.mean(), env - env.mean(), "full")[len(env) - 1:]
    lags = np.arange(30, 80)  # 0.3..0.8 s
    assert 0.43 <= lags[int(np.argmax(ac[lags]))] / 100 <= 0.61  # one beat at 100..135 BPM
    soft = eval_sounds.music(12, SR, np.random.default_rng(3), loud=False)
    assert np.max(np.abs(np.diff(_frames_db(soft, 0.01)))) < np.max(np.abs(np.diff(_frames_db(x, 0.01))))


# ---------------------------------------------------------------- fitting weights


def test_normalise_keeps_the_total_caps_and_leaves_the_rest():
    w = normalise({"a": 1.0, "b": 3.0, "c": 0.0, "chat": 1.2}, ["a", "b", "c"], total=6.0, max_weight=3.5)
    assert w["chat"] == 1.2 and w["c"] == 0.0
    assert w["a"] + w["b"] == pytest.approx(6.0, abs=1e-3)
    assert w["b"] == 3.5 and w["a"] == pytest.approx(2.5, abs=1e-3)
    assert normalise({"a": 0.0, "b": 0.0}, ["a", "b"], 2.0, 3.0) == {"a": 1.0, "b": 1.0}


def _fake_streams(n: int = 6, length: int = 200):
    """Streams where only feature `b` rises at the highlights; `a` and `c` rise higher at decoys."""
    rng = np.random.default_rng(0)
    streams, videos = {}, []
    for i in range(n):
        curves = {k: rng.uniform(0, 0.2, length) for k in ("a", "b", "c")}
        highlights, decoys = [], []
        for j, t in enumerate(range(15, length - 15, 30)):
            if j % 2 == 0:
                curves["b"][t - 3:t + 3] += 0.6
                highlights.append(Window(t - 10, t + 10, "planted"))
            else:
                curves["a"][t - 3:t + 3] += 0.9
                curves["c"][t - 3:t + 3] += 0.9
                decoys.append(Window(t - 10, t + 10, "decoy"))
        streams[f"s{i}"] = curves
        videos.append(LabelledVideo(f"s{i}", "x.mp4", tuple(highlights), tuple(decoys)))
    return streams, videos


def _fake_picker(streams):
    def pick_(video, weights):
        curves = streams[video.id]
        total = sum(weights[k] for k in curves) or 1.0
        score = sum(weights[k] * c for k, c in curves.items()) / total
        picks: list[Pick] = []
        for t in np.argsort(-score):
            if len(picks) == 5:
                break
            if all(abs(t - (p.start + 10)) >= 20 for p in picks):
                picks.append(Pick(float(t - 10), float(t + 10), round(100 * float(score[t]), 2)))
        return picks
    return pick_


def test_fitting_raises_the_one_weight_that_marks_the_highlights():
    streams, videos = _fake_streams()
    objective = set_objective(videos, _fake_picker(streams))
    start = {"a": 1.0, "b": 1.0, "c": 1.0, "chat": 0.0}
    fit = coordinate_ascent(objective, start, ["a", "b", "c"], max_weight=2.5)
    assert fit.start_value < 1.0  # the decoys come first with equal weights
    assert fit.value > 1.9        # AP and HIT@1 near 1 on every stream
    assert fit.weights["b"] > 1.0 and fit.weights["b"] > fit.weights["a"] + fit.weights["c"]
    assert sum(fit.weights[k] for k in "abc") == pytest.approx(3.0, abs=1e-2)
    assert fit.weights["chat"] == 0.0 and min(fit.weights.values()) >= 0
    picker = _fake_picker(streams)
    assert all(average_precision(picker(v, fit.weights), v.highlights) == 1.0 for v in videos)
    again = coordinate_ascent(objective, start, ["a", "b", "c"], max_weight=2.5)
    assert again.weights == fit.weights


def test_fitting_leaves_weights_alone_when_nothing_improves():
    streams, videos = _fake_streams()
    objective = set_objective(videos, _fake_picker(streams))
    start = {"a": 0.1, "b": 2.8, "c": 0.1}
    fit = coordinate_ascent(objective, start, ["a", "b", "c"], max_weight=3.0)
    assert fit.value == pytest.approx(fit.start_value)
    assert fit.weights == pytest.approx(start, abs=1e-3)


def test_the_weights_block_is_a_config_that_loads(tmp_path):
    weights = {k: round(0.5 + i / 10, 3) for i, k in enumerate(load_settings().scoring.weights)}
    text = weights_yaml(weights, ["made by a test"])
    assert text.startswith("# made by a test\n")
    assert yaml.safe_load(text) == {"scoring": {"weights": weights}}
    path = tmp_path / "weights.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_settings(path).scoring.weights == weights


# ---------------------------------------------------------------- generated streams


@pytest.mark.slow
def test_one_short_generated_stream(tmp_path):
    """The first training stream cut to two slots: crowd roar at 20 s, explosions at 60 s."""
    from pipeline.media.probe import probe

    spec = SetSpec(videos=1, duration=90, slots=2, width=320, height=180)
    labels = make_labelled_set(tmp_path, spec)
    data = json.loads(labels.read_text(encoding="utf-8"))
    assert data["split"] == "train" and len(data["videos"]) == 1
    video = data["videos"][0]
    assert [(h["kind"], h["start"], h["end"]) for h in video["highlights"]] == [("crowd", 14, 39),
                                                                                 ("explosion", 54, 79)]
    media = tmp_path / video["source"]
    info = probe(media)
    assert abs(info.duration - 90) < 0.5 and (info.width, info.height) == (320, 180)
    assert (tmp_path / video["chat"]).read_text(encoding="utf-8").startswith("[0:00:0")
    raw = subprocess_decode(media)
    per_s = 20 * np.log10(np.sqrt((raw[: len(raw) // SR * SR].reshape(-1, SR).astype(np.float64) ** 2)
                                  .mean(axis=1)) + 1e-9)
    calm = np.median(np.r_[per_s[2:16], per_s[42:56], per_s[82:88]])
    assert np.median(per_s[22:34]) > calm + 6 and np.median(per_s[62:74]) > calm + 6
    assert math.isfinite(calm) and calm > -50  # the calm talk is there


def subprocess_decode(media: Path) -> np.ndarray:
    import subprocess

    out = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(media), "-ac", "1", "-ar", str(SR),
                          "-f", "f32le", "-"], check=True, capture_output=True).stdout
    return np.frombuffer(out, dtype="<f4")


@pytest.mark.slow
def test_eval_and_fit_weights_end_to_end(tmp_path):
    """A 90 s stream (crowd, explosions): eval reports per kind and the targets; fit-weights
    reuses the analysis and writes a weights block for every configured feature."""
    labels = make_labelled_set(tmp_path / "set", SetSpec(videos=1, duration=90, slots=2, width=320, height=180))
    out = tmp_path / "out"
    proc = run_cli("eval", str(labels), "--out", str(out), "--no-chat", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert json.loads((out / "eval_no_chat.json").read_text(encoding="utf-8")) == result
    assert set(result["kinds"]) == {"crowd", "explosion"}
    assert all(k["streams"] == 1 and k["in_top5"] in (0, 1) for k in result["kinds"].values())
    assert result["decoys"] == {"streams": 0, "none_above_planted": 0, "kinds": {}}
    assert set(result["targets"]["met"]) == {"hit_at_1", "map", "every_kind_in_top5", "no_decoy_above_planted"}
    video = result["videos"][0]
    assert set(video["kinds_found"]) == {k for k, v in result["kinds"].items() if v["in_top5"]}
    assert video["hit_at_5"] == 1.0, video["picks"]
    for name in ("HIT@1", "mAP", "Per kind", "crowd", "explosion"):
        assert name in proc.stderr

    weights = tmp_path / "weights.yaml"
    fit = run_cli("fit-weights", str(labels), "--work", str(out), "--out", str(weights), "--rounds", "1")
    assert fit.returncode == 0, fit.stderr
    assert "score (cached)" in fit.stderr and "asr (cached)" in fit.stderr
    block = yaml.safe_load(fit.stdout)
    assert block == yaml.safe_load(weights.read_text(encoding="utf-8"))
    configured = load_settings().scoring.weights
    assert set(block["scoring"]["weights"]) == set(configured)
    assert block["scoring"]["weights"]["chat"] == configured["chat"]
    assert load_settings(weights).scoring.weights == block["scoring"]["weights"]
