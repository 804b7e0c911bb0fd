"""Find the streamer's facecam overlay, and follow a face for talking-head crops.

`detect_facecam` samples frames spread across the stream with input seeking (never a full
decode), scaled to a working width of 640 px in grey. The render's face detector
(`faces.detect`: RetinaFace, which also sees turned, small and dim faces) runs on each; a
face seen at the same place in a good share of the samples is the facecam's face. The
overlay's rectangle is then read from edge maps averaged over the samples: its borders are
straight lines that stay at the same place in every sample while what lies on both sides
changes, so they survive the averaging while the gameplay's own moving edges blur away.

Candidate lines are searched outward from the face on each side, as peaks of the edge
strength taken as a median along the face's own rows (or columns); the frame border is a
candidate too, for an overlay in a corner. Every combination of a left, right, top and
bottom line is scored by its weakest side. A side is measured along the overlay's extent
between its corners, with a low percentile (a line that covers only part of the side scores
low); it must show an edge in at least half of the samples (moving gameplay edges that
happened to land there a few times do not count); a line that runs on past both corners is
the gameplay's, not the overlay's; and content outside the side that changes from sample to
sample (the gameplay) earns a bonus over the webcam's own static edges (a door, a picture
frame). A side on the frame border counts as a slightly weaker copy of the real ones, and a
weak but clear line beats it. The best rectangle is then refined by re-searching each line a
few pixels around, along the whole side: vertical lines, then horizontal ones over the new
column range, twice. Without a clear rectangle the face box is grown into a 4:3 webcam
frame, the face 55 % of its width.

A face cluster too large to be an overlay (taller than 40 % of the frame) is a just-chatting
or talking-head shot: the camera is the whole frame, there is no overlay, and the result is
None (the talking-head layout follows the face with `speakers.analyse` instead)."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.media.models import Box, MediaInfo

WORK_W = 640              # working width of the sampled frames
EDGE_MARGIN = 0.02        # share of the stream left out at the start and at the end
ACCURATE_SEEK_BELOW = 10.0  # sample spacing (s) under which seeks decode up to the exact time
MIN_SHARE = 0.35          # of sampled frames in which the facecam's face must be found
MIN_FRAMES = 3            # and never fewer frames than this
STABLE = 0.25             # the face's centre may wander this share of its width (std)
FULL_FRAME_FACE = 0.40    # a face taller than this share of the frame is not an overlay
FACE_OF_OVERLAY = 0.55    # without borders: the face's share of the overlay's width
MIN_FACE_SHARE, MAX_FACE_SHARE = 0.2, 1.0    # the face box's width as a share of the overlay's
FACE_BOX_SLACK = 0.05     # share of the face box an overlay's side may cut off
MIN_ASPECT, MAX_ASPECT = 0.5, 2.4            # the overlay's width / height
PEAKS = 12                # candidate lines per side
BORDER_SIDE = 0.8         # a side on the frame border scores this much of the weakest real one
LINE_FACTOR = 3.0         # a border is this much stronger than the frame's typical edge
CLEAR = 4.0               # a side this much stronger than that floor is clearly a line
EDGE_SEEN = 24.0          # |Sobel| above which a sample shows an edge (a step of ~6 grey levels)
PERSISTENT = 0.5          # share of samples that must show a side's line (along 75 % of it)
CHANGE_LEVEL = 12.0       # grey levels of sample-to-sample change that count as "changing"


# ---------------------------------------------------------------------------- decoding


def _even(v: float) -> int:
    return int(round(v / 2)) * 2


def _work_size(info: MediaInfo, width: int = WORK_W) -> tuple[int, int]:
    w = max(2, min(width, _even(info.width)))
    return w, max(2, _even(info.height * w / info.width))


def _grab(media: Path, t: float, size: tuple[int, int], accurate: bool) -> np.ndarray | None:
    """One grey frame at about `t`, scaled to `size`. Input seeking: ffmpeg jumps to the
    keyframe before `t` and, when `accurate`, decodes on up to `t`; otherwise it returns the
    keyframe itself (one frame decoded), which is plenty when samples lie minutes apart."""
    w, h = size
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-threads", "1",
           *([] if accurate else ["-noaccurate_seek"]), "-ss", f"{t:.3f}", "-i", str(media),
           "-map", "0:v:0", "-an", "-sn", "-dn", "-frames:v", "1",
           "-vf", f"scale={w}:{h}:flags=area,format=gray", "-f", "rawvideo", "-pix_fmt", "gray", "pipe:1"]
    try:
        raw = subprocess.run(cmd, capture_output=True, timeout=120).stdout
    except subprocess.TimeoutExpired:
        return None
    if len(raw) < w * h:
        return None
    return np.frombuffer(raw[: w * h], np.uint8).reshape(h, w)


def _sample_frames(media: Path, info: MediaInfo, samples: int, size: tuple[int, int]) -> list[np.ndarray]:
    span = info.duration * (1 - 2 * EDGE_MARGIN)
    times = [info.duration * EDGE_MARGIN + span * (i + 0.5) / samples for i in range(samples)]
    accurate = span / samples < ACCURATE_SEEK_BELOW
    with ThreadPoolExecutor(max_workers=2) as pool:
        grabbed = list(pool.map(lambda t: _grab(media, t, size, accurate), times))
    frames: list[np.ndarray] = []
    for f in grabbed:       # two seeks that land on the same keyframe give one sample
        if f is not None and not (frames and np.array_equal(frames[-1], f)):
            frames.append(f)
    return frames


# ------------------------------------------------------------------------------- faces


def _detect(gray: np.ndarray, min_size: int) -> list[tuple[int, int, int, int]]:
    """Faces as (x, y, w, h), from the render's one detector (frontal, turned, small, dim)."""
    from pipeline.media.render.faces import detect

    return [(int(f.x), int(f.y), int(f.w), int(f.h)) for f in detect(gray, min_size)]


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


def _clusters(faces: Sequence[_Face]) -> list[list[_Face]]:
    """Faces grouped by position and size, largest first; each cluster is compared with the
    median of its members so far."""
    clusters: list[list[_Face]] = []
    centres: list[tuple[float, float, float, float]] = []
    for f in sorted(faces, key=lambda f: -f.w):
        for i, (cx, cy, cw, ch) in enumerate(centres):
            if abs(f.cx - cx) < 0.5 * cw and abs(f.cy - cy) < 0.5 * ch and 0.6 < f.w / cw < 1.6:
                clusters[i].append(f)
                c = clusters[i]
                centres[i] = (float(np.median([m.cx for m in c])), float(np.median([m.cy for m in c])),
                              float(np.median([m.w for m in c])), float(np.median([m.h for m in c])))
                break
        else:
            clusters.append([f])
            centres.append((f.cx, f.cy, f.w, f.h))
    return clusters


def _stable_faces(frames: Sequence[np.ndarray]) -> list[list[_Face]]:
    """Each face seen at one stable place in enough frames (one box per frame), most seen first."""
    min_size = max(20, frames[0].shape[0] // 24)
    faces = [_Face(i, *f) for i, frame in enumerate(frames) for f in _detect(frame, min_size)]
    need = max(MIN_FRAMES, MIN_SHARE * len(frames))
    stable: list[list[_Face]] = []
    for cluster in _clusters(faces):
        one_per_frame = list({f.frame: f for f in sorted(cluster, key=lambda f: f.w)}.values())
        if len(one_per_frame) < need:
            continue
        w = float(np.median([f.w for f in one_per_frame]))
        if max(np.std([f.cx for f in one_per_frame]), np.std([f.cy for f in one_per_frame])) > STABLE * w:
            continue
        stable.append(one_per_frame)
    return sorted(stable, key=len, reverse=True)


def _median_box(faces: Sequence[_Face]) -> Box:
    x0, y0, x1, y1 = (float(np.median(v)) for v in zip(*[(f.x, f.y, f.x + f.w, f.y + f.h) for f in faces]))
    return Box(int(round(x0)), int(round(y0)), int(round(x1 - x0)), int(round(y1 - y0)))


# ----------------------------------------------------------------------------- borders


@dataclass
class _Maps:
    cols: np.ndarray     # [x, y]: averaged |d/dx|, best of x-1..x+1 (vertical lines)
    rows: np.ndarray     # [y, x]: averaged |d/dy|, best of y-1..y+1 (horizontal lines)
    cols_seen: np.ndarray  # [x, y]: share of samples with a vertical edge there (x-1..x+1)
    rows_seen: np.ndarray  # [y, x]: share of samples with a horizontal edge there (y-1..y+1)
    change: np.ndarray   # [y, x]: how much each pixel changes between samples, 0..1
    floor: float         # the frame's typical edge strength

    @property
    def width(self) -> int:
        return int(self.cols.shape[0])

    @property
    def height(self) -> int:
        return int(self.rows.shape[0])


def _best_of_neighbours(a: np.ndarray) -> np.ndarray:
    """max(a[i-1], a[i], a[i+1]) along axis 0 (a line may fall between two pixels)."""
    out = a.copy()
    out[1:] = np.maximum(out[1:], a[:-1])
    out[:-1] = np.maximum(out[:-1], a[1:])
    return out


def _maps(frames: Sequence[np.ndarray]) -> _Maps:
    import cv2

    stack = np.stack(frames).astype(np.float32)
    shape = stack.shape[1:]
    gx, gy = np.zeros(shape, np.float32), np.zeros(shape, np.float32)
    seen_x, seen_y = np.zeros(shape, np.float32), np.zeros(shape, np.float32)
    across, down = np.ones((1, 3), np.uint8), np.ones((3, 1), np.uint8)
    for f in stack:
        ax = np.abs(cv2.Sobel(f, cv2.CV_32F, 1, 0, ksize=3))
        ay = np.abs(cv2.Sobel(f, cv2.CV_32F, 0, 1, ksize=3))
        gx += ax
        gy += ay
        seen_x += cv2.dilate((ax > EDGE_SEEN).astype(np.uint8), across)
        seen_y += cv2.dilate((ay > EDGE_SEEN).astype(np.uint8), down)
    n = len(stack)
    spread = np.mean(np.abs(stack - np.median(stack, axis=0)), axis=0)
    change = np.clip(cv2.blur(spread, (3, 3)) / CHANGE_LEVEL, 0, 1)
    floor = LINE_FACTOR * max(1.0, float(np.median(gx)) / n, float(np.median(gy)) / n)
    return _Maps(_best_of_neighbours((gx / n).T), _best_of_neighbours(gy / n),
                 (seen_x / n).T.copy(), seen_y / n, change, floor)


def _strength(lines: np.ndarray, line: int, a: int, b: int) -> float:
    """How strong `line` is all along a..b: a low percentile, so a line covering only part
    of the side scores low."""
    seg = lines[line, max(0, a):max(a + 1, b)]
    return float(np.percentile(seg, 25)) if seg.size else 0.0


def _peaks(profile: np.ndarray, lo: int, hi: int, n: int = PEAKS) -> list[int]:
    """Up to n strongest local maxima of `profile` in [lo, hi), at least 3 px apart, the
    frame border excluded (it is a candidate of its own)."""
    lo, hi = max(1, lo), min(len(profile) - 1, hi)
    if hi - lo < 3:
        return []
    seg = profile[lo:hi]
    idx = [i for i in range(1, len(seg) - 1) if seg[i] > 0 and seg[i] >= seg[i - 1] and seg[i] >= seg[i + 1]]
    picked: list[int] = []
    for i in sorted(idx, key=lambda i: -seg[i]):
        if all(abs(i - j) >= 3 for j in picked):
            picked.append(i)
            if len(picked) == n:
                break
    return [lo + i for i in picked]


class _Scorer:
    """Scores of candidate sides and rectangles, cached per (side, line, extent)."""

    def __init__(self, maps: _Maps):
        self.m = maps
        self.cache: dict[tuple[str, int, int, int], float | None] = {}

    def side(self, kind: str, line: int, a: int, b: int) -> float | None:
        """How clearly `line` is a border of an overlay spanning a..b along it; None on the
        frame border, where there is no line to see."""
        key = (kind, line, a, b)
        if key not in self.cache:
            self.cache[key] = self._side(kind, line, a, b)
        return self.cache[key]

    def _side(self, kind: str, line: int, a: int, b: int) -> float | None:
        m = self.m
        vertical = kind in "lr"
        lines = m.cols if vertical else m.rows
        limit, along = (m.width, m.height) if vertical else (m.height, m.width)
        if line <= 0 or line >= limit:
            return None
        # A border is there in (nearly) every sample; the gameplay's moving edges that
        # happened to fall on this line in a few samples are not.
        if _strength(m.cols_seen if vertical else m.rows_seen, line, a, b) < PERSISTENT:
            return 0.0
        edge = _strength(lines, line, a, b)
        # An overlay's border ends at its corners; a gameplay line runs on past them. Past
        # both corners: a panel stacked flush against the overlay continues one side only.
        reach = max(4, min(30, (b - a) // 3))
        beyond = [_strength(lines, line, a - reach, a - 1) if a - 1 - max(0, a - reach) >= 4 else None,
                  _strength(lines, line, b + 1, b + reach) if min(along, b + reach) - b - 1 >= 4 else None]
        past = [v for v in beyond if v is not None]
        if past:
            edge = max(0.0, edge - min(past))
        # The strip just outside the side: the gameplay there changes between samples.
        o0, o1 = (line - 4, line - 1) if kind in "lt" else (line + 2, line + 5)
        o0, o1 = max(0, o0), min(limit, o1)
        strip = m.change[a:b, o0:o1] if vertical else m.change[o0:o1, a:b]
        changing = float(np.median(strip)) if strip.size else 0.5
        return edge * (0.5 + changing)

    def box(self, left: int, right: int, top: int, bottom: int, face: Box,
            beat: float = 0.0) -> tuple[float, float]:
        """(clearness, strength) of the rectangle, compared in that order.

        Both are the weakest side's score; in clearness a side counts at most as "clearly a
        line" (CLEAR x the frame's typical edge), so a weaker but clear border is not traded
        for the frame border. A side on the frame border shows no line: it counts as a slightly
        weaker copy of the others, and at least two sides must be lines. A face far from the
        middle of the rectangle costs a little. (0, 0) as soon as the rectangle's clearness
        is sure to fall short of `beat`."""
        cap = CLEAR * self.m.floor
        sides: list[float | None] = []
        for kind, line, a, b in (("l", left, top, bottom), ("r", right, top, bottom),
                                 ("t", top, left, right), ("b", bottom, left, right)):
            sides.append(self.side(kind, line, a, b))
            if sides[-1] is not None and min(sides[-1], cap) < beat:
                return 0.0, 0.0
        real = [s for s in sides if s is not None]
        if len(real) < 2:
            return 0.0, 0.0
        rel_x = (face.x + face.w / 2 - left) / (right - left)
        rel_y = (face.y + face.h / 2 - top) / (bottom - top)
        off = max(0.0, abs(rel_x - 0.5) - 0.15) + max(0.0, abs(rel_y - 0.45) - 0.2)
        factor = BORDER_SIDE ** (len(sides) - len(real)) * max(0.0, 1 - 2 * off)
        weakest = min(real)
        return min(weakest, cap) * factor, weakest * factor


def _overlay(maps: _Maps, face: Box) -> Box | None:
    """The rectangle around the face whose sides are the strongest persistent lines, or
    None when no combination of lines is clearly stronger than the frame's typical edges."""
    w, h = maps.width, maps.height
    fx0, fy0, fx1, fy1 = face.x, face.y, face.x + face.w, face.y + face.h
    reach_x = int(face.w / MIN_FACE_SHARE)
    reach_y = int(face.h / MIN_FACE_SHARE)
    # Candidate lines from profiles along the face's own extent, which lies inside the
    # overlay whatever its size; a median, so a line must run along all of it.
    col_profile = np.median(maps.cols[:, fy0:fy1], axis=1)
    row_profile = np.median(maps.rows[:, fx0:fx1], axis=1)
    # A face box may run a little past the face: a tight webcam crop may cut into it.
    inset_x, inset_y = int(face.w * FACE_BOX_SLACK), int(face.h * FACE_BOX_SLACK)
    lefts = _peaks(col_profile, fx1 - reach_x, fx0 + inset_x) + [0]
    rights = _peaks(col_profile, fx1 - inset_x, fx0 + reach_x) + [w]
    tops = _peaks(row_profile, fy1 - reach_y, fy0 + inset_y) + [0]
    bottoms = _peaks(row_profile, fy1 - inset_y, fy0 + reach_y + face.h) + [h]
    scorer = _Scorer(maps)
    best, best_score = None, (maps.floor, 0.0)
    for left in lefts:
        for right in rights:
            width = right - left
            if not MIN_FACE_SHARE <= face.w / width <= MAX_FACE_SHARE:
                continue
            for top in tops:
                for bottom in bottoms:
                    height = bottom - top
                    if not (MIN_ASPECT <= width / height <= MAX_ASPECT and height >= face.h / MAX_FACE_SHARE):
                        continue
                    score = scorer.box(left, right, top, bottom, face, best_score[0])
                    if score > best_score:
                        best, best_score = (left, right, top, bottom), score
    if best is None:
        return None
    return _refine(scorer, *best)


def _refine(scorer: _Scorer, left: int, right: int, top: int, bottom: int, reach: int = 3) -> Box:
    """Re-search each line a few pixels around where it was found, now scored along the whole
    side: vertical lines, then horizontal ones with the new column range, twice."""
    m = scorer.m

    def nudge(kind: str, line: int, a: int, b: int, limit: int) -> int:
        if line <= 0 or line >= limit:
            return line
        options = range(max(1, line - reach), min(limit - 1, line + reach) + 1)
        return max(options, key=lambda c: (scorer.side(kind, c, a, b) or 0.0, -abs(c - line)))

    for _ in range(2):
        left = nudge("l", left, top, bottom, m.width)
        right = nudge("r", right, top, bottom, m.width)
        top = nudge("t", top, left, right, m.height)
        bottom = nudge("b", bottom, left, right, m.height)
    return Box(left, top, right - left, bottom - top)


def _grown(face: Box, size: tuple[int, int]) -> Box:
    """Without clear borders: a webcam frame (4:3) around the face, the face about 55 % of
    its width, centred, a little above the middle; clamped to the frame."""
    w = min(size[0], face.w / FACE_OF_OVERLAY)
    h = min(size[1], w * 0.75)
    x = min(max(0.0, face.x + face.w / 2 - w / 2), size[0] - w)
    y = min(max(0.0, face.y + face.h / 2 - h * 0.45), size[1] - h)
    return Box(int(x), int(y), int(w), int(h))


def _to_source(box: Box, scale: float, info: MediaInfo) -> Box:
    x, y = _even(box.x * scale), _even(box.y * scale)
    x1 = min(info.width, _even((box.x + box.w) * scale))
    y1 = min(info.height, _even((box.y + box.h) * scale))
    return Box(x, y, max(2, x1 - x), max(2, y1 - y))


@dataclass(frozen=True)
class FaceScan:
    facecam: Box | None   # the facecam overlay in source pixels
    faces: int            # faces seen at a stable place across the stream (a duo has two)


def scan_faces(media: Path, info: MediaInfo, samples: int = 24) -> FaceScan:
    """The facecam overlay, or None when there is none: no face at a stable place in at
    least 35 % of the samples, or a face so large (a just-chatting or talking-head shot)
    that the camera is the whole frame rather than an overlay; and how many faces stay."""
    if not info.has_video or info.width <= 0 or info.height <= 0 or info.duration <= 0:
        return FaceScan(None, 0)
    size = _work_size(info)
    frames = _sample_frames(media, info, max(MIN_FRAMES, samples), size)
    if len(frames) < MIN_FRAMES:
        return FaceScan(None, 0)
    stable = _stable_faces(frames)
    if not stable:
        return FaceScan(None, 0)
    face = _median_box(stable[0])
    if face.h > FULL_FRAME_FACE * size[1]:
        return FaceScan(None, len(stable))
    box = _overlay(_maps(frames), face) or _grown(face, size)
    return FaceScan(_to_source(box, info.width / size[0], info), len(stable))


def detect_facecam(media: Path, info: MediaInfo, samples: int = 24) -> Box | None:
    """The facecam overlay in source pixels, or None (see `scan_faces`)."""
    return scan_faces(media, info, samples).facecam
