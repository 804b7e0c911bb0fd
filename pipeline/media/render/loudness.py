"""Loudness normalisation to a LUFS target (EBU R128 integrated).

ffmpeg's loudnorm falls back to its dynamic mode whenever the needed gain would break the
true-peak or LRA target, and then lands about 2 LU short on speech and game audio. So the
gain is found here instead: measure the clip's audio (cheap: audio only), apply a gain and
a peak limiter, measure again, and correct by the secant method (the limiter flattens the
response on dense, loud audio, so a plain "add the difference" step converges slowly)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from pipeline.media.errors import ProcessingError

PEAK_LIMIT = 0.84          # -1.5 dBFS
SILENT_LUFS = -60.0
CORRECTIONS = 5
TOLERANCE_LU = 0.3
MAX_GAIN_DB = 30.0


def integrated(media: Path, start: float, duration: float, chain: str = "") -> float:
    """Integrated loudness (LUFS) of the first audio stream over [start, start+duration]."""
    af = f"{chain},ebur128" if chain else "ebur128"
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-ss", f"{start:.3f}", "-t", f"{duration:.3f}",
           "-i", str(media), "-map", "0:a:0", "-af", af, "-f", "null", "-"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    found = re.findall(r"I:\s+(-?[\d.]+|-inf) LUFS", proc.stderr)
    if proc.returncode != 0 or not found:
        raise ProcessingError(detail=f"loudness measurement failed: {proc.stderr.strip()[-300:]}")
    return float(found[-1])


def _chain(gain_db: float) -> str:
    return f"volume={gain_db:.2f}dB,alimiter=limit={PEAK_LIMIT}:level=false"


def audio_filter(media: Path, start: float, duration: float, target: float) -> str:
    """The audio filter chain that brings this clip to `target` LUFS, resampled to 48 kHz."""
    level = integrated(media, start, duration)
    if level < SILENT_LUFS:
        return "aresample=48000"
    def clamp(g: float) -> float:
        return max(-MAX_GAIN_DB, min(MAX_GAIN_DB, g))

    prev: tuple[float, float] | None = None
    gain = clamp(target - level)
    for _ in range(CORRECTIONS):
        reached = integrated(media, start, duration, _chain(gain))
        if abs(reached - target) <= TOLERANCE_LU:
            break
        slope = 1.0
        if prev is not None and abs(reached - prev[1]) > 1e-3:
            slope = max(0.05, (reached - prev[1]) / (gain - prev[0]))
        prev = (gain, reached)
        gain = clamp(gain + (target - reached) / slope)
    return f"{_chain(gain)},aresample=48000"
