"""The whole `clipfactory process` job on generated media: ranking, report, cache, resume."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from pipeline.media.config import FEATURES
from pipeline.media.sample import SampleSpec, make_sample
from tests.helpers import ROOT, cli_cmd, ffmpeg, only_report, run_cli

# Whole `clipfactory process` runs in subprocesses: left out of `make test-fast`.
pytestmark = pytest.mark.slow

HYPE = (100.0, 115.0)


def test_planted_moment_is_ranked_first_or_second(analysed_sample):
    report = only_report(analysed_sample)
    clips = report["clips"]
    assert 1 <= len(clips) <= 5
    hits = [c["rank"] for c in clips if c["start"] < HYPE[1] and c["end"] > HYPE[0] + 2]
    assert hits and hits[0] <= 2, [(c["rank"], c["start"], c["end"], c["score"]) for c in clips]
    planted = next(c for c in clips if c["rank"] == hits[0])
    others = [c["score"] for c in clips if c is not planted]
    assert all(planted["score"] > s for s in others)


def test_report_has_the_promised_shape(analysed_sample):
    report = only_report(analysed_sample)
    assert report["language"] == "en"
    assert abs(report["duration"] - 180) < 1
    assert {"fetch", "probe", "audio", "asr", "audio_features", "motion", "enrich", "score"} <= set(report["stages"])
    assert all(isinstance(s["seconds"], float) and s["cached"] is False for s in report["stages"].values())
    starts = []
    for i, clip in enumerate(report["clips"], start=1):
        assert clip["rank"] == i
        assert 0 <= clip["score"] <= 100
        assert 15 - 0.01 <= clip["end"] - clip["start"] <= 60 + 0.01
        assert set(clip["breakdown"]) == set(FEATURES) and len(FEATURES) >= 8
        assert all(0.0 <= v <= 1.0 for v in clip["breakdown"].values())
        assert 1 <= len(clip["reasons"]) <= 3
        starts.append((clip["start"], clip["end"]))
    starts.sort()
    assert all(a[1] <= b[0] for a, b in zip(starts, starts[1:])), "moments overlap"
    scores = [c["score"] for c in report["clips"]]
    assert scores == sorted(scores, reverse=True)
    planted = next(c for c in report["clips"] if c["start"] < HYPE[1] and c["end"] > HYPE[0])
    assert {"jump", "year", "move"} & set(re.findall(r"\w+", planted["text"].lower())), planted["text"]


def test_second_run_is_served_from_the_cache(analysed_sample, sample_stream):
    first = only_report(analysed_sample)
    for _ in range(2):  # the first may re-render if another test rendered another layout since
        proc = run_cli("process", str(sample_stream), "--out", str(analysed_sample))
        assert proc.returncode == 0, proc.stderr
    again = only_report(analysed_sample)
    assert all(s["cached"] for s in again["stages"].values()), again["stages"]
    assert again["clips"] == first["clips"]


def test_changed_weights_rerun_only_scoring(analysed_sample, sample_stream, tmp_path):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("scoring:\n  top_k: 2\n  weights:\n    motion: 0.0\n", encoding="utf-8")
    proc = run_cli("process", str(sample_stream), "--out", str(analysed_sample), "--config", str(cfg))
    assert proc.returncode == 0, proc.stderr
    report = only_report(analysed_sample)
    assert len(report["clips"]) == 2
    assert report["stages"]["score"]["cached"] is False
    assert all(report["stages"][s]["cached"] for s in ("asr", "audio_features", "motion", "enrich"))


def test_killed_run_resumes_from_last_finished_stage(tmp_path):
    media = make_sample(tmp_path / "stream.mp4", SampleSpec(duration=60, hype_at=(30,)))
    out = tmp_path / "out"
    proc = subprocess.Popen(cli_cmd("process", str(media), "--out", str(out)), cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not list(out.glob("*/asr.done.json")):
        assert proc.poll() is None, "finished before it could be killed"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    job = next(out.iterdir())
    assert not (job / "report.json").exists()
    finished = {p.name.removesuffix(".done.json") for p in job.glob("*.done.json")}
    assert {"fetch", "probe", "audio", "asr"} <= finished
    assert "score" not in finished

    again = run_cli("process", str(media), "--out", str(out))
    assert again.returncode == 0, again.stderr
    report = only_report(out)
    for stage in finished:
        assert report["stages"][stage]["cached"] is True, stage
    assert report["stages"]["score"]["cached"] is False
    assert report["clips"]


def test_video_without_audio_gets_a_clear_message(tmp_path):
    media = tmp_path / "silent.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x180:rate=10:duration=20", "-c:v", "libx264",
           "-preset", "ultrafast", str(media))
    proc = run_cli("process", str(media), "--out", str(tmp_path / "out"))
    assert proc.returncode == 1
    assert "no sound track" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_bad_url_gets_a_clear_message(tmp_path):
    proc = run_cli("process", "ftp://example.invalid/vod.mp4", "--out", str(tmp_path / "out"))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "link" in proc.stderr.lower()


def test_missing_file_gets_a_clear_message(tmp_path):
    proc = run_cli("process", str(tmp_path / "nope.mp4"), "--out", str(tmp_path / "out"))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr


def test_wrong_config_value_names_the_key(tmp_path):
    proc = run_cli("process", "--sample", "--out", str(tmp_path / "out"),
                   env={"CLIPFACTORY_SCORING__TOP_K": "zero"})
    assert proc.returncode == 2
    assert "scoring.top_k" in proc.stderr


def test_dotenv_in_the_working_folder_is_read(tmp_path):
    (tmp_path / ".env").write_text("CLIPFACTORY_SCORING__MIN_CLIP_S=abc\n", encoding="utf-8")
    proc = run_cli("process", "--sample", "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert proc.returncode == 2
    assert "scoring.min_clip_s" in proc.stderr


def test_a_relative_out_folder_works(tmp_path):
    media = make_sample(tmp_path / "stream.mp4", SampleSpec(duration=30, hype_at=(10,), width=320, height=180))
    proc = run_cli("process", str(media), "--out", "out", "--layout", "blur_fit", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = only_report(tmp_path / "out")
    assert all((tmp_path / "out" / report["job_id"] / c["file"]).exists() for c in report["clips"])


def test_cascade_rewrites_only_the_subtitles(analysed_sample, sample_stream, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(analysed_sample, out)
    cfg = tmp_path / "cascade.yaml"
    cfg.write_text("asr:\n  cascade_model: packaged:whisper-base\n  cascade_beam_size: 3\n", encoding="utf-8")
    assert run_cli("process", str(sample_stream), "--out", str(out)).returncode == 0  # default weights
    first = only_report(out)
    proc = run_cli("process", str(sample_stream), "--out", str(out), "--config", str(cfg))
    assert proc.returncode == 0, proc.stderr
    report = only_report(out)
    assert report["models"]["subtitles"] == "packaged:whisper-base"
    assert report["stages"]["subtitles"]["cached"] is False
    assert report["stages"]["render"]["cached"] is False, "new words, new subtitles"
    assert all(report["stages"][s]["cached"] for s in ("asr", "motion", "enrich", "score"))
    assert [(c["start"], c["end"]) for c in report["clips"]] == [(c["start"], c["end"]) for c in first["clips"]]
