"""The benchmark's baseline motion and the runner's table helpers (bench/)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline.media.config import load_settings
from tests.helpers import ROOT, load_script

baseline = load_script(ROOT / "bench" / "baseline.py")
bp = load_script(ROOT / "bench" / "bench_pipeline.py")

FRANTIC = (10, 15)  # seconds of the short clip with the frantic picture


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory) -> Path:
    from pipeline.media.sample import SampleSpec, make_sample

    spec = SampleSpec(duration=20, hype_at=(FRANTIC[0],), hype_len=FRANTIC[1] - FRANTIC[0],
                      width=320, height=180, fps=30)
    return make_sample(tmp_path_factory.mktemp("bench") / "short.mp4", spec)


def test_baseline_motion_matches_the_pipelines_arrays_and_sees_the_frantic_window(short_clip):
    from pipeline.media.motion import analyse_motion

    cfg = load_settings().video
    ours = analyse_motion(short_clip, 20.0, cfg)
    fractions: list[float] = []
    full = baseline.motion_full_decode(short_clip, 20.0, cfg, fractions.append)

    assert set(full) == set(ours) == {"motion", "scene_cuts"}
    for key in ours:
        assert full[key].shape == ours[key].shape == (20,)
    assert fractions[-1] == 1.0
    motion = full["motion"]
    assert np.all((motion >= 0) & (motion <= 1))
    frantic = motion[FRANTIC[0] + 1:FRANTIC[1] - 1]
    calm = np.concatenate([motion[1:FRANTIC[0] - 1], motion[FRANTIC[1] + 1:]])
    assert frantic.min() > 3 * calm.max(), (frantic, calm)
    cuts = full["scene_cuts"]
    assert cuts[1:FRANTIC[0] - 1].max() == 0 and cuts[FRANTIC[1] + 1:].max() == 0
    # every frame is compared: more cuts than a decode at the pipeline's 2 fps could count
    assert cuts[FRANTIC[0] + 1:FRANTIC[1] - 1].sum() > cfg.fps * (FRANTIC[1] - FRANTIC[0] - 2)


def test_baseline_settings_transcribe_everything_in_one_sequential_call():
    settings = load_settings()
    before = settings.model_dump()
    base = baseline.baseline_settings(settings, duration=7200.0)
    assert base.asr.vad is False
    assert base.asr.chunk_s >= 7200.0  # one chunk: the whole audio in one call
    assert base.render.parallel == 1
    assert base.asr.batch_size == 1 and base.asr.cascade_model is None
    assert settings.model_dump() == before, "the original settings are untouched"


def test_bench_settings_pick_clips_of_exactly_the_asked_length():
    s = bp.bench_settings(5, 45)
    assert (s.scoring.top_k, s.scoring.min_clip_s, s.scoring.target_clip_s, s.scoring.max_clip_s) == (5, 45, 45, 45)


def test_ratios_and_table():
    assert bp.ratio(10.0, 40.0) == 4.0
    assert bp.ratio(None, 40.0) is None and bp.ratio(0.0, 1.0) is None and bp.ratio(2.0, None) is None
    assert bp.ratio(0.7, 0.001) is None  # under the table's resolution
    assert bp.rtf(1800, 0.0) is None and bp.rtf(1800, 90.0) == 20.0
    assert bp.fmt(None).strip() == "n/a" and bp.fmt(123456.0, "x").strip() == ">9999"
    assert bp.stage_names({"render": {}, "asr": {}, "zeta": {}}, {"fetch": {}, "facecam": {}}) == \
        ["fetch", "asr", "facecam", "render", "zeta"]

    clips = [{"start": 0.0, "end": 45.0}, {"start": 100.0, "end": 145.0}]
    runs = {
        "ours": {"stages": {"asr": {"seconds": 10.0}, "render": {"seconds": 30.0}}, "analysis_s": 12.0,
                 "wall_s": 45.0, "ttfc_s": None, "peak_rss_mib": 1400.0, "found": 5, "planted": 5,
                 "clips": clips},
        "baseline": {"stages": {"asr": {"seconds": 40.0}, "facecam": {"seconds": 2.0},
                                "render": {"seconds": 90.0}},
                     "analysis_s": 60.0, "wall_s": 150.0, "ttfc_s": 105.5, "peak_rss_mib": 700.0,
                     "found": 4, "planted": 5, "clips": clips},
    }
    lines = {line.split("  ")[0].strip(): line.split() for line in bp.comparison_table(1800.0, runs).splitlines()}
    assert lines["asr"] == ["asr", "10.0", "180.0", "40.0", "45.0", "4.00×"]
    assert lines["render"] == ["render", "30.0", "3.0", "90.0", "1.0", "3.00×"]  # clip seconds per wall second
    assert lines["facecam"] == ["facecam", "n/a", "n/a", "2.0", "900.0", "n/a"]
    assert lines["time to first clip"][-3:] == ["n/a", "105.5", "n/a"]
    assert lines["whole job incl. render"][-5:] == ["45.0", "40.0", "150.0", "12.0", "3.33×"]
    assert lines["peak RSS MiB"][-3:] == ["1400", "700", "0.50×"]
    assert lines["planted found in top-K"][-2:] == ["5/5", "4/5"]
    assert list(lines)[:4] == ["", "asr", "facecam", "render"]

    r = bp.ratios(runs)
    assert r["asr"] == 4.0 and r["facecam"] is None and r["ttfc"] is None and r["whole"] == pytest.approx(150 / 45)

    alone = bp.comparison_table(1800.0, {"baseline": runs["baseline"]})
    assert "base/ours" not in alone and "ours s" not in alone
    assert not any(line.rstrip().endswith("×") for line in alone.splitlines())


def test_planted_found_counts_moments_covered_by_a_clip():
    clips = [{"start": 140.0, "end": 185.0}, {"start": 600.0, "end": 645.0}]
    assert bp.planted_found(clips, (150, 520, 890)) == 1
    assert bp.planted_found(clips, (150, 600)) == 2
    assert bp.planted(30)[:2] == (150, 520) and all(h % 5 == 0 for h in bp.planted(120))
    assert bp.planted(2) == (60,)
