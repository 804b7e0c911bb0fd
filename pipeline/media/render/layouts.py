"""The layout presets as ffmpeg-python graphs.

A layout is a small function of streams: `Plan.draw` takes the source's video stream and
returns a stream of exactly the export size. Everything that can be done small is done
small: crops come before the one scale to the export size, and the blurred background is
made at an eighth of it. The plan also says where the subtitles sit and where a hook line
may go without covering them or a face."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ffmpeg

from pipeline.media.config import LayoutSettings
from pipeline.media.models import Box

Stream = Any   # an ffmpeg-python stream (the package has no type hints)
Draw = Callable[[Stream], Stream]


@dataclass(frozen=True)
class Plan:
    draw: Draw                      # source video → export-size video
    subtitle_pos: tuple[int, int]   # centre of the subtitle cards
    hook_pos: tuple[int, int]       # centre of a hook line, clear of subtitles and faces
    layout_used: str
    note: str = ""


def _even(v: float) -> int:
    return max(2, int(round(v / 2)) * 2)


def _subtitle_y(layout: LayoutSettings, out_h: int, seam: int | None = None) -> int:
    if layout.subtitle_y == "seam":
        return seam if seam is not None else int(out_h * 0.75)
    return int(out_h * float(layout.subtitle_y))


def _cover(video: Stream, w: int, h: int) -> Stream:
    """Scale to fill w x h and cut what sticks out."""
    return (video.filter("scale", w, h, force_original_aspect_ratio="increase")
            .filter("crop", w, h))


def blur_fit(layout: LayoutSettings, out: tuple[int, int]) -> Plan:
    """The whole frame fitted in the middle over a blurred, enlarged copy of itself."""
    w, h = out
    small = (_even(w / 8), _even(h / 8))

    def draw(video: Stream) -> Stream:
        split = video.split()
        # Blurred already: the cheapest scaler enlarges it without a visible difference.
        background = (_cover(split[0], *small).filter("boxblur", max(1, layout.blur // 4), 2)
                      .filter("scale", w, h, flags="fast_bilinear"))
        front = split[1].filter("scale", w, h, force_original_aspect_ratio="decrease").filter("setsar", 1)
        return background.overlay(front, x="(W-w)/2", y="(H-h)/2").filter("setsar", 1)

    return Plan(draw, (w // 2, _subtitle_y(layout, h)), (w // 2, int(h * 0.16)), "blur_fit")


def facecam_top(layout: LayoutSettings, out: tuple[int, int], src: tuple[int, int], cam: Box) -> Plan:
    """The facecam on top, the middle of the gameplay below; subtitles on the seam."""
    w, h = out
    top_h = _even(h * layout.facecam_share)
    bottom_h = h - top_h
    sw, sh = src
    gw = min(sw, _even(sh * w / bottom_h))
    gh = min(sh, _even(gw * bottom_h / w))
    gx, gy = (sw - gw) // 2, (sh - gh) // 2

    def draw(video: Stream) -> Stream:
        split = video.split()
        camera = _cover(split[0].filter("crop", cam.w, cam.h, cam.x, cam.y), w, top_h)
        game = split[1].filter("crop", gw, gh, gx, gy).filter("scale", w, bottom_h).filter("setsar", 1)
        return ffmpeg.filter([camera.filter("setsar", 1), game], "vstack", inputs=2).filter("setsar", 1)

    hook_y = top_h + int(bottom_h * 0.62)
    return Plan(draw, (w // 2, _subtitle_y(layout, h, seam=top_h)), (w // 2, hook_y), "facecam_top")


def moving_crop(layout: LayoutSettings, out: tuple[int, int], src: tuple[int, int], x_expr: str,
                name: str) -> Plan:
    """A full-height 9:16 window whose left edge follows `x_expr` (a function of t)."""
    w, h = out
    sw, sh = src
    cw = crop_width(out, src)
    ch = min(sh, _even(cw * h / w))

    def draw(video: Stream) -> Stream:
        return (video.filter("crop", w=cw, h=ch, x=x_expr, y=(sh - ch) // 2)
                .filter("scale", w, h).filter("setsar", 1))

    return Plan(draw, (w // 2, _subtitle_y(layout, h)), (w // 2, int(h * 0.14)), name)


def crop_width(out: tuple[int, int], src: tuple[int, int]) -> int:
    return min(src[0], _even(src[1] * out[0] / out[1]))


@dataclass(frozen=True)
class Window:
    """A moving crop of the source: fixed size, left and top edges as expressions in t."""
    w: int
    h: int
    x: str
    y: str


def duo(layout: LayoutSettings, out: tuple[int, int], top: Window, bottom: Window) -> Plan:
    """Two faces stacked, each in its own moving window; subtitles on the seam."""
    w, h = out
    top_h = _even(h / 2)

    def draw(video: Stream) -> Stream:
        split = video.split()
        halves = [split[i].filter("crop", w=win.w, h=win.h, x=win.x, y=win.y)
                  .filter("scale", w, hh).filter("setsar", 1)
                  for i, (win, hh) in enumerate(((top, top_h), (bottom, h - top_h)))]
        return ffmpeg.filter(halves, "vstack", inputs=2).filter("setsar", 1)

    return Plan(draw, (w // 2, _subtitle_y(layout, h, seam=top_h)), (w // 2, int(h * 0.06)), "duo")
