"""Measuring picks: metrics on hand-made windows, the labels file, the generated labelled
set, and `clipfactory eval` end to end on a one-stream set."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from helpers import run_cli

from pipeline.jobs.evaluation import (
    LabelledVideo,
    LabelsError,
    Pick,
    Window,
    average_precision,
    feedback_examples,
    hit_at,
    iou,
    learnt_weights,
    load_labels,
    match,
    mean_score,
    precision_at,
    score_video,
)
from pipeline.jobs.labelled_set import (
    DECOYS,
    HIGHLIGHTS,
    PLANS,
    SPAM,
    Event,
    SetSpec,
    chat_log,
    make_labelled_set,
    plan_events,
)

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


def test_labelled_set_plans_cover_every_kind():
    events = [e for _, kinds in PLANS for e in plan_events(kinds, 270)]
    assert len(events) == 6 * len(PLANS)
    kinds = {e.kind for e in events}
    assert kinds == set(HIGHLIGHTS) | set(DECOYS)
    assert all(e.end <= 260 for e in events)
    assert [e.kind for e in plan_events(PLANS[0][1], 90)] == ["shouting", "menu"]


LINE = re.compile(r"^\[(\d+):(\d\d):(\d\d)\] (\S+): (.+)$")


def test_chat_log_bursts_after_highlights_and_spam_elsewhere():
    events = [Event("chat_burst", 20, 30), Event("menu", 60, 80), Event("shouting", 100, 110)]
    lines = [LINE.match(line) for line in chat_log(events, 150, seed=3).splitlines()]
    assert all(lines)
    at = [(int(h) * 3600 + int(m) * 60 + int(s), who, text) for h, m, s, who, text in (x.groups() for x in lines)]
    assert [t for t, _, _ in at] == sorted(t for t, _, _ in at)

    def viewers(lo, hi):
        return [who for t, who, _ in at if lo <= t < hi and who.startswith("viewer_")]

    assert len(viewers(26, 36)) == 36 and len(set(viewers(26, 36))) >= 10
    assert len(viewers(106, 114)) == 14
    assert viewers(0, 26) == viewers(36, 106) == []
    spam = [t for t, who, text in at if text == SPAM]
    assert len(spam) >= 15 and {who for _, who, text in at if text == SPAM} == {"cheap_follows_bot"}
    labelled = [(e.start - 6, e.end + 8) for e in events if e.kind != "menu"]
    assert not any(lo <= t <= hi for t in spam for lo, hi in labelled)


def test_eval_end_to_end(tmp_path):
    """A 90 s stream with planted shouting (and a menu decoy): the shouting is the top pick."""
    labels = make_labelled_set(tmp_path / "set", SetSpec(videos=1, duration=90, width=320, height=180))
    data = json.loads(labels.read_text(encoding="utf-8"))
    assert [h["kind"] for h in data["videos"][0]["highlights"]] == ["shouting"]
    assert (tmp_path / "set" / "v1_en.mp4").stat().st_size > 0
    assert (tmp_path / "set" / "v1_en.chat.txt").read_text(encoding="utf-8").startswith("[0:00:0")

    out = tmp_path / "out"
    proc = run_cli("eval", str(labels), "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert json.loads((out / "eval.json").read_text(encoding="utf-8")) == result
    video = result["videos"][0]
    assert video["id"] == "v1_en"
    assert video["hit_at_1"] == 1.0, video["picks"]
    assert video["picks"][0]["label"] == "shouting" and video["picks"][0]["iou"] >= 0.5
    assert set(result["mean"]) == {"hit_at_1", "hit_at_5", "precision_at_5", "map", "videos"}
    assert result["mean"]["map"] == video["average_precision"] > 0
    for name in ("HIT@1", "HIT@5", "P@5", "mAP", "shouting"):
        assert name in proc.stderr

    plain = run_cli("eval", str(labels), "--out", str(out), "--no-chat")
    assert plain.returncode == 0, plain.stderr
    assert "HIT@1" in plain.stdout and "mAP" in plain.stdout
    no_chat = json.loads((out / "eval_no_chat.json").read_text(encoding="utf-8"))
    assert no_chat["chat"] is False
    assert no_chat["videos"][0]["picks"][0]["label"] == "shouting"
    report = json.loads(next(out.glob("*/report.json")).read_text(encoding="utf-8"))
    assert report["stages"]["asr"]["cached"] and report["stages"]["motion"]["cached"], report["stages"]
