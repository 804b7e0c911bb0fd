"""The cascade's second pass: a better (slower) model over the chosen clips only.

The fast model reads the whole stream for scoring; the words a viewer reads in the burned-in
subtitles come from the better model, which runs over a few minutes of audio instead of hours."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pipeline.media.asr import _engine, _tidy, _to_whisper_rate, cpu_threads
from pipeline.media.audio_decode import read_samples, sample_count
from pipeline.media.config import Settings
from pipeline.media.models import Segment, Transcript, Word

PAD_S = 1.0   # a word cut by the window's edge is heard whole


def merged(windows: Sequence[tuple[float, float]], pad: float, duration: float) -> list[tuple[float, float]]:
    """Padded windows, overlapping ones joined, in time order."""
    out: list[tuple[float, float]] = []
    for start, end in sorted(windows):
        lo, hi = max(0.0, start - pad), min(duration, end + pad)
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def language_runs(segments: Sequence[Segment], lo: float, hi: float,
                  fallback: str) -> list[tuple[float, float, str]]:
    """[lo, hi) cut where the fast pass heard the language change (in the middle of the pause
    between two segments), each part with its language."""
    inside = [s for s in segments if s.end > lo and s.start < hi]
    runs = [(lo, hi, inside[0].language or fallback if inside else fallback)]
    for before, seg in zip(inside, inside[1:]):
        language = seg.language or fallback
        if language != runs[-1][2]:
            cut = min(hi, max(lo, (before.end + seg.start) / 2))
            runs[-1] = (runs[-1][0], cut, runs[-1][2])
            runs.append((cut, hi, language))
    return runs


def refine_words(audio_path: Path, transcript: Transcript, windows: Sequence[tuple[float, float]],
                 settings: Settings) -> list[Word]:
    """Every word of `transcript`, those inside `windows` replaced by asr.cascade_model's,
    each part of a window in the language the fast pass heard there."""
    asr = settings.asr
    cfg = asr.model_copy(update={"model": asr.cascade_model, "beam_size": asr.cascade_beam_size})
    run_chunk = _engine(cfg.engine)
    rate = settings.audio.sample_rate
    total = sample_count(Path(audio_path))
    threads = cpu_threads(asr)
    words = list(transcript.words)
    forced = None if asr.language == "auto" else asr.language
    for lo, hi in merged(windows, PAD_S, total / rate):
        better = []
        for part_lo, part_hi, language in language_runs(transcript.segments, lo, hi,
                                                        transcript.language):
            first = int(part_lo * rate)
            samples = read_samples(Path(audio_path), first, min(total, int(part_hi * rate)) - first)
            found, _ = run_chunk(_to_whisper_rate(samples, rate), part_lo, forced or language or None,
                                    cfg, settings.models_dir, threads)
            better += [w for seg in _tidy(found, part_lo, part_hi, part_lo) for w in seg.words]
        words = [w for w in words if not lo <= w.start < hi] + better
    return sorted(words, key=lambda w: w.start)
