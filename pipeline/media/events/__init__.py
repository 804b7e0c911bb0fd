"""Per-second audio events from an AudioSet tagger (YAMNet), for the `audio_events` stage.

What it writes (`artifacts.AUDIO_EVENTS`, an .npz): one float32 array per group of
`audio_events.groups`, each of length ceil(duration), named as the group. With the defaults:

    laughter   Laughter, Baby laughter, Giggle, Snicker, Belly laugh, Chuckle/chortle
    scream     Shout, Whoop, Yell, Children shouting, Screaming
    crowd      Chant, Clapping, Cheering, Applause, Crowd, Hubbub/speech babble
    explosion  Explosion, Gunshot/gunfire, Machine gun, Fusillade, Artillery fire, Burst/pop,
               Eruption, Boom
    music      Music and its common instrument/genre children (see configs/default.yaml)
    speech     Speech

A value is a probability 0..1: the highest probability of any class of the group in any patch
whose centre lies in that second (YAMNet's sigmoid outputs are independent per class, so
groups do not sum to 1). Seconds past the end of the audio are 0. AudioSet has no "Battle cry"
in YAMNet's 521 classes, so the scream group goes without it.

The 8-bit model gives its logits in steps of 0.757, so the probabilities come in levels
(..., 0.09, 0.18, 0.32, 0.5, 0.68, 0.82, 0.91, ...): treat them as graded, not continuous.

How: the job's one decode (`audio.f32`, 16 kHz mono float32) is read `chunk_s` at a time;
each chunk becomes log-mel patches (`frontend`) 0.96 s long every `patch_hop_s` (0.48 s by
default, YAMNet's own hop: about 2.1 patches per second of audio, so a sound shorter than
0.48 s lies whole in some patch; 0.96 halves the model's work), tagged by one onnxruntime
session per process (`tagger`). The packaged model fixes its batch size at 1, so its patches
run one by one: the same graph with a free batch axis took as long per patch in batches of 64
as one at a time (1.37 vs 1.34 ms on the build box). Measured there (2 cores shared with other
work): about 0.7 ms of CPU per patch and 0.7 s of CPU for the front end per 10 minutes, so
10 minutes of audio cost about 1.2 s of CPU (3.2-3.7 s of wall time on the loaded box).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from pipeline.media.audio_decode import read_samples, sample_count
from pipeline.media.config import AudioEventsSettings
from pipeline.media.errors import ConfigError
from pipeline.media.events.frontend import HOP, PATCH_SAMPLES, SAMPLE_RATE, log_mel, patch_count, patches
from pipeline.media.events.model_store import resolve_event_model
from pipeline.media.events.tagger import event_threads, group_indices, load_tagger
from pipeline.media.models import ProgressFn, no_progress

Floats = NDArray[np.float32]


def hop_frames(cfg: AudioEventsSettings) -> int:
    return max(1, round(cfg.patch_hop_s * SAMPLE_RATE / HOP))


def per_second(values: Floats, centres_s: NDArray[np.float64], n: int, audio_s: float) -> Floats:
    """Each second's highest value among the patches centred in it; a second with no centre
    in it (the last, partial one) takes the nearest patch; seconds past `audio_s` stay 0."""
    out = np.full(n, -1.0, np.float32)
    sec = np.clip(np.floor(centres_s).astype(np.int64), 0, n - 1)
    np.maximum.at(out, sec, values)
    heard = min(n, int(np.ceil(audio_s)))
    empty = np.flatnonzero(out[:heard] < 0)
    if len(empty) and len(centres_s):
        right = np.clip(np.searchsorted(centres_s, empty + 0.5), 1, len(centres_s) - 1)
        left = right - 1
        pick = np.where(np.abs(centres_s[left] - (empty + 0.5)) <= np.abs(centres_s[right] - (empty + 0.5)),
                        left, right)
        out[empty] = values[pick]
    out[heard:] = 0.0
    clipped: Floats = np.clip(out, 0.0, 1.0)
    return clipped


def analyse_events(audio_path: Path, duration: float, cfg: AudioEventsSettings, models_dir: Path,
                   progress: ProgressFn = no_progress, *, sample_rate: int = SAMPLE_RATE) -> dict[str, Floats]:
    """Per-second event probabilities, one array of length ceil(duration) per group."""
    if sample_rate != SAMPLE_RATE:
        raise ConfigError("Audio events need the 16 kHz decode.",
                          detail=f"audio.sample_rate is {sample_rate}; YAMNet takes {SAMPLE_RATE} Hz")
    if not cfg.groups:
        raise ConfigError("audio_events.groups is empty: name at least one group of AudioSet classes.")
    model = resolve_event_model(cfg.model, models_dir, cfg.class_map)
    tagger = load_tagger(str(model.onnx), str(model.class_map), event_threads(cfg.threads))
    groups = group_indices(tagger.names, cfg.groups)
    n = max(1, int(np.ceil(duration)))
    total = sample_count(audio_path)
    hop = hop_frames(cfg)
    hop_samples = hop * HOP
    count = patch_count(total, hop_samples)
    per_chunk = max(1, int(cfg.chunk_s * SAMPLE_RATE) // hop_samples)
    scores = {g: np.zeros(count, np.float32) for g in groups}
    for first in range(0, count, per_chunk):
        m = min(per_chunk, count - first)
        start, length = first * hop_samples, (m - 1) * hop_samples + PATCH_SAMPLES
        y = read_samples(audio_path, start, min(length, max(0, total - start)))
        if len(y) < length:
            y = np.pad(y, (0, length - len(y)))
        probs = tagger(np.ascontiguousarray(patches(log_mel(y), hop)[:m]))
        for g, idx in groups.items():
            scores[g][first:first + m] = probs[:, idx].max(axis=1)
        progress(min(1.0, (first + m) / count))
    centres = (np.arange(count) * hop_samples + PATCH_SAMPLES / 2) / SAMPLE_RATE
    return {g: per_second(v, centres, n, total / SAMPLE_RATE) for g, v in scores.items()}
