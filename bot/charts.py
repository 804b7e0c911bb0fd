"""PNG pictures: the score over a whole stream, and time spent per stage."""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _hms(seconds: float, _pos=None) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def timeline(scores: Sequence[float], clips: Sequence[dict]) -> bytes:
    """The per-second score of the stream, with the picked moments shaded and numbered."""
    fig, ax = plt.subplots(figsize=(10, 3))
    xs = range(len(scores))
    ax.fill_between(xs, scores, color="#7c5cff", alpha=0.35, linewidth=0)
    ax.plot(xs, scores, color="#5b3df5", linewidth=0.8)
    top = max(scores, default=1.0) or 1.0
    for clip in clips:
        ax.axvspan(clip["start"], clip["end"], color="#ffb000", alpha=0.35)
        ax.text((clip["start"] + clip["end"]) / 2, top * 1.02, f"#{clip['rank']}", ha="center", fontsize=9)
    ax.set_xlim(0, max(1, len(scores)))
    ax.set_ylim(0, top * 1.15)
    ax.xaxis.set_major_formatter(plt.FuncFormatter(_hms))
    ax.set_yticks([])
    ax.set_xlabel("stream time")
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    return _png(fig)


def stage_times(medians: dict[str, float]) -> bytes:
    fig, ax = plt.subplots(figsize=(6, 3))
    names = list(medians)
    ax.barh(names, [medians[n] for n in names], color="#5b3df5")
    ax.set_xlabel("median seconds")
    ax.invert_yaxis()
    return _png(fig)
