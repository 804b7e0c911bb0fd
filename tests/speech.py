"""Synthetic speech for tests: espeak-ng (English and others), festival's Russian voice,
and conversion to the raw float32 mono format the analysis reads."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import numpy as np

from pipeline.media.sample import espeak_wav  # noqa: F401  (re-exported for the tests)

RU_VOICE = "(voice_msu_ru_nsh_clunits)"


def festival_ru_wav(text: str, path: Path) -> Path:
    """Speak Russian `text` with festival's msu_ru_nsh voice (16 kHz mono wav).

    The voice declares `(coding utf-8)`: it reads UTF-8; KOI8-R input gives an empty file."""
    path = Path(path)
    txt = path.with_suffix(".txt")
    txt.write_text(text, encoding="utf-8")
    subprocess.run(["text2wave", "-eval", RU_VOICE, str(txt), "-o", str(path)],
                   check=True, capture_output=True)
    if not path.exists() or path.stat().st_size <= 44:
        raise RuntimeError(f"festival produced no audio for {text!r}")
    return path


def to_raw_f32(src: Path, dst: Path, sample_rate: int = 16000) -> Path:
    """Decode any media file with ffmpeg to raw little-endian float32 mono."""
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(src), "-vn", "-ac", "1",
         "-ar", str(sample_rate), "-f", "f32le", "-acodec", "pcm_f32le", str(dst)],
        check=True, capture_output=True,
    )
    return Path(dst)


def read_raw_f32(path: Path) -> np.ndarray:
    return np.fromfile(path, dtype="<f4")


def write_raw_f32(samples: np.ndarray, path: Path) -> Path:
    np.asarray(samples, dtype="<f4").tofile(path)
    return Path(path)


def raw_duration(path: Path, sample_rate: int = 16000) -> float:
    return Path(path).stat().st_size / 4 / sample_rate


def silence(seconds: float, sample_rate: int = 16000) -> np.ndarray:
    return np.zeros(int(round(seconds * sample_rate)), dtype=np.float32)


def english_samples(text: str, workdir: Path, sample_rate: int = 16000,
                    **espeak: int) -> np.ndarray:
    """espeak-ng speech of `text` as float32 samples at `sample_rate`."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    key = repr((text, sorted(espeak.items()), sample_rate)).encode()
    stem = f"espeak_{hashlib.sha1(key).hexdigest()[:12]}"
    wav = espeak_wav(text, workdir / f"{stem}.wav", **espeak)
    return read_raw_f32(to_raw_f32(wav, workdir / f"{stem}.f32", sample_rate))
