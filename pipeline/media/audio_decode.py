"""One audio decode per job: 16 kHz mono float32, written raw to disk and read back in
chunks, so an 8-hour stream (1.8 GB of samples) never sits in memory whole."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from pipeline.media.errors import ProcessingError
from pipeline.media.models import ProgressFn

BYTES_PER_SAMPLE = 4


def decode_audio(src: Path, dst: Path, sample_rate: int, progress: ProgressFn | None = None,
                 duration: float = 0.0) -> None:
    """Decode the first audio stream of `src` into raw little-endian float32 mono at `dst`."""
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", str(src),
           "-vn", "-sn", "-dn", "-map", "0:a:0", "-ac", "1", "-ar", str(sample_rate),
           "-f", "f32le", "-progress", "pipe:1", str(dst)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if progress and duration > 0 and line.startswith("out_time_us="):
            try:
                progress(min(1.0, int(line.split("=", 1)[1]) / 1e6 / duration))
            except ValueError:
                pass
    stderr = proc.stderr.read() if proc.stderr else ""
    if proc.wait() != 0:
        raise ProcessingError(detail=f"ffmpeg audio decode failed: {stderr.strip()[-300:]}")


def sample_count(path: Path) -> int:
    return path.stat().st_size // BYTES_PER_SAMPLE


def read_samples(path: Path, start: int, count: int) -> np.ndarray:
    return np.fromfile(path, dtype="<f4", count=count, offset=start * BYTES_PER_SAMPLE)


def iter_chunks(path: Path, chunk_samples: int, overlap: int = 0) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (first sample index, samples) with `overlap` extra samples at each chunk's end."""
    total = sample_count(path)
    for start in range(0, total, chunk_samples):
        yield start, read_samples(path, start, min(chunk_samples + overlap, total - start))
