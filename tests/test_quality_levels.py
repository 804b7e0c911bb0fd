"""`render.quality`: each level's settings reach x264 (read back from the options x264 writes
into the stream), and an unknown level is refused at start."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from pipeline.media.config import ConfigError, load_settings
from pipeline.media.render import layouts
from pipeline.media.render.clip import ClipJob, clip_graph, run_ffmpeg


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("quality") / "src.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=640x360:r=30:d=2",
                    "-f", "lavfi", "-i", "sine=f=300:d=2", "-c:v", "libx264", "-preset", "ultrafast",
                    "-c:a", "aac", "-shortest", str(path)], check=True)
    return path


def x264_options(path: Path) -> dict[str, str]:
    """The options x264 wrote into the stream's SEI ("cabac=1 ref=1 deblock=1:0:0 ...")."""
    text = path.read_bytes().decode("latin-1")
    found = re.search(r"x264 - core \d+.*? - options: ([^\x00]*)", text)
    assert found, "no x264 SEI in the stream"
    return dict(item.split("=", 1) for item in found.group(1).split() if "=" in item)


@pytest.mark.parametrize("level", ["fast", "balanced", "best"])
def test_each_level_reaches_the_encoder(source, tmp_path, level):
    settings = load_settings(render={"quality": level})
    chosen = settings.render.qualities[level]
    out = (360, 640)
    plan = layouts.moving_crop(settings.layouts["gameplay"], out, (640, 360), "200", "gameplay")
    job = ClipJob(source, 0.0, 2.0, tmp_path / "c.mp4", tmp_path / "c.jpg", plan, None, "libx264", 1, 1.0)
    run_ffmpeg(clip_graph(job, settings.render, None, job.out), tmp_path)
    options = x264_options(job.out)
    assert float(options["crf"]) == chosen.crf
    for item in (chosen.x264_params or "").split(":"):
        if item:
            key, value = item.split("=")
            assert options[key].split(":")[0] == value, (key, options[key])
    presets_without_cabac = {"ultrafast"}
    expected_cabac = "1" if "cabac=1" in (chosen.x264_params or "") or \
        chosen.x264_preset not in presets_without_cabac else "0"
    assert options["cabac"] == expected_cabac


def test_an_unknown_level_is_refused():
    with pytest.raises(ConfigError, match="render.quality 'ludicrous'"):
        load_settings(render={"quality": "ludicrous"})
