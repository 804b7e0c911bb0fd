"""YAMNet's log-mel front end in numpy, as its reference implementation computes it
(tensorflow/models research/audioset/yamnet, features.py with params.py's defaults).

16 kHz mono in [-1, 1]; STFT with a periodic Hann window of 25 ms (400 samples), hop 10 ms
(160 samples), FFT size 512, no centring (frames start at sample 0); the magnitude (not the
power) spectrum through 64 triangular mel bands between 125 and 7500 Hz, built like
`tf.signal.linear_to_mel_weight_matrix` (HTK mel scale, triangles in mel, peak 1, no area
normalisation, the DC bin left out); log(mel + 0.001). Patches of 96 frames (0.96 s; each
spans 0.975 s of samples). The 8-bit model's input quantisation agrees: its lowest
representable value is log(0.001)."""

from __future__ import annotations

import functools

import numpy as np
import scipy.fft
from numpy.typing import NDArray

SAMPLE_RATE = 16000
WINDOW = 400
HOP = 160
FFT = 512
MEL_BANDS = 64
MEL_MIN_HZ = 125.0
MEL_MAX_HZ = 7500.0
LOG_OFFSET = 0.001
PATCH_FRAMES = 96
PATCH_SAMPLES = (PATCH_FRAMES - 1) * HOP + WINDOW   # 15600: the samples one patch reads

Floats = NDArray[np.float32]


def hz_to_mel(hz: NDArray[np.float64] | float) -> NDArray[np.float64]:
    return np.asarray(1127.0 * np.log1p(np.asarray(hz, dtype=np.float64) / 700.0))


@functools.cache
def mel_matrix() -> Floats:
    """(FFT // 2 + 1, MEL_BANDS) weights from magnitude bins to mel bands."""
    bins = FFT // 2 + 1
    bin_mel = hz_to_mel(np.linspace(0.0, SAMPLE_RATE / 2, bins)[1:])[:, None]
    edges = np.linspace(float(hz_to_mel(MEL_MIN_HZ)), float(hz_to_mel(MEL_MAX_HZ)), MEL_BANDS + 2)
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bin_mel - lower) / (centre - lower)
    falling = (upper - bin_mel) / (upper - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return np.vstack([np.zeros((1, MEL_BANDS)), weights]).astype(np.float32)


@functools.cache
def _window() -> Floats:
    n = np.arange(WINDOW)
    return (0.5 - 0.5 * np.cos(2 * np.pi * n / WINDOW)).astype(np.float32)


def frame_count(samples: int) -> int:
    return 0 if samples < WINDOW else 1 + (samples - WINDOW) // HOP


def log_mel(samples: NDArray[np.float32]) -> Floats:
    """(frames, MEL_BANDS) log-mel spectrogram of 16 kHz mono samples."""
    y = np.ascontiguousarray(samples, dtype=np.float32)
    n = frame_count(len(y))
    if n == 0:
        return np.zeros((0, MEL_BANDS), np.float32)
    frames = np.lib.stride_tricks.as_strided(y, shape=(n, WINDOW), strides=(HOP * y.strides[0], y.strides[0]),
                                             writeable=False)
    magnitude = np.abs(scipy.fft.rfft(frames * _window(), n=FFT, axis=1)).astype(np.float32)
    out: Floats = np.log(magnitude @ mel_matrix() + np.float32(LOG_OFFSET))
    return out


def patches(spectrogram: Floats, hop_frames: int) -> Floats:
    """(n, PATCH_FRAMES, MEL_BANDS) windows over the frames, one every `hop_frames` (a view)."""
    n = 0 if len(spectrogram) < PATCH_FRAMES else 1 + (len(spectrogram) - PATCH_FRAMES) // hop_frames
    s0, s1 = spectrogram.strides
    out: Floats = np.lib.stride_tricks.as_strided(
        spectrogram, shape=(n, PATCH_FRAMES, MEL_BANDS), strides=(hop_frames * s0, s0, s1), writeable=False)
    return out


def patch_count(samples: int, hop_samples: int) -> int:
    """Patches over `samples`, the last one reaching the end (zero-padded, as YAMNet pads)."""
    return 1 + -(-max(0, samples - PATCH_SAMPLES) // hop_samples)
