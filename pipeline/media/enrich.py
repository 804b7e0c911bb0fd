"""Text features per sentence, then spread over per-second curves.

Semantic closeness to the hype anchors, emotion, keyword and emote hits, speech rate and
exclamations. Sentences are rebuilt from word timestamps, since a Whisper segment can hold
several sentences or half of one."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from pipeline.media.config import Settings
from pipeline.media.embeddings import embedding_threads, load_embedder, model_for_language
from pipeline.media.emotion import emotion_scores
from pipeline.media.models import Transcript, Word

SENTENCE_END = re.compile(r"[.!?…]+[\"')\]]*$")
MAX_WORD_GAP_S = 1.2


@dataclass(frozen=True)
class Sentence:
    start: float
    end: float
    text: str
    n_words: int


@dataclass(frozen=True)
class SentenceFeatures:
    start: float
    end: float
    text: str
    semantic: float
    emotion: float
    keywords: int
    speech_rate: float
    exclamation: float


def sentences_from(transcript: Transcript) -> list[Sentence]:
    out: list[Sentence] = []
    for seg in transcript.segments:
        if not seg.words:
            if seg.text.strip():
                out.append(Sentence(seg.start, seg.end, seg.text.strip(), len(seg.text.split())))
            continue
        current: list[Word] = []
        for word in seg.words:
            if current and word.start - current[-1].end > MAX_WORD_GAP_S:
                out.append(_sentence(current))
                current = []
            current.append(word)
            if SENTENCE_END.search(word.text.strip()):
                out.append(_sentence(current))
                current = []
        if current:
            out.append(_sentence(current))
    return out


def _sentence(words: list[Word]) -> Sentence:
    text = " ".join(w.text.strip() for w in words).strip()
    return Sentence(words[0].start, words[-1].end, text, len(words))


def keyword_hits(text: str, keywords: list[str]) -> int:
    lowered = text.lower()
    return sum(
        len(re.findall(rf"(?<!\w){re.escape(k.lower())}(?!\w)", lowered)) for k in keywords
    )


def exclamation_score(text: str) -> float:
    bangs = text.count("!")
    caps = sum(1 for w in re.findall(r"\w{3,}", text) if w.isupper())
    stretched = len(re.findall(r"(\w)\1{2,}", text))
    return float(min(3.0, bangs + caps + stretched))


def enrich(transcript: Transcript, settings: Settings) -> tuple[list[SentenceFeatures], dict[str, str]]:
    """Features per sentence and which models produced them."""
    sentences = sentences_from(transcript)
    lang = transcript.language or "en"
    model_name = model_for_language(settings.embeddings.models, lang)
    info = {"embedding_model": model_name}
    if not sentences:
        info["emotion"] = "none (no speech)"
        return [], info
    embed = load_embedder(model_name, embedding_threads(settings.embeddings.threads))
    anchors = settings.for_language(settings.anchors, lang)
    prototypes = settings.for_language(settings.emotion_prototypes, lang)
    texts = [s.text for s in sentences]
    vecs = embed(texts + anchors + prototypes)
    s_vecs = vecs[:len(texts)]
    a_vecs = vecs[len(texts):len(texts) + len(anchors)]
    p_vecs = vecs[len(texts) + len(anchors):]
    semantic = np.clip((s_vecs @ a_vecs.T).max(axis=1), 0, 1) if len(a_vecs) else np.zeros(len(texts))
    emotion, info["emotion"] = emotion_scores(texts, s_vecs, p_vecs, settings.emotion)
    keywords = settings.for_language(settings.keywords, lang)
    feats = [
        SentenceFeatures(
            start=s.start, end=s.end, text=s.text,
            semantic=float(semantic[i]), emotion=float(emotion[i]),
            keywords=keyword_hits(s.text, keywords),
            speech_rate=s.n_words / max(0.5, s.end - s.start),
            exclamation=exclamation_score(s.text),
        )
        for i, s in enumerate(sentences)
    ]
    return feats, info


def text_curves(features: list[SentenceFeatures], duration: float) -> dict[str, np.ndarray]:
    """Each second takes the strongest value of the sentences spoken during it."""
    n = max(1, int(np.ceil(duration)))
    curves = {k: np.zeros(n) for k in ("semantic", "emotion", "keywords", "speech_rate", "exclamation")}
    for f in features:
        lo = min(n - 1, int(f.start))
        hi = min(n, max(lo + 1, int(np.ceil(f.end))))
        for key in curves:
            value = float(getattr(f, key))
            curves[key][lo:hi] = np.maximum(curves[key][lo:hi], value)
    return curves


def features_to_dicts(features: list[SentenceFeatures]) -> list[dict[str, Any]]:
    return [asdict(f) for f in features]


def features_from_dicts(rows: list[dict[str, Any]]) -> list[SentenceFeatures]:
    return [SentenceFeatures(**r) for r in rows]
