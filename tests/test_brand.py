"""The brand drawn by libass: the hook line only inside its band and only for its seconds,
the watermark in the corner the template names, the brand's subtitle colours."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from pipeline.media.config import load_settings
from pipeline.media.models import Word
from pipeline.media.render.subtitles import build_ass

SIZE = (360, 640)
BAND = (60, 200)
WORDS = [Word(0.3, 0.8, "Frozen"), Word(0.8, 1.4, "pitch"), Word(1.4, 2.0, "again."),
         Word(3.6, 4.2, "Goalkeeper"), Word(4.2, 4.8, "slipped.")]
HOOK = "The goalkeeper slipped on the frozen pitch"


def frame(ass: str, at: float, tmp: Path, name: str) -> np.ndarray:
    """One RGB frame of the ASS document drawn over a grey picture, `at` seconds in."""
    doc = tmp / f"{name}.ass"
    doc.write_text(ass, encoding="utf-8")
    out = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", f"color=c=0x406080:s={SIZE[0]}x{SIZE[1]}:d=6:r=10",
         "-vf", f"subtitles={doc.name}", "-ss", str(at), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        cwd=tmp, capture_output=True, check=True).stdout
    return np.frombuffer(out, np.uint8).reshape(SIZE[1], SIZE[0], 3).astype(int)


def _ass(**brand) -> str:
    settings = load_settings(brand={"hook_font_size": 28, **brand})
    return build_ass(WORDS, 0.0, 6.0, settings.subtitle_styles["bold_outline"], settings.render.font, SIZE,
                     (SIZE[0] // 2, int(SIZE[1] * 0.75)), brand=settings.brand, hook=HOOK, hook_band=BAND)


def _changed(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.nonzero(np.abs(a - b).sum(axis=2) > 24)


def _bare() -> str:
    settings = load_settings()
    return build_ass([], 0.0, 6.0, settings.subtitle_styles["bold_outline"], settings.render.font, SIZE,
                     (0, 0), brand=settings.brand)


@pytest.mark.parametrize("at", [1.0, 4.0])
def test_the_hook_changes_only_its_band_and_only_in_its_seconds(tmp_path, at):
    hooked = frame(_ass(hook=True, hook_s=2.5), at, tmp_path, "hook")
    plain = frame(_ass(hook=False), at, tmp_path, "plain")
    rows, _ = _changed(hooked, plain)
    if at < 2.5:
        assert len(rows) > 500, "the hook is drawn"
        assert BAND[0] <= rows.min() and rows.max() < BAND[1], (rows.min(), rows.max())
        subtitle_rows, _ = _changed(plain, frame(_bare(), at, tmp_path, "bare"))
        assert len(subtitle_rows) and subtitle_rows.min() > BAND[1], "the subtitles are drawn, below the band"
    else:
        assert len(rows) == 0, "after its seconds the hook leaves no trace"


@pytest.mark.parametrize("corner", ["top_left", "top_right", "bottom_left", "bottom_right"])
def test_the_text_watermark_sits_in_the_template_s_corner(tmp_path, corner):
    settings = load_settings(templates={"mine": {"brand": {"watermark_text": "@goalcam", "watermark_position": corner,
                                                           "watermark_opacity": 1.0, "hook": False}}})
    from pipeline.media.options import JobOptions, apply_options

    job_settings, _ = apply_options(settings, JobOptions(template="mine"))
    style = job_settings.subtitle_styles["bold_outline"]
    marked = build_ass([], 0.0, 6.0, style, "DejaVu Sans", SIZE, (0, 0), brand=job_settings.brand)
    bare = build_ass([], 0.0, 6.0, style, "DejaVu Sans", SIZE, (0, 0), brand=settings.brand)
    rows, cols = _changed(frame(marked, 3.0, tmp_path, "marked"), frame(bare, 3.0, tmp_path, "bare"))
    assert len(rows) > 100
    top, left = corner.startswith("top"), corner.endswith("left")
    h, w = SIZE[1], SIZE[0]
    assert (rows.max() < h * 0.15) if top else (rows.min() > h * 0.85), (rows.min(), rows.max())
    assert (cols.max() < w * 0.6) if left else (cols.min() > w * 0.4), (cols.min(), cols.max())


def test_the_brand_colours_the_spoken_word(tmp_path):
    settings = load_settings(brand={"highlight_colour": "&H00FF00FF", "hook": False})   # magenta (BGR)
    style = settings.subtitle_styles["bold_outline"]
    words = [Word(0.0, 5.0, "MMMM")]
    ass = build_ass(words, 0.0, 6.0, style, "DejaVu Sans", SIZE, (SIZE[0] // 2, SIZE[1] // 2), brand=settings.brand)
    pixels = frame(ass, 1.0, tmp_path, "magenta").reshape(-1, 3)
    magenta = (pixels[:, 0] > 200) & (pixels[:, 1] < 60) & (pixels[:, 2] > 200)
    assert magenta.sum() > 200


@pytest.mark.parametrize("export", ["9:16", "4:5", "1:1"])
def test_every_layout_s_hook_band_is_clear_of_subtitles_and_facecam(export):
    from pipeline.media.models import Box
    from pipeline.media.render import layouts
    from pipeline.media.render.brand import hook_band

    settings = load_settings()
    out = settings.exports[export]
    style = settings.subtitle_styles[settings.render.subtitle_style]
    cards = style.font_size * 2 * 1.25 / 2 + style.outline    # two lines of subtitles around their centre
    plans = {
        "blur_fit": (layouts.blur_fit(settings.layouts["blur_fit"], out), 0),
        "gameplay": (layouts.moving_crop(settings.layouts["gameplay"], out, (1920, 1080), "0", "gameplay"), 0),
        "facecam_top": (layouts.facecam_top(settings.layouts["facecam_top"], out, (1920, 1080),
                                            Box(1500, 40, 380, 280)),
                        int(out[1] * settings.layouts["facecam_top"].facecam_share)),
    }
    for name, (plan, facecam_bottom) in plans.items():
        top, bottom = hook_band(plan.hook_pos, out[1])
        assert 0 <= top < bottom <= out[1], name
        sub_y = plan.subtitle_pos[1]
        assert bottom <= sub_y - cards or top >= sub_y + cards, (name, (top, bottom), sub_y)
        assert top >= facecam_bottom, (name, top, facecam_bottom)
