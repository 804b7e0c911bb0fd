"""Text features per sentence, then spread over per-second curves.

Semantic closeness to the hype anchors, emotion, keyword and emote hits, speech rate and
exclamations. Sentences are rebuilt from word timestamps, since a Whisper segment can hold
several sentences or half of one. Each sentence is read in its own language (its segment's):
with that language's embedding model, anchors, prototypes and keywords; similarities from a
model other than the stream's main one are brought onto the main model's scale."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from pipeline.media.config import Settings
from pipeline.media.embeddings import SimilarityMap, embedding_threads, hype_level, load_embedder, model_for_language
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
    language: str = ""


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
    language: str = ""


def sentences_from(transcript: Transcript) -> list[Sentence]:
    """Sentences in time order, each in its segment's language (else the transcript's)."""
    out: list[Sentence] = []
    for seg in transcript.segments:
        language = seg.language or transcript.language
        if not seg.words:
            if seg.text.strip():
                out.append(Sentence(seg.start, seg.end, seg.text.strip(), len(seg.text.split()),
                                    language))
            continue
        current: list[Word] = []
        for word in seg.words:
            if current and word.start - current[-1].end > MAX_WORD_GAP_S:
                out.append(_sentence(current, language))
                current = []
            current.append(word)
            if SENTENCE_END.search(word.text.strip()):
                out.append(_sentence(current, language))
                current = []
        if current:
            out.append(_sentence(current, language))
    return out


def _sentence(words: list[Word], language: str) -> Sentence:
    text = " ".join(w.text.strip() for w in words).strip()
    return Sentence(words[0].start, words[-1].end, text, len(words), language)


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


@dataclass(frozen=True)
class _Reading:
    """What one language's sentences scored, by the model for that language."""

    semantic: np.ndarray
    emotion: np.ndarray
    method: str


def _read(texts: list[str], language: str, model_name: str, settings: Settings,
          onto_main: float | None) -> _Reading:
    """Semantic and emotion of `texts` in `language`. With `onto_main` (the main model's hype
    level) the similarities move onto the main model's scale."""
    embed = load_embedder(model_name, embedding_threads(settings.embeddings.threads))
    anchors = settings.for_language(settings.anchors, language)
    prototypes = settings.for_language(settings.emotion_prototypes, language)
    vecs = embed(texts + anchors + prototypes)
    s_vecs = vecs[:len(texts)]
    a_vecs = vecs[len(texts):len(texts) + len(anchors)]
    p_vecs = vecs[len(texts) + len(anchors):]
    scale = SimilarityMap.between(hype_level(a_vecs), onto_main)
    semantic = (np.clip(scale(s_vecs @ a_vecs.T).max(axis=1), 0, 1) if len(a_vecs)
                else np.zeros(len(texts)))
    if len(p_vecs) and scale != SimilarityMap():
        s_vecs, p_vecs = scale.pair(s_vecs, p_vecs)
    emotion, method = emotion_scores(texts, s_vecs, p_vecs, settings.emotion)
    return _Reading(semantic, np.asarray(emotion, dtype=np.float64), method)


def _main_level(language: str, model_name: str, settings: Settings) -> float | None:
    anchors = settings.for_language(settings.anchors, language)
    embed = load_embedder(model_name, embedding_threads(settings.embeddings.threads))
    return hype_level(embed(anchors)) if len(anchors) > 1 else None


def enrich(transcript: Transcript, settings: Settings) -> tuple[list[SentenceFeatures], dict[str, str]]:
    """Features per sentence and which models produced them: `embedding_model` is the main
    one (the transcript's language), `embedding_models` names the model of every language read."""
    sentences = sentences_from(transcript)
    main_language = transcript.language or "en"
    models = settings.embeddings.models
    main_model = model_for_language(models, main_language)
    info = {"embedding_model": main_model}
    if not sentences:
        info["emotion"] = "none (no speech)"
        return [], info
    groups: dict[str, list[int]] = {}
    for i, s in enumerate(sentences):
        groups.setdefault(s.language or main_language, []).append(i)
    info["embedding_models"] = ", ".join(f"{lang}={model_for_language(models, lang)}"
                                         for lang in sorted(groups))
    mixed = any(model_for_language(models, lang) != main_model for lang in groups)
    main_level = _main_level(main_language, main_model, settings) if mixed else None
    semantic = np.zeros(len(sentences))
    emotion = np.zeros(len(sentences))
    methods: list[str] = []
    for language, idx in groups.items():
        model_name = model_for_language(models, language)
        reading = _read([sentences[i].text for i in idx], language, model_name, settings,
                        None if model_name == main_model else main_level)
        semantic[idx] = reading.semantic
        emotion[idx] = reading.emotion
        methods += [reading.method] if reading.method not in methods else []
    info["emotion"] = ", ".join(methods)
    feats = [
        SentenceFeatures(
            start=s.start, end=s.end, text=s.text,
            semantic=float(semantic[i]), emotion=float(emotion[i]),
            keywords=keyword_hits(s.text, settings.for_language(settings.keywords,
                                                                s.language or main_language)),
            speech_rate=s.n_words / max(0.5, s.end - s.start),
            exclamation=exclamation_score(s.text),
            language=s.language or main_language,
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
