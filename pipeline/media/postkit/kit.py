"""What a post-kit writer reads (a clip's brief) and what it writes (the kit)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_NOT_TAG = re.compile(r"[\W_]+", re.UNICODE)


@dataclass(frozen=True)
class ClipBrief:
    """One clip as a writer sees it."""

    rank: int
    text: str                      # what is said in the clip
    language: str                  # the clip's language ("" when nothing is said)
    vod_title: str = ""
    tags: tuple[str, ...] = ()     # hashtags the channel wants on every clip
    reasons: tuple[str, ...] = ()  # the score's strongest features, strongest first
    score: float = 0.0


@dataclass(frozen=True)
class PostKit:
    title: str
    description: str
    hashtags: tuple[str, ...]
    language: str
    hook: str = ""                 # the line burned into the first seconds; empty: the title
    writer: str = "offline"        # offline, or llm:<model>
    variant: int = 0               # how many times "New title" asked for another one
    rating: float | None = None    # the model's rating of the moment (0–10), when it gave one
    reason: str = ""               # the model's one-line reason for that rating
    keyphrases: tuple[str, ...] = field(default=(), compare=False)

    @property
    def hook_line(self) -> str:
        return self.hook or self.title

    def text(self) -> str:
        """Copy-ready: title, description, hashtags."""
        return f"{self.title}\n\n{self.description}\n\n{' '.join(self.hashtags)}".strip()

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "description": self.description, "hashtags": list(self.hashtags),
                "language": self.language, "hook": self.hook_line, "writer": self.writer,
                "variant": self.variant, "rating": self.rating, "reason": self.reason,
                "keyphrases": list(self.keyphrases)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PostKit:
        return cls(title=data["title"], description=data.get("description", ""),
                   hashtags=tuple(data.get("hashtags", ())), language=data.get("language", ""),
                   hook="" if data.get("hook") == data["title"] else data.get("hook", ""),
                   writer=data.get("writer", "offline"),
                   variant=int(data.get("variant", 0)), rating=data.get("rating"),
                   reason=data.get("reason", ""), keyphrases=tuple(data.get("keyphrases", ())))


def hashtag(phrase: str) -> str:
    """`#word`, or `#TwoWords` for a phrase (any script); empty when nothing is left."""
    parts = [p for p in _NOT_TAG.split(phrase.strip().lstrip("#")) if p]
    if not parts:
        return ""
    if len(parts) == 1:
        return "#" + parts[0].lower()
    return "#" + "".join(p[:1].upper() + p[1:].lower() for p in parts)


def shorten(text: str, limit: int) -> str:
    """`text` cut at a word boundary to at most `limit` characters, an ellipsis marking the cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    if " " in cut:
        cut = cut[:cut.rindex(" ")]
    return cut.rstrip(" ,;:-–—") + "…"
