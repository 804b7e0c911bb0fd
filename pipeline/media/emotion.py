"""Emotional arousal of each sentence, 0..1.

With `emotion.model` set, a transformers text-classification pipeline scores it (the share
of probability on high-arousal labels). Without one, an offline scorer needs no download:
a small lexicon of excited words and emotes, plus similarity to emotion prototype phrases."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pipeline.media.config import EmotionSettings
from pipeline.media.errors import ConfigError

EXCITED_WORDS = (
    "wow", "omg", "god", "insane", "crazy", "amazing", "awesome", "incredible", "unbelievable",
    "haha", "hahaha", "lol", "lmao", "yes", "no", "what", "holy", "damn", "dude", "scream",
    "love", "hate", "furious", "scared", "terrified", "excited", "hilarious", "best", "worst",
    "вау", "офигеть", "ахаха", "ахахах", "хаха", "жесть", "капец", "обалдеть", "невероятно",
    "круто", "класс", "ужас", "страшно", "бесит", "люблю", "ненавижу", "да", "нет", "боже",
)
_WORD = re.compile(r"\w+", re.UNICODE)
_LAUGH = re.compile(r"(ha){2,}|(ах){2,}|(ха){2,}|\){3,}", re.IGNORECASE)


def lexicon_arousal(text: str) -> float:
    words = [w.lower() for w in _WORD.findall(text)]
    if not words:
        return 0.0
    hits = sum(w in EXCITED_WORDS for w in words) + len(_LAUGH.findall(text))
    return float(min(1.0, hits / 3.0))


def prototype_arousal(sentence_vecs: np.ndarray, prototype_vecs: np.ndarray) -> np.ndarray:
    if len(sentence_vecs) == 0 or len(prototype_vecs) == 0:
        return np.zeros(len(sentence_vecs))
    arousal: NDArray[Any] = np.clip((sentence_vecs @ prototype_vecs.T).max(axis=1), 0.0, 1.0)
    return arousal


@functools.lru_cache(maxsize=2)
def _classifier(model: str) -> Callable[..., Any]:
    try:
        from transformers import pipeline
        return pipeline("text-classification", model=model, top_k=None, device=-1)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"Could not load the emotion model '{model}': {exc}") from exc


def classifier_arousal(texts: list[str], cfg: EmotionSettings) -> np.ndarray:
    if not texts:
        return np.zeros(0)
    high = {label.lower() for label in cfg.high_arousal_labels}
    results = _classifier(cfg.model)(texts, truncation=True)
    return np.array([
        sum(r["score"] for r in scores if r["label"].lower() in high) for scores in results
    ])


def emotion_scores(texts: list[str], sentence_vecs: np.ndarray, prototype_vecs: np.ndarray,
                   cfg: EmotionSettings) -> tuple[np.ndarray, str]:
    """Arousal per sentence and the name of the method that produced it."""
    if cfg.model:
        return classifier_arousal(texts, cfg), f"transformers:{cfg.model}"
    lex = np.array([lexicon_arousal(t) for t in texts]) if texts else np.zeros(0)
    return 0.5 * lex + 0.5 * prototype_arousal(sentence_vecs, prototype_vecs), "offline:lexicon+prototypes"
