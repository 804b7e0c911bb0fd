"""Find the streamer's facecam overlay, and follow a face for talking-head crops.

Frames are sampled across the stream with fast input seeking (never a full decode) and
scaled to a small working size. Haar cascades find faces; a face seen at the same place in
a good share of the samples is the facecam. The overlay's rectangle is then read from the
edge map averaged over the samples: its borders are straight lines that stay put while the
content on both sides changes."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.models import Box, MediaInfo

WORK_W = 640
MIN_SHARE = 0.35          # of sampled frames in which the facecam's face must be found
FULL_FRAME_FACE = 0.45    # a face taller than this share of the frame is a just-chatting shot
LINE_FACTOR = 3.0         # a border is this much stronger than the frame's typical edge


@dataclass(frozen=True)
class _Face:
    frame: int
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


def _work_size(info: MediaInfo) -> tuple[int, int]:
    w = min(WORK_W, info.width)
    return w, max(2, int(round(info.height * w / info.width / 2)) * 2)


def _grab(media: Path, t: float, size: tuple[int, int]) -> np.ndarray | None:
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-ss", f"{t:.3f}", "-i", str(media),
           "-frames:v", "1", "-an", "-vf", f"scale={size[0]}:{size[1]},format=gray",
           "-f", "rawvideo", "-pix_fmt", "gray", "pipe:1"]
    raw = subprocess.run(cmd, capture_output=True, timeout=120).stdout
    if len(raw) < size[0] * size[1]:
        return None
    return np.frombuffer(raw[: size[0] * size[1]], np.uint8).reshape(size[1], size[0])


def _cascade():
    import cv2

    return cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")


def _faces(gray: np.ndarray, cascade) -> list[tuple[int, int, int, int]]:
    import cv2

    found = cascade.detectMultiScale(cv2.equalizeHist(gray), scaleFactor=1.1, minNeighbors=5,
                                     minSize=(20, 20))
    return [tuple(int(v) for v in f) for f in found]


def _largest_cluster(faces: list[_Face]) -> list[_Face]:
    clusters: list[list[_Face]] = []
    for f in sorted(faces, key=lambda f: -f.w):
        for c in clusters:
            ref = c[0]
            if abs(f.cx - ref.cx) < 0.5 * ref.w and abs(f.cy - ref.cy) < 0.5 * ref.h \
                    and 0.6 < f.w / ref.w < 1.6:
                c.append(f)
                break
        else:
            clusters.append([f])
    return max(clusters, key=lambda c: len({f.frame for f in c}), default=[])


def _peaks(profile: np.ndarray, lo: int, hi: int, n: int = 8) -> list[int]:
    """Up to n strongest local maxima of `profile` in [lo, hi)."""
    lo, hi = max(1, lo), min(len(profile) - 1, hi)
    if hi <= lo:
        return []
    seg = profile[lo:hi]
    idx = [i for i in range(1, len(seg) - 1) if seg[i] >= seg[i - 1] and seg[i] >= seg[i + 1]]
    return [lo + i for i in sorted(idx, key=lambda i: -seg[i])[:n]]


def _side(strength: np.ndarray, line: int, a: int, b: int) -> float:
    """How strong `line` is all along a..b: a low percentile, so a line that covers only
    part of the side (the gameplay's own edge running past a corner) scores low."""
    seg = strength[line, max(0, a):max(a + 1, b)]
    return float(np.percentile(seg, 25)) if seg.size else 0.0


def _overlay(frames: list[np.ndarray], face: Box) -> Box | None:
    """The rectangle around the face whose four sides are the strongest persistent lines.

    Sides are scored jointly (mean edge strength along each side, between its corners), so
    a long line of the gameplay behind (a HUD bar, a wall) does not win on its own. A side
    on the frame border has no edge: it counts as a moderately strong line, so an overlay
    in a corner is found, yet a real border line beats it."""
    import cv2

    gx = np.mean([np.abs(cv2.Sobel(f, cv2.CV_32F, 1, 0, ksize=3)) for f in frames], axis=0)
    gy = np.mean([np.abs(cv2.Sobel(f, cv2.CV_32F, 0, 1, ksize=3)) for f in frames], axis=0)
    h, w = gx.shape
    cols = np.maximum.reduce([np.roll(gx.T, k, axis=0) for k in (-1, 0, 1)])   # [x, y]
    rows = np.maximum.reduce([np.roll(gy, k, axis=0) for k in (-1, 0, 1)])     # [y, x]
    fy0, fy1 = face.y, face.y + face.h
    fx0, fx1 = face.x, face.x + face.w
    col_profile = cols[:, fy0:fy1].mean(axis=1)
    row_profile = rows[:, fx0:fx1].mean(axis=1)
    lefts = _peaks(col_profile, fx0 - 3 * face.w, fx0 - 1) + [0]
    rights = _peaks(col_profile, fx1 + 1, fx1 + 3 * face.w) + [w]
    tops = _peaks(row_profile, fy0 - 3 * face.h, fy0 - 1) + [0]
    bottoms = _peaks(row_profile, fy1 + 1, fy1 + 4 * face.h) + [h]
    floor = LINE_FACTOR * max(1.0, float(np.median(gx)), float(np.median(gy)))
    border = 2 * floor
    best, best_score = None, floor
    for left in lefts:
        for right in rights:
            width = right - left
            if not 0.2 <= face.w / width <= 0.85:
                continue
            for top in tops:
                for bottom in bottoms:
                    height = bottom - top
                    if not 0.5 <= width / height <= 2.4:
                        continue
                    sides = [
                        _side(cols, left, top, bottom) if left > 0 else border,
                        _side(cols, right, top, bottom) if right < w else border,
                        _side(rows, top, left, right) if top > 0 else border,
                        _side(rows, bottom, left, right) if bottom < h else border,
                    ]
                    if sides.count(border) > 2:
                        continue
                    score = min(sides)
                    if score > best_score:
                        best, best_score = Box(left, top, width, height), score
    return best


def _to_source(box: Box, scale: float, info: MediaInfo) -> Box:
    def even(v: float) -> int:
        return int(round(v / 2)) * 2

    x, y = even(box.x * scale), even(box.y * scale)
    return Box(x, y, min(info.width - x, even(box.w * scale)), min(info.height - y, even(box.h * scale)))


def detect_facecam(media: Path, info: MediaInfo, samples: int = 24) -> Box | None:
    """The facecam overlay in source pixels, or None when there is none (or the face fills
    the frame, which is a talking-head shot rather than an overlay)."""
    if not info.has_video or info.width <= 0:
        return None
    size = _work_size(info)
    times = [info.duration * (0.02 + 0.96 * (i + 0.5) / samples) for i in range(samples)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        frames = [f for f in pool.map(lambda t: _grab(media, t, size), times) if f is not None]
    if len(frames) < 3:
        return None
    cascade = _cascade()
    faces = [_Face(i, *f) for i, frame in enumerate(frames) for f in _faces(frame, cascade)]
    cluster = _largest_cluster(faces)
    seen = len({f.frame for f in cluster})
    if seen < max(3, MIN_SHARE * len(frames)):
        return None
    fx, fy, fw, fh = (float(np.median([getattr(f, k) for f in cluster])) for k in "xywh")
    if fh > FULL_FRAME_FACE * size[1]:
        return None
    face = Box(int(fx), int(fy), int(fw), int(fh))
    box = _overlay(frames, face) or _grown(face, size)
    return _to_source(box, info.width / size[0], info)


def _grown(face: Box, size: tuple[int, int]) -> Box:
    """Without clear borders: the face is about 55 % of a webcam frame's width."""
    w, h = face.w / 0.55, face.h / 0.55 * 0.85
    x = max(0.0, face.x + face.w / 2 - w / 2)
    y = max(0.0, face.y + face.h / 2 - h * 0.45)
    return Box(int(x), int(y), int(min(w, size[0] - x)), int(min(h, size[1] - y)))


def face_track(media: Path, start: float, end: float, info: MediaInfo,
               fps: float = 2.0) -> list[tuple[float, float | None]]:
    """(seconds from start, centre x of the largest face in source pixels, or None)."""
    size = _work_size(info)
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-ss", f"{start:.3f}",
           "-t", f"{end - start:.3f}", "-i", str(media), "-an",
           "-vf", f"fps={fps},scale={size[0]}:{size[1]},format=gray", "-f", "rawvideo", "-pix_fmt", "gray", "pipe:1"]
    raw = subprocess.run(cmd, capture_output=True, timeout=600).stdout
    n = len(raw) // (size[0] * size[1])
    frames = np.frombuffer(raw[: n * size[0] * size[1]], np.uint8).reshape(n, size[1], size[0])
    cascade = _cascade()
    scale = info.width / size[0]
    out: list[tuple[float, float | None]] = []
    for i, frame in enumerate(frames):
        found = _faces(frame, cascade)
        if found:
            x, _, w, _ = max(found, key=lambda f: f[2] * f[3])
            out.append((i / fps, (x + w / 2) * scale))
        else:
            out.append((i / fps, None))
    return out
