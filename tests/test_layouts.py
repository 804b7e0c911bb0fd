"""Each layout's ffmpeg-python graph: its compiled arguments, and the geometry of a frame it
renders from a source whose facecam and gameplay are told apart by colour."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import ffmpeg
import numpy as np
import pytest

from pipeline.media.config import load_settings
from pipeline.media.models import Box
from pipeline.media.render import layouts

SRC = (1920, 1080)
CAM = Box(x=1400, y=60, w=480, h=360)
MARK = (900, 480, 120, 120)          # a green square around the gameplay's centre
RED, GREEN, BLUE = (230, 20, 20), (20, 220, 20), (30, 40, 200)


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """Blue gameplay with a green mark in the middle, a red webcam at CAM."""
    path = tmp_path_factory.mktemp("layouts") / "source.png"
    x, y, w, h = MARK
    vf = (f"drawbox=x={x}:y={y}:w={w}:h={h}:color=0x{bytes(GREEN).hex()}:t=fill,"
          f"drawbox=x={CAM.x}:y={CAM.y}:w={CAM.w}:h={CAM.h}:color=0x{bytes(RED).hex()}:t=fill")
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i",
                    f"color=c=0x{bytes(BLUE).hex()}:s={SRC[0]}x{SRC[1]}", "-vf", vf, "-frames:v", "1",
                    str(path)], check=True)
    return path


def render(plan: layouts.Plan, source: Path, out: tuple[int, int]) -> tuple[list[str], np.ndarray]:
    graph = plan.draw(ffmpeg.input(str(source)).video).output("pipe:", format="rawvideo", pix_fmt="rgb24",
                                                               vframes=1)
    args = graph.compile(cmd=["ffmpeg", "-nostdin", "-v", "error"])
    raw = subprocess.run(args, capture_output=True, check=True).stdout
    return args, np.frombuffer(raw, np.uint8).reshape(out[1], out[0], 3).astype(int)


def share(region: np.ndarray, colour: tuple[int, int, int]) -> float:
    """Share of the pixels within 40 levels of `colour` on every channel."""
    return float((np.abs(region - np.array(colour)).max(axis=2) < 40).mean())


def filters(args: list[str]) -> str:
    return args[args.index("-filter_complex") + 1]


def test_facecam_top_puts_the_webcam_above_the_middle_of_the_gameplay(source):
    settings = load_settings()
    out = settings.exports["9:16"]
    plan = layouts.facecam_top(settings.layouts["facecam_top"], out, SRC, CAM)
    args, frame = render(plan, source, out)
    assert f"crop={CAM.w}:{CAM.h}:{CAM.x}:{CAM.y}" in filters(args)
    assert "vstack=inputs=2" in filters(args)
    seam = round(out[1] * settings.layouts["facecam_top"].facecam_share)
    assert share(frame[: seam - 8], RED) > 0.95, "the top band is the webcam"
    bottom = frame[seam + 8:]
    assert share(bottom, RED) < 0.01
    ys, xs = np.nonzero(np.abs(bottom - np.array(GREEN)).max(axis=2) < 40)
    assert abs(xs.mean() - out[0] / 2) < 20 and abs(ys.mean() - bottom.shape[0] / 2) < 20, \
        "the gameplay's centre is the bottom band's centre"
    assert plan.subtitle_pos[1] == pytest.approx(seam, abs=4)
    assert not seam - 150 < plan.hook_pos[1] < seam + 150, "the hook keeps clear of the seam's subtitles"


def test_blur_fit_shows_the_whole_frame_between_blurred_bands(source):
    settings = load_settings()
    out = settings.exports["9:16"]
    plan = layouts.blur_fit(settings.layouts["blur_fit"], out)
    args, frame = render(plan, source, out)
    assert "boxblur" in filters(args) and "overlay" in filters(args)
    # The background is blurred at an eighth of the export size, then scaled up once.
    assert re.search(rf"scale={out[0] // 8 + 1}:{out[1] // 8}:", filters(args))
    fitted_h = out[0] * SRC[1] // SRC[0]
    top = (out[1] - fitted_h) // 2
    middle = frame[top + 4: top + fitted_h - 4]
    scale = out[0] / SRC[0]
    cam = middle[int(CAM.y * scale) + 4: int((CAM.y + CAM.h) * scale) - 4,
                 int(CAM.x * scale) + 4: int((CAM.x + CAM.w) * scale) - 4]
    assert share(cam, RED) > 0.95, "the webcam is where it is in the source, scaled"
    assert share(frame[: top - 8], BLUE) > 0.95, "the band above is the source enlarged, not padding"
    assert share(frame[top + fitted_h + 8:], BLUE) > 0.95


@pytest.mark.parametrize("left", [0, 300, 1920 - 608])
def test_moving_crop_cuts_a_full_height_window_at_the_expression(source, left):
    settings = load_settings()
    out = settings.exports["9:16"]
    cw = layouts.crop_width(out, SRC)
    plan = layouts.moving_crop(settings.layouts["gameplay"], out, SRC, str(left), "gameplay")
    args, frame = render(plan, source, out)
    assert f"crop=h={SRC[1]}:w={cw}:x={left}" in filters(args)
    scale = out[0] / cw
    x, _, w, _ = MARK
    ys, xs = np.nonzero(np.abs(frame - np.array(GREEN)).max(axis=2) < 40)
    if x + w <= left or x >= left + cw:
        assert len(xs) == 0
    else:
        seen = (max(x, left) - left) * scale, (min(x + w, left + cw) - left) * scale
        assert abs(xs.min() - seen[0]) <= 4 and abs(xs.max() + 1 - seen[1]) <= 4


def test_duo_stacks_two_windows_with_subtitles_on_the_seam(source):
    """Top: a window around the red webcam; bottom: a window centred on the green mark."""
    settings = load_settings()
    out = settings.exports["9:16"]
    aspect = out[0] / (out[1] / 2)
    th = CAM.h - 4                                     # a window inside the webcam
    tw = int(th * aspect) // 2 * 2
    top = layouts.Window(tw, th, str(CAM.x + (CAM.w - tw) // 2), str(CAM.y + 2))
    x, y, w, h = MARK
    bw, bh = 360, int(360 / aspect) // 2 * 2
    bottom = layouts.Window(bw, bh, str(x + w // 2 - bw // 2), str(y + h // 2 - bh // 2))
    plan = layouts.duo(settings.layouts["duo"], out, top, bottom)
    args, frame = render(plan, source, out)
    assert "vstack=inputs=2" in filters(args)
    half = out[1] // 2
    assert share(frame[: half - 4], RED) > 0.95, "the top half is the webcam's window"
    lower = frame[half + 4:]
    assert share(lower, RED) < 0.01
    ys, xs = np.nonzero(np.abs(lower - np.array(GREEN)).max(axis=2) < 40)
    assert abs(xs.mean() - out[0] / 2) < 20 and abs(ys.mean() + 4 - half / 2) < 20, "the mark is centred below"
    assert abs(xs.max() - xs.min() + 1 - w * out[0] / bw) <= 6, "scaled from a window the given width"
    assert plan.subtitle_pos == (out[0] // 2, half) and plan.layout_used == "duo"
