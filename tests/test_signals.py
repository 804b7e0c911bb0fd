"""Audio features, motion and the text signals on generated media."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.media.audio_decode import decode_audio, sample_count
from pipeline.media.audio_features import analyse_audio
from pipeline.media.config import load_settings
from pipeline.media.motion import analyse_motion
from tests.helpers import ffmpeg


@pytest.fixture(scope="module")
def loud_middle(tmp_path_factory):
    """40 s: quiet tone, then 10 s of loud noise bursts from 20 s, then quiet again."""
    d = tmp_path_factory.mktemp("audio")
    src = d / "a.wav"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=220:duration=40:sample_rate=16000",
           "-f", "lavfi", "-i", "anoisesrc=color=pink:amplitude=0.8:duration=10:sample_rate=16000",
           "-filter_complex",
           "[0:a]volume=0.05[q];[1:a]tremolo=f=4:d=0.9,adelay=20000|20000[n];"
           "[q][n]amix=inputs=2:normalize=0:duration=first", str(src))
    raw = d / "a.f32"
    decode_audio(src, raw, 16000)
    return raw


def test_audio_decode_is_16k_mono_float(loud_middle):
    assert abs(sample_count(loud_middle) / 16000 - 40) < 0.1
    samples = np.fromfile(loud_middle, dtype="<f4")
    assert samples.dtype == np.float32 and np.abs(samples).max() <= 1.5


def test_loud_section_stands_out(loud_middle):
    feats = analyse_audio(loud_middle, 40.0, load_settings().audio)
    assert all(len(v) == 40 for v in feats.values())
    loud = feats["loudness_db"]
    assert loud[21:29].min() > loud[:18].max() + 10
    assert feats["flatness"][21:29].mean() > feats["flatness"][:18].mean()
    assert feats["bursts_db"][20:22].max() > 10
    assert feats["bursts_db"][5:18].max() < 3


def test_chunked_analysis_matches_one_pass(loud_middle):
    cfg = load_settings().audio
    whole = analyse_audio(loud_middle, 40.0, cfg.model_copy(update={"chunk_s": 300}))
    chunked = analyse_audio(loud_middle, 40.0, cfg.model_copy(update={"chunk_s": 10}))
    diff = np.abs(whole["loudness_db"] - chunked["loudness_db"])
    assert np.median(diff) < 0.5
    assert np.corrcoef(whole["loudness_db"], chunked["loudness_db"])[0, 1] > 0.98


@pytest.mark.parametrize("proxy", ["keyframes", "frames"])
def test_motion_and_scene_cuts(tmp_path, proxy):
    media = tmp_path / "v.mp4"
    # 10 s of a still picture, 8 s of full-frame noise, then a hard cut to another picture.
    ffmpeg("-f", "lavfi", "-i", "color=c=gray:size=640x360:rate=30:duration=10",
           "-f", "lavfi", "-i", "nullsrc=size=640x360:rate=30:duration=8",
           "-f", "lavfi", "-i", "smptebars=size=640x360:rate=30:duration=10",
           "-filter_complex", "[1:v]geq=random(1)*255:128:128[n];[0:v][n][2:v]concat=n=3:v=1[v]",
           "-map", "[v]", "-c:v", "libx264", "-preset", "ultrafast", "-g", "30", str(media))
    feats = analyse_motion(media, 28.0, load_settings(video={"proxy": proxy}).video)
    motion = feats["motion"]
    assert len(motion) == 28
    assert motion[11:17].min() > 10 * max(motion[1:9].max(), 1e-3)
    assert motion[20:27].max() < motion[11:17].min() / 5
    assert feats["scene_cuts"][17:19].sum() >= 1
    assert feats["scene_cuts"][1:9].sum() == 0


def test_motion_reads_keyframes_only_when_they_are_close(tmp_path):
    from pipeline.media.motion import keyframe_gap, motion_method

    cfg = load_settings().video
    for gop, expected in ((60, "keyframes"), (300, "frames")):
        media = tmp_path / f"g{gop}.mp4"
        ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30:duration=40", "-c:v", "libx264",
               "-preset", "ultrafast", "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0", str(media))
        assert keyframe_gap(media) == pytest.approx(gop / 30, abs=0.05)
        assert motion_method(media, cfg) == expected
