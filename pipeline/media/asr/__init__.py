"""Speech recognition over long audio: read in chunks cut at quiet points, transcribe each
chunk with the configured engine, stretch by stretch in the language spoken there
(`languages`), and join the word-timed segments."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from pipeline.media.asr.languages import Stretch, plan
from pipeline.media.audio_decode import read_samples, sample_count
from pipeline.media.config import AsrSettings, Settings
from pipeline.media.errors import ConfigError
from pipeline.media.models import ProgressFn, Segment, Transcript, Word, no_progress
from pipeline.media.probe import format_hms
from pipeline.media.resources import available_cores

WHISPER_RATE = 16000
CUT_SEARCH_S = 10.0   # a chunk is cut at the quietest point of its last seconds
CUT_FRAME_S = 0.1
CUT_HOP_S = 0.01

ChunkFn = Callable[[np.ndarray, float, "str | None", AsrSettings, Path, int],
                   tuple[list[Segment], str]]
DetectFn = Callable[[list[np.ndarray], AsrSettings, Path, int], list[tuple[str, float]]]


def _engines(name: str) -> tuple[ChunkFn, DetectFn]:
    if name == "faster-whisper":
        from pipeline.media.asr import faster_engine
        return faster_engine.transcribe_chunk, faster_engine.detect_languages
    if name == "openai-whisper":
        from pipeline.media.asr import openai_engine
        return openai_engine.transcribe_chunk, openai_engine.detect_languages
    raise ConfigError(f"Unknown speech engine '{name}'; use faster-whisper or openai-whisper.")


def _engine(name: str) -> ChunkFn:
    return _engines(name)[0]


def quietest_point(samples: np.ndarray, frame: int, hop: int) -> int:
    """Index of the centre of the quietest `frame`-long window; among equally quiet ones
    the latest, so that long silences keep chunks at full length."""
    if len(samples) <= frame:
        return len(samples) // 2
    energy = np.concatenate(([0.0], np.cumsum(samples.astype(np.float64) ** 2)))
    starts = np.arange(0, len(samples) - frame + 1, hop)
    window = energy[starts + frame] - energy[starts]
    best = len(window) - 1 - int(np.argmin(window[::-1]))
    return int(starts[best]) + frame // 2


def iter_chunks(path: Path, total: int, sample_rate: int,
                chunk_s: float) -> Iterator[tuple[int, np.ndarray]]:
    """(first sample, samples) of consecutive chunks of at most chunk_s seconds covering
    the file; each but the last ends at a quiet point so that no word is cut in two."""
    size = max(1, int(chunk_s * sample_rate))
    search = int(min(CUT_SEARCH_S, chunk_s / 2) * sample_rate)
    frame, hop = int(CUT_FRAME_S * sample_rate), max(1, int(CUT_HOP_S * sample_rate))
    start = 0
    while start < total:
        if total - start <= size:
            yield start, read_samples(path, start, total - start)
            return
        chunk = read_samples(path, start, size)
        if len(chunk) < size:  # file shorter than it said
            if len(chunk):
                yield start, chunk
            return
        cut = size - search + quietest_point(chunk[size - search:], frame, hop)
        yield start, chunk[:cut]
        start += cut


def _to_whisper_rate(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    if sample_rate == WHISPER_RATE:
        return samples
    from scipy.signal import resample_poly

    g = np.gcd(sample_rate, WHISPER_RATE)
    resampled: NDArray[np.float32] = resample_poly(samples, WHISPER_RATE // g, sample_rate // g).astype(np.float32)
    return resampled


def _tidy(segments: list[Segment], lo: float, hi: float, floor: float,
          language: str = "") -> list[Segment]:
    """Keep times inside the chunk [lo, hi] and word starts non-decreasing across the whole
    transcript (`floor`: the last word start so far); drop empty segments; mark each with the
    `language` it was transcribed in. Whisper can place a timestamp past the end of short
    audio, and a hallucinated one before the previous."""
    out = []
    for seg in segments:
        words = []
        for w in seg.words:
            if not w.text.strip():
                continue
            start = float(min(max(w.start, lo, floor), hi))
            end = float(min(max(w.end, start), hi))
            floor = start
            words.append(Word(start=start, end=end, text=w.text, probability=w.probability))
        if not seg.text and not words:
            continue
        start = float(min(max(seg.start, lo), hi))
        end = float(min(max(seg.end, start), hi))
        if words:
            start, end = min(start, words[0].start), max(end, words[-1].end)
        out.append(Segment(start=start, end=end, text=seg.text, words=tuple(words),
                           language=language))
    return out


def dominant_language(segments: Sequence[Segment]) -> str:
    """The language spoken longest ("" without segments)."""
    spoken: dict[str, float] = {}
    for seg in segments:
        if seg.language:
            spoken[seg.language] = spoken.get(seg.language, 0.0) + max(seg.end - seg.start, 1e-3)
    return max(spoken, key=lambda k: spoken[k]) if spoken else ""


def cpu_threads(asr: AsrSettings) -> int:
    return asr.cpu_threads or available_cores()


def transcribe(audio_path: Path, duration: float, settings: Settings,
               progress: ProgressFn = no_progress) -> Transcript:
    """Transcribe a raw float32 mono file at settings.audio.sample_rate.

    With asr.language "auto" each chunk is split into stretches by the language spoken
    (`languages.plan`) and each stretch transcribed in its own; otherwise all of it in
    asr.language. Every segment records its language; the transcript's is the one spoken
    longest. No speech at all gives a transcript without segments (language "" when it was
    to be detected)."""
    asr = settings.asr
    rate = settings.audio.sample_rate
    run_chunk, detect = _engines(asr.engine)
    threads = cpu_threads(asr)
    total = sample_count(Path(audio_path))
    total_s = total / rate
    forced = None if asr.language == "auto" else asr.language
    last: str | None = forced
    segments: list[Segment] = []
    floor = 0.0
    progress(0.0, "speech recognition")
    for start, samples in iter_chunks(Path(audio_path), total, rate, asr.chunk_s):
        audio = _to_whisper_rate(samples, rate)
        chunk_lo, chunk_hi = start / rate, (start + len(samples)) / rate
        parts = [Stretch(0, len(audio), forced)] if forced else plan(
            audio, lambda clips: detect(clips, asr, settings.models_dir, threads),
            asr.language_window_s, last)
        for part in parts:
            lo = chunk_lo + part.start / WHISPER_RATE
            hi = min(chunk_hi, chunk_lo + part.end / WHISPER_RATE)
            found, used = run_chunk(audio[part.start:part.end], lo, part.language, asr,
                                    settings.models_dir, threads)
            found = _tidy(found, lo, hi, floor, part.language or used)
            if found:
                last = part.language or used
                floor = max((w.start for s in found for w in s.words), default=floor)
            segments.extend(found)
        progress(min(1.0, chunk_hi / total_s) if total_s else 1.0,
                 f"speech recognition {format_hms(chunk_hi)} of {format_hms(total_s)}")
    return Transcript(language=forced or dominant_language(segments), duration=duration,
                      segments=tuple(segments), engine=asr.engine, model=asr.model)
