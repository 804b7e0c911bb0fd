"""The post kit asked of a language model: the prompt, and the strict reading of its answer.

The model gets the clip's transcript, the VOD's title, why the clip scored and the offline
kit as a starting point; it answers one JSON object with a title, a description, hashtags, a
0–10 rating of the moment and a one-line reason. An answer that is not such an object, or
whose title is empty or in another script than the clip's language, is refused
(`BadAnswer`): the caller keeps the offline kit."""

from __future__ import annotations

import json
import re
from typing import Any

from pipeline.media.config import LlmSettings, PostKitSettings
from pipeline.media.llm import ChatModel
from pipeline.media.postkit.kit import ClipBrief, PostKit, hashtag, shorten

LANGUAGE_NAMES = {"en": "English", "ru": "Russian", "uk": "Ukrainian", "de": "German", "es": "Spanish",
                  "fr": "French", "pt": "Portuguese", "it": "Italian", "pl": "Polish"}
CYRILLIC = re.compile(r"[А-Яа-яЁёІіЇїЄєҐґ]")
LATIN = re.compile(r"[A-Za-z]")
CYRILLIC_LANGUAGES = {"ru", "uk", "be", "bg", "sr", "mk", "kk"}
MAX_TRANSCRIPT_CHARS = 1500
MAX_REASON_CHARS = 120
MAX_TAG_CHARS = 24
SYSTEM = ("You write posts for short vertical videos cut from game streams. "
          "Answer with one JSON object and nothing else.")


class BadAnswer(ValueError):
    """The model answered, but not something a post kit can be made of."""


def messages(brief: ClipBrief, draft: PostKit, settings: PostKitSettings) -> list[dict[str, str]]:
    language = LANGUAGE_NAMES.get(brief.language, brief.language or "English")
    again = (f"\nA title was already suggested: \"{draft.title}\". Write a different one."
             if draft.variant else "")
    user = (f"Transcript of the clip ({language}): \"{brief.text[:MAX_TRANSCRIPT_CHARS]}\"\n"
            f"Stream title: \"{brief.vod_title}\"\n"
            f"Why it was picked: {', '.join(brief.reasons) or 'overall excitement'}\n"
            f"Keyphrases: {', '.join(draft.keyphrases) or '-'}\n"
            f"Write in {language}: a catchy title of at most {settings.title_max_chars} characters, "
            f"a description of one or two sentences, {settings.hashtags_min} to {settings.hashtags_max} "
            "hashtags, and rate from 0 to 10 how likely the clip is to go viral, with a one-line reason."
            f"{again}\nAnswer as JSON: {{\"title\": \"...\", \"description\": \"...\", "
            "\"hashtags\": [\"#...\"], \"rating\": 7, \"reason\": \"...\"}")
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def _object(answer: str) -> dict[str, Any]:
    start, end = answer.find("{"), answer.rfind("}")
    if start < 0 or end <= start:
        raise BadAnswer(f"no JSON object in the answer: {answer[:80]!r}")
    try:
        data = json.loads(answer[start:end + 1])
    except json.JSONDecodeError as exc:
        raise BadAnswer(f"the answer is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BadAnswer("the answer is not a JSON object")
    return data


def in_language(text: str, language: str) -> bool:
    """Whether `text` is written in the script of `language` (Cyrillic or Latin; others pass)."""
    if language in CYRILLIC_LANGUAGES:
        return bool(CYRILLIC.search(text))
    if language in LANGUAGE_NAMES:
        return bool(LATIN.search(text)) and not CYRILLIC.search(text)
    return True


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key, "")
    return " ".join(value.split()) if isinstance(value, str) else ""


def read_answer(answer: str, brief: ClipBrief, draft: PostKit, settings: PostKitSettings,
                writer: str) -> PostKit:
    data = _object(answer)
    title = _text(data, "title").strip("\"'«»“” ")
    if not title:
        raise BadAnswer("the answer has no title")
    language = brief.language or "en"
    if not in_language(title, language):
        raise BadAnswer(f"the title is not in the clip's language ({language}): {title[:60]!r}")
    description = _text(data, "description")
    if not description or not in_language(description, language):
        description = draft.description
    raw_tags = data.get("hashtags", [])
    tags: list[str] = []
    for raw in raw_tags if isinstance(raw_tags, list) else []:
        tag = hashtag(raw) if isinstance(raw, str) else ""
        if tag and len(tag) <= MAX_TAG_CHARS and tag.lower() not in {t.lower() for t in tags}:
            tags.append(tag)
    channel = [t for t in (hashtag(c) for c in brief.tags) if t and t.lower() not in {x.lower() for x in tags}]
    tags = tags[:max(0, settings.hashtags_max - len(channel))] + channel
    for tag in draft.hashtags:   # enough of them, whatever the model said
        if len(tags) >= settings.hashtags_min:
            break
        if tag.lower() not in {t.lower() for t in tags}:
            tags.append(tag)
    rating = data.get("rating")
    rating = float(min(10.0, max(0.0, rating))) if isinstance(rating, int | float) else None
    return PostKit(title=shorten(title, settings.title_max_chars), description=description,
                   hashtags=tuple(tags[:settings.hashtags_max]), language=language, writer=writer,
                   variant=draft.variant, rating=rating,
                   reason=shorten(_text(data, "reason"), MAX_REASON_CHARS), keyphrases=draft.keyphrases)


def ask_kit(model: ChatModel, brief: ClipBrief, draft: PostKit, settings: PostKitSettings,
            llm: LlmSettings) -> PostKit:
    """The model's kit for the clip; raises LlmError or BadAnswer."""
    temperature = min(2.0, llm.temperature + 0.3 * draft.variant)
    answer = model.chat(messages(brief, draft, settings), max_tokens=llm.max_tokens, temperature=temperature)
    return read_answer(answer, brief, draft, settings, f"llm:{model.name}")
