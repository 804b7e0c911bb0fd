"""The offline writer: a post kit from the clip's own words, without a language model.

The title is the clip's most telling sentence (the one that holds most of its keyphrases,
an exclamation or a question preferred), cut to the title length; "New title" takes the next
one. The description says why the moment scored and what the clip is about; the hashtags are
the keyphrases first, then the channel's tags, then generic ones for the language. Languages
other than English and Russian get the English frame around their own words."""

from __future__ import annotations

import re

from pipeline.media.config import PostKitSettings
from pipeline.media.postkit.keyphrases import content_words, keyphrases
from pipeline.media.postkit.kit import ClipBrief, PostKit, hashtag, shorten

SENTENCE_SPLIT = re.compile(r"(?<=[.!?…])\s+")
MAX_TAG_CHARS = 24

REASON_PHRASES: dict[str, dict[str, str]] = {
    "en": {"semantic": "a hype moment", "emotion": "strong emotion", "keywords": "hype words",
           "loudness": "shouting", "timbre": "an excited voice", "motion": "fast action",
           "speech_rate": "fast talking", "bursts": "sudden noise", "pitch": "a voice going wild",
           "exclamation": "exclamations", "scene_cuts": "rapid cuts", "chat": "chat going wild",
           "laughter": "laughter", "scream": "screaming", "crowd": "a cheering crowd",
           "explosion": "explosions"},
    "ru": {"semantic": "хайповый момент", "emotion": "сильные эмоции", "keywords": "громкие слова",
           "loudness": "крики", "timbre": "азарт в голосе", "motion": "быстрый экшен",
           "speech_rate": "быстрая речь", "bursts": "резкие звуки", "pitch": "голос срывается",
           "exclamation": "восклицания", "scene_cuts": "быстрые склейки", "chat": "чат взорвался",
           "laughter": "смех", "scream": "визг", "crowd": "ликование толпы", "explosion": "взрывы"},
}
FRAMES: dict[str, dict[str, str]] = {
    "en": {"why_vod": "{why} — a moment from “{vod}”.", "why": "{why} in one moment.",
           "vod": "A moment from “{vod}”.", "about": "In this clip: {phrases}.", "and": "and",
           "title_vod": "Best moment of {vod}", "title": "Best moment of the stream"},
    "ru": {"why_vod": "{why} — момент из «{vod}».", "why": "{why} в одном моменте.",
           "vod": "Момент из «{vod}».", "about": "В клипе: {phrases}.", "and": "и",
           "title_vod": "Лучший момент: {vod}", "title": "Лучший момент стрима"},
}


def _frame(language: str) -> dict[str, str]:
    return FRAMES.get(language, FRAMES["en"])


def _listing(items: list[str], language: str) -> str:
    if len(items) < 2:
        return "".join(items)
    return f"{', '.join(items[:-1])} {_frame(language)['and']} {items[-1]}"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def title_candidates(text: str, language: str, phrases: list[str]) -> list[str]:
    """The clip's sentences that carry content words, most telling first; then a title made
    of its keyphrases."""
    ranked: list[tuple[float, int, str]] = []
    for i, sentence in enumerate(s.strip() for s in SENTENCE_SPLIT.split(text)):
        if not content_words(sentence, language):
            continue
        lowered = sentence.lower()
        weight = sum(1.0 / (k + 1) for k, p in enumerate(phrases) if p in lowered)
        if sentence.endswith(("!", "?")):
            weight += 0.3
        if len(sentence.split()) < 3:
            weight *= 0.5
        ranked.append((-weight, i, sentence.rstrip(".… ")))
    out = [s for _, _, s in sorted(ranked)]
    if phrases:
        out.append(_capital(_listing(phrases[:3], language)))
    return out


def description(brief: ClipBrief, phrases: list[str], language: str) -> str:
    frame = _frame(language)
    names = REASON_PHRASES.get(language, REASON_PHRASES["en"])
    why = _listing([names[r] for r in brief.reasons[:2] if r in names], language)
    vod = shorten(brief.vod_title, 60)
    first = (frame["why_vod"].format(why=_capital(why), vod=vod) if why and vod
             else frame["why"].format(why=_capital(why)) if why
             else frame["vod"].format(vod=vod) if vod else "")
    second = frame["about"].format(phrases=_listing(phrases[:3], language)) if phrases else ""
    return " ".join(p for p in (first, second) if p) or frame["title"] + "."


def hashtags(brief: ClipBrief, phrases: list[str], language: str, settings: PostKitSettings) -> tuple[str, ...]:
    title_phrases = keyphrases(brief.vod_title, language, top=3) if brief.vod_title else []
    ordered = [*phrases[:3], *brief.tags, *settings.tags, *phrases[3:], *title_phrases]
    defaults = settings.default_tags.get(language) or settings.default_tags.get("en", [])
    out: list[str] = []
    for candidate in ordered:
        tag = hashtag(candidate)
        if tag and len(tag) <= MAX_TAG_CHARS and tag.lower() not in {t.lower() for t in out}:
            out.append(tag)
    out = out[:settings.hashtags_max]
    for candidate in defaults:
        if len(out) >= settings.hashtags_min:
            break
        tag = hashtag(candidate)
        if tag and tag.lower() not in {t.lower() for t in out}:
            out.append(tag)
    return tuple(out)


def offline_kit(brief: ClipBrief, settings: PostKitSettings, variant: int = 0) -> PostKit:
    language = brief.language or "en"
    skip = frozenset(w.lower() for w in settings.skip_words.get(language, ()))
    phrases = keyphrases(brief.text, language, top=settings.keyphrases, skip=skip)
    candidates = title_candidates(brief.text, language, phrases)
    if candidates:
        title = candidates[variant % len(candidates)]
    else:
        frame = _frame(language)
        title = frame["title_vod"].format(vod=brief.vod_title) if brief.vod_title else frame["title"]
    return PostKit(title=shorten(_capital(title), settings.title_max_chars),
                   description=description(brief, phrases, language),
                   hashtags=hashtags(brief, phrases, language, settings), language=language,
                   writer="offline", variant=variant, keyphrases=tuple(phrases))
