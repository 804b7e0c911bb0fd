"""Per-second chat curves, robust to spam, shifted back by the chat's reaction delay.

Every measure counts a chatter at most once a second, and the same message repeated by the
same chatter within `repeat_window_s` counts once: a single flooder adds at most one to a
second, while a real moment brings many different people in at once."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from pipeline.media.chat.models import ChatMessage
from pipeline.media.config import ChatSettings

MEASURES = ("rate", "chatters", "laughter", "hype")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class ChatSignal:
    curves: dict[str, np.ndarray]   # "chat" (what is scored) and chat_<measure>, all shifted back
    messages: int                   # messages read
    counted: int                    # left after repeats were dropped
    chatters: int                   # distinct chatters in the whole chat
    delay_s: float
    delay_measured: bool


def word_pattern(entries: Iterable[str]) -> re.Pattern[str] | None:
    """One regex for a list of emotes/words (whole words, any case) and `re:` expressions."""
    parts = [e[3:] if e.startswith("re:") else rf"(?<!\w){re.escape(e)}(?!\w)" for e in entries if e]
    return re.compile("|".join(f"(?:{p})" for p in parts), re.IGNORECASE) if parts else None


def all_languages(table: dict[str, list[str]]) -> list[str]:
    return [entry for entries in table.values() for entry in entries]


def drop_repeats(messages: Sequence[ChatMessage], window_s: float) -> list[ChatMessage]:
    """Messages without a chatter's repeats of the same text within `window_s` of the last one
    that counted."""
    last: dict[tuple[str, str], float] = {}
    kept = []
    for m in sorted(messages, key=lambda m: m.t):
        key = (m.author, _SPACE.sub(" ", m.text.strip().lower()))
        seen = last.get(key)
        if seen is not None and m.t - seen < window_s:
            continue
        last[key] = m.t
        kept.append(m)
    return kept


def _once_per_second(pairs: Iterable[tuple[int, str]], n: int) -> np.ndarray:
    out = np.zeros(n)
    for second, _ in set(pairs):
        if 0 <= second < n:
            out[second] += 1
    return out


def measure(messages: Sequence[ChatMessage], n: int, cfg: ChatSettings) -> dict[str, np.ndarray]:
    """Per-second rate, chatters, laughter and hype over `n` seconds (not shifted)."""
    counted = drop_repeats(messages, cfg.repeat_window_s)
    laugh = word_pattern(all_languages(cfg.laughter))
    hype = word_pattern(all_languages(cfg.hype))
    stamped = [(int(m.t), m) for m in counted]
    rate = _once_per_second(((s, m.author) for s, m in stamped), n)
    laughter = _once_per_second(((s, m.author) for s, m in stamped if laugh and laugh.search(m.text)), n)
    hyped = _once_per_second(((s, m.author) for s, m in stamped if hype and hype.search(m.text)), n)
    return {"rate": rate, "chatters": _distinct_around(stamped, n, cfg.chatters_window_s),
            "laughter": laughter, "hype": hyped}


def _distinct_around(stamped: Sequence[tuple[int, ChatMessage]], n: int, window_s: float) -> np.ndarray:
    """Distinct chatters within the window centred on each second, per second of window."""
    w = max(1, round(window_s))
    half = w // 2
    by_second: dict[int, set[str]] = {}
    for s, m in stamped:
        by_second.setdefault(s, set()).add(m.author)
    out = np.zeros(n)
    for t in {t for s in by_second for t in range(s - w + 1 + half, s + half + 1) if 0 <= t < n}:
        authors = set().union(*(by_second.get(s, ()) for s in range(t - half, t - half + w)))
        out[t] = len(authors) / w
    return out


def estimate_delay(activity: np.ndarray, loudness_db: np.ndarray, counted: int,
                   cfg: ChatSettings) -> tuple[float, bool]:
    """The lag (s) at which chat activity follows the audio's loudness best, and whether it was
    measured; the configured default when chat is sparse or the match is weak."""
    n = min(len(activity), len(loudness_db))
    lo, hi = math.ceil(cfg.delay_min_s), math.floor(cfg.delay_max_s)
    if counted < cfg.delay_min_messages or n - hi < 30 or hi < lo:
        return cfg.delay_default_s, False
    loud = np.asarray(loudness_db[:n], dtype=np.float64)
    loud = np.clip(loud, np.percentile(loud, 5), None)  # silence at -100 dB would swamp the rest
    a, x = _smooth(np.asarray(activity[:n], dtype=np.float64)), _smooth(loud)
    best, best_lag = -1.0, None
    for lag in range(lo, hi + 1):
        r = _pearson(x[: n - lag], a[lag:])
        if r > best:
            best, best_lag = r, lag
    if best_lag is None or best < cfg.delay_min_corr:
        return cfg.delay_default_s, False
    return float(best_lag), True


def _smooth(x: np.ndarray, width: int = 3) -> np.ndarray:
    return np.convolve(x, np.ones(width) / width, mode="same") if len(x) >= width else x


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    sx, sy = x.std(), y.std()
    if sx < 1e-9 or sy < 1e-9:
        return 0.0
    return float(np.mean((x - x.mean()) * (y - y.mean())) / (sx * sy))


def shift_back(curve: np.ndarray, delay_s: float) -> np.ndarray:
    """What chat said `delay_s` later, put at the second it reacts to."""
    n = len(curve)
    grid = np.arange(n, dtype=np.float64)
    shifted: NDArray[np.float64] = np.interp(grid + delay_s, grid, curve, right=0.0)
    return shifted


def chat_signal(messages: Sequence[ChatMessage], duration: float, loudness_db: np.ndarray | None,
                cfg: ChatSettings) -> ChatSignal:
    n = max(1, math.ceil(duration))
    counted = drop_repeats(messages, cfg.repeat_window_s)
    measures = measure(counted, n, cfg)
    if loudness_db is None:
        delay, measured = cfg.delay_default_s, False
    else:
        delay, measured = estimate_delay(measures["rate"], loudness_db, len(counted), cfg)
    shifted = {name: shift_back(curve, delay) for name, curve in measures.items()}
    chat = sum((cfg.mix.get(name, 0.0) * curve for name, curve in shifted.items()), np.zeros(n))
    curves = {"chat": chat, **{f"chat_{name}": curve for name, curve in shifted.items()}}
    return ChatSignal(curves, len(messages), len(counted), len({m.author for m in messages}),
                      delay, measured)
