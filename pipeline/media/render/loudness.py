"""Loudness normalisation to a LUFS target (EBU R128 integrated).

ffmpeg's loudnorm falls back to its dynamic mode whenever the needed gain would break the
true-peak or LRA target, and then lands about 2 LU short on speech and game audio. So the
gain is found here instead: measure the clip's audio, apply a gain and a peak limiter,
measure again, and correct by the secant method (the limiter flattens the response on
dense, loud audio, so a plain "add the difference" step converges slowly).

The clip's audio is read from the stream once, as raw 48 kHz samples in memory; every
measurement after that runs on those samples, so the container is not demuxed again."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import ffmpeg

from pipeline.media.errors import ProcessingError

PEAK_LIMIT = 0.84          # -1.5 dBFS
SILENT_LUFS = -60.0
CORRECTIONS = 5
TOLERANCE_LU = 0.3
MAX_GAIN_DB = 30.0
RATE = 48000
RAW = {"format": "f32le", "ac": 2, "ar": RATE}


def _stereo(audio: Any) -> Any:
    """48 kHz stereo: what is measured is what the limiter sees in the encode (a mono source
    is spread over both channels first, at the same -3 dB as the clip's)."""
    return audio.filter("aresample", RATE).filter("aformat", sample_fmts="flt", channel_layouts="stereo")


def read_audio(media: Path, start: float, duration: float) -> bytes:
    """The first audio stream over [start, start+duration] as raw stereo float samples."""
    graph = _stereo(ffmpeg.input(str(media), ss=f"{start:.3f}", t=f"{duration:.3f}")["a:0"]).output(
        "pipe:", **RAW)
    proc = subprocess.run(graph.compile(cmd=["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error"]),
                          capture_output=True, timeout=600)
    if proc.returncode != 0:
        raise ProcessingError(detail=f"audio decode failed: {proc.stderr.decode(errors='replace')[-300:]}")
    return proc.stdout


def gained(audio: Any, gain_db: float) -> Any:
    """The gain and the peak limiter, on an ffmpeg-python audio stream."""
    return audio.filter("volume", f"{gain_db:.2f}dB").filter("alimiter", limit=PEAK_LIMIT, level="false")


def integrated(samples: bytes, gain_db: float | None = None) -> float:
    """Integrated loudness (LUFS) of raw samples from `read_audio`, after `gained` if given."""
    audio = ffmpeg.input("pipe:", **RAW)
    if gain_db is not None:
        audio = gained(audio, gain_db)
    graph = audio.filter("ebur128").output("-", format="null")
    proc = subprocess.run(graph.compile(cmd=["ffmpeg", "-nostdin", "-hide_banner", "-nostats"]),
                          input=samples, capture_output=True, timeout=600)
    stderr = proc.stderr.decode(errors="replace")
    found = re.findall(r"I:\s+(-?[\d.]+|-inf) LUFS", stderr)
    if proc.returncode != 0 or not found:
        raise ProcessingError(detail=f"loudness measurement failed: {stderr.strip()[-300:]}")
    return float(found[-1])


def loudness_gain(samples: bytes, target: float) -> float | None:
    """The gain (dB, applied with the limiter) that brings the samples to `target` LUFS;
    None for silence, which is left alone."""
    level = integrated(samples)
    if level < SILENT_LUFS:
        return None

    def clamp(g: float) -> float:
        return max(-MAX_GAIN_DB, min(MAX_GAIN_DB, g))

    prev: tuple[float, float] | None = None
    gain = clamp(target - level)
    for _ in range(CORRECTIONS):
        reached = integrated(samples, gain)
        if abs(reached - target) <= TOLERANCE_LU:
            break
        slope = 1.0
        if prev is not None and abs(reached - prev[1]) > 1e-3:
            slope = max(0.05, (reached - prev[1]) / (gain - prev[0]))
        prev = (gain, reached)
        gain = clamp(gain + (target - reached) / slope)
    return gain


def normalised(audio: Any, gain_db: float | None) -> Any:
    """An ffmpeg-python audio stream in 48 kHz stereo at the found gain."""
    audio = _stereo(audio)
    return audio if gain_db is None else gained(audio, gain_db)
