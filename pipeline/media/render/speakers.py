"""The faces in a clip's window, each followed on its own, and which of them is speaking.

One low-res grey decode of the window at ANALYSIS_FPS (input seeking). Faces are detected
on every DETECT_EVERY-th frame and linked into tracks by position and size; the main faces
are those seen in a good share of the frames, at least a third as wide as the largest.

With two or more main faces the active speaker is found: a face's mouth activity is the
frame-to-frame change in its mouth box (placed by the landmarks) less the change in a box
the same size over its eyes, so a head that moves or a camera that shakes is not taken for
speech. It counts only while the voice is heard (the clip's audio energy, in dB above the
window's quiet floor), smoothed over SMOOTH_S. The speaker per step is then the best path
through the faces by dynamic programming, a switch costing SWITCH_COST and every hold after
a switch lasting at least MIN_HOLD_S: a cough or a nod from the listener cannot pull the
camera over and back. Offline, the path sees the whole window, so a switch lands where the
turn changes, not half a second after."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.media.models import MediaInfo
from pipeline.media.render.faces import Face, detect
from pipeline.media.render.tracking import grey_frames

ANALYSIS_FPS = 10.0
DETECT_EVERY = 2          # frames between two detections (5 a second)
WORK_W = 480
MAIN_SHARE = 0.4          # of the detected frames in which a main face is seen
MAIN_WIDTH = 1 / 3        # of the largest main face's width
SMOOTH_S = 0.5
SWITCH_COST = 2.0         # in steps of full mouth activity
MIN_HOLD_S = 2.0
VOICE_RANGE_DB = 20.0     # dB over the floor at which the voice counts in full
Rect = tuple[float, float, float, float]   # x0, y0, x1, y1


@dataclass(frozen=True)
class FaceTrack:
    """One face over the window's steps, in source pixels: its box (x, y, w, h) per step,
    interpolated between detections and held past the first and last."""

    boxes: tuple[tuple[float, float, float, float], ...]

    def median_box(self) -> tuple[float, float, float, float]:
        x, y, w, h = (float(v) for v in np.median(np.array(self.boxes), axis=0))
        return x, y, w, h

    def centres(self) -> np.ndarray:
        a = np.array(self.boxes)
        return np.stack([a[:, 0] + a[:, 2] / 2, a[:, 1] + a[:, 3] / 2], axis=1)


@dataclass(frozen=True)
class Scene:
    fps: float
    steps: int
    tracks: tuple[FaceTrack, ...]      # the main faces, left to right
    speaker: tuple[int, ...] = ()      # per step, the speaking track (two or more main faces)

    def times(self) -> np.ndarray:
        return np.arange(self.steps) / self.fps

    def segments(self) -> list[tuple[float, float, int]]:
        """(start, end, track) of each stretch the same face speaks, in seconds."""
        out: list[tuple[float, float, int]] = []
        for i, who in enumerate(self.speaker):
            if out and out[-1][2] == who:
                out[-1] = (out[-1][0], (i + 1) / self.fps, who)
            else:
                out.append((i / self.fps, (i + 1) / self.fps, who))
        return out


def voice_energy(media: Path, start: float, duration: float, fps: float, steps: int) -> np.ndarray | None:
    """The audio's RMS level in dB per step (None without audio)."""
    rate = 16000
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-ss", f"{max(0.0, start):.3f}",
           "-t", f"{duration:.3f}", "-i", str(media), "-map", "0:a:0?", "-vn", "-ac", "1", "-ar", str(rate),
           "-f", "s16le", "pipe:1"]
    raw = subprocess.run(cmd, capture_output=True, timeout=600).stdout
    pcm = np.frombuffer(raw[: len(raw) // 2 * 2], np.int16).astype(np.float32) / 32768
    hop = int(rate / fps)
    if len(pcm) < hop:
        return None
    n = min(steps, len(pcm) // hop)
    rms = np.sqrt(np.mean(pcm[: n * hop].reshape(n, hop) ** 2, axis=1) + 1e-10)
    db = 20 * np.log10(rms)
    return np.pad(db, (0, steps - n), constant_values=-100.0)


def _link(found: Sequence[tuple[int, list[Face]]]) -> list[list[tuple[int, Face]]]:
    """Detections (frame, faces) linked into tracks: each face joins the track whose last
    face is nearest, within half its width and of a similar size."""
    tracks: list[list[tuple[int, Face]]] = []
    for frame, faces in found:
        taken: set[int] = set()
        for f in sorted(faces, key=lambda f: -f.w):
            best, best_d = None, 0.0
            for k, tr in enumerate(tracks):
                last = tr[-1][1]
                d = float(np.hypot(f.cx - last.cx, f.cy - last.cy))
                if k not in taken and d < 0.6 * last.w and 0.6 < f.w / last.w < 1.6 and (best is None or d < best_d):
                    best, best_d = k, d
            if best is None:
                tracks.append([(frame, f)])
                taken.add(len(tracks) - 1)
            else:
                tracks[best].append((frame, f))
                taken.add(best)
    return tracks


def _interp(frames: Sequence[int], values: np.ndarray, steps: int) -> np.ndarray:
    grid = np.arange(steps)
    return np.stack([np.interp(grid, frames, values[:, j]) for j in range(values.shape[1])], axis=1)


def _activity(video: np.ndarray, mouths: np.ndarray, brows: np.ndarray) -> np.ndarray:
    """Per step: mean grey change in the mouth box less that in the brow box (0 at step 0)."""
    h, w = video.shape[1:]
    out = np.zeros(len(video))

    def change(i: int, box: np.ndarray) -> float:
        x0, y0, x1, y1 = (int(v) for v in box)
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
        if x1 - x0 < 2 or y1 - y0 < 2:
            return 0.0
        a = video[i, y0:y1, x0:x1].astype(np.int16)
        b = video[i - 1, y0:y1, x0:x1].astype(np.int16)
        return float(np.abs(a - b).mean())

    for i in range(1, len(video)):
        out[i] = max(0.0, change(i, mouths[i]) - change(i, brows[i]))
    return out


def _smooth(x: np.ndarray, width: int) -> np.ndarray:
    if width <= 1:
        return x
    return np.convolve(np.pad(x, (width // 2, width - 1 - width // 2), mode="edge"), np.ones(width) / width,
                       mode="valid")


def choose_speaker(evidence: np.ndarray, fps: float, switch_cost: float = SWITCH_COST,
                   min_hold_s: float = MIN_HOLD_S) -> list[int]:
    """The face index per step that maximises the summed evidence (faces x steps) less
    `switch_cost` per switch, every face held at least `min_hold_s` after a switch (the
    first may be cut short by the window's start). Dynamic programming over (face, steps
    held, capped at the minimum hold)."""
    k, n = evidence.shape
    hold = max(1, int(round(min_hold_s * fps)))
    neg = -1e18
    # score[f, d]: best total ending at face f, held d+1 steps (d = hold-1: held long enough)
    score = np.full((k, hold), neg)
    score[:, hold - 1] = evidence[:, 0]
    back: list[np.ndarray] = []
    for t in range(1, n):
        new = np.full((k, hold), neg)
        arg = np.zeros((k, hold, 2), np.int32)
        ready = score[:, hold - 1]
        for f in range(k):
            # stay: d -> d+1 (capped)
            new[f, 1:] = score[f, :-1]
            arg[f, 1:, 0], arg[f, 1:, 1] = f, np.arange(hold - 1)
            if score[f, hold - 1] > new[f, hold - 1]:
                new[f, hold - 1] = score[f, hold - 1]
                arg[f, hold - 1] = (f, hold - 1)
            # switch from another face that has held long enough
            others = [g for g in range(k) if g != f]
            if others:
                g = max(others, key=lambda g: ready[g])
                cand = ready[g] - switch_cost
                if cand > new[f, 0]:     # with a hold of one step, staying lands on d = 0 too
                    new[f, 0], arg[f, 0] = cand, (g, hold - 1)
            new[f] += evidence[f, t]
        score = new
        back.append(arg)
    f, d = int(np.argmax(score[:, hold - 1])), hold - 1    # the last hold is complete too
    if score[f, d] <= neg / 2:
        f = int(np.argmax(score.max(axis=1)))
        d = int(np.argmax(score[f]))
    path = [f]
    for arg in reversed(back):
        f, d = (int(v) for v in arg[f, d])
        path.append(f)
    return path[::-1]


def analyse(media: Path, start: float, end: float, info: MediaInfo, fps: float = ANALYSIS_FPS,
            speakers: bool = True) -> Scene:
    """The main faces over [start, end) and, with `speakers` and two or more of them, who
    speaks at each step (1/fps s)."""
    duration = end - start
    if duration <= 0 or info.width <= 0 or info.height <= 0:
        return Scene(fps, 0, ())
    w = max(2, min(WORK_W, int(round(info.width / 2)) * 2))
    h = max(2, int(round(info.height * w / info.width / 2)) * 2)
    video = grey_frames(media, start, duration, (w, h), fps, scaler="area")[: int(np.ceil(duration * fps - 1e-6))]
    steps = len(video)
    if not steps:
        return Scene(fps, 0, ())
    min_size = max(12, h // 24)
    found = [(i, detect(video[i], min_size)) for i in range(0, steps, DETECT_EVERY)]
    linked = _link(found)
    raw_tracks = [tr for tr in linked if len(tr) >= MAIN_SHARE * len(found)]
    if not raw_tracks:      # a face seen now and then is still worth following
        raw_tracks = [tr for tr in sorted(linked, key=len, reverse=True)[:1] if len(tr) >= 2]
    if raw_tracks:
        widest = max(float(np.median([f.w for _, f in tr])) for tr in raw_tracks)
        raw_tracks = [tr for tr in raw_tracks if np.median([f.w for _, f in tr]) >= MAIN_WIDTH * widest]
    raw_tracks.sort(key=lambda tr: float(np.median([f.cx for _, f in tr])))
    scale = info.width / w
    tracks = []
    for tr in raw_tracks:
        frames = [i for i, _ in tr]
        boxes = _interp(frames, np.array([(f.x, f.y, f.w, f.h) for _, f in tr]), steps) * scale
        tracks.append(FaceTrack(tuple((float(b[0]), float(b[1]), float(b[2]), float(b[3])) for b in boxes)))
    if len(tracks) < 2 or not speakers:
        return Scene(fps, steps, tuple(tracks))
    evidence = np.zeros((len(tracks), steps))
    for k, tr in enumerate(raw_tracks):
        frames = [i for i, _ in tr]
        mouths = _interp(frames, np.array([f.mouth() for _, f in tr], float), steps)
        brows = _interp(frames, np.array([f.brow() for _, f in tr], float), steps)
        evidence[k] = _activity(video, mouths, brows)
    db = voice_energy(media, start, duration, fps, steps)
    if db is not None and db.max() > -90:
        floor = min(float(np.percentile(db, 10)), float(np.percentile(db, 95)) - 25)
        voiced = np.clip((db - floor - 6) / VOICE_RANGE_DB, 0, 1)
        evidence *= voiced
    width = max(1, int(round(SMOOTH_S * fps)))
    evidence = np.stack([_smooth(e, width) for e in evidence])
    top = float(np.percentile(evidence.max(axis=0), 90))
    if top > 0:
        evidence /= top
    return Scene(fps, steps, tuple(tracks), tuple(choose_speaker(evidence, fps)))
