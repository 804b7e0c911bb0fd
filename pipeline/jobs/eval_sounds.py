"""Non-verbal sounds for the generated labelled set, synthesised with numpy: no words.

- laughter: bouts of voiced "ha" bursts at 4–5 per second, breathy onsets, the pitch rising
  through a bout, short inhalations between bouts;
- screams: a loud sustained "aaa" at a high pitch with vibrato, jitter and roughness;
- crowd: many overlapping babbling voices swelling to a roar, with clapping;
- explosions: low-passed noise blasts (fast attack, long decay) and bursts of gunfire;
- music: chords, bass and a melody over a drum beat (loud), or soft pads (a menu screen).

Voices are a glottal pulse train shaped by vowel formant resonators. Every function takes a
`numpy.random.Generator`, so a seed gives the same sound and another seed another sound."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.signal import butter, lfilter, sosfilt

Audio = NDArray[np.float32]
VOWELS: dict[str, tuple[tuple[float, float], ...]] = {  # formant (Hz, bandwidth Hz)
    "a": ((800, 80), (1200, 90), (2600, 120)),
    "a_high": ((1000, 120), (1500, 130), (2900, 160)),
    "e": ((500, 70), (1900, 100), (2600, 120)),
    "i": ((300, 60), (2300, 110), (3000, 150)),
    "o": ((500, 70), (900, 80), (2500, 120)),
    "u": ((350, 60), (800, 80), (2400, 120)),
}


def _f(x: NDArray[Any]) -> Audio:
    return np.asarray(x, dtype=np.float32)


def pulse_train(f0: NDArray[np.float64], sr: int, rng: np.random.Generator, jitter: float = 0.01,
                shimmer: float = 0.1, pole: float = 0.95) -> NDArray[np.float64]:
    """A glottal source following the per-sample pitch `f0` (Hz): one pulse per period with
    jitter and shimmer, a -12 dB/octave glottal slope and +6 dB/octave lip radiation."""
    f = f0 * (1.0 + jitter * rng.standard_normal(f0.size))
    phase = np.cumsum(f / sr)
    pulses = np.diff(np.floor(phase), prepend=0.0) * (1.0 + shimmer * rng.standard_normal(f0.size))
    glottal = lfilter([1.0], [1.0, -pole], lfilter([1.0], [1.0, -pole], pulses))
    source: NDArray[np.float64] = lfilter([1.0, -1.0], [1.0], glottal)
    return source


def formants(x: NDArray[np.float64], vowel: str, sr: int) -> NDArray[np.float64]:
    """`x` through the vowel's formant resonators, in parallel, scaled down for higher ones."""
    out = np.zeros_like(x)
    for k, (freq, bw) in enumerate(VOWELS[vowel]):
        r = np.exp(-np.pi * bw / sr)
        theta = 2 * np.pi * freq / sr
        out += (0.5 ** k) * lfilter([1 - r], [1, -2 * r * np.cos(theta), r * r], x)
    return out


def _normalise(x: NDArray[np.float64], peak: float = 1.0) -> NDArray[np.float64]:
    m = float(np.max(np.abs(x))) if x.size else 0.0
    return x * (peak / m) if m > 0 else x


def _envelope(n: int, sr: int, attack_s: float, release_s: float) -> NDArray[np.float64]:
    env = np.ones(n)
    a, r = min(n, max(1, int(attack_s * sr))), min(n, max(1, int(release_s * sr)))
    env[:a] = np.linspace(0, 1, a)
    env[n - r:] *= np.linspace(1, 0, r)
    return env


def _noise_band(n: int, sr: int, rng: np.random.Generator, lo: float | None, hi: float | None) -> NDArray[np.float64]:
    x = rng.standard_normal(n)
    nyq = sr / 2
    if lo and hi:
        sos = butter(2, [lo / nyq, min(0.99, hi / nyq)], "band", output="sos")
    elif hi:
        sos = butter(2, min(0.99, hi / nyq), "low", output="sos")
    elif lo:
        sos = butter(2, lo / nyq, "high", output="sos")
    else:
        return x
    filtered: NDArray[np.float64] = sosfilt(sos, x)
    return filtered


def laughter(seconds: float, sr: int, rng: np.random.Generator) -> Audio:
    n = int(seconds * sr)
    out = np.zeros(n)
    rate = rng.uniform(4.2, 5.2)
    burst_s = rng.uniform(0.1, 0.13)
    breath = rng.uniform(0.2, 0.35)
    t = rng.uniform(0.0, 0.2)
    while t < seconds - 0.5:
        count = int(rng.integers(5, 10))
        f_bout = rng.uniform(230, 380)
        for k in range(count):
            m, start = int(burst_s * sr), int(t * sr)
            if start + m >= n:
                break
            frac = k / max(1, count - 1)
            f = f_bout * (1.0 + 0.3 * frac if k < count // 2 else 1.15 - 0.3 * frac)  # up, then down
            voiced = _normalise(formants(pulse_train(np.linspace(f * 1.08, f * 0.9, m), sr, rng, 0.03), "a", sr))
            noise = _normalise(formants(rng.standard_normal(m), "a", sr))
            time = np.arange(m) / sr
            env = np.minimum(1.0, time / 0.015) * np.exp(-time / (burst_s * 0.45))
            h = np.exp(-time / 0.03)  # the breathy "h" before the vowel
            vowel = (voiced * (1 - breath) + noise * breath) * env * (1 - 0.7 * h)
            ha = vowel + 0.5 * noise * h * np.minimum(1.0, time / 0.005)
            out[start:start + m] += ha * (1.0 - 0.5 * frac)
            t += 1.0 / rate * rng.uniform(0.9, 1.1)
        m, start = int(rng.uniform(0.3, 0.5) * sr), int(t * sr)
        if start + m < n:  # breathing in
            out[start:start + m] += 0.2 * _normalise(formants(rng.standard_normal(m), "i", sr)) * np.hanning(m)
        t += rng.uniform(0.45, 0.8)
    return _f(_normalise(out))


def screams(seconds: float, sr: int, rng: np.random.Generator) -> Audio:
    n = int(seconds * sr)
    out = np.zeros(n)
    t = rng.uniform(0.0, 0.3)
    while t < seconds - 0.8:
        length = min(rng.uniform(1.2, 2.6), seconds - t)
        m, start = int(length * sr), int(t * sr)
        time = np.arange(m) / sr
        f_top = rng.uniform(550, 950)
        glide = f_top * (0.8 + 0.2 * np.minimum(1.0, time / 0.25)) * (1 - 0.12 * time / length)
        vibrato = 1 + 0.035 * np.sin(2 * np.pi * rng.uniform(5, 7) * time)
        voiced = formants(pulse_train(glide * vibrato, sr, rng, 0.03, 0.1, pole=0.0), "a_high", sr)
        rough = formants(rng.standard_normal(m), "a_high", sr)
        scream = _normalise(voiced) + 0.4 * _normalise(rough)
        out[start:start + m] += scream * _envelope(m, sr, 0.04, 0.2)
        t += length + rng.uniform(0.25, 0.7)
    return _f(_normalise(np.tanh(1.5 * _normalise(out)), 0.98))


def _babbler(n: int, sr: int, rng: np.random.Generator) -> NDArray[np.float64]:
    """One voice of a crowd: syllables of random vowels at a random pitch, no words."""
    out = np.zeros(n)
    f_base = rng.uniform(100, 260)
    pos = int(rng.uniform(0, 0.3) * sr)
    names = list(VOWELS)
    while pos < n:
        m = min(n - pos, int(rng.uniform(0.12, 0.3) * sr))
        if rng.random() < 0.8 and m > 16:
            f0 = np.full(m, f_base * rng.uniform(0.85, 1.3))
            syllable = formants(pulse_train(f0, sr, rng, 0.08, 0.3, pole=0.8), names[int(rng.integers(len(names)))], sr)
            out[pos:pos + m] += _normalise(syllable) * np.hanning(m)
        pos += m + int(rng.uniform(0.0, 0.08) * sr)
    return out


def _claps(n: int, sr: int, rng: np.random.Generator, clappers: int) -> NDArray[np.float64]:
    """Applause: many clappers at 4–6 claps a second, each clap a short band of noise."""
    out = np.zeros(n)
    m = int(0.04 * sr)
    time = np.arange(m) / sr
    decay = np.exp(-time / 0.006) * np.minimum(1.0, time / 0.001)
    for _ in range(clappers):
        period = 1.0 / rng.uniform(4.0, 6.0)
        centre = rng.uniform(700, 2500)
        t = rng.uniform(0, period)
        gain = rng.uniform(0.3, 1.0)
        while t < n / sr - 0.05:
            pos = int(t * sr)
            out[pos:pos + m] += gain * _noise_band(m, sr, rng, centre * 0.6, centre * 1.6) * decay
            t += period * rng.uniform(0.9, 1.1)
    return out


def crowd(seconds: float, sr: int, rng: np.random.Generator) -> Audio:
    n = int(seconds * sr)
    voices = int(rng.integers(24, 36))
    babble = sum(rng.uniform(0.3, 1.0) * _babbler(n, sr, rng) for _ in range(voices))
    time = np.arange(n) / sr
    rise = np.minimum(1.0, 0.25 + time / rng.uniform(1.5, 3.0))
    swell = rise * (0.8 + 0.2 * np.sin(2 * np.pi * rng.uniform(0.2, 0.4) * time))
    roar = _normalise(np.asarray(babble, dtype=np.float64)) + 0.35 * _normalise(_noise_band(n, sr, rng, 300, 3000))
    claps = _normalise(_claps(n, sr, rng, int(rng.integers(80, 150))))
    mix = _normalise(roar) * swell + 0.45 * claps * np.minimum(1.0, time / 2.0)
    return _f(_normalise(mix * _envelope(n, sr, 0.3, 0.8)))


def explosions(seconds: float, sr: int, rng: np.random.Generator) -> Audio:
    n = int(seconds * sr)
    out = np.zeros(n)
    t = rng.uniform(0.2, 0.8)
    while t < seconds - 1.0:
        if rng.random() < 0.5:
            decay_s = rng.uniform(0.7, 1.6)
            m = min(n - int(t * sr), int(decay_s * 4 * sr))
            env = np.minimum(1.0, np.arange(m) / (0.004 * sr)) * np.exp(-np.arange(m) / (decay_s * sr))
            blast = _normalise(_noise_band(m, sr, rng, None, rng.uniform(180, 450)))
            crack = _normalise(_noise_band(m, sr, rng, 1000, 6000)) * np.exp(-np.arange(m) / (0.08 * sr)) * 0.5
            out[int(t * sr):int(t * sr) + m] += (blast * env + crack) * rng.uniform(0.8, 1.0)
            t += rng.uniform(1.0, 2.2)
        else:
            shots = int(rng.integers(6, 16))
            m = int(0.15 * sr)
            env = np.minimum(1.0, np.arange(m) / (0.001 * sr)) * np.exp(-np.arange(m) / (0.025 * sr))
            for _ in range(shots):
                pos = int(t * sr)
                if pos + m >= n:
                    break
                thump = _normalise(_noise_band(m, sr, rng, None, 200)) * np.exp(-np.arange(m) / (0.04 * sr))
                out[pos:pos + m] += 0.7 * (_normalise(_noise_band(m, sr, rng, 300, None)) * env + 0.6 * thump)
                t += rng.uniform(0.06, 0.16)
            t += rng.uniform(0.4, 1.0)
    return _f(_normalise(np.tanh(2.0 * _normalise(out)), 0.98))


def _tone(freq: float, m: int, sr: int, harmonics: int, rolloff: float) -> NDArray[np.float64]:
    time = np.arange(m) / sr
    return np.asarray(sum(np.sin(2 * np.pi * freq * h * time) / h ** rolloff
                          for h in range(1, harmonics + 1) if freq * h < sr / 2), dtype=np.float64)


PROGRESSIONS = ((0, 7, 9, 5), (0, 5, 7, 5), (9, 5, 0, 7), (0, 9, 5, 7))


def music(seconds: float, sr: int, rng: np.random.Generator, *, loud: bool = True) -> Audio:
    """A loop of four chords; `loud` adds bass, a melody and drums at a random tempo."""
    n = int(seconds * sr)
    out = np.zeros(n)
    root = 220.0 * 2 ** (int(rng.integers(-5, 5)) / 12)
    progression = PROGRESSIONS[int(rng.integers(len(PROGRESSIONS)))]
    beat = 60.0 / rng.uniform(100, 135) if loud else 60.0 / rng.uniform(60, 80)
    bar = int(4 * beat * sr)
    for b, pos in enumerate(range(0, n, bar)):
        m = min(bar, n - pos)
        step = progression[b % len(progression)]
        minor = step in (9, 4, 2)
        chord = (0, 3 if minor else 4, 7)
        pad = sum(_tone(root * 2 ** ((step + c) / 12), m, sr, 6 if loud else 3, 1.4) for c in chord)
        out[pos:pos + m] += 0.3 * np.asarray(pad) * _envelope(m, sr, 0.05 if loud else 0.6, 0.1 if loud else 0.6)
        if loud:
            out[pos:pos + m] += 0.5 * _tone(root / 2 * 2 ** (step / 12), m, sr, 3, 1.0) * _envelope(m, sr, 0.01, 0.05)
    if loud:
        step_n = int(beat / 2 * sr)
        scale = (0, 2, 4, 7, 9, 12)
        for k, pos in enumerate(range(0, n, step_n)):
            m = min(step_n, n - pos)
            note = root * 2 * 2 ** (scale[int(rng.integers(len(scale)))] / 12)
            out[pos:pos + m] += 0.25 * _tone(note, m, sr, 4, 1.2) * np.exp(-np.arange(m) / (0.12 * sr))
            time = np.arange(m) / sr
            if k % 2 == 0:  # kick on the beat
                sweep = np.sin(2 * np.pi * np.cumsum(50 + 100 * np.exp(-time / 0.03)) / sr)
                out[pos:pos + m] += 1.2 * sweep * np.exp(-time / 0.09)
            else:  # hi-hat off the beat
                out[pos:pos + m] += 0.25 * _noise_band(m, sr, rng, 6000, None) * np.exp(-time / 0.02)
            if k % 4 == 2:  # snare on two and four
                out[pos:pos + m] += 0.5 * _noise_band(m, sr, rng, 1000, 5000) * np.exp(-time / 0.06)
    return _f(_normalise(out, 0.98))
