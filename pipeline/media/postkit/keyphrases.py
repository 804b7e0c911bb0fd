"""Keyphrases of a short text with YAKE (statistical, no model, per-language stopword lists:
English and Russian among about 35), and the stopwords that tell content words apart."""

from __future__ import annotations

import functools
import importlib.util
import re
from pathlib import Path

WORD = re.compile(r"[^\W\d_][\w'’-]*", re.UNICODE)
MIN_CHARS = 3


@functools.lru_cache(maxsize=16)
def stopwords(language: str) -> frozenset[str]:
    """YAKE's stopword list for `language` (English when it has none)."""
    spec = importlib.util.find_spec("yake")
    if spec is None or not spec.submodule_search_locations:
        return frozenset()
    folder = Path(next(iter(spec.submodule_search_locations))) / "core" / "StopwordsList"
    path = folder / f"stopwords_{language}.txt"
    if not path.exists():
        path = folder / "stopwords_en.txt"
    text = path.read_text(encoding="utf-8", errors="ignore")
    return frozenset(w.strip().lower() for w in text.split() if w.strip())


def content_words(text: str, language: str) -> list[str]:
    """Words that are not stopwords and have at least MIN_CHARS letters, in order, lower-cased."""
    stop = stopwords(language)
    return [w for w in (m.group(0).lower() for m in WORD.finditer(text))
            if len(w) >= MIN_CHARS and w not in stop]


def keyphrases(text: str, language: str, top: int = 10, max_words: int = 2,
               skip: frozenset[str] = frozenset()) -> list[str]:
    """The text's keyphrases, best first, lower-cased, each of content words only at its ends
    and none of the `skip` words."""
    if not content_words(text, language):
        return []
    import yake

    extractor = yake.KeywordExtractor(lan=language or "en", n=max_words, top=top * 2, dedupLim=0.7)
    stop = stopwords(language)
    out: list[str] = []
    for phrase, _ in extractor.extract_keywords(text):
        words = [w.lower() for w in WORD.findall(phrase)]
        if (not words or words[0] in stop or words[-1] in stop or any(len(w) < MIN_CHARS for w in words)
                or any(w in skip for w in words)):
            continue
        joined = " ".join(words)
        if joined not in out:
            out.append(joined)
        if len(out) == top:
            break
    return out
