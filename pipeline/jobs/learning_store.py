"""The database side of learning from feedback: refit a person's weights after a vote, pick
the weights a job runs with, and reset them.

Weights are learnt per person for all their jobs (template "") and per channel template
once that template's jobs have `learning.min_votes` votes of their own. A job uses its
template's learnt weights, else the person's all-jobs ones, else the configured ones.
A reset forgets the learnt weights and the votes before it (the time is kept in the
person's settings as `learning_since`), so the next vote does not bring them straight back.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import storage
from pipeline.media.config import Settings
from pipeline.media.learning import fit_weights

SINCE_KEY = "learning_since"
# The bot handles updates concurrently: one person's refits run one after another, so an
# older fit (fewer votes) cannot be saved over a newer one.
_refit_locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()


@dataclass(frozen=True)
class JobWeights:
    """The scoring weights a job runs with and where they come from: "learnt" (from the
    person's votes: `learnt_for` is the template they were learnt for, "" all jobs),
    "template" (the channel template's) or "default"."""

    weights: dict[str, float]
    source: str
    template: str = ""
    learnt_for: str | None = None
    votes: int = 0

    def describe(self) -> dict[str, Any]:
        return asdict(self)


def configured_weights(settings: Settings, template: str | None) -> dict[str, float]:
    """The configured weights, with the channel template's over them when it is known."""
    extra = settings.templates[template].weights if template and template in settings.templates else {}
    return {**settings.scoring.weights, **extra}


async def _since(db: Any, user_id: int) -> datetime | None:
    user = await storage.get_user(db, user_id)
    value = (user.settings if user else {}).get(SINCE_KEY)
    return datetime.fromisoformat(value) if value else None


async def examples(db: Any, settings: Settings, user_id: int,
                   template: str | None = None) -> list[tuple[dict[str, Any], int]]:
    """The person's votes since their last reset (one template's, or all with None)."""
    return await storage.feedback_examples(db, user_id, template=template, since=await _since(db, user_id),
                                           limit=settings.learning.max_examples)


async def refit(db: Any, settings: Settings, user_id: int, template: str | None = None) -> dict[str, int]:
    """Refit the person's all-jobs weights and, given a known template, that template's;
    store those that have enough votes. Returns {template ("" all jobs): votes used} of
    the weights stored."""
    cfg = settings.learning
    if not cfg.enabled:
        return {}
    keys = [""] + ([template] if template and template in settings.templates else [])
    saved: dict[str, int] = {}
    lock = _refit_locks.setdefault(user_id, asyncio.Lock())
    async with lock:
        for key in keys:
            found = await examples(db, settings, user_id, key or None)
            weights = await asyncio.to_thread(fit_weights, found, configured_weights(settings, key),
                                              strength=cfg.strength, min_votes=cfg.min_votes)
            if weights is not None:
                await storage.save_learnt_weights(db, user_id, key, weights, len(found))
                saved[key] = len(found)
    return saved


async def weights_for(db: Any, settings: Settings, user_id: int, template: str | None) -> JobWeights:
    """The weights a job of this person with this template runs with."""
    template = template or ""
    base = configured_weights(settings, template)
    if settings.learning.enabled:
        for key in dict.fromkeys([template, ""]):
            learnt = await storage.get_learnt_weights(db, user_id, key)
            if learnt is not None:
                weights = {k: float(learnt.weights.get(k, v)) for k, v in base.items()}
                if sum(weights.values()) > 0:
                    return JobWeights(weights, "learnt", template, key, learnt.votes)
    source = "template" if template in settings.templates else "default"
    return JobWeights(base, source, template)


async def job_settings(db: Any, settings: Settings, user_id: int,
                       template: str | None) -> tuple[Settings, JobWeights]:
    """`settings` (a job's, after its options) with the person's learnt weights in place."""
    chosen = await weights_for(db, settings, user_id, template)
    if chosen.source != "learnt":
        return settings, chosen
    return settings.model_copy(update={
        "scoring": settings.scoring.model_copy(update={"weights": chosen.weights})}), chosen


async def reset(db: Any, user_id: int, *, now: datetime | None = None) -> int:
    """Forget the person's learnt weights and the votes given until now; returns how many
    learnt weight sets were deleted."""
    lock = _refit_locks.setdefault(user_id, asyncio.Lock())
    async with lock:
        user = await storage.get_user(db, user_id)
        prefs = dict(user.settings if user else {})
        prefs[SINCE_KEY] = (now or datetime.now(UTC)).isoformat()
        await storage.update_user(db, user_id, settings=prefs)
        return await storage.delete_learnt_weights(db, user_id)
