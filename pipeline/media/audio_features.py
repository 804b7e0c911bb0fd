"""Per-second audio features from the one decode, one STFT per chunk.

Loudness (RMS dB), timbre (spectral centroid, flatness), onset strength (spectral flux),
pitch movement (dominant voice-band frequency, semitone spread per second) and energy
bursts (loudness jump over the trailing baseline)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.media.audio_decode import iter_chunks, sample_count
from pipeline.media.config import AudioSettings
from pipeline.media.models import ProgressFn, no_progress

FEATURE_NAMES = ("loudness_db", "centroid_hz", "flatness", "onset", "pitch_semitone_std", "voiced", "bursts_db")
VOICE_BAND_HZ = (75.0, 500.0)


def _per_second(values: np.ndarray, seconds: np.ndarray, n: int) -> np.ndarray:
    sums = np.bincount(seconds, weights=values, minlength=n)[:n]
    counts = np.bincount(seconds, minlength=n)[:n]
    return np.divide(sums, counts, out=np.zeros(n), where=counts > 0)


def _frame_features(y: np.ndarray, sr: int, cfg: AudioSettings) -> dict[str, np.ndarray]:
    import librosa

    spec = np.abs(librosa.stft(y, n_fft=cfg.n_fft, hop_length=cfg.hop_length))
    power = spec ** 2
    rms = librosa.feature.rms(S=spec, frame_length=cfg.n_fft)[0]
    mel = librosa.feature.melspectrogram(S=power, sr=sr, n_mels=64)
    freqs = librosa.fft_frequencies(sr=sr, n_fft=cfg.n_fft)
    band = (freqs >= VOICE_BAND_HZ[0]) & (freqs <= VOICE_BAND_HZ[1])
    band_power = power[band]
    dominant = freqs[band][np.argmax(band_power, axis=0)]
    voiced = band_power.sum(axis=0) > 0.3 * power.sum(axis=0).clip(1e-12)
    return {
        "rms": rms,
        "centroid_hz": librosa.feature.spectral_centroid(S=spec, sr=sr)[0],
        "flatness": librosa.feature.spectral_flatness(S=spec)[0],
        "onset": librosa.onset.onset_strength(S=librosa.power_to_db(mel), sr=sr),
        "pitch_st": 12 * np.log2(dominant / 55.0),
        "voiced": voiced.astype(np.float64),
    }


def _pitch_spread(pitch_st: np.ndarray, voiced: np.ndarray, seconds: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n)
    mask = voiced > 0
    mean = _per_second(pitch_st * mask, seconds, n)
    share = _per_second(mask.astype(float), seconds, n)
    mean_sq = _per_second((pitch_st ** 2) * mask, seconds, n)
    ok = share > 0.2
    mean_v = np.divide(mean, share, out=np.zeros(n), where=ok)
    var = np.divide(mean_sq, share, out=np.zeros(n), where=ok) - mean_v ** 2
    out[ok] = np.sqrt(np.clip(var[ok], 0, None))
    return out


def bursts(loudness_db: np.ndarray, window_s: int = 10) -> np.ndarray:
    """How far each second's loudness jumps over the median of the seconds before it."""
    out = np.zeros_like(loudness_db)
    for i in range(1, len(loudness_db)):
        base = np.median(loudness_db[max(0, i - window_s):i])
        out[i] = max(0.0, loudness_db[i] - base)
    return out


def analyse_audio(audio_path: Path, duration: float, cfg: AudioSettings,
                  progress: ProgressFn = no_progress) -> dict[str, np.ndarray]:
    """Per-second feature arrays of length ceil(duration)."""
    sr = cfg.sample_rate
    n = max(1, int(np.ceil(duration)))
    chunk = int(cfg.chunk_s) * sr
    total = max(1, sample_count(audio_path))
    acc = {name: np.zeros(n) for name in ("power", "centroid_hz", "flatness", "onset", "voiced")}
    pitch = np.zeros(n)
    for start, y in iter_chunks(audio_path, chunk):
        if len(y) < cfg.n_fft:
            continue
        f = _frame_features(y, sr, cfg)
        frames = len(f["rms"])
        t = start / sr + np.arange(frames) * cfg.hop_length / sr
        sec = np.minimum(t.astype(np.int64), n - 1)
        first, last = sec[0], sec[-1] + 1
        rel = sec - first
        m = last - first
        # Chunks start on whole seconds, so each second is filled by exactly one chunk.
        acc["power"][first:last] = _per_second(f["rms"] ** 2, rel, m)
        for name in ("centroid_hz", "flatness", "onset", "voiced"):
            acc[name][first:last] = _per_second(f[name], rel, m)
        pitch[first:last] = _pitch_spread(f["pitch_st"], f["voiced"], rel, m)
        progress(min(1.0, (start + len(y)) / total))
    loudness = 10 * np.log10(acc["power"] + 1e-10)
    return {
        "loudness_db": loudness,
        "centroid_hz": acc["centroid_hz"],
        "flatness": acc["flatness"],
        "onset": acc["onset"],
        "pitch_semitone_std": pitch,
        "voiced": acc["voiced"],
        "bursts_db": bursts(loudness),
    }
