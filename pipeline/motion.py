"""Motion energy and scene cuts per second from a small, low-fps grey decode.

ffmpeg skips the loop filter and non-reference frames and scales down before anything
reaches Python, so a 1080p stream costs a fraction of a full decode."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from pipeline.config import VideoSettings
from pipeline.errors import ProcessingError
from pipeline.models import ProgressFn, no_progress

CHANGED_LEVEL = 30  # grey-level difference that counts a pixel as changed


def _decode_cmd(src: Path, cfg: VideoSettings) -> list[str]:
    return [
        "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error",
        "-skip_loop_filter", "all", "-skip_frame", "noref",
        "-i", str(src), "-an", "-sn", "-dn", "-map", "0:v:0",
        "-vf", f"fps={cfg.fps},scale={cfg.width}:{cfg.height}:flags=fast_bilinear,format=gray",
        "-f", "rawvideo", "-pix_fmt", "gray", "pipe:1",
    ]


def analyse_motion(src: Path, duration: float, cfg: VideoSettings,
                   progress: ProgressFn = no_progress) -> dict[str, np.ndarray]:
    """Per-second `motion` (mean absolute grey change, 0..1) and `scene_cuts` (count)."""
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
            if cv2.countNonZero(cv2.threshold(diff, CHANGED_LEVEL, 255, cv2.THRESH_BINARY)[1]) \
                    > cfg.scene_cut_threshold * frame_bytes:
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
