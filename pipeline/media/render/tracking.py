"""Where a moving 9:16 crop should sit over time, and the ffmpeg expression that moves it.

The gameplay crop follows the horizontal centre of motion; the talking-head crop follows the
face. Both are smoothed and slowed down so the frame never jitters."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pipeline.media.models import MediaInfo

TRACK_FPS = 4.0
TRACK_W, TRACK_H = 320, 180
MIN_MOTION = 0.5         # mean grey change below which a sample says nothing about position


def grey_frames(media: Path, start: float, duration: float, size: tuple[int, int], fps: float,
                scaler: str = "bicubic") -> np.ndarray:
    """The first video stream over [start, start+duration] as grey frames of `size` at `fps`,
    shape (n, h, w). The loop filter is skipped: positions are read from these, not looks."""
    w, h = size
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-skip_loop_filter", "all",
           "-ss", f"{max(0.0, start):.3f}", "-t", f"{duration:.3f}", "-i", str(media),
           "-map", "0:v:0", "-an", "-sn", "-dn",
           "-vf", f"fps={fps},scale={w}:{h}:flags={scaler},format=gray",
           "-f", "rawvideo", "-pix_fmt", "gray", "pipe:1"]
    raw = subprocess.run(cmd, capture_output=True, timeout=600).stdout
    n = len(raw) // (w * h)
    return np.frombuffer(raw[: n * w * h], np.uint8).reshape(n, h, w)


def motion_track(media: Path, start: float, duration: float, info: MediaInfo) -> list[tuple[float, float | None]]:
    """(time from start, motion centre x in source pixels or None) at TRACK_FPS."""
    import cv2

    frames = grey_frames(media, start, duration, (TRACK_W, TRACK_H), TRACK_FPS)
    out: list[tuple[float, float | None]] = []
    columns = np.arange(TRACK_W) + 0.5
    for i in range(1, len(frames)):
        diff = cv2.absdiff(frames[i], frames[i - 1]).astype(np.float64)
        energy = diff.sum(axis=0)
        if diff.mean() < MIN_MOTION:
            out.append((i / TRACK_FPS, None))
            continue
        centre = float((energy * columns).sum() / energy.sum())
        out.append((i / TRACK_FPS, centre * info.width / TRACK_W))
    return out


def smooth_positions(track: Sequence[tuple[float, float | None]], default: float, smooth_s: float,
                     step_s: float = 1.0, duration: float | None = None) -> list[tuple[float, float]]:
    """Fill gaps, smooth over `smooth_s`, and sample every `step_s` seconds."""
    end = duration if duration is not None else (track[-1][0] if track else 0.0)
    grid = np.arange(0.0, end + step_s, step_s)
    known = [(t, x) for t, x in track if x is not None]
    if not known:
        return [(float(t), default) for t in grid]
    times, xs = np.array([t for t, _ in known]), np.array([x for _, x in known])
    values = np.interp(grid, times, xs)
    width = max(1, int(round(smooth_s / step_s)))
    if width > 1 and len(values) > 1:
        padded = np.pad(values, (width, width), mode="edge")
        values = np.convolve(padded, np.ones(2 * width + 1) / (2 * width + 1), mode="same")[width:-width]
    return [(float(t), float(x)) for t, x in zip(grid, values)]


CUT_S = 0.02             # a cut between two speakers: the crop jumps within this


def cut_positions(track: Sequence[tuple[float, float | None]], segments: Sequence[tuple[float, float]],
                  default: float, smooth_s: float, step_s: float = 0.5) -> list[tuple[float, float]]:
    """Like `smooth_positions`, each segment (start, end) smoothed on its own and joined to
    the next by a cut instead of a pan: a switch between speakers."""
    out: list[tuple[float, float]] = []
    for a, b in segments:
        own = [(t - a, x) for t, x in track if a <= t < b]
        pts = smooth_positions(own, default, smooth_s, step_s, duration=b - a)
        pts = [(a + t, x) for t, x in pts if t < b - a] + [(b - (CUT_S if b > a + CUT_S else 0), pts[-1][1])]
        if out and pts[0][0] <= out[-1][0]:
            pts = pts[1:] if len(pts) > 1 else pts
        out.extend(pts)
    return out


def crop_x_expr(points: Sequence[tuple[float, float]], crop_w: int, src_w: int) -> str:
    """A piecewise-linear ffmpeg expression in t for the crop's left edge."""
    lo, hi = 0, max(0, src_w - crop_w)

    def left(centre: float) -> int:
        return int(min(hi, max(lo, round(centre - crop_w / 2))))

    if not points:
        return str(hi // 2)
    expr = str(left(points[-1][1]))
    for (t0, c0), (t1, c1) in reversed(list(zip(points, points[1:]))):
        a, b = left(c0), left(c1)
        slope = (b - a) / (t1 - t0) if t1 > t0 else 0.0
        expr = f"if(lt(t,{t1:.2f}),{a}+({slope:.3f})*(t-{t0:.2f}),{expr})"
    return expr
