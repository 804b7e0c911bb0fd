"""Motion energy and scene cuts per second, from a cheap proxy of the picture.

Streams carry a keyframe every 2 seconds (Twitch asks for it; OBS does it), and a keyframe
decodes on its own: with `video.proxy` keyframes, only keyframes are decoded (PyAV, the
decoder told to skip every other frame) and the change between consecutive keyframes is
the motion of the seconds between them: a 30-minute 1080p stream in 9 s instead of 99.
Files with sparse keyframes fall back to frames: ffmpeg skips the loop filter and
non-reference frames and scales down to a 2 fps grey sample before anything reaches Python."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from pipeline.media.config import VideoSettings
from pipeline.media.errors import ProcessingError
from pipeline.media.models import ProgressFn, no_progress

CHANGED_LEVEL = 30  # grey-level difference that counts a pixel as changed


def _decode_cmd(src: Path, cfg: VideoSettings) -> list[str]:
    return [
        "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error",
        "-skip_loop_filter", "all", "-skip_frame", "noref",
        "-i", str(src), "-an", "-sn", "-dn", "-map", "0:v:0",
        "-vf", f"fps={cfg.fps},scale={cfg.width}:{cfg.height}:flags=fast_bilinear,format=gray",
        "-f", "rawvideo", "-pix_fmt", "gray", "pipe:1",
    ]


KEYFRAMES_PROBED = 20   # keyframes looked at (packets only, nothing decoded) to judge the gap


def keyframe_gap(src: Path) -> float | None:
    """The median seconds between the first keyframes, from the packets alone; None when the
    file has too few to tell."""
    import av

    times: list[float] = []
    try:
        with av.open(str(src)) as container:
            stream = container.streams.video[0]
            time_base = stream.time_base
            if time_base is None:   # packets cannot be dated: too little to tell
                return None
            for packet in container.demux(stream):
                if packet.is_keyframe and packet.pts is not None:
                    times.append(float(packet.pts * time_base))
                    if len(times) > KEYFRAMES_PROBED:
                        break
    except (av.error.FFmpegError, IndexError):
        return None
    gaps = np.diff(sorted(times))
    return float(np.median(gaps)) if len(gaps) >= 2 else None


def motion_method(src: Path, cfg: VideoSettings) -> str:
    if cfg.proxy != "auto":
        return cfg.proxy
    gap = keyframe_gap(src)
    return "keyframes" if gap is not None and gap <= cfg.keyframe_max_gap_s else "frames"


def analyse_motion(src: Path, duration: float, cfg: VideoSettings,
                   progress: ProgressFn = no_progress) -> dict[str, np.ndarray]:
    """Per-second `motion` (mean absolute grey change, 0..1) and `scene_cuts` (count)."""
    if motion_method(src, cfg) == "keyframes":
        return _keyframe_motion(src, duration, cfg, progress)
    return _frame_motion(src, duration, cfg, progress)


def is_cut(diff: np.ndarray, cfg: VideoSettings) -> bool:
    """A scene cut: more than `scene_cut_threshold` of the pixels changed between two samples."""
    import cv2

    changed = cv2.countNonZero(cv2.threshold(diff, CHANGED_LEVEL, 255, cv2.THRESH_BINARY)[1])
    return changed > cfg.scene_cut_threshold * diff.size


def _keyframe_motion(src: Path, duration: float, cfg: VideoSettings,
                     progress: ProgressFn) -> dict[str, np.ndarray]:
    import av
    import cv2

    n = max(1, int(np.ceil(duration)))
    motion, cuts = np.zeros(n), np.zeros(n)
    prev: np.ndarray | None = None
    prev_t = 0.0
    try:
        with av.open(str(src)) as container:
            stream = container.streams.video[0]
            stream.codec_context.skip_frame = "NONKEY"
            stream.thread_type = "AUTO"
            for index, frame in enumerate(container.decode(stream)):
                if frame.time is None:
                    continue
                small = frame.reformat(width=cfg.width, height=cfg.height, format="gray",
                                       interpolation="FAST_BILINEAR")
                grey = small.to_ndarray()
                t = float(frame.time)
                if prev is not None and t > prev_t:
                    diff = cv2.absdiff(grey, prev)
                    lo, hi = min(int(prev_t), n - 1), min(int(np.ceil(t)), n)
                    motion[lo:hi] = np.maximum(motion[lo:hi], float(diff.mean()) / 255.0)
                    if is_cut(diff, cfg):
                        cuts[min(int(t), n - 1)] += 1
                prev, prev_t = grey, t
                if index % 50 == 0:
                    progress(min(1.0, t / max(duration, 1.0)))
    except (av.error.FFmpegError, IndexError) as exc:
        raise ProcessingError(detail=f"keyframe motion decode failed: {exc!r}") from exc
    progress(1.0)
    return {"motion": motion, "scene_cuts": cuts}


def _frame_motion(src: Path, duration: float, cfg: VideoSettings,
                  progress: ProgressFn) -> dict[str, np.ndarray]:
    import cv2

    n = max(1, int(np.ceil(duration)))
    frame_bytes = cfg.width * cfg.height
    motion_sum, counts, cuts = np.zeros(n), np.zeros(n), np.zeros(n)
    expected = max(1.0, duration * cfg.fps)
    proc = subprocess.Popen(_decode_cmd(src, cfg), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    prev: np.ndarray | None = None
    index = 0
    while True:
        buf = proc.stdout.read(frame_bytes)
        if len(buf) < frame_bytes:
            break
        frame = np.frombuffer(buf, dtype=np.uint8).reshape(cfg.height, cfg.width)
        if prev is not None:
            diff = cv2.absdiff(frame, prev)
            second = min(int(index / cfg.fps), n - 1)
            motion_sum[second] += float(diff.mean()) / 255.0
            counts[second] += 1
            if is_cut(diff, cfg):
                cuts[second] += 1
        prev = frame
        index += 1
        if index % 200 == 0:
            progress(min(1.0, index / expected))
    stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.wait() != 0:
        raise ProcessingError(detail=f"ffmpeg motion decode failed: {stderr.strip()[-300:]}")
    motion = np.divide(motion_sum, counts, out=np.zeros(n), where=counts > 0)
    progress(1.0)
    return {"motion": motion, "scene_cuts": cuts}
