"""Speech recognition with faster-whisper (CTranslate2)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pipeline.media.asr.model_store import resolve_whisper_model
from pipeline.media.config import AsrSettings
from pipeline.media.errors import ConfigError
from pipeline.media.models import Segment, Word

GPU_BATCH = 16
CPU_BATCH = 8
DETECT_BATCH = 8

if TYPE_CHECKING:
    from faster_whisper import WhisperModel


def resolve_device(device: str, compute_type: str) -> tuple[str, str]:
    """("auto", "auto") -> ("cuda", "float16") with a GPU, ("cpu", "int8") without."""
    if device == "auto":
        import ctranslate2

        device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    if compute_type == "auto":
        compute_type = "float16" if device == "cuda" else "int8"
    return device, compute_type


def batch_size(settings: AsrSettings, device: str) -> int:
    """Batches of VAD-cut speech decode faster than one long stream, on a GPU and also on a
    2-core CPU (10.6–15.8 s against 19.2–24.6 s for 10 minutes of speech, int8)."""
    if settings.batch_size == 0:
        return GPU_BATCH if device == "cuda" else CPU_BATCH
    return settings.batch_size


@functools.lru_cache(maxsize=2)
def load_model(model: str, device: str, compute_type: str, threads: int,
               download_root: str | None = None) -> WhisperModel:
    """One loaded model per process and settings; `model` is a folder or a hub name."""
    from faster_whisper import WhisperModel

    try:
        return WhisperModel(model, device=device, compute_type=compute_type,
                            cpu_threads=threads, num_workers=1, download_root=download_root)
    except (OSError, ValueError, RuntimeError) as exc:
        raise ConfigError(f"The speech model '{model}' could not be loaded on {device}.",
                          detail=f"{type(exc).__name__}: {exc}") from exc


def _model(settings: AsrSettings, models_dir: Path, threads: int) -> tuple[WhisperModel, str]:
    device, compute_type = resolve_device(settings.device, settings.compute_type)
    model_path = resolve_whisper_model(settings.model, models_dir)
    return load_model(model_path, device, compute_type, threads,
                      str(Path(models_dir).expanduser() / "hub")), device


def detect_languages(clips: list[np.ndarray], settings: AsrSettings, models_dir: Path,
                     threads: int) -> list[tuple[str, float]]:
    """The likeliest language of each 16 kHz clip (at most 30 s) and its probability.

    On a CPU the encoder reads only the clip's own frames, not Whisper's padded 30 s
    (CTranslate2 takes fewer): a guess on 10 s of speech costs about a third of one on a padded
    window (measured on 2 cores), and it was as sure on our bilingual test speech. On a GPU,
    where this was not measured, clips are padded to 30 s as faster-whisper does. An
    English-only model hears English."""
    model, device = _model(settings, models_dir, threads)
    if not model.model.is_multilingual:
        return [("en", 1.0)] * len(clips)
    extractor = model.feature_extractor
    out: list[tuple[str, float]] = []
    for first in range(0, len(clips), DETECT_BATCH):
        batch = [c[:extractor.n_samples] for c in clips[first:first + DETECT_BATCH]]
        longest = extractor.n_samples if device == "cuda" else max(len(c) for c in batch)
        features = np.stack([extractor(np.pad(c, (0, longest - len(c))))[..., :-1] for c in batch])
        for ranked in model.model.detect_language(model.encode(np.ascontiguousarray(features))):
            token, probability = ranked[0]
            out.append((token.strip("<|>"), float(probability)))
    return out


def transcribe_chunk(audio: np.ndarray, offset: float, language: str | None,
                     settings: AsrSettings, models_dir: Path,
                     threads: int) -> tuple[list[Segment], str]:
    """Segments with word times (seconds from the start of the whole audio) and the language
    used, or detected when `language` is None. `audio` is float32 mono at 16 kHz. Never
    translates: Whisper writes what it hears in `language`."""
    model, device = _model(settings, models_dir, threads)
    options = dict(language=language, task="transcribe", beam_size=settings.beam_size,
                   word_timestamps=True, condition_on_previous_text=False)
    audio = np.ascontiguousarray(audio, dtype=np.float32)
    batch = batch_size(settings, device)
    if batch > 1:
        from faster_whisper import BatchedInferencePipeline

        # Batched decoding works on VAD-cut speech segments, so VAD is always on here.
        pieces, info = BatchedInferencePipeline(model).transcribe(audio, batch_size=batch, **options)
    else:
        pieces, info = model.transcribe(audio, vad_filter=settings.vad, **options)
    segments = []
    for seg in pieces:  # a generator: decoding happens while iterating
        words = tuple(
            Word(start=offset + float(w.start), end=offset + float(w.end), text=w.word.lstrip(),
                 probability=float(w.probability))
            for w in (seg.words or ())
        )
        segments.append(Segment(start=offset + float(seg.start), end=offset + float(seg.end),
                                text=seg.text.strip(), words=words))
    return segments, info.language
