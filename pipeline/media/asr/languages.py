"""Which language is spoken where, so that each stretch is transcribed in its own language.

Whisper given one language for audio in another translates it (or drops it). The speech (the
VAD's, pauses left out) is cut into pieces of `window_s` seconds, and the language guessed on
SAMPLE_S of each (its first and last seconds: a guess costs an encoder pass over what it
hears, so hearing half of every piece halves the cost). The language in force changes only on
a sure guess of another (SWITCH_PROBABILITY), so one odd guess does not start a stretch; where
it changes, the switch lies in one of the two pieces around it, so their sentences (VAD spans)
are guessed one by one, whole, and each takes the language it is heard in. Neighbouring spans
of one language form one stretch: a stream in one language is one stretch per chunk,
transcribed as before. A stretch of another language shorter than about window_s - SAMPLE_S
inside one piece can go unheard."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

WHISPER_RATE = 16000
MIN_PROBABILITY = 0.5   # below it a guess is not trusted (faster-whisper's own threshold)
SWITCH_PROBABILITY = 0.8  # a piece changes the language in force only this sure
SAMPLE_S = 5.0          # seconds of each piece's speech the guess hears
MIN_SPAN_S = 1.0        # a shorter span is too little to guess alone; it follows its neighbours
MIN_SILENCE_MS = 160    # as faster-whisper's batched pipeline cuts speech

Guess = tuple[str, float]
Detector = Callable[[list[np.ndarray]], list[Guess]]
Span = tuple[int, int]


@dataclass(frozen=True)
class Stretch:
    """Samples [start, end) of a chunk and the language spoken there (None: not known, the
    engine guesses it)."""

    start: int
    end: int
    language: str | None


def speech_spans(audio: np.ndarray, window_s: float) -> list[Span]:
    """(first, end) samples of the speech in 16 kHz `audio` (Silero VAD, as faster-whisper)."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(min_silence_duration_ms=MIN_SILENCE_MS, max_speech_duration_s=window_s)
    return [(int(s["start"]), int(s["end"])) for s in get_speech_timestamps(audio, options)]


def pieces(spans: Sequence[Span], window: int) -> list[list[int]]:
    """Indices of consecutive spans grouped into pieces of at most `window` samples of speech."""
    out: list[list[int]] = []
    speech = 0
    for i, (lo, hi) in enumerate(spans):
        if out and speech + hi - lo <= window:
            out[-1].append(i)
            speech += hi - lo
        else:
            out.append([i])
            speech = hi - lo
    return out


def _speech(audio: np.ndarray, spans: Sequence[Span], members: Sequence[int]) -> np.ndarray:
    return np.concatenate([audio[spans[i][0]:spans[i][1]] for i in members])


def _sample(speech: np.ndarray) -> np.ndarray:
    """The first and last SAMPLE_S / 2 seconds of a piece's speech."""
    half = int(SAMPLE_S * WHISPER_RATE) // 2
    return speech if len(speech) <= 2 * half else np.concatenate([speech[:half], speech[-half:]])


def in_force(guesses: Sequence[Guess], fallback: str | None) -> list[str | None]:
    """The language of each piece: the one in force before it, unless the piece is heard
    surely in another. At the start: the first piece's guess when over MIN_PROBABILITY, else
    `fallback` (the language heard just before), else the first guess over MIN_PROBABILITY."""
    likely = [g for g, p in guesses if p >= MIN_PROBABILITY]
    first_sure = bool(guesses) and guesses[0][1] >= MIN_PROBABILITY
    current = guesses[0][0] if first_sure else fallback or (likely[0] if likely else None)
    out: list[str | None] = []
    for language, probability in guesses:
        if probability >= SWITCH_PROBABILITY:
            current = language
        out.append(current)
    return out


def _spread(members: Sequence[int], heard: dict[int, str]) -> dict[int, str]:
    """Each of `members` with the language it was heard in, or else that of the nearest
    span heard before it (after it, for those before the first one heard)."""
    out: dict[int, str] = {}
    last = next((heard[i] for i in members if i in heard), None)
    for i in members:
        last = heard.get(i, last)
        if last is not None:
            out[i] = last
    return out


def span_languages(audio: np.ndarray, spans: Sequence[Span], detect: Detector,
                   window_s: float, fallback: str | None = None) -> list[str | None]:
    """The language of each span: its piece's, or, around a switch, its own."""
    groups = pieces(spans, int(window_s * WHISPER_RATE))
    guesses = in_force(detect([_sample(_speech(audio, spans, m)) for m in groups]), fallback)
    labels: list[str | None] = [None] * len(spans)
    for members, language in zip(groups, guesses):
        for i in members:
            labels[i] = language
    for k in range(len(groups) - 1):
        pair = {guesses[k], guesses[k + 1]}
        if None in pair or len(pair) == 1:
            continue
        members = groups[k] + groups[k + 1]
        near = [i for i in members if spans[i][1] - spans[i][0] >= MIN_SPAN_S * WHISPER_RATE]
        heard = {i: language
                 for i, (language, probability) in zip(near, detect([audio[spans[i][0]:spans[i][1]]
                                                                     for i in near]))
                 if language in pair and probability >= MIN_PROBABILITY}
        for i, language in _spread(members, heard).items():
            labels[i] = language
    return labels


def stretches(length: int, spans: Sequence[Span], labels: Sequence[str | None]) -> list[Stretch]:
    """Neighbouring spans of one language joined; the cut between two languages in the middle
    of the pause between them; together they cover all `length` samples."""
    out: list[Stretch] = []
    prev_end = 0
    for (lo, hi), language in zip(spans, labels):
        if not out:
            out.append(Stretch(0, length, language))
        elif out[-1].language != language:
            cut = (prev_end + lo) // 2
            out[-1] = Stretch(out[-1].start, cut, out[-1].language)
            out.append(Stretch(cut, length, language))
        prev_end = hi
    return out


def plan(audio: np.ndarray, detect: Detector, window_s: float,
         fallback: str | None = None) -> list[Stretch]:
    """The stretches of 16 kHz `audio`, each with the language spoken in it; `fallback`: the
    language heard last before this audio."""
    spans = speech_spans(audio, window_s)
    if not spans:
        return [Stretch(0, len(audio), fallback)]
    return stretches(len(audio), spans, span_languages(audio, spans, detect, window_s, fallback))
