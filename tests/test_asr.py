"""Speech recognition on real models: the packaged Whisper base (faster-whisper) and a tiny
random openai-whisper checkpoint, over speech made by espeak-ng and festival."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

from pipeline.media.asr import iter_chunks, quietest_point, transcribe
from pipeline.media.asr.model_store import PACKAGED, PackagedModel, resolve_whisper_model, unpack
from pipeline.media.config import Settings, load_settings
from pipeline.media.errors import ConfigError
from pipeline.media.models import Transcript, Word
from tests.speech import (
    english_samples,
    espeak_wav,
    festival_ru_wav,
    raw_duration,
    silence,
    to_raw_f32,
    write_raw_f32,
)

RATE = 16000
REPO = Path(__file__).resolve().parents[1]
SHARED_MEDIA = Path(__file__).resolve().parents[2] / "shared" / "media"


def norm(text: str) -> str:
    return re.sub(r"[^\w']+", "", text.lower())


def said(words: list[Word]) -> list[str]:
    return [norm(w.text) for w in words]


def assert_times_sane(transcript: Transcript, duration: float) -> None:
    words = transcript.words
    starts = [w.start for w in words]
    assert starts == sorted(starts), "word starts must not go backwards"
    for w in words:
        assert 0.0 <= w.start <= w.end <= duration + 1e-6, w
    for s in transcript.segments:
        assert 0.0 <= s.start <= s.end <= duration + 1e-6, s


@pytest.fixture(scope="module")
def settings() -> Settings:
    return load_settings()


def run(raw: Path, settings: Settings) -> Transcript:
    return transcribe(raw, raw_duration(raw), settings)


# --- the packaged model ------------------------------------------------------------------

def test_other_names_are_returned_unchanged(tmp_path: Path) -> None:
    assert resolve_whisper_model("small", tmp_path) == "small"
    assert resolve_whisper_model("/opt/models/whisper", tmp_path) == "/opt/models/whisper"
    assert not any(tmp_path.iterdir())


def test_unknown_packaged_name_and_missing_package(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="packaged:whisper-base"):
        resolve_whisper_model("packaged:whisper-huge", tmp_path)
    absent = PackagedModel(folder="x", joined="model.bin",
                           parts=(("clipfactory_no_such_package", "model.bin.part1"),), files=())
    with pytest.raises(ConfigError) as err:
        unpack(absent, tmp_path)
    assert "clipfactory_no_such_package" in str(err.value)


@pytest.mark.slow
def test_packaged_model_joined_once_by_racing_processes(tmp_path: Path) -> None:
    code = ("import sys; from pathlib import Path; "
            "from pipeline.media.asr.model_store import resolve_whisper_model as r; "
            "print(r('packaged:whisper-base', Path(sys.argv[1])))")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], cwd=REPO,
                              stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    folder = tmp_path / PACKAGED["whisper-base"].folder
    assert outs == [str(folder), str(folder)]
    assert sorted(p.name for p in tmp_path.iterdir()) == [folder.name], "no temp folders left"
    parts = [p.stat().st_size for p in
             (Path(__import__(pkg).__file__).parent / "data" / name
              for pkg, name in PACKAGED["whisper-base"].parts)]
    assert (folder / "model.bin").stat().st_size == sum(parts)
    assert {p.name for p in folder.iterdir()} == {
        "model.bin", "config.json", "tokenizer.json", "vocabulary.txt"}

    mtime = (folder / "model.bin").stat().st_mtime_ns
    assert resolve_whisper_model("packaged:whisper-base", tmp_path) == str(folder)
    assert (folder / "model.bin").stat().st_mtime_ns == mtime, "joined once, then reused"

    with open(folder / "model.bin", "r+b") as f:  # a damaged copy is replaced
        f.truncate(1000)
    assert resolve_whisper_model("packaged:whisper-base", tmp_path) == str(folder)
    assert (folder / "model.bin").stat().st_size == sum(parts)
    assert sorted(p.name for p in tmp_path.iterdir()) == [folder.name]


# --- chunking ----------------------------------------------------------------------------

def test_chunks_cut_in_quiet_gaps_and_cover_the_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    audio = rng.normal(0, 0.2, 95 * RATE).astype(np.float32)
    # Quiet gaps inside the search windows (the last 10 s) of 30 s chunks; the two in the
    # second window are equally silent, and the later one must win.
    audio[int(24.0 * RATE):int(24.3 * RATE)] *= 0.001
    audio[int(46.0 * RATE):int(46.3 * RATE)] = 0
    audio[int(52.0 * RATE):int(52.4 * RATE)] = 0
    audio[int(78.0 * RATE):int(78.3 * RATE)] *= 0.001
    raw = write_raw_f32(audio, tmp_path / "noise.f32")
    chunks = list(iter_chunks(raw, len(audio), RATE, 30.0))
    starts = [s / RATE for s, _ in chunks]
    assert starts[0] == 0
    assert sum(len(c) for _, c in chunks) == len(audio)
    for (s, c), (nxt, _) in zip(chunks, chunks[1:]):
        assert s + len(c) == nxt, "chunks neither overlap nor leave holes"
    assert all(len(c) <= 30 * RATE for _, c in chunks)
    cuts = starts[1:]
    assert len(cuts) == 3
    assert 24.0 < cuts[0] < 24.3
    assert 52.0 < cuts[1] < 52.4
    assert 78.0 < cuts[2] < 78.3
    np.testing.assert_array_equal(np.concatenate([c for _, c in chunks]), audio)


def test_quietest_point_prefers_the_latest_of_equal_silences() -> None:
    x = np.ones(RATE, dtype=np.float32)
    x[1000:3000] = 0
    x[8000:12000] = 0
    assert 8000 + 800 <= quietest_point(x, 1600, 160) <= 12000 - 800


# --- faster-whisper on speech ------------------------------------------------------------

def test_english_speech(tmp_path: Path, settings: Settings) -> None:
    text = "Welcome back to the stream. Today we are fighting the final boss. Let's go!"
    raw = to_raw_f32(espeak_wav(text, tmp_path / "en.wav"), tmp_path / "en.f32")
    notes: list[tuple[float, str]] = []
    duration = raw_duration(raw)
    tr = transcribe(raw, duration, settings, progress=lambda f, n="": notes.append((f, n)))
    words = said(tr.words)
    for key in ("welcome", "stream", "final", "boss", "fighting"):
        assert key in words, tr.text
    assert tr.language == "en"
    assert (tr.engine, tr.model) == ("faster-whisper", "packaged:whisper-base")
    assert tr.duration == duration
    assert all(w.text == w.text.lstrip() and w.text for w in tr.words)
    assert_times_sane(tr, duration)
    assert notes[-1][0] == 1.0 and all(0 <= f <= 1 for f, _ in notes)
    assert Transcript.from_dict(tr.to_dict()) == tr


def test_russian_speech(tmp_path: Path, settings: Settings) -> None:
    text = "Привет всем, сегодня мы играем в новую игру. Это было невероятно красиво!"
    raw = to_raw_f32(festival_ru_wav(text, tmp_path / "ru.wav"), tmp_path / "ru.f32")
    tr = run(raw, settings)
    assert tr.language == "ru"
    words = said(tr.words)
    for key in ("привет", "сегодня", "играем", "невероятно", "красиво"):
        assert key in words, tr.text
    assert_times_sane(tr, raw_duration(raw))


def test_jfk_recording(tmp_path: Path, settings: Settings) -> None:
    src = SHARED_MEDIA / "jfk.flac"
    if not src.exists():
        pytest.skip(f"{src} is absent")
    raw = to_raw_f32(src, tmp_path / "jfk.f32")
    tr = run(raw, settings)
    assert tr.language == "en"
    text = " ".join(said(tr.words))
    assert "ask not what your country can do for you" in text, tr.text
    assert "americans" in text
    assert_times_sane(tr, raw_duration(raw))


def test_silence_gives_an_empty_transcript(tmp_path: Path, settings: Settings) -> None:
    raw = write_raw_f32(silence(4.0), tmp_path / "quiet.f32")
    tr = run(raw, settings)
    assert tr.segments == () and tr.text == ""
    assert tr.engine == "faster-whisper"


# Each sentence carries one word said nowhere else; ELEPHANT starts at MARK_S exactly.
SENTENCES = [
    ("knight", "The brave knight opens the castle gate."),
    ("tower", "Our team captures the northern tower."),
    ("chocolate", "My friend bakes a chocolate cake."),
    ("airplane", "The pilot lands the small airplane."),
    ("village", "A doctor visits the old village."),
    ("treasure", "We found a treasure under the bridge."),
    ("tomatoes", "The farmer sells fresh tomatoes."),
    ("ocean", "The river flows toward the ocean."),
    ("guitar", "My brother plays the guitar every night."),
    ("sofa", "An orange cat sleeps on the sofa."),
    ("teacher", "The teacher reads a long story."),
    ("garden", "Flowers grow in the garden in spring."),
    ("winter", "Snow covers the hills in winter."),
    ("coffee", "I drink hot coffee every morning."),
    ("dragon", "The dragon guards the golden mountain."),
]
MARK_WORD, MARK_TEXT, MARK_S = "elephant", "Elephant rides are fun at the zoo.", 50.0
AFTER = [
    ("concert", "The singer performs a loud concert."),
    ("rocket", "A rocket flies to the moon tonight."),
    ("library", "She borrows books from the library."),
    ("soccer", "The children play soccer after school."),
    ("pizza", "We ordered a big pizza for dinner."),
    ("train", "The last train leaves at midnight."),
]


class Said(NamedTuple):
    """A sentence's unique word and where the sentence's voice really is in the assembled
    audio (first and last sample above VOICED of the espeak-ng piece, plus its offset)."""
    key: str
    onset: float
    end: float


VOICED = 0.01  # espeak-ng speaks at up to ~0.8; its pauses stay under 0.01


def _said(key: str, at: int, voice: np.ndarray) -> Said:
    loud = np.flatnonzero(np.abs(voice) > VOICED)
    return Said(key, float(at + loud[0]) / RATE, float(at + loud[-1] + 1) / RATE)


def _long_speech(workdir: Path) -> tuple[np.ndarray, list[Said]]:
    """About 70 s of sentences with short pauses, the marker at MARK_S, more after it;
    and the unique words in the order they are said, each with its sentence's true span."""
    gap = silence(0.5)
    pieces: list[np.ndarray] = [silence(0.3)]
    keys: list[Said] = []

    def say(key: str, voice: np.ndarray) -> None:
        keys.append(_said(key, sum(map(len, pieces)), voice))
        pieces.append(voice)

    for key, sentence in SENTENCES:
        voice = english_samples(sentence, workdir)
        if (sum(map(len, pieces)) + len(voice) + len(gap)) / RATE > MARK_S - 0.5:
            break
        say(key, voice)
        pieces.append(gap)
    pieces.append(silence(MARK_S - sum(map(len, pieces)) / RATE))
    assert abs(sum(map(len, pieces)) / RATE - MARK_S) < 0.01
    say(MARK_WORD, english_samples(MARK_TEXT, workdir))
    for key, sentence in AFTER:
        pieces.append(gap)
        say(key, english_samples(sentence, workdir))
    pieces.append(silence(0.5))
    return np.concatenate(pieces), keys


# How far faster-whisper's word times may stray from the voice, from its own rules
# (faster_whisper/transcribe.py, add_word_timestamps; VadOptions):
#  - a word's end is a DTW frame boundary (20 ms) of its own voice, or, for the last word of
#    a segment, the segment's end, which the VAD pads by speech_pad_ms = 400 ms;
#  - the first word after a pause has its start clamped to end - max_duration, where
#    max_duration = 2 * min(0.7 s, median word duration) <= 1.4 s: it may begin up to 1.4 s
#    before the voice does (the batched pipeline stitches VAD-cut speech, so the silence
#    before it is gone and alignment drifts back into the padding).
# Measured (faster-whisper 1.2.1, ctranslate2 4.8.5, onnxruntime 1.32.0, on 2 AMD EPYC cores):
# over cpu_threads 1/2/4, CT2_FORCE_CPU_ISA GENERIC/AVX/AVX2/AVX512, chunk_s 30-45 and 600,
# batch 1/4/8/16, beam 1/5 and with 3 busy processes on the 2 cores, every word's end stayed
# inside its sentence's voice and only "elephant" (first after 6 s of silence) started early:
# 0.0-1.01 s (0.99 s with chunks of 30 s here, 1.01 s unchunked; load and threads changed
# nothing). The old check |start - 50 s| < 1 s sat right at that edge. Chunk offsets
# wrong by 0.5 s or more move sentence-final words' ends out of their sentences.
FRAME_S = 0.02
VAD_PAD_S = 0.4
FIRST_WORD_MAX_S = 1.4


@pytest.mark.slow
def test_chunked_transcription_keeps_order_and_offsets(tmp_path: Path) -> None:
    audio, keys = _long_speech(tmp_path)
    duration = len(audio) / RATE
    assert duration > 65
    raw = write_raw_f32(audio, tmp_path / "long.f32")
    settings = load_settings(asr={"chunk_s": 30})
    notes: list[float] = []
    tr = transcribe(raw, duration, settings, progress=lambda f, n="": notes.append(f))
    assert len(notes) >= 4, "three chunks or more, each reported"
    assert notes == sorted(notes) and notes[-1] == 1.0
    assert tr.language == "en"
    assert_times_sane(tr, duration)

    words = said(tr.words)
    spoken = [k for k in keys if any(k.key in w for w in words)]
    assert len(spoken) >= 0.8 * len(keys), tr.text
    positions = []
    for k in spoken:
        hits = [i for i, w in enumerate(words) if k.key in w]
        assert len(hits) == 1, f"'{k.key}' heard {len(hits)} times: {tr.text}"
        positions.append(hits[0])
    assert positions == sorted(positions), "words keep their order across chunks"

    # Each word where its sentence's voice is, in the whole file's time.
    for k, i in zip(spoken, positions):
        w = tr.words[i]
        assert k.onset - FRAME_S <= w.end <= k.end + VAD_PAD_S + FRAME_S, (k, w)
        assert k.onset - FIRST_WORD_MAX_S - FRAME_S <= w.start <= k.end, (k, w)
    mark = next(tr.words[i] for k, i in zip(spoken, positions) if k.key == MARK_WORD)
    onset = next(k.onset for k in keys if k.key == MARK_WORD)
    assert abs(onset - MARK_S) < 0.05, "espeak-ng starts speaking at once"
    # Its sentence's first word: it ends after the voice begins and starts no later than a
    # few frames after it.
    assert onset - FIRST_WORD_MAX_S - FRAME_S <= mark.start <= onset + 5 * FRAME_S < mark.end, mark


# --- openai-whisper ----------------------------------------------------------------------

@pytest.mark.slow
def test_openai_whisper_engine_with_a_tiny_random_checkpoint(tmp_path: Path, tiny_whisper_checkpoint: Path) -> None:
    checkpoint = tiny_whisper_checkpoint
    raw = to_raw_f32(espeak_wav("Welcome back to the stream.", tmp_path / "s.wav"),
                     tmp_path / "s.f32")
    duration = raw_duration(raw)
    assert duration < 4
    settings = load_settings(asr={"engine": "openai-whisper", "model": str(checkpoint),
                                  "language": "en"})
    tr = transcribe(raw, duration, settings)
    assert isinstance(tr, Transcript)
    assert (tr.engine, tr.model, tr.language) == ("openai-whisper", str(checkpoint), "en")
    assert_times_sane(tr, duration)


def test_openai_whisper_refuses_the_faster_whisper_package(tmp_path: Path) -> None:
    pytest.importorskip("whisper")
    raw = write_raw_f32(silence(1.0), tmp_path / "q.f32")
    settings = load_settings(asr={"engine": "openai-whisper"})
    with pytest.raises(ConfigError, match="faster-whisper"):
        transcribe(raw, 1.0, settings)


# --- cascade ------------------------------------------------------------------------------

def test_cascade_windows_are_padded_and_joined() -> None:
    from pipeline.media.asr.cascade import merged

    assert merged([(50, 60), (10, 20), (19.5, 30)], 1.0, 58.0) == [(9.0, 31.0), (49.0, 58.0)]


@pytest.mark.slow
def test_cascade_retranscribes_only_the_chosen_windows(tmp_path: Path) -> None:
    from pipeline.media.asr.cascade import refine_words

    audio, _ = _long_speech(tmp_path)
    duration = len(audio) / RATE
    raw = write_raw_f32(audio, tmp_path / "long.f32")
    fast = transcribe(raw, duration, load_settings())
    inside = [w for w in fast.words if 21 <= w.start < 39]
    assert inside, fast.text
    settings = load_settings(asr={"cascade_model": "packaged:whisper-base", "cascade_beam_size": 5})
    words = refine_words(raw, fast, [(22.0, 38.0)], settings)
    assert [w for w in words if not 21 <= w.start < 39] == [w for w in fast.words if not 21 <= w.start < 39]
    again = [w for w in words if 21 <= w.start < 39]
    assert len(again) >= 0.7 * len(inside)
    assert len(set(said(again)) & set(said(inside))) >= 0.7 * len(set(said(inside))), (again, inside)
    assert [w.start for w in words] == sorted(w.start for w in words)

    broken = load_settings(asr={"cascade_model": str(tmp_path / "no-such-model")})
    with pytest.raises(ConfigError):
        refine_words(raw, fast, [(22.0, 38.0)], broken)
