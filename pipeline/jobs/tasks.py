"""Stage functions that run inside the process pool (spawn).

Each takes plain, picklable arguments, writes its artifact atomically and returns a small
summary. Models are loaded once per process by the loaders they call."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.media.cache import atomic_path, write_json
from pipeline.media.config import AudioSettings, Settings, VideoSettings


class QueueProgress:
    """A ProgressFn that forwards to the parent's queue, at most every 1 % or 0.5 s."""

    def __init__(self, queue: Any, stage: str) -> None:
        self._queue, self._stage = queue, stage
        self._last, self._last_t = -1.0, 0.0

    def __call__(self, fraction: float, note: str = "") -> None:
        now = time.monotonic()
        if fraction - self._last >= 0.01 or now - self._last_t > 0.5 or fraction >= 1.0:
            self._last, self._last_t = fraction, now
            if self._queue is not None:
                self._queue.put((self._stage, float(fraction), note))


def _save_npz(arrays: dict[str, np.ndarray], out: Path) -> None:
    with atomic_path(out) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)


def asr_task(audio_path: Path, duration: float, settings: Settings, out: Path, queue: Any) -> dict:
    from pipeline.media.asr import transcribe

    transcript = transcribe(audio_path, duration, settings, QueueProgress(queue, "asr"))
    write_json(out, transcript.to_dict())
    return {"language": transcript.language, "words": len(transcript.words),
            "engine": transcript.engine, "model": transcript.model}


def audio_features_task(audio_path: Path, duration: float, cfg: AudioSettings, out: Path,
                        queue: Any) -> dict:
    from pipeline.media.audio_features import analyse_audio

    _save_npz(analyse_audio(audio_path, duration, cfg, QueueProgress(queue, "audio_features")), out)
    return {}


def motion_task(media_path: Path, duration: float, cfg: VideoSettings, out: Path, queue: Any) -> dict:
    from pipeline.media.motion import analyse_motion

    _save_npz(analyse_motion(media_path, duration, cfg, QueueProgress(queue, "motion")), out)
    return {}


def enrich_task(transcript_path: Path, settings: Settings, out: Path, queue: Any) -> dict:
    from pipeline.media.enrich import enrich, features_to_dicts
    from pipeline.media.models import Transcript

    progress = QueueProgress(queue, "enrich")
    progress(0.05, "loading models")
    transcript = Transcript.from_dict(json.loads(transcript_path.read_text(encoding="utf-8")))
    features, info = enrich(transcript, settings)
    write_json(out, {"sentences": features_to_dicts(features), "info": info})
    progress(1.0)
    return info
