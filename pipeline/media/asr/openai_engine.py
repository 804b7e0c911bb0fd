"""Speech recognition with openai-whisper (PyTorch), the optional alternative engine."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pipeline.media.asr.model_store import PACKAGED_PREFIX
from pipeline.media.config import AsrSettings
from pipeline.media.errors import ConfigError
from pipeline.media.models import Segment, Word

if TYPE_CHECKING:
    import whisper

INSTALL_HINT = "pip install 'viral-clip-factory[openai-whisper]'"


def _import_whisper() -> Any:
    try:
        import whisper
    except ImportError as exc:
        raise ConfigError(
            "The openai-whisper speech engine is not installed.",
            detail=f"install it with `{INSTALL_HINT}`, or set asr.engine to faster-whisper",
        ) from exc
    return whisper


def resolve_device(device: str) -> str:
    if device == "auto":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


@functools.lru_cache(maxsize=2)
def load_model(name: str, device: str, download_root: str | None = None) -> whisper.Whisper:
    """One loaded model per process; `name` is a model name ("base") or a checkpoint file."""
    whisper = _import_whisper()
    try:
        return whisper.load_model(name, device=device, download_root=download_root)
    except (OSError, RuntimeError, ValueError, KeyError) as exc:
        raise ConfigError(f"The speech model '{name}' could not be loaded on {device}.",
                          detail=f"{type(exc).__name__}: {exc}") from exc


def _model(settings: AsrSettings, models_dir: Path, threads: int) -> tuple[Any, whisper.Whisper, str]:
    whisper = _import_whisper()
    if settings.model.startswith(PACKAGED_PREFIX):
        raise ConfigError(
            f"asr.model '{settings.model}' is a faster-whisper (CTranslate2) model.",
            detail="with asr.engine openai-whisper, set asr.model to an openai-whisper name "
                   "(tiny, base, small, ...) or the path of a .pt checkpoint",
        )
    import torch

    device = resolve_device(settings.device)
    if device == "cpu" and threads > 0:
        torch.set_num_threads(threads)
    return whisper, load_model(settings.model, device,
                               str(Path(models_dir).expanduser() / "openai-whisper")), device


def detect_languages(clips: list[np.ndarray], settings: AsrSettings, models_dir: Path,
                     threads: int) -> list[tuple[str, float]]:
    """Same contract as faster_engine.detect_languages (here on padded 30 s windows: the
    PyTorch encoder takes no fewer frames)."""
    whisper, model, _ = _model(settings, models_dir, threads)
    if not model.is_multilingual:
        return [("en", 1.0)] * len(clips)
    out: list[tuple[str, float]] = []
    for clip in clips:
        mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(np.ascontiguousarray(clip, dtype=np.float32)),
                                          model.dims.n_mels).to(model.device)
        _, probs = model.detect_language(mel)
        language = max(probs, key=probs.get)
        out.append((language, float(probs[language])))
    return out


def transcribe_chunk(audio: np.ndarray, offset: float, language: str | None,
                     settings: AsrSettings, models_dir: Path,
                     threads: int) -> tuple[list[Segment], str]:
    """Same contract as faster_engine.transcribe_chunk."""
    whisper, model, device = _model(settings, models_dir, threads)
    result = whisper.transcribe(
        model,
        np.ascontiguousarray(audio, dtype=np.float32),
        language=language,
        task="transcribe",
        word_timestamps=True,
        temperature=0.0,
        condition_on_previous_text=False,
        fp16=device == "cuda",
        verbose=None,
    )
    segments = []
    for seg in result["segments"]:
        words = tuple(
            Word(start=offset + float(w["start"]), end=offset + float(w["end"]),
                 text=w["word"].lstrip(), probability=float(w.get("probability", 1.0)))
            for w in seg.get("words", ())
        )
        segments.append(Segment(start=offset + float(seg["start"]), end=offset + float(seg["end"]),
                                text=seg["text"].strip(), words=words))
    return segments, result.get("language") or (language or "")
