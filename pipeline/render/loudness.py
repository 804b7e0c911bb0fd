"""Loudness normalisation to a LUFS target with ffmpeg's loudnorm in two passes.

The first pass measures the clip's audio only (cheap); the second applies a linear gain when
the true peak allows it, which lands within a fraction of a LU of the target."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from pipeline.errors import ProcessingError

TRUE_PEAK = -1.5
LRA = 11
SILENT_LUFS = -60.0


def _loudnorm(target: float) -> str:
    return f"loudnorm=I={target}:TP={TRUE_PEAK}:LRA={LRA}"


def measure(media: Path, start: float, duration: float, target: float) -> dict[str, str]:
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-ss", f"{start:.3f}", "-t", f"{duration:.3f}",
           "-i", str(media), "-map", "0:a:0", "-af", f"{_loudnorm(target)}:print_format=json",
           "-f", "null", "-"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    found = re.search(r"\{[^{}]*\"input_i\"[^{}]*\}", proc.stderr)
    if proc.returncode != 0 or not found:
        raise ProcessingError(detail=f"loudness measurement failed: {proc.stderr.strip()[-300:]}")
    return json.loads(found.group(0))


def audio_filter(measured: dict[str, str], target: float) -> str:
    """The second-pass filter chain, or plain resampling for a clip that is silent."""
    try:
        level = float(measured["input_i"])
    except (KeyError, ValueError):
        level = float("-inf")
    if level < SILENT_LUFS:
        return "aresample=48000"
    return (f"{_loudnorm(target)}:measured_I={measured['input_i']}:measured_TP={measured['input_tp']}"
            f":measured_LRA={measured['input_lra']}:measured_thresh={measured['input_thresh']}"
            f":offset={measured['target_offset']}:linear=true,aresample=48000")
