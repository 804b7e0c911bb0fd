"""Learning a person's taste from their votes: scoring weights refitted from 👍/👎/kept.

Pure functions, no database (see `pipeline.jobs.learning_store` for that side).

The model. A clip's default score is s0 = Σ w0ᵢ·xᵢ / Σ w0 (xᵢ: the clip's breakdown, 0..1;
w0: the default weights). A person's taste is modelled as

    P(liked | x) = σ(a + κ·s0(x) + Σ δᵢ·xᵢ)

fitted with scikit-learn's LogisticRegression. κ (how much the default score explains)
and a are effectively unpenalised; the deviations δ carry an L2 penalty of `strength`,
so δ = 0, which means "the defaults are right", is where the fit starts and where it
stays unless the votes say otherwise. The penalty is fixed while the likelihood grows
with every vote, so the pull toward the defaults weakens as votes accumulate. A feature
the votes say nothing about (constant, or missing from the breakdowns) keeps δ = 0; a
feature missing from some breakdowns only (a stream without chat) is left out of those
clips' s0, as scoring does, and counts as 0 in their deviations.

δᵢ is the extra log-odds of a like per unit of feature i beyond what the default score
predicts; it becomes a multiplicative change of that weight: wᵢ = w0ᵢ·exp(δᵢ) (capped at
×e^±MAX_LOG_CHANGE), then all weights are rescaled to the defaults' total so scores stay
on the same scale. Weights are therefore never negative, and a feature whose default
weight is 0 stays switched off.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from pipeline.media.config import FEATURES

DEFAULT_STRENGTH = 3.0
DEFAULT_MIN_VOTES = 8
MAX_LOG_CHANGE = 2.5
# The default-score column is multiplied by this so that its coefficient (κ / ANCHOR_SCALE)
# is tiny and the L2 penalty, which scikit-learn applies to every coefficient, leaves it
# practically free: only the deviations δ are pulled toward zero.
ANCHOR_SCALE = 100.0


def feature_order(defaults: Mapping[str, float]) -> list[str]:
    """The weights' names: FEATURES order, then any others `defaults` has, sorted."""
    return [f for f in FEATURES if f in defaults] + sorted(k for k in defaults if k not in FEATURES)


def _value(breakdown: Mapping[str, float], name: str) -> float:
    """The feature's value in 0..1, NaN when the clip has none (e.g. no chat replay)."""
    try:
        value = float(breakdown[name])
    except (KeyError, TypeError, ValueError):
        return math.nan
    return min(1.0, max(0.0, value)) if math.isfinite(value) else math.nan


def fit_weights(examples: Sequence[tuple[Mapping[str, float], int]], defaults: Mapping[str, float], *,
                strength: float = DEFAULT_STRENGTH,
                min_votes: int = DEFAULT_MIN_VOTES) -> dict[str, float] | None:
    """Scoring weights refitted to `examples` — (breakdown, 1 liked or kept / 0 disliked) —
    regularised toward `defaults` (see the module docstring for the model). Covers every
    name in `defaults`, non-negative, same total as `defaults`. None when there are fewer
    than `min_votes` examples or only one class. Deterministic: the same input gives the
    same weights."""
    if strength <= 0:
        raise ValueError("strength must be > 0")
    if len(examples) < max(1, min_votes):
        return None
    labels = np.array([1 if int(label) > 0 else 0 for _, label in examples])
    if labels.min() == labels.max():
        return None
    names = feature_order(defaults)
    w0 = np.array([max(0.0, float(defaults[n])) for n in names])
    total = float(w0.sum())
    if total <= 0:
        return None
    x = np.array([[_value(breakdown, n) for n in names] for breakdown, _ in examples])
    present = ~np.isnan(x)
    x = np.where(present, x, 0.0)
    # Scoring leaves a clip's missing features out of its weighted mean; so does s0.
    s0 = (x @ w0) / np.maximum(present @ w0, 1e-9)

    from sklearn.linear_model import LogisticRegression  # imported here: a second at start-up

    model = LogisticRegression(C=1.0 / strength, max_iter=2000, tol=1e-8)
    model.fit(np.column_stack([s0 * ANCHOR_SCALE, x]), labels)
    delta = np.clip(model.coef_[0][1:], -MAX_LOG_CHANGE, MAX_LOG_CHANGE)
    weights = w0 * np.exp(delta)
    weights *= total / weights.sum()
    return {n: float(w) for n, w in zip(names, weights)}
