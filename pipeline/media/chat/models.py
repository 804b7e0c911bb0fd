"""A chat message at its offset into the stream."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChatMessage:
    t: float       # seconds from the start of the VOD
    author: str
    text: str
